"""Writing snapshots, caches and reports: a write that fails leaves the old file as it was and
no temporary file behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pia.snapshot import atomic_write, staged_folder

OLD = b'{"members": ["the old, whole file"]}\n'


def write_past_the_file_size_limit(target: Path, size: int) -> subprocess.CompletedProcess:
    """``atomic_write(target, size bytes)`` in a process that may write files of at most 4 KiB,
    as a full disk or a quota would stop it: the write fails part way."""
    code = textwrap.dedent(
        f"""
        import resource, signal, sys
        from pia.snapshot import atomic_write
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            atomic_write({str(target)!r}, b"n" * {size})
        except OSError as error:
            sys.exit(f"failed: {{error.strerror}}")
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_a_write_that_fails_part_way_keeps_the_old_bytes_and_leaves_nothing(tmp_path):
    target = tmp_path / "users.json"
    target.write_bytes(OLD)
    done = write_past_the_file_size_limit(target, 64 * 1024)
    assert done.returncode != 0 and "failed: File too large" in done.stderr, done.stderr
    assert target.read_bytes() == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["users.json"]


def test_a_write_within_the_limit_replaces_the_file(tmp_path):
    target = tmp_path / "users.json"
    target.write_bytes(OLD)
    done = write_past_the_file_size_limit(target, 100)
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == b"n" * 100
    assert [p.name for p in tmp_path.iterdir()] == ["users.json"]
    assert target.stat().st_mode & 0o777 == 0o644  # readable by the team, as a plain write would be


def test_a_write_makes_its_folders_and_a_file_the_team_can_read(tmp_path):
    target = tmp_path / "reports" / "2026" / "index.html"  # neither folder there yet
    atomic_write(target, b"<p>first</p>")
    atomic_write(target, b"<p>second</p>", mode=0o600)
    atomic_write(target.with_name("trends.html"), b"<p>beside it</p>")
    assert target.read_bytes() == b"<p>second</p>" and target.stat().st_mode & 0o777 == 0o600
    assert target.with_name("trends.html").stat().st_mode & 0o777 == 0o644  # the default: shared, as a plain write would be
    assert sorted(p.name for p in target.parent.iterdir()) == ["index.html", "trends.html"]


def test_a_write_that_raises_keeps_the_old_bytes_and_leaves_nothing(tmp_path):
    target = tmp_path / "log_entries.json"
    target.write_bytes(OLD)
    with pytest.raises(TypeError):
        atomic_write(target, "text, not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == OLD
    assert [p.name for p in tmp_path.iterdir()] == ["log_entries.json"]


def test_a_staged_folder_that_fails_leaves_the_old_folder(tmp_path):
    final = tmp_path / "slack"
    (final / "inc-1").mkdir(parents=True)
    (final / "users.json").write_bytes(OLD)
    with pytest.raises(RuntimeError):
        with staged_folder(final) as stage:
            (stage / "users.json").write_bytes(b"[]")
            raise RuntimeError("cut off")
    assert (final / "users.json").read_bytes() == OLD and (final / "inc-1").is_dir()
    assert [p.name for p in tmp_path.iterdir()] == ["slack"]
    with staged_folder(final) as stage:
        (stage / "users.json").write_bytes(b"[]")
    assert [p.name for p in final.iterdir()] == ["users.json"] and [p.name for p in tmp_path.iterdir()] == ["slack"]
    with staged_folder(tmp_path / "pagerduty") as stage:  # nothing there before
        (stage / "incident.json").write_bytes(b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pagerduty", "slack"] and (tmp_path / "pagerduty" / "incident.json").is_file()


def test_payloads_are_written_as_json_into_the_folders_they_name(tmp_path):
    import json

    from pia.snapshot import write_payloads

    folder = tmp_path / "new" / "slack"  # neither there yet
    files = {"users.json": [{"id": "U1", "real_name": "Zoë 🚒"}], "inc-1/2026-11-20.json": [{"ts": "1"}], "inc-1/2026-11-21.json": [{"ts": "2"}]}
    write_payloads(folder, files)
    assert {p.relative_to(folder).as_posix(): json.loads(p.read_text()) for p in folder.rglob("*.json")} == files
    assert '"Zoë 🚒"' in (folder / "users.json").read_text(encoding="utf-8")  # text as people read it, not \u escapes


def test_a_snapshot_file_may_have_200_mb_and_not_a_byte_more(tmp_path):
    from pia.errors import InputError
    from pia.snapshot import snapshot_files

    dump = tmp_path / "pagerduty" / "dump.bin"
    dump.parent.mkdir()
    with dump.open("wb") as handle:  # sparse: no disk space taken
        handle.truncate(200 * 1024**2)
    (tmp_path / ".incident.partial").mkdir()  # hidden: staging, caches
    (tmp_path / ".incident.partial" / "users.json").write_text("[]")
    assert snapshot_files(tmp_path) == [dump]
    with dump.open("r+b") as handle:
        handle.truncate(200 * 1024**2 + 1)
    with pytest.raises(InputError, match="209,715,201 bytes, more than the 209,715,200 a snapshot file may have"):
        snapshot_files(tmp_path)


def test_a_file_that_cannot_be_read_is_one_line_naming_it(tmp_path):
    from pia.errors import ConfigError, InputError
    from pia.snapshot import read_json, read_toml

    for read, error in ((read_json, InputError), (read_toml, ConfigError)):
        with pytest.raises(error) as refused:
            read(tmp_path)  # a folder where a file should be
        assert str(refused.value) == f"{tmp_path}: Is a directory"


def test_an_unsafe_folder_name_is_told_apart_from_an_unknown_id(tmp_path):
    from pia.errors import InputError, UnknownIncident
    from pia.snapshot import open_incident

    (tmp_path / "incidents" / "login outage").mkdir(parents=True)
    with pytest.raises(InputError, match="is not a safe incident id .*: rename the folder"):
        open_incident("login outage", tmp_path)
    with pytest.raises(UnknownIncident):
        open_incident("search outage", tmp_path)


def test_a_name_becomes_a_folder_only_if_it_stays_one_plain_folder():
    from pia.errors import InputError
    from pia.snapshot import safe_id, safe_name

    for fine in ("incidents", "a" * 200, "with space", "tilde~\x7f"):
        assert safe_name(fine, "channel") == fine
    for bad in ("", "a" * 201, "a/b", "a\\b", ".hidden", "..", "tab\there", "unit\x1fsep"):
        with pytest.raises(InputError, match="cannot be a folder name"):
            safe_name(bad, "channel", "channels.json")
    assert safe_id("2026-11-20_login.v2", "id") == "2026-11-20_login.v2" and safe_id("a" * 128, "id") == "a" * 128
    with pytest.raises(InputError) as refused:
        safe_id("a" * 129, "id")
    assert str(refused.value).startswith("a" * 80 + "…") and "a" * 81 not in str(refused.value)
    with pytest.raises(InputError) as refused:
        safe_id("b" * 80 + "/", "id")
    assert "b" * 80 + "…" in str(refused.value)  # 81 characters: shortened to 80
    with pytest.raises(InputError) as refused:
        safe_id("c" * 79 + "/", "id")
    assert "'" + "c" * 79 + "/'" in str(refused.value) and "…" not in str(refused.value)  # 80 characters: shown whole


def test_the_data_dir_is_found_upwards_as_git_finds_its_repository(tmp_path, monkeypatch):
    from pia.snapshot import data_dir, list_incidents

    (tmp_path / "data" / "incidents" / "b-second").mkdir(parents=True)
    (tmp_path / "data" / "incidents" / "a-first").mkdir()
    (tmp_path / "data" / "incidents" / ".a-first.partial").mkdir()  # an import being staged
    (tmp_path / "data" / "incidents" / "notes.txt").write_text("not an incident")
    (tmp_path / "notebooks" / "drafts").mkdir(parents=True)
    monkeypatch.delenv("PIA_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path / "notebooks" / "drafts")
    assert data_dir() == Path("../../data") and list_incidents() == ["a-first", "b-second"]
    monkeypatch.chdir(tmp_path)
    assert data_dir() == Path("data") and data_dir("elsewhere") == Path("elsewhere")
    monkeypatch.setenv("PIA_DATA_DIR", str(tmp_path / "other"))
    assert data_dir() == tmp_path / "other" and list_incidents() == []
    monkeypatch.delenv("PIA_DATA_DIR")
    monkeypatch.chdir(tmp_path / "notebooks")
    (tmp_path / "data" / "incidents" / "a-first").rename(tmp_path / "gone")
    assert data_dir() == Path("../data") and list_incidents() == ["b-second"]


def test_any_text_becomes_a_toml_string_that_reads_back():
    import tomllib

    from pia.snapshot import toml_string

    for text in ('say "hi"\\now', "line\nbreak\ttab", "🔥 Ünïcode", "del\x7fchar", "bell\x07"):
        assert tomllib.loads(f"v = {toml_string(text)}")["v"] == text
    lone = toml_string("lone \udc80 surrogate")  # as a broken export can hold: no TOML form, so replaced
    assert tomllib.loads(f"v = {lone}")["v"] == "lone ? surrogate"
