"""`pia fetch` end to end: local Slack and PagerDuty servers, the real clients, a snapshot on disk
that the existing readers load; idempotent re-fetches, untouched snapshots on failure, discovery,
and no token anywhere in what was written, logged or printed."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from http_replay import (
    PagerDutyServer,
    SlackServer,
    fixture_users,
    generated_channel,
    generated_incident,
    generated_log,
    load,
    status,
    trusting,
    ts_of,
)
from pia.cli import main
from pia.snapshot import open_incident

trustme = pytest.importorskip("trustme", reason="trustme makes the PagerDuty test server's certificate")

SLACK_TOKEN = "xoxb-9999-8888-SeCrEtCliSlackToken"
PD_TOKEN = "u+" + "SeCrEtCliPagerDutyKey"  # fake, split so scanners do not take it for a key
START = datetime(2026, 3, 14, 23, 30, tzinfo=timezone.utc)  # the incident crosses midnight UTC
SCHEMA = ("pagerduty", "pagerduty-api-schema")


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def world(ca, tmp_path, monkeypatch):
    """Both servers, the tokens in the environment, and one incident: PagerDuty PINC00042
    (open 23:30–01:30 UTC) with Slack channel #inc-42, which also holds older chatter."""
    for name in ("SLACK_TOKEN", "PIA_SLACK_BASE_URL", "PIA_PAGERDUTY_BASE_URL", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    monkeypatch.setenv("PAGERDUTY_API_TOKEN", PD_TOKEN)
    trusting(ca, tmp_path / "ca.pem", monkeypatch.setenv)
    with SlackServer(SLACK_TOKEN) as slack, PagerDutyServer(PD_TOKEN, ca) as pd:
        for user in fixture_users():
            slack.users[user["id"]] = user
        chan, top, threads = generated_channel("C0INC0042", "inc-42", messages=400, threads=10, start=START, step=timedelta(minutes=1))
        early = [
            {"type": "message", "user": "W012A3CDE", "text": f"earlier {i}", "ts": ts_of((START - timedelta(days=2)).timestamp() + i)}
            for i in range(5)
        ]
        slack.add_channel(chan, top + early, threads)
        incident = generated_incident(42, START, resolved=START + timedelta(hours=2))
        pd.add_incident(
            incident,
            generated_log(incident, 30),
            load(*SCHEMA, "incident.notes.200.json")["notes"],
            load(*SCHEMA, "incident.alerts.200.json")["alerts"],
        )
        yield {"slack": slack, "pd": pd, "data": tmp_path / "data", "top": top, "threads": threads, "early": early}


def run(capsys, world, *args: str) -> tuple[int, str, str]:
    code = main(
        [
            *args,
            "--data-dir", str(world["data"]),
            "--slack-base-url", world["slack"].url + "/api/",
            "--pagerduty-base-url", world["pd"].url,
            "--slack-rate", "0",
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its hash (fetch.json aside: it records each fetch)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "fetch.json"
    }


def slack_messages(world) -> int:
    incident_top = [m for m in world["top"] if m.get("subtype") != "thread_broadcast"]
    return len(incident_top) + sum(len(r) for r in world["threads"].values())


def test_fetch_writes_the_snapshot_layout_and_reads_back(capsys, world):
    code, out, err = run(capsys, world, "fetch", "inc", "--slack-channel", "inc-42", "--pagerduty-incident", "PINC00042")
    assert code == 0, err
    assert out.startswith("fetched inc: #inc-42 400 messages (10 threads), PagerDuty PINC00042 (30 log entries, 2 notes, 1 alerts)")

    base = world["data"] / "incidents" / "inc"
    days = sorted(p.name for p in (base / "slack" / "inc-42").iterdir())
    assert days == ["2026-03-14.json", "2026-03-15.json"]  # the older chatter is outside the window
    for day in days:
        for message in json.loads((base / "slack" / "inc-42" / day).read_text()):
            seconds = int(message["ts"].split(".")[0])
            assert datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d.json") == day
    assert {u["id"] for u in json.loads((base / "slack" / "users.json").read_text())} == {"W012A3CDE", "W07QCRPA4"}
    assert json.loads((base / "slack" / "channels.json").read_text())[0]["id"] == "C0INC0042"
    assert json.loads((base / "pagerduty" / "incident.json").read_text())["incident"]["id"] == "PINC00042"
    assert len(json.loads((base / "pagerduty" / "log_entries.json").read_text())["log_entries"]) == 30

    # the window came from the PagerDuty incident with an hour either side
    sent = world["slack"].requests("conversations.history")[0].params
    assert sent["oldest"] == [f"{int((START - timedelta(hours=1)).timestamp())}.000000"]
    assert sent["latest"] == [f"{int((START + timedelta(hours=3)).timestamp())}.000000"]

    record = json.loads((base / "fetch.json").read_text())["fetches"][-1]
    assert record["window"] == {"since": "2026-03-14T22:30:00Z", "until": "2026-03-15T02:30:00Z"}
    assert record["slack"][0]["messages"] == 400 and record["pagerduty"][0]["log_entries"] == 30
    assert record["tool"].startswith("pia ") and record["requests"]["slack"] >= 13

    toml = (base / "incident.toml").read_text()
    assert 'slack_channels = ["inc-42"]' in toml and 'pagerduty_incidents = ["PINC00042"]' in toml

    events = open_incident("inc", world["data"]).events()
    counts = events["source"].value_counts()
    assert counts["slack"] == 400 == slack_messages(world)
    assert counts["pagerduty"] == 30 + 2 + 1  # log entries, notes (not in the log), alerts
    assert set(events.loc[events["actor_id"] == "W07QCRPA4", "actor"]) == {"Glinda the Fairly Good"}


def test_fetch_again_is_idempotent(capsys, world):
    assert run(capsys, world, "fetch", "inc", "--slack-channel", "inc-42", "--pagerduty-incident", "PINC00042")[0] == 0
    base = world["data"] / "incidents" / "inc"
    before = tree(base)
    code, out, _ = run(capsys, world, "fetch", "inc")  # channels and incident now come from incident.toml
    assert code == 0 and "400 messages" in out
    assert tree(base) == before
    assert len(json.loads((base / "fetch.json").read_text())["fetches"]) == 2
    assert len(open_incident("inc", world["data"]).events()) == 400 + 33
    assert not [p for p in base.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_fetch_again_replaces_only_the_window(capsys, world):
    assert run(capsys, world, "fetch", "inc", "--slack-channel", "inc-42")[0] == 0  # whole history
    assert len(open_incident("inc", world["data"]).events()) == 405
    slack = world["slack"]
    messages = slack.history["C0INC0042"]
    in_window = next(m for m in messages if m["text"] == "message 31")
    edited = next(m for m in messages if m["text"] == "message 32")
    outside = next(m for m in messages if m["text"] == "earlier 0")
    edited.update(text="message 32 (edited)", edited={"user": edited["user"], "ts": ts_of(START.timestamp() + 9000)})
    slack.remove("C0INC0042", in_window)
    slack.remove("C0INC0042", outside)

    code, _, err = run(capsys, world, "fetch", "inc", "--since", "2026-03-14T23:00:00Z", "--until", "2026-03-15T03:00:00Z")
    assert code == 0, err
    events = open_incident("inc", world["data"]).events()
    texts = set(events["text"])
    assert "message 31" not in texts and "message 32 (edited)" in texts and "message 32" not in texts
    assert "earlier 0" in texts  # outside the window: kept from the first fetch
    assert len(events) == 404 and events["ts"].is_unique


def test_a_failed_fetch_leaves_the_snapshot_untouched(capsys, world):
    assert run(capsys, world, "fetch", "inc", "--slack-channel", "inc-42", "--pagerduty-incident", "PINC00042")[0] == 0
    base = world["data"] / "incidents" / "inc"
    before = {**tree(base), "fetch.json": (base / "fetch.json").read_text()}
    world["slack"].inject("conversations.replies", status(200, {"ok": False, "error": "internal_error"}))

    code, out, err = run(capsys, world, "fetch", "inc")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "conversations.replies #inc-42 thread" in err and "failed: internal_error" in err
    assert "inc left unchanged (not fetched: #inc-42)" in err
    assert {**tree(base), "fetch.json": (base / "fetch.json").read_text()} == before
    assert not [p for p in base.parent.iterdir() if p.name.startswith(".")]


def test_a_missing_token_names_the_variable(capsys, world, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, _, err = run(capsys, world, "fetch", "inc", "--slack-channel", "inc-42")
    assert code == 2 and err == "pia: error: slack: no token: set SLACK_BOT_TOKEN to the app's bot token (xoxb-…); see docs/fetch.md for the scopes\n"
    assert not (world["data"] / "incidents" / "inc").exists()
    # a PagerDuty-only fetch needs no Slack token
    code, out, err = run(capsys, world, "fetch", "pd-only", "--pagerduty-incident", "PINC00042")
    assert code == 0, err
    monkeypatch.delenv("PAGERDUTY_API_TOKEN")
    code, _, err = run(capsys, world, "fetch", "pd-only")
    assert code == 2 and "set PAGERDUTY_API_TOKEN" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["fetch"], "name an INCIDENT to fetch, or list PagerDuty incidents"),
        (["fetch", "nothing-here"], "nothing to fetch for nothing-here: there is no snapshot by that id yet"),
        (["fetch", "x", "--pagerduty-since", "2026-03-01T00:00:00Z"], "takes no INCIDENT"),
        (["fetch", "--pagerduty-since", "2026-03-01T00:00:00Z"], "needs both --pagerduty-since and --pagerduty-until"),
        (["fetch", "x", "--slack-channel", "c", "--margin", "soon"], "--margin: 'soon' is not a duration"),
        (["fetch", "x", "--slack-channel", "c", "--since", "2026-03-01"], "--since: '2026-03-01' has no UTC offset"),
        (["fetch", "../x", "--slack-channel", "c"], "cannot be a folder name for an incident (letters, digits"),
        (["fetch", "x", "--channel-pattern", "inc-{number}"], "apply to discovery"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, world, args, message):
    code, out, err = run(capsys, world, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_discovery_makes_one_snapshot_per_incident(capsys, world):
    slack, pd = world["slack"], world["pd"]
    day = START + timedelta(days=10)
    pattern_chan, top, threads = generated_channel("C0INC0101", "inc-101", messages=40, threads=2, start=day)
    slack.add_channel(pattern_chan, top, threads)
    linked_chan, linked_top, _ = generated_channel("C0LINKED01", "war-room-b", messages=12, threads=0, start=day + timedelta(days=1))
    slack.add_channel(linked_chan, linked_top)
    incidents = [
        generated_incident(101, day, resolved=day + timedelta(hours=1)),
        generated_incident(102, day + timedelta(days=1), resolved=day + timedelta(days=1, hours=1),
                           description="Bridge: https://acme.slack.com/archives/C0LINKED01"),
        generated_incident(103, day + timedelta(days=2), resolved=day + timedelta(days=2, hours=1)),
        generated_incident(104, day + timedelta(days=3), resolved=None, service="PSVC999"),
        generated_incident(105, day + timedelta(days=40), resolved=None),
    ]
    for incident in incidents:
        pd.add_incident(incident, generated_log(incident, 5))

    args = ["fetch", "--pagerduty-since", "2026-03-24T00:00:00Z", "--pagerduty-until", "2026-04-01T00:00:00Z",
            "--service", "PSVC001", "--channel-pattern", "inc-{number}"]
    code, out, err = run(capsys, world, *args)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "3 of 3 PagerDuty incidents fetched"
    assert lines[0].startswith("fetched 2026-03-24-pd-101: #inc-101 40 messages (2 threads), PagerDuty PINC00101")
    assert lines[1].startswith("fetched 2026-03-25-pd-102: #war-room-b 12 messages")
    assert "no channel #inc-102" in lines[1]
    assert lines[2].startswith("fetched 2026-03-26-pd-103: PagerDuty PINC00103") and "no channel #inc-103" in lines[2]
    assert pd.requests("/incidents")[0].params["service_ids[]"] == ["PSVC001"]

    first = open_incident("2026-03-24-pd-101", world["data"])
    assert first.meta["title"] == "Incident 101" and first.meta["slack_channels"] == ["inc-101"]
    assert first.events()["source"].value_counts().to_dict() == {"slack": 40, "pagerduty": 5}
    assert open_incident("2026-03-25-pd-102", world["data"]).events()["source"].value_counts()["slack"] == 12
    assert set(open_incident("2026-03-26-pd-103", world["data"]).events()["source"]) == {"pagerduty"}

    # a second run refreshes the same snapshots, even one renamed by hand
    base = world["data"] / "incidents"
    (base / "2026-03-24-pd-101").rename(base / "db-outage")
    toml = base / "db-outage" / "incident.toml"
    toml.write_text(toml.read_text().replace('id = "2026-03-24-pd-101"', 'id = "db-outage"'))
    code, out, _ = run(capsys, world, *args)
    assert code == 0 and "fetched db-outage: #inc-101" in out
    assert sorted(p.name for p in base.iterdir()) == ["2026-03-25-pd-102", "2026-03-26-pd-103", "db-outage"]


def test_discovery_goes_on_after_one_failure_and_stops_on_a_refused_key(capsys, world):
    pd = world["pd"]
    day = START + timedelta(days=10)
    for number in (201, 202):
        incident = generated_incident(number, day + timedelta(hours=number - 200), resolved=day + timedelta(hours=number - 199))
        pd.add_incident(incident, generated_log(incident, 3))
    pd.forbidden.add("PINC00201")
    args = ["fetch", "--pagerduty-since", "2026-03-24T00:00:00Z", "--pagerduty-until", "2026-03-26T00:00:00Z"]
    code, out, err = run(capsys, world, *args)
    # a 403 on one incident is the key's reach: it stops the run with the fix
    assert code == 2 and "may not read this (403)" in err
    pd.forbidden.clear()
    pd.inject("/incidents/{id}", *[status(404, {"error": {"message": "Not Found", "code": 2100}})])
    code, out, err = run(capsys, world, *args)
    assert code == 2 and "1 of 2 PagerDuty incidents fetched" in out
    assert "incident PINC00201: not found (404)" in err and "2026-03-25-pd-202" not in err


def test_no_token_reaches_files_logs_or_output(capsys, caplog, world):
    caplog.set_level(logging.DEBUG)
    seen = []
    seen.append(run(capsys, world, "fetch", "inc", "--slack-channel", "inc-42", "--pagerduty-incident", "PINC00042"))
    world["slack"].inject("conversations.history", status(200, {"ok": False, "error": "invalid_auth"}))
    seen.append(run(capsys, world, "fetch", "inc"))
    world["pd"].inject("/incidents/{id}", status(401, {"error": {"message": "Unauthorized", "code": 2006}}))
    seen.append(run(capsys, world, "fetch", "inc"))
    assert [code for code, _, _ in seen] == [0, 2, 2]
    assert "token was refused (invalid_auth)" in seen[1][2] and "API key was refused (401)" in seen[2][2]

    texts = [out + err for _, out, err in seen] + [caplog.text]
    texts += [p.read_text(errors="replace") for p in world["data"].rglob("*") if p.is_file()]
    for secret in (SLACK_TOKEN, PD_TOKEN, SLACK_TOKEN.split("-")[-1], PD_TOKEN[2:]):
        assert not any(secret in text for text in texts), "a token leaked"
