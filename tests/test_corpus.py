"""Every input of the bad-input corpus through the real command: handled, or a one-line error
naming the file and place with exit code 2; never a traceback, a hang, or a write outside the
data dir. Prints the tally."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from corpus.cases import CASES, EXPORTS, MESSAGE, Case, export, zip_of
from pia.cli import main


def good_snapshot(root: Path) -> Path:
    folder = root / "data" / "incidents" / "inc"
    files = {
        "incident.toml": 'id = "inc"\ntitle = "corpus"\n',
        "slack/users.json": json.dumps([{"id": "U1", "name": "ana", "real_name": "Ana"}]),
        "slack/channels.json": json.dumps([{"id": "C1", "name": "inc-1"}]),
        "slack/inc-1/2026-03-14.json": json.dumps([MESSAGE]),
        "pagerduty/log_entries.json": json.dumps({"log_entries": [{"id": "R1", "type": "trigger_log_entry", "created_at": "2026-03-14T14:04:00Z"}]}),
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def apply(case: Case, folder: Path) -> list[str]:
    for name in case.remove:
        (folder / name).unlink()
    for name, content in case.files.items():
        path = (folder / name).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_text(json.dumps(content))
    data = folder.parent.parent
    if case.command == "timeline":
        return ["timeline", "inc", "--data-dir", str(data), "--format", "csv"]
    if case.command == "metrics":
        return ["metrics", "inc", "--data-dir", str(data), "--format", "csv"]
    name = next(iter(case.zip_members), "") if case.zip_members else ""
    archive = folder.parent.parent.parent / "export.zip"
    if name in EXPORTS:
        archive.write_bytes(EXPORTS[name]())
    elif case.zip_members:
        archive.write_bytes(zip_of({**{"channels.json": b'[{"id": "C1", "name": "inc-1"}]'}, **case.zip_members}))
    else:
        archive.write_bytes(export())
    incident = case.import_args or ["--incident", "imported"]
    return ["import", "slack-export", str(archive), "--channel", case.channel, *incident, "--data-dir", str(data)]


def run(args: list[str]) -> tuple[int | str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(args)
    except BaseException as error:  # a crash: the corpus counts it and the test fails
        return f"crash: {type(error).__name__}: {error}", err.getvalue()
    return code, err.getvalue()


def files_outside(root: Path) -> set[Path]:
    return {p for p in root.parent.rglob("*")} - {p for p in root.rglob("*")} - {root}


def test_the_whole_corpus(tmp_path):
    assert len(CASES) >= 60
    rows, crashes, wrong = [], 0, []
    for i, case in enumerate(CASES):
        root = tmp_path / f"case{i:02d}" / "work"
        folder = good_snapshot(root)
        before = files_outside(root)
        code, err = run(apply(case, folder))
        if isinstance(code, str):
            crashes += 1
            wrong.append(f"{case.name}: {code}")
            rows.append((case.name, "crash"))
            continue
        lines = err.strip().splitlines()
        if case.outcome == "handled":
            ok = code == 0
            got = "handled" if ok else f"exit {code}: {err.strip()}"
        else:
            ok = code == 2 and len(lines) == 1 and lines[0].startswith("pia: error: ") and case.expect in lines[0] and "Traceback" not in err
            got = "clean error" if ok else f"exit {code}: {err.strip()}"
        if files_outside(root) - before:
            ok, got = False, f"wrote outside the data dir: {sorted(files_outside(root) - before)}"
        rows.append((case.name, got if ok else "WRONG"))
        if not ok:
            wrong.append(f"{case.name}: expected {case.outcome} {case.expect!r}, got {got}")
    handled = sum(1 for _, r in rows if r == "handled")
    errors = sum(1 for _, r in rows if r == "clean error")
    print(f"\ncorpus: {len(rows)} inputs tried, {handled} handled, {errors} clean errors, {crashes} crashes, {len(wrong) - crashes} unexpected")
    assert crashes == 0 and not wrong, "\n".join(wrong)


def test_one_case_through_the_real_process(tmp_path):
    folder = good_snapshot(tmp_path / "work")
    (folder / "slack/inc-1/2026-03-14.json").write_text("[" * 100_000 + "]" * 100_000)
    done = subprocess.run(
        [sys.executable, "-m", "pia", "timeline", "inc", "--data-dir", str(folder.parent.parent)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"pia: error: {folder}/slack/inc-1/2026-03-14.json: JSON nested too deeply to read"]
