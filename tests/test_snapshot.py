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
