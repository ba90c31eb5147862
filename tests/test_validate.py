"""`pia validate`: the manifest catches changed, missing and added files; exit codes for scripts."""

from __future__ import annotations

import shutil

import pytest

from pia.cli import main
from pia.snapshot import write_manifest

from conftest import DATA

LOGIN = "2026-11-20-login-outage"


def test_samples_are_clean(capsys):
    assert main(["validate", "--data-dir", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert f"{LOGIN}: 0 errors, 0 warnings" in out


def test_changes_are_reported(tmp_path, capsys):
    folder = tmp_path / "incidents" / LOGIN
    shutil.copytree(DATA / "incidents" / LOGIN, folder)
    (folder / "pagerduty" / "alerts.json").write_text('{"alerts": []}')
    (folder / "pagerduty" / "notes.json").unlink()
    (folder / "slack" / "extra.json").write_text("[]")
    assert main(["validate", LOGIN, "--data-dir", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "error: pagerduty/alerts.json: changed since the manifest was written" in out
    assert "error: pagerduty/notes.json: listed in the manifest but missing" in out
    assert "warning: slack/extra.json: not in the manifest (added later)" in out


def test_warnings_only_exit_1_and_broken_data_exit_2(tmp_path, capsys):
    folder = tmp_path / "incidents" / LOGIN
    shutil.copytree(DATA / "incidents" / LOGIN, folder)
    (folder / "manifest.json").unlink()
    assert main(["validate", LOGIN, "--data-dir", str(tmp_path)]) == 1
    assert "warning: no manifest.json" in capsys.readouterr().out
    (folder / "pagerduty" / "log_entries.json").write_text("{")
    assert main(["validate", LOGIN, "--data-dir", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "log_entries.json: line 1 column 2: malformed JSON" in out


def test_import_writes_a_manifest(external, tmp_path, capsys):
    export = external / "slack" / "hfaran-slack-export-viewer" / "testarchive.zip"
    assert main(["import", "slack-export", str(export), "--channel", "enrique", "--incident", "imp", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["validate", "imp", "--data-dir", str(tmp_path)]) == 0


def test_a_one_byte_edit_of_the_same_size_is_caught(tmp_path, capsys):
    folder = tmp_path / "incidents" / LOGIN
    shutil.copytree(DATA / "incidents" / LOGIN, folder)
    day = next((folder / "slack").glob("*/*.json"))
    data = bytearray(day.read_bytes())
    data[data.index(b"e")] = ord("E")
    day.write_bytes(bytes(data))
    assert main(["validate", "--data-dir", str(tmp_path)]) == 2  # no id: every incident
    out = capsys.readouterr().out
    assert f"error: {day.relative_to(folder).as_posix()}: changed since the manifest was written" in out


def test_the_committed_manifests_are_what_write_manifest_writes(tmp_path):
    for folder in sorted((DATA / "incidents").iterdir()):
        copy = tmp_path / folder.name
        shutil.copytree(folder, copy)
        write_manifest(copy)
        assert (copy / "manifest.json").read_bytes() == (folder / "manifest.json").read_bytes(), folder.name


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    assert "0 clean (notes only), 1 warnings, 2 errors" in " ".join(capsys.readouterr().out.split())
