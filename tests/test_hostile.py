"""Outputs that cannot be turned against their readers.

One sample is copied and hostile values planted in its fields: spreadsheet formulas, a bare
CR that would split a CSV row, terminal escapes (retitle, clipboard), Markdown that would
break out of its cell or line (a heading, remote images, ``javascript:`` links, a CR in a link
target), a display name that mathtext cannot parse. Every command and format is run on it,
with links planted in the output folder, and each output is read the way its reader reads it:
CSV by the csv module and pandas, Markdown by two real renderers, HTML by a parser, the
terminal text byte by byte.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import select
import shutil
import subprocess
import sys
import textwrap
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from conftest import DATA
from pia.cli import main
from pia.report.render import find_chromium

SAMPLE = "2026-11-20-login-outage"

FORMULA = '=HYPERLINK("http://evil.example","x")'
CR_ROW = "all good\r=2+3"  # no quote in it: only a quoted CR keeps it one cell
ESCAPES = "\x1b]0;owned\x07 and \x1b]52;c;ZXZpbA==\x07"
MARKDOWN = "# Owned heading ![px](https://evil.example/px.png) [x](javascript:alert(1))"
ACTOR = "=cmd|' /C calc'!A0"
MATH_NAME = "$\\undefinedmacro{x}$ Eve"
CR_LINK = "\r![pixel](https://evil.example/pixel.png)\r[click](javascript:alert(1))"
SEVERITY = "=1+2"
SERVICE = "@SUM(1+1)"
#: terminal control characters (tab and newline are layout, not commands)
CONTROL = [chr(c) for c in [*range(0, 9), *range(11, 32), *range(0x7F, 0xA0)]]


def toml_text(value: str) -> str:
    return json.dumps(value)  # ASCII-only JSON strings are TOML basic strings


def plant(folder: Path) -> None:
    users = folder / "slack" / "users.json"
    people = json.loads(users.read_text())
    for user in people:
        if user["profile"].get("display_name") == "Marcus":
            user["profile"]["display_name"] = ACTOR
        if user["profile"].get("display_name") == "Sofia L":
            user["profile"]["display_name"] = MATH_NAME
    users.write_text(json.dumps(people))
    channels = folder / "slack" / "channels.json"
    listed = json.loads(channels.read_text())
    listed[0]["id"] += CR_LINK  # every Slack permalink carries it
    channels.write_text(json.dumps(listed))
    day = next((folder / "slack").glob("*/2026-11-20.json"))
    messages = json.loads(day.read_text())
    spoken = [m for m in messages if m.get("text") and m.get("user")]
    for message, text in zip(spoken[2:], [FORMULA, CR_ROW, ESCAPES, MARKDOWN]):
        message["text"] = text
    day.write_text(json.dumps(messages))
    pd_incident = folder / "pagerduty" / "incident.json"
    body = json.loads(pd_incident.read_text())
    body["incident"]["html_url"] += CR_LINK
    pd_incident.write_text(json.dumps(body))
    toml = folder / "incident.toml"
    text = toml.read_text()
    text = text.replace('severity = "SEV1"', f"severity = {toml_text(SEVERITY)}")
    text = text.replace('services = ["login", "auth"]', f'services = [{toml_text(SERVICE)}, "auth"]')
    text = text.replace('title = "', 'title = "\\u001b]0;owned\\u0007 ', 1)
    text = text.replace('summary = "', 'summary = "# Owned summary\\n\\n![t](https://evil.example/t.png) ', 1)
    text = text.replace('url = "https://jira.acme.io/browse/AUTH-2291"', f'url = {toml_text("https://jira.acme.io/browse/AUTH-2291" + CR_LINK)}')
    toml.write_text(text)


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    """The planted sample, every command's output, and the files of the output folder."""
    work = tmp_path_factory.mktemp("hostile")
    data = work / "data"
    shutil.copytree(DATA / "incidents" / SAMPLE, data / "incidents" / SAMPLE)
    (data / "incidents" / SAMPLE / "manifest.json").unlink(missing_ok=True)
    plant(data / "incidents" / SAMPLE)
    out = work / "out"
    out.mkdir()
    victim = work / "victim.txt"
    victim.write_text("not yours\n")
    # links where a report writes: the old staging names and a final file
    for name in (f".{SAMPLE}.partial.ipynb", f".{SAMPLE}.pdf.tmp", f"{SAMPLE}.md"):
        (out / name).symlink_to(victim)
    formats = "html,md,pdf" if find_chromium() else "html,md"
    found: dict = {"data": data, "out": out, "victim": victim}
    found["report"] = run(["report", SAMPLE, "--data-dir", str(data), "--out", str(out), "--format", formats])
    found["trends"] = run(["trends", "--data-dir", str(data), "--out", str(out)])
    for command in ("timeline", "metrics"):
        for fmt in ("csv", "json", "table"):
            found[command, fmt] = run([command, SAMPLE, "--data-dir", str(data), "--format", fmt])
        found[command, "raw"] = run([command, SAMPLE, "--data-dir", str(data), "--format", "csv", "--raw-csv"])
    found["metrics", "titles"] = run(["metrics", SAMPLE, "--data-dir", str(data), "--columns", "incident,title,severity,services"])
    found["summary"] = run(["timeline", "--data-dir", str(data)])
    return found


def test_every_command_succeeds(hostile):
    """The mathtext name no longer fails the report or the trends (ValueError: Unknown symbol)."""
    for key, (code, _, err) in outputs(hostile):
        assert code == 0, f"{key}: {err}"


def outputs(hostile: dict) -> list:
    """``(command, (exit code, stdout, stderr))`` of every command run on the planted sample."""
    return [(key, value) for key, value in hostile.items() if isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], int)]


# --- 1. CSV --------------------------------------------------------------------------------


def spreadsheet_rows(text: str) -> list[list[str]]:
    """Rows as a spreadsheet reads a CSV: the csv module, which splits on any unquoted line break."""
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_is_one_row_per_event_and_runs_no_formula(hostile):
    events = json.loads(hostile["timeline", "json"][1])
    for key in (("timeline", "csv"), ("metrics", "csv")):
        text = hostile[key][1]
        rows = spreadsheet_rows(text)
        expected = len(events) if key[0] == "timeline" else 1
        assert len(rows) == expected + 1, key
        assert len(pd.read_csv(io.StringIO(text))) == expected
        header = rows[0]
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        numeric = {c for c in header if pd.to_numeric(frame[c], errors="coerce").notna().all() and len(frame)}
        for row in rows[1:]:
            for column, cell in zip(header, row):
                if column not in numeric:
                    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), f"{key} {column}: {cell[:40]!r}"
    timeline = spreadsheet_rows(hostile["timeline", "csv"][1])
    cells = {cell for row in timeline for cell in row}
    assert "'" + FORMULA in cells and "'" + ACTOR in cells and CR_ROW in cells
    metrics = dict(zip(*spreadsheet_rows(hostile["metrics", "csv"][1])))
    assert metrics["severity"] == "'" + SEVERITY and metrics["services"].startswith("'" + SERVICE)


def test_raw_csv_keeps_the_text_and_still_one_row_per_event(hostile):
    events = json.loads(hostile["timeline", "json"][1])
    rows = spreadsheet_rows(hostile["timeline", "raw"][1])
    assert len(rows) == len(events) + 1
    texts = [row[rows[0].index("text")] for row in rows[1:]]
    assert texts == [e["text"] or "" for e in events]
    assert FORMULA in texts and ACTOR in {row[rows[0].index("actor")] for row in rows}
    assert dict(zip(*spreadsheet_rows(hostile["metrics", "raw"][1])))["severity"] == SEVERITY


# --- 9. the terminal -----------------------------------------------------------------------


def test_terminal_output_shows_control_characters_escaped(hostile):
    for key, (code, out, err) in outputs(hostile):
        # CSV is for files and spreadsheets: written to a file it keeps the text (below: a terminal)
        shown = err + ("" if "csv" in key or "raw" in key else out)
        for char in CONTROL:
            assert char not in shown, f"{key}: {char!r}"
    assert "\\x1b]0;owned\\x07" in hostile["timeline", "table"][1]
    assert "\\x1b]0;owned\\x07" in hostile["summary"][1]
    assert "\\x1b]0;owned\\x07" in hostile["metrics", "titles"][1]
    assert json.loads(hostile["timeline", "json"][1])[0].keys()  # JSON escapes and still parses
    assert ESCAPES in {e["text"] for e in json.loads(hostile["timeline", "json"][1])}


def test_csv_printed_on_a_terminal_is_escaped_too():
    from pia.output import print_frame

    leader, follower = os.openpty()
    with open(follower, "w", closefd=True) as terminal:
        print_frame(pd.DataFrame({"text": [ESCAPES]}), "csv", out=terminal)
    printed = ""
    while "owned" not in printed and select.select([leader], [], [], 5)[0]:
        printed += os.read(leader, 4096).decode()
    os.close(leader)
    assert "\\x1b]0;owned\\x07" in printed and "\x1b" not in printed and "\x07" not in printed


# --- 4. Markdown ---------------------------------------------------------------------------


def markdown_tokens(text: str) -> list:
    from markdown_it import MarkdownIt

    flat = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def test_the_markdown_draft_renders_without_breaking_out(hostile):
    draft = (hostile["out"] / f"{SAMPLE}.md").read_text()
    assert "evil.example" in draft, "the planted values reach the draft"
    tokens = markdown_tokens(draft)
    assert not [t for t in tokens if t.type == "image"]
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]
    hrefs = [t.attrs["href"] for t in tokens if t.type == "link_open"]
    assert hrefs and all(str(h).startswith(("https://", "http://")) for h in hrefs)
    # the planted CR stays inside its link, percent-encoded, and starts no line of its own
    assert not any(c in str(h) for h in hrefs for c in "\r\n <>\\") and any("%0D" in str(h) for h in hrefs)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"]
    assert len(headings) == 1 and "Owned" not in "".join(headings)
    assert "# Owned summary" in draft.replace("\\#", "#")  # shown, as text
    # a second renderer (the one nbconvert uses) agrees
    import mistune

    page = mistune.html(draft)
    assert "<img" not in page and "javascript:" not in page.replace("javascript:alert", "") and page.count("<h1") == 1


def test_the_notebook_shows_the_same_draft(hostile):
    notebook = json.loads((hostile["out"] / f"{SAMPLE}.ipynb").read_text())
    shown = [o["data"]["text/markdown"] for c in notebook["cells"] for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    assert shown and "".join(shown[0]) == (hostile["out"] / f"{SAMPLE}.md").read_text()


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a":
            self.hrefs.append(values.get("href") or "")
        if tag == "img":
            self.images.append(values.get("src") or "")


def test_the_html_report_links_only_to_the_web_and_shows_no_remote_image(hostile):
    for name in (f"{SAMPLE}.html", "trends.html"):
        parser = Links()
        parser.feed((hostile["out"] / name).read_text())
        assert parser.images and all(src.startswith("data:image/png;base64,") for src in parser.images), name
        assert all(h.startswith(("https://", "http://", "#")) for h in parser.hrefs), name


def test_the_reports_in_chromium_request_nothing_and_run_nothing(hostile, browser):
    from conftest import open_page

    for name in (f"{SAMPLE}.html", "trends.html"):
        page, problems, requests, dialogs = open_page(browser, hostile["out"] / name)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        page.close()
        assert not dialogs and not [r for r in requests if not r.startswith(("file:", "data:"))], name
        assert all(h.startswith(("https://", "http://", "file:")) for h in hrefs), name


# --- 5. the output folder ------------------------------------------------------------------


def test_links_planted_in_the_output_folder_are_never_written_through(hostile):
    out = hostile["out"]
    assert hostile["victim"].read_text() == "not yours\n"
    assert not (out / f"{SAMPLE}.md").is_symlink() and "# " in (out / f"{SAMPLE}.md").read_text()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".pia-")], "a temporary file was left"


# --- 7. charts -----------------------------------------------------------------------------


def test_chart_text_is_never_mathtext():
    from pia.report import charts

    load = pd.DataFrame({"incidents": [3, 1], "off_hours_pages": [1, 0]}, index=[MATH_NAME, "$x^2$"])
    assert charts.responder_load_chart(load) is not None  # draws the names as written


# --- 8. incident ids -----------------------------------------------------------------------


def test_unsafe_incident_ids_are_refused_and_never_linked(tmp_path):
    from pia.batch import report_link, run_batch

    data = tmp_path / "data"
    for name in ("https:evil.example", "javascript:alert(1)"):
        (data / "incidents" / name / "pagerduty").mkdir(parents=True)
        shutil.copy(DATA / "incidents" / SAMPLE / "pagerduty" / "log_entries.json", data / "incidents" / name / "pagerduty")
    code, out, _ = run(["validate", "--data-dir", str(data)])
    assert code == 2 and out.count("is not a safe incident id") == 2
    result = run_batch(data, out=tmp_path / "out", formats=["md"], trends=False, progress=False)
    assert set(result.failed) == {"https:evil.example", "javascript:alert(1)"}
    parser = Links()
    page = (tmp_path / "out" / "index.html").read_text()
    parser.feed(page)
    assert parser.hrefs == [] and "https:evil.example" in page
    assert report_link("2026-11-20-login-outage") == "./2026-11-20-login-outage.html"
    assert report_link("a b#?.x") == "./a%20b%23%3F.x.html"


# --- 11. long ids, a deep TOML, an emoji channel ---------------------------------------------


def test_long_ids_are_one_line_errors(tmp_path):
    data = tmp_path / "data"
    (data / "incidents" / ("b" * 245) / "pagerduty").mkdir(parents=True)
    for args in (["report", "a" * 300], ["timeline", "a" * 245], ["metrics", "a" * 300], ["report", "b" * 245], ["validate", "a" * 300]):
        code, out, err = run([*args, "--data-dir", str(data), *(["--out", str(tmp_path / "out")] if args[0] == "report" else [])])
        lines = (err or out).strip().splitlines()
        assert code == 2 and "Traceback" not in err + out, args
        if args[0] != "validate":
            assert len(lines) == 1 and lines[0].startswith("pia: error: ") and "a" * 100 not in lines[0], lines


def test_an_emoji_channel_name_gives_a_readable_incident_toml(tmp_path):
    from corpus.cases import DAY_BYTES, export

    from pia.snapshot import read_toml

    archive = tmp_path / "export.zip"
    archive.write_bytes(export(channels=[{"id": "C1", "name": "🚨-inc\x7f"}], extra={"🚨-inc\x7f/2026-03-14.json": DAY_BYTES}))
    code, _, err = run(["import", "slack-export", str(archive), "--channel", "🚨-inc\x7f", "--incident", "imported", "--data-dir", str(tmp_path / "data")])
    assert code == 0, err
    assert read_toml(tmp_path / "data" / "incidents" / "imported" / "incident.toml")["slack_channels"] == ["🚨-inc\x7f"]


# --- 2. secrets in error text, and the cache -------------------------------------------------


def test_an_error_that_quotes_a_secret_masks_it_everywhere_it_goes(tmp_path):
    from helpers import good_snapshot

    from pia.batch import run_batch
    from pia.report.trends import TrendsReport

    token = "xoxb-" + "2231864519-4561237890123-q9HkLmNoPqRsTuVwXyZaBcDe"
    folder = good_snapshot(tmp_path)
    (folder / "slack" / "inc-1" / "2026-03-14.json").write_text(json.dumps([{"type": "message", "user": "U1", "ts": token}]))
    data = tmp_path / "data"
    code, _, err = run(["timeline", "inc", "--data-dir", str(data)])
    assert code == 2 and "[redacted: Slack token]" in err and token not in err
    code, out, _ = run(["validate", "inc", "--data-dir", str(data)])
    assert "[redacted: Slack token]" in out and token not in out
    code, _, err = run(["timeline", "inc", "--data-dir", str(data), "--no-redact"])
    assert token in err, "the control: the error does quote it"
    result = run_batch(data, out=tmp_path / "out", formats=["md"], trends=False, progress=False)
    page = (tmp_path / "out" / "index.html").read_text()
    assert "inc" in result.failed and token not in result.failed["inc"] and token not in page and "[redacted: Slack token]" in page
    assert not any(token in note for note in TrendsReport.load(data_dir=data).notes)


def test_the_metrics_cache_is_private(hostile):
    cache = hostile["data"] / ".pia-cache"
    assert cache.stat().st_mode & 0o777 == 0o700
    files = list(cache.glob("*.parquet"))
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"


# --- 3. an interrupted report ----------------------------------------------------------------


def kernels_of(pid: int) -> list[int]:
    """Processes started by jupyter_client for ``pid`` (it sets JPY_PARENT_PID in their environment)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f"JPY_PARENT_PID={pid}\0".encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel is tied to its parent on Linux only")
def test_a_killed_report_takes_its_kernel_with_it(tmp_path):
    """A cell that holds the GIL (as a regex backtracking in C does) keeps the kernel from
    noticing its parent is gone; killed with its parent, it stops all the same."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("x = 1")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell("import re\nre.match(r'(a*)*b', 'a' * 40)")]
    (tmp_path / "busy.ipynb").write_text(nbformat.writes(notebook))
    code = textwrap.dedent(f"""
        from pathlib import Path
        from pia.report.render import execute
        execute(Path({str(tmp_path / 'busy.ipynb')!r}), {{}}, cwd=Path({str(tmp_path)!r}))
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kernels: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while not kernels and time.monotonic() < deadline:
            time.sleep(0.2)
            kernels = kernels_of(child.pid)
        assert kernels, "no kernel started"
        time.sleep(5)  # the busy cell is running
        child.kill()
        child.wait()
        deadline = time.monotonic() + 10
        while any(map(running, kernels)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(running, kernels))
    finally:
        child.kill()
        for pid in kernels:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


# --- 6. hashing large files --------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_hashing_a_large_file_reads_it_in_chunks(tmp_path):
    """A 190 MB file (sparse: it takes no room) hashed for the cache in a child process: its
    memory grows by a few MB, not by the file's size (181 MB when the whole file was read)."""
    (tmp_path / "big.bin").open("wb").truncate(190_000_000)
    # the peak of this process's own memory (ru_maxrss would carry the parent's over exec)
    peak = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
    probe = (
        f"from pathlib import Path; from pia.cache import hash_files; before = {peak};"
        f"hash_files([Path({str(tmp_path / 'big.bin')!r})], Path({str(tmp_path)!r}));"
        f"print({peak} - before)"
    )
    grown_kb = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert grown_kb < 50 * 1024, f"{grown_kb} kB"
