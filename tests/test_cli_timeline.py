"""`pia timeline` and `pia import`: output on good snapshots, one-line errors on bad ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pia.cli import main

USERS = [{"id": "U1", "name": "ana", "profile": {"display_name": "Ana"}}, {"id": "U2", "name": "bo", "real_name": "Bo Li"}]
MESSAGES = [
    {"type": "message", "user": "U1", "text": "<@U2> can you look?", "ts": "1773497100.000100"},
    {"type": "message", "user": "U2", "text": "on it", "ts": "1773497160.000200"},
]
LOG = {
    "log_entries": [
        {"id": "R1", "type": "trigger_log_entry", "created_at": "2026-03-14T14:04:00Z", "summary": "Triggered"},
        {"id": "R2", "type": "acknowledge_log_entry", "created_at": "2026-03-14T14:05:30Z", "summary": "Acked",
         "agent": {"id": "P1", "type": "user_reference", "summary": "Bo Li"}},
    ]
}


def write(path: Path, payload) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    """A data dir with one good incident, `inc`, holding Slack and PagerDuty data."""
    base = tmp_path / "incidents" / "inc"
    write(base / "incident.toml", 'id = "inc"\ntitle = "Test"\n')
    write(base / "slack" / "users.json", USERS)
    write(base / "slack" / "channels.json", [{"id": "C1", "name": "inc-1"}])
    write(base / "slack" / "inc-1" / "2026-03-14.json", MESSAGES)
    write(base / "pagerduty" / "log_entries.json", LOG)
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_timeline_merges_sources_in_order_with_names(snapshot, capsys):
    code, out, _ = run(capsys, "timeline", "inc", "--data-dir", str(snapshot), "--format", "json")
    rows = json.loads(out)
    assert code == 0
    assert [r["kind"] for r in rows] == ["trigger", "message", "acknowledge", "message"]
    assert rows[1]["text"] == "@Bo Li can you look?" and rows[1]["actor"] == "Ana"


def test_timeline_table_and_csv(snapshot, capsys):
    code, out, _ = run(capsys, "--data-dir", str(snapshot), "timeline", "inc")
    assert code == 0 and out.splitlines()[0].split()[:5] == ["ts", "source", "kind", "actor", "text"]
    assert len(out.splitlines()) == 5
    code, out, _ = run(capsys, "timeline", "inc", "--data-dir", str(snapshot), "--format", "csv")
    assert out.splitlines()[0].startswith("incident,ts,source,kind")


def test_summary_of_all_incidents(snapshot, capsys):
    code, out, _ = run(capsys, "timeline", "--data-dir", str(snapshot))
    assert code == 0 and "inc" in out and "Test" in out


def corrupt(snapshot: Path, relative: str, payload) -> None:
    write(snapshot / "incidents" / "inc" / relative, payload)


DAY = "slack/inc-1/2026-03-14.json"
BAD_INPUTS = [
    (DAY, "{not json", f"incidents/inc/{DAY}: line 1 column 2: malformed JSON"),
    (DAY, {"messages": []}, f"incidents/inc/{DAY}: a day file must be a JSON list of messages, not an object"),
    (DAY, [{"type": "message", "text": "x"}], f"incidents/inc/{DAY}: message 0: has no 'ts'"),
    (DAY, [{"type": "message", "ts": "12:04"}], f"incidents/inc/{DAY}: message 0: ts '12:04' is not a Slack timestamp"),
    ("pagerduty/log_entries.json", {"log_entries": [{"type": "trigger_log_entry"}]},
     "incidents/inc/pagerduty/log_entries.json: log_entries[0]: has no 'created_at'"),
    ("pagerduty/log_entries.json", {"log_entries": [{"created_at": "2026-03-14T14:04:00Z"}]},
     "incidents/inc/pagerduty/log_entries.json: log_entries[0]: has no 'type'"),
    ("pagerduty/log_entries.json", {"log_entries": [{"type": "trigger_log_entry", "created_at": "2026-03-14T14:04:00"}]},
     "incidents/inc/pagerduty/log_entries.json: log_entries[0]: timestamp '2026-03-14T14:04:00' has no UTC offset"),
    ("incident.toml", "id = \"inc\"\ntitle = \nseverity = 1\n", "incidents/inc/incident.toml: line 2, column 9: malformed TOML: Invalid value"),
]


@pytest.mark.parametrize(("relative", "payload", "message"), BAD_INPUTS, ids=[m.split(": ", 1)[1][:40] for *_, m in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2(snapshot, capsys, relative, payload, message):
    corrupt(snapshot, relative, payload)
    code, out, err = run(capsys, "timeline", "inc", "--data-dir", str(snapshot))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("pia: error: ")
    assert message in err


def test_missing_snapshot(tmp_path, capsys):
    write(tmp_path / "incidents" / "empty" / "incident.toml", 'id = "empty"\n')
    code, _, err = run(capsys, "timeline", "empty", "--data-dir", str(tmp_path))
    assert code == 2
    assert err == f"pia: error: {tmp_path}/incidents/empty: no snapshot here: expected slack/ (or slack.zip) or pagerduty/\n"


def test_unknown_incident_lists_known(snapshot, capsys):
    code, _, err = run(capsys, "timeline", "nope", "--data-dir", str(snapshot))
    assert code == 2 and err == f"pia: error: no incident 'nope' in {snapshot}/incidents (known: inc)\n"


def test_one_bad_incident_does_not_hide_the_others(snapshot, capsys):
    write(snapshot / "incidents" / "broken" / "pagerduty" / "log_entries.json", "[")
    code, out, err = run(capsys, "timeline", "--data-dir", str(snapshot))
    assert code == 2 and "inc" in out
    assert "broken/pagerduty/log_entries.json: line 1 column 2: malformed JSON" in err


def test_no_traceback_from_the_real_command(snapshot):
    corrupt(snapshot, DAY, "[{]")
    done = subprocess.run(
        [sys.executable, "-m", "pia", "timeline", "inc", "--data-dir", str(snapshot)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_import_slack_export_carves_one_channel_atomically(external, tmp_path, capsys):
    export = external / "slack" / "hfaran-slack-export-viewer" / "testarchive.zip"
    code, out, _ = run(
        capsys, "import", "slack-export", str(export), "--channel", "enrique", "--incident", "imp",
        "--data-dir", str(tmp_path), "--since", "2016-03-01T00:00:00Z",
    )
    assert code == 0 and "imported #enrique" in out
    slack = tmp_path / "incidents" / "imp" / "slack"
    assert sorted(p.name for p in slack.iterdir()) == ["channels.json", "enrique", "users.json"]
    days = sorted(p.name for p in (slack / "enrique").iterdir())
    assert days and all(d >= "2016-03-01" for d in days)
    assert not list(tmp_path.glob("incidents/imp/.*"))  # no staging left behind
    code, out, _ = run(capsys, "timeline", "imp", "--data-dir", str(tmp_path), "--format", "json")
    assert all(r["ts"] >= "2016-03-01" for r in json.loads(out))


def test_import_from_folder_and_unknown_channel(external, tmp_path, capsys):
    export = external / "slack" / "hfaran-slack-export-viewer" / "testarchive"
    code, _, err = run(capsys, "import", "slack-export", str(export), "--channel", "nope", "--incident", "x", "--data-dir", str(tmp_path))
    assert code == 2 and "no channel 'nope' in the export (channels: enrique, traveling-sailor)" in err
    assert not (tmp_path / "incidents" / "x").exists()


def test_import_a_second_channel_keeps_the_first(external, tmp_path, capsys):
    export = external / "slack" / "hfaran-slack-export-viewer" / "testarchive"
    for channel in ("enrique", "traveling-sailor"):
        assert run(capsys, "import", "slack-export", str(export), "--channel", channel, "--incident", "two", "--data-dir", str(tmp_path))[0] == 0
    code, out, _ = run(capsys, "timeline", "two", "--data-dir", str(tmp_path), "--format", "json")
    assert {r["channel"] for r in json.loads(out)} == {"enrique", "traveling-sailor"}
    assert len(json.loads(out)) == 158


def test_import_an_enterprise_grid_export(tmp_path, capsys):
    """Grid exports name their users org_users.json and may hold private channels in
    groups.json; zipping the export's folder puts everything under one top folder."""
    import zipfile

    archive = tmp_path / "grid.zip"
    with zipfile.ZipFile(archive, "w") as grid:
        grid.writestr("export/org_users.json", json.dumps(USERS))
        grid.writestr("export/channels.json", "[]")
        grid.writestr("export/groups.json", json.dumps([{"id": "G1", "name": "inc-private"}]))
        grid.writestr("export/inc-private/2026-03-14.json", json.dumps(MESSAGES))
    code, out, _ = run(capsys, "import", "slack-export", str(archive), "--channel", "G1", "--incident", "grid", "--data-dir", str(tmp_path))
    assert code == 0 and "(2 events)" in out
    code, out, _ = run(capsys, "timeline", "grid", "--data-dir", str(tmp_path), "--format", "json")
    assert [r["actor"] for r in json.loads(out)] == ["Ana", "Bo Li"]
