"""Every input of the bad-input corpus through the real command: handled, or a one-line error
naming the file and place with exit code 2; never a traceback, a hang, or a write outside the
data dir. Prints the tally (inputs tried, handled, clean errors, crashes), also when it passes."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from helpers import good_snapshot, time_limit
from corpus.cases import CASES, EXPORTS, MESSAGE, Case, Link, Sparse, export, zip_of
from pia.cli import main

#: seconds one input may take before it counts as a hang
HANG = 60


def apply(case: Case, folder: Path) -> list[str]:
    """Write the case's files over the good snapshot; return the command line to run."""
    outside = folder.parent.parent.parent.parent  # beside the work folder, outside the data dir
    for name in case.remove:
        path = folder / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for name, content in case.files.items():
        path = (folder / name).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content = content()
        if isinstance(content, Link):
            path.unlink(missing_ok=True)
            if content.target == "outside.json":
                (outside / "outside.json").write_text(json.dumps([MESSAGE]))
            path.symlink_to(outside / content.target)
        elif isinstance(content, Sparse):
            with path.open("wb") as handle:
                handle.truncate(content.size)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_text(json.dumps(content))
    data = folder.parent.parent
    if case.command in ("timeline", "metrics"):
        return [case.command, case.incident, "--data-dir", str(data), "--format", "csv"]
    if case.command == "validate":
        return ["validate", case.incident, "--data-dir", str(data)]
    work = data.parent
    if case.export is not None:
        archive = case.export(work)
    else:
        archive = work / "export.zip"
        name = next(iter(case.zip_members), "") if case.zip_members else ""
        if name in EXPORTS:
            archive.write_bytes(EXPORTS[name]())
        elif case.zip_members:
            archive.write_bytes(zip_of({**{"channels.json": b'[{"id": "C1", "name": "inc-1"}]'}, **case.zip_members}))
        else:
            archive.write_bytes(export())
    incident = case.import_args or ["--incident", "imported"]
    return ["import", "slack-export", str(archive), "--channel", case.channel, *incident, "--data-dir", str(data)]


def run(args: list[str]) -> tuple[int | str, str, str]:
    """Exit code (or what crashed), stdout and stderr of the command, run in this process."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with time_limit(HANG), redirect_stdout(out), redirect_stderr(err):
            code = main(args)
    except BaseException as error:  # a crash or a hang: the corpus counts it and the test fails
        return f"crash: {type(error).__name__}: {error}", out.getvalue(), err.getvalue()
    return code, out.getvalue(), err.getvalue()


def files_outside(root: Path) -> set[Path]:
    """Every file beside the data dir (the work folder holds the data dir and the export)."""
    data = root / "data"
    return {p for p in root.parent.rglob("*")} - {p for p in data.rglob("*")} - {data}


def names_the_file(case: Case, line: str) -> bool:
    """The error names the file at fault: one the case wrote, the export, or the option."""
    candidates = [Path(n).name for n in [*case.files, *case.remove]] or ["export.zip", "export/", "--incident", "--since"]
    return any(name in line for name in candidates)


def reader(case: Case) -> str:
    """The reader or config file a case exercises, for the table."""
    first = case.name.split(":", 1)[0]
    return {"export": "import slack-export"}.get(first, first)


def test_the_whole_corpus(tmp_path, capsys):
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES), "two cases share a name"
    rows, wrong = [], []
    for i, case in enumerate(CASES):
        root = tmp_path / f"case{i:03d}" / "work"
        args = apply(case, good_snapshot(root))
        before = files_outside(root)
        code, out, err = run(args)
        lines = err.strip().splitlines()
        if isinstance(code, str):
            got, ok = "crash", False
            detail = code
        elif case.outcome == "handled":
            ok = code == 0 or (case.command == "validate" and code == 1)  # 1: warnings only
            got, detail = ("handled" if ok else "wrong"), f"exit {code}: {err.strip()}"
        elif case.command == "validate":  # findings are a report on stdout, not an error line
            ok = code == 2 and not err and case.expect in out and "Traceback" not in out
            got, detail = ("clean error" if ok else "wrong"), f"exit {code}: {out.strip()} {err.strip()}"
        else:
            ok = (
                code == 2
                and len(lines) == 1
                and lines[0].startswith("pia: error: ")
                and case.expect in lines[0]
                and names_the_file(case, lines[0])
            )
            got, detail = ("clean error" if ok else "wrong"), f"exit {code}: {err.strip()}"
        written = files_outside(root) - before
        if written:
            ok, got, detail = False, "wrong", f"wrote outside the data dir: {sorted(map(str, written))}"
        rows.append((reader(case), got))
        if not ok:
            wrong.append(f"{case.name}: expected {case.outcome} {case.expect!r}, got {detail}")
    table = corpus_table(rows)
    with capsys.disabled():  # the tally shows in every run, with or without -s
        print("\n" + table)
    crashes = sum(1 for _, got in rows if got == "crash")
    assert crashes == 0 and not wrong, table + "\n" + "\n".join(wrong)


def corpus_table(rows: list[tuple[str, str]]) -> str:
    """Inputs tried, handled, clean errors, crashes (and inputs that went otherwise than
    expected), per reader and in total."""
    columns = ("handled", "clean error", "crash", "wrong")
    counts: dict[str, Counter[str]] = {}
    for name, got in rows:
        counts.setdefault(name, Counter())[got] += 1
    counts["total"] = sum(counts.values(), Counter())
    width = max(len(name) for name in counts)
    lines = [f"{'bad-input corpus':<{width}}  tried  handled  clean errors  crashes  unexpected"]
    for name, c in counts.items():
        tried = sum(c[k] for k in columns)
        lines.append(f"{name:<{width}}  {tried:>5}  {c['handled']:>7}  {c['clean error']:>12}  {c['crash']:>7}  {c['wrong']:>10}")
    return "\n".join(lines)


def test_a_zip_bomb_through_the_real_process(tmp_path):
    """The command as users run it (``python -m pia``), on a 300 MB member that deflates to a
    few hundred kB: refused before decompressing, so the process stays small."""
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("channels.json", b'[{"id": "C1", "name": "inc-1"}]')
        with archive.open("inc-1/2026-03-14.json", "w") as member:
            chunk = b" " * 1024**2
            for _ in range(300):
                member.write(chunk)
    assert bomb.stat().st_size < 3 * 1024**2
    data = tmp_path / "data"
    # a small parent runs the command and reports its child's peak memory
    probe = (
        "import resource, subprocess, sys;"
        "done = subprocess.run([sys.executable, '-m', 'pia', *sys.argv[1:]], capture_output=True, text=True, timeout=120);"
        "sys.stderr.write(done.stderr);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "sys.exit(done.returncode)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "import", "slack-export", str(bomb), "--channel", "inc-1", "--incident", "x", "--data-dir", str(data)],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"pia: error: {bomb}: inc-1/2026-03-14.json: expands to 314,572,800 bytes")
    assert line.endswith("refusing a likely zip bomb")
    peak_mb = int(done.stdout.strip()) / 1024  # ru_maxrss is in kB on Linux
    assert peak_mb < 300, f"the refused bomb still took {peak_mb:.0f} MB"
    assert not data.exists() or not any(data.rglob("*.json"))


def test_deep_nesting_through_the_real_process(tmp_path):
    folder = good_snapshot(tmp_path / "work")
    (folder / "slack/inc-1/2026-03-14.json").write_text("[" * 100_000 + "]" * 100_000)
    done = subprocess.run(
        [sys.executable, "-m", "pia", "timeline", "inc", "--data-dir", str(folder.parent.parent)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"pia: error: {folder}/slack/inc-1/2026-03-14.json: JSON nested too deeply to read"]


def zip_declaring(path: Path, sizes: list[tuple[int, int]]) -> Path:
    """A zip whose directory declares each member's ``(size, compressed size)``, as a crafted
    archive would: the limits are checked on what it declares, before anything is read."""
    with zipfile.ZipFile(path, "w") as archive:
        for day in range(len(sizes)):
            archive.writestr(f"inc-1/2026-03-{day + 1:02d}.json", b"[]")
        for info, (size, packed) in zip(archive.filelist, sizes, strict=True):
            info.file_size, info.compress_size = size, packed
    return path


def test_the_zip_limits_of_docs_input_md_hold_to_the_byte(tmp_path):
    """No member over 200 MB, nothing expanding more than 100 times beyond 10 MB, at most 4 GB
    in all (MB and GB of 1024² and 1024³ bytes)."""
    from pia.errors import InputError
    from pia.snapshot import Tree

    def refused(*sizes: tuple[int, int]) -> str | None:
        try:
            Tree(zip_declaring(tmp_path / "export.zip", list(sizes))).close()
        except InputError as error:
            return str(error)
        return None

    mb, gb = 1024**2, 1024**3
    assert refused((10 * mb, 1)) is None  # this small, a member may expand any amount
    assert "refusing a likely zip bomb" in refused((10 * mb + 1, 1))
    assert refused((100 * 1_000_000, 1_000_000)) is None
    assert "(100x): refusing a likely zip bomb" in refused((100 * 1_000_000 + 500_000, 1_000_000))
    assert refused((200 * mb, 200 * mb)) is None
    assert "expands to 209,715,201 bytes" in refused((200 * mb + 1, 200 * mb))
    # twenty members of 200 MB and one of the rest: each within the limits, together 4 GB
    whole, rest = [(200 * mb, 200 * mb)] * 20, 4 * gb - 20 * 200 * mb
    assert refused(*whole, (rest, rest)) is None
    assert refused(*whole, (rest + 1, rest + 1)) == f"{tmp_path / 'export.zip'}: expands to {4 * gb + 1:,} bytes, more than an export should"


def test_one_command_reads_at_most_1_gb_of_an_export(tmp_path):
    """Counted on the sizes the members declare, as each is read: five of 200 MB and one of
    24 MB make 1 GB exactly (1024³ bytes), one byte more is refused. The members here hold
    less than they declare, so each read itself fails as damaged."""
    from pia.errors import InputError
    from pia.snapshot import Tree

    mb = 1024**2
    tree = Tree(zip_declaring(tmp_path / "export.zip", [(200 * mb, 200 * mb)] * 5 + [(24 * mb, 24 * mb), (1, 1)]))
    try:
        for name in tree.names()[:6]:
            with pytest.raises(InputError, match="it is damaged"):
                tree.json(name)
        with pytest.raises(InputError, match=r"more than 1,073,741,824 bytes to read: narrow the export"):
            tree.json(tree.names()[6])
    finally:
        tree.close()
