"""The review report: the notebook's parameters, every sample rendered on a real kernel, hostile
text shown literally, no token in any output, and the HTML checked in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import mistune
import nbformat
import papermill
import pytest

from pia.cli import main
from pia.report.render import NOTEBOOKS, render_report
from pia.report.review import SECTIONS, Review
from pia.snapshot import list_incidents

from conftest import DATA, FAKE_TOKEN, IMAGE_CHECK, open_page, write_incident

SAMPLES = list_incidents(DATA)
LOGIN = "2026-11-20-login-outage"
TOKEN = "xoxb-" + "1234567890-0987654321-TESTTOKENnotreal"  # fake, split so scanners do not take it for a token
PD_TOKEN = "u+" + "TESTTOKENnotrealPDkey_abcdef"
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<style>body{display:none}</style>",
    "# not a heading **not bold** | not | a table",
]
#: where screenshots of the reports are kept to look at: $PIA_TEST_ARTIFACTS, else the test's
#: own temporary folder (a test run writes nothing into the checkout)
ARTIFACTS = os.environ.get("PIA_TEST_ARTIFACTS")


def test_notebook_parameters():
    params = papermill.inspect_notebook(str(NOTEBOOKS / "incident_review.ipynb"))
    assert set(params) == {"incident_id", "data_dir", "as_of", "tz", "redact", "pseudonymise", "pseudonyms"}
    assert params["as_of"]["default"] == "None" and params["tz"]["default"] == '"UTC"'
    assert params["redact"]["default"] == "True" and params["pseudonymise"]["default"] == "False"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every sample rendered once (HTML and Markdown; PDF too for two), with tokens in the
    environment to prove they never reach an output."""
    out = tmp_path_factory.mktemp("reports")
    saved = {k: os.environ.get(k) for k in ("SLACK_BOT_TOKEN", "PAGERDUTY_API_TOKEN")}
    os.environ.update(SLACK_BOT_TOKEN=TOKEN, PAGERDUTY_API_TOKEN=PD_TOKEN)
    try:
        results = {}
        for incident in SAMPLES:
            formats = ["html", "md", "pdf"] if incident in (LOGIN, "2026-11-24-search-latency") else ["html", "md"]
            results[incident] = render_report(incident, data_dir=DATA, out=out, formats=formats, tz="Europe/Berlin")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return out, results


def test_every_sample_renders(rendered):
    out, results = rendered
    for incident, result in results.items():
        assert {"ipynb", "html", "md"} <= set(result.files), incident
        html = result.files["html"].read_text()
        for heading in SECTIONS:
            assert f">{heading}</h2>" in html, (incident, heading)
        executed = nbformat.read(result.files["ipynb"], as_version=4)
        errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, incident


def test_the_report_leaves_the_tutorial_out(rendered):
    """The notebook teaches (prose, and the DataFrame behind each section, tagged notebook-only);
    the HTML report shows only the sections, and a report run skips the tutorial's cells,
    which ``pia notebook`` runs."""
    _, results = rendered
    notebook = nbformat.read(NOTEBOOKS / "incident_review.ipynb", as_version=4)
    tutorial = [c for c in notebook.cells if "notebook-only" in c.metadata.get("tags", [])]
    assert {c.cell_type for c in tutorial} == {"markdown", "code"}
    html = results[LOGIN].files["html"].read_text()
    for cell in tutorial:
        if cell.cell_type == "markdown":
            heading = cell.source.splitlines()[0].lstrip("# ")
            assert heading not in html or f">{heading}</h2>" in html, heading  # a section's own heading only
    assert "To dig further" not in html and 'class="dataframe"' not in html and "prose" not in html.split("<main>")[1]
    executed = nbformat.read(results[LOGIN].files["ipynb"], as_version=4)
    for cell in executed.cells:
        if cell.cell_type == "code" and "notebook-only" in cell.metadata.get("tags", []):
            assert not cell.outputs and cell.execution_count is None, cell.source
        elif cell.cell_type == "code" and not {"parameters", "postmortem"} & set(cell.metadata.get("tags", [])):
            assert cell.outputs, cell.source  # every section shown


def test_sections_without_data_say_so(rendered):
    _, results = rendered
    pagerduty_only = results["2026-01-17-batch-disk-full"].files["html"].read_text()
    assert "No stakeholder update was found" in pagerduty_only
    assert "No directive from the IC was found" in pagerduty_only
    still_open = results["2026-11-24-search-latency"].files["html"].read_text()
    assert '<span class="badge open">open</span>' in still_open
    assert re.search(r"class=\"flag-censored\"[^>]*>≥ \d", still_open)  # a censored duration reads ≥ 1h 17m
    assert "Not written yet" in still_open  # the empty review shows placeholders


def test_html_is_self_contained(rendered):
    _, results = rendered
    html = results[LOGIN].files["html"].read_text()
    assert "<script" not in html
    csp = re.search(r'<meta[^>]*http-equiv="Content-Security-Policy"[^>]*>', html)
    assert csp and "default-src 'none'" in csp.group(0)
    for needle in ("require.js", "mathjax", "cdn.", "fonts.googleapis", "<link "):
        assert needle not in html.lower()
    assert html.count("data:image/png;base64,") >= 2  # timeline and cadence charts embedded


def test_no_token_in_any_output(rendered):
    out, _ = rendered
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and PD_TOKEN.encode() not in data, path


def test_times_are_shown_in_the_chosen_zone(rendered):
    _, results = rendered
    html = results[LOGIN].files["html"].read_text()
    assert "Europe/Berlin" in html and "2026-11-20 15:05:12" in html  # 14:05:12 UTC detection


def test_pdf_has_pages_and_the_title(rendered):
    _, results = rendered
    result = results[LOGIN]
    if "pdf" not in result.files:
        pytest.skip(f"no PDF: {result.skipped.get('pdf')}")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    pdf = result.files["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Login 5xx: auth DB connection pool exhausted after deploy" in " ".join(words.split())
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))) >= 1


def test_pdf_without_chromium_is_skipped_with_a_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PIA_CHROMIUM", str(tmp_path / "no-such-browser"))
    code = main(["report", "2026-01-17-batch-disk-full", "--data-dir", str(DATA), "--out", str(tmp_path), "--format", "pdf,md"])
    _, err = capsys.readouterr()
    assert code == 0
    assert "PDF skipped: no Chromium found (install it: sudo apt-get install chromium" in err
    assert (tmp_path / "2026-01-17-batch-disk-full.md").exists() and not (tmp_path / "2026-01-17-batch-disk-full.pdf").exists()


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", "nope", "--data-dir", str(DATA), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("pia: error: no incident 'nope'")
    assert main(["report", LOGIN, "--data-dir", str(DATA), "--out", str(tmp_path), "--format", "docx"]) == 2
    assert "unknown format 'docx' (known: html, pdf, md, ipynb)" in capsys.readouterr().err
    assert main(["report", LOGIN, "--data-dir", str(DATA), "--out", str(tmp_path), "--tz", "Mars/Olympus"]) == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


# --- hostile text ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The login outage with attacks planted in Slack messages, a PagerDuty note and the review."""
    data = tmp_path_factory.mktemp("hostile")
    shutil.copytree(DATA / "incidents" / LOGIN, data / "incidents" / LOGIN)
    folder = data / "incidents" / LOGIN
    day = folder / "slack" / "incident-prod-outage" / "2026-11-20.json"
    messages = json.loads(day.read_text())
    for i, attack in enumerate(HOSTILE):
        escaped = attack.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        messages.append({"type": "message", "user": "U04QX7RM2KD", "text": f"I think it's {escaped}", "ts": f"1795183800.{i:06d}"})
    day.write_text(json.dumps(messages))
    toml = folder / "incident.toml"
    toml.write_text(toml.read_text().replace('summary = "', 'summary = "<script>alert(2)</script> ', 1))
    out = data / "reports"
    result = render_report(LOGIN, data_dir=data, out=out, formats=["html", "md"])
    return result


def test_hostile_text_is_escaped_in_html(hostile):
    html = hostile.files["html"].read_text()
    assert "<script" not in html and "<img src=x" not in html and "<style>body" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript' not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_hostile_text_is_literal_in_markdown(hostile):
    draft = hostile.files["md"].read_text()
    page = mistune.html(draft)
    assert "<script" not in page and "<img" not in page and "<style" not in page
    assert 'href="javascript' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    assert "<h1>not a heading" not in page and "<strong>not bold" not in page


# --- runners-up and stated times -------------------------------------------------------------


@pytest.fixture(scope="module")
def runners_up(tmp_path_factory):
    """A small incident whose restore is stated ("back to baseline for 10 min" at 14:20) and
    has runners-up, one with a pasted token and one with a <script> in it, rendered."""
    data = write_incident(tmp_path_factory.mktemp("runners-up"))
    return render_report("inc", data_dir=data, out=data / "reports", formats=["html", "md"])


def test_html_shows_runners_up_and_both_times_escaped(runners_up):
    html = runners_up.files["html"].read_text()
    assert "<script" not in html and FAKE_TOKEN not in html
    row = re.search(r"<tr><td>restored</td>(.*?)</tr>", html, re.S).group(1)
    # the milestone at the stated time, the message's own time below it
    assert re.search(r'2026-11-20 14:10:00<br/?><span class="stated">stated in a message at 14:20:00</span>', row)
    assert "5xx back to baseline for 10 min" in row
    # the runners-up in a closed <details>, best first, each with time, who, rule and text
    details = re.search(r'<details class="candidates"><summary>2 other candidates</summary>(.*?)</details>', row, re.S).group(1)
    first, second = re.findall(r"<li value=\"(\d)\">(.*?)</li>", details, re.S)
    assert first[0] == "2" and "14:25:00 · Ana · " in first[1] and "[redacted: Slack token]" in first[1]
    assert second[0] == "3" and "14:26:00 · Bo Li · " in second[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; all green again, back to normal" in second[1]
    assert "A value in incident.toml [milestones] wins over anything detected" in html


def test_markdown_shows_runners_up_and_both_times_literally(runners_up):
    draft = runners_up.files["md"].read_text()
    assert "| restored | 2026-11-20 14:10:00 (stated in a message at 14:20:00) |" in draft
    assert "Other candidates, best first" in draft and FAKE_TOKEN not in draft
    page = mistune.html(draft)
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; all green again" in page
    assert "<li>2026-11-20 14:25:00 · Ana · " in page


# --- a real browser -------------------------------------------------------------------------


@pytest.mark.parametrize("incident", SAMPLES)
def test_report_in_a_real_browser(browser, rendered, incident, tmp_path):
    _, results = rendered
    path = results[incident].files["html"]
    page, problems, requests, dialogs = open_page(browser, path)
    try:
        assert problems == [] and dialogs == []
        assert [u for u in requests if not u.startswith("data:")] == [path.resolve().as_uri()]
        headings = page.locator("h2").all_inner_texts()
        assert [h for h in SECTIONS if h in headings] == list(SECTIONS)
        images = page.evaluate(IMAGE_CHECK)
        assert images, "no chart on the page"
        assert all(i["ok"] and i["colours"] > 3 for i in images), images
        shots = Path(ARTIFACTS) if ARTIFACTS else tmp_path
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{incident}.png"), full_page=True)
    finally:
        page.close()


def test_hostile_report_in_a_real_browser(browser, hostile):
    page, problems, requests, dialogs = open_page(browser, hostile.files["html"])
    try:
        assert dialogs == [] and problems == []
        body = page.inner_text("body")
        assert "<script>alert(1)</script>" in body and "<img src=x onerror=alert(1)>" in body
        assert page.evaluate("document.querySelectorAll('script, img[onerror], style').length") == 1  # our own <style>
        assert page.is_visible("h1")
    finally:
        page.close()


def test_review_object_renders_in_a_notebook_cell():
    review = Review.load(LOGIN, data_dir=DATA)
    for name in ("header", "durations", "timeline", "key_events", "responders", "hypotheses", "communication", "directives", "review_text", "action_items", "data_quality"):
        assert getattr(review, name)()._repr_html_().startswith("<section")
    assert review.postmortem()._repr_markdown_().startswith("# Login 5xx")


def test_the_timeline_names_people_as_the_responders_table_does():
    """Slack shows "Priya", PagerDuty "Priya Raman": the chart's lanes use the full name, as
    the responders table does, and its alt text lists them."""
    review = Review.load(LOGIN, data_dir=DATA)
    alt = unescape(re.search(r'alt="([^"]*)"', review.timeline()._repr_html_())[1])
    lanes = alt.split(": ", 1)[1].split(", ")
    people = set(review.responders_table()["person"])
    assert "Priya Raman" in people and "Priya" in set(review.events["actor"])
    assert set(lanes) == people | {"bots", "PagerDuty"}
