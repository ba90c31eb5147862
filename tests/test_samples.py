"""Every sample incident reads into a complete, ordered timeline with names resolved."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pia.cli import main
from pia.snapshot import list_incidents, open_incident

from conftest import DATA

SAMPLES = list_incidents(DATA)


def test_there_are_enough_samples():
    assert len(SAMPLES) >= 6


def raw_count(folder: Path) -> int:
    """Events a snapshot should give, counted straight from its JSON: distinct messages per
    channel, log entries, alerts, and notes the log does not already show as annotations."""
    count = 0
    slack = folder / "slack"
    if slack.is_dir():
        for channel in (p for p in slack.iterdir() if p.is_dir()):
            count += len({m["ts"] for day in channel.glob("*.json") for m in json.loads(day.read_text())})
    pagerduty = folder / "pagerduty"
    if pagerduty.is_dir():
        entries = json.loads((pagerduty / "log_entries.json").read_text())["log_entries"]
        count += len(entries)
        if (pagerduty / "alerts.json").exists():
            count += len(json.loads((pagerduty / "alerts.json").read_text())["alerts"])
        if (pagerduty / "notes.json").exists():
            seen = {
                (pd.Timestamp(e["created_at"]).floor("s"), (e.get("agent") or {}).get("id"))
                for e in entries
                if e["type"] == "annotate_log_entry"
            }
            notes = json.loads((pagerduty / "notes.json").read_text())["notes"]
            count += sum((pd.Timestamp(n["created_at"]).floor("s"), n["user"]["id"]) not in seen for n in notes)
    return count


@pytest.mark.parametrize("incident", SAMPLES)
def test_sample_timeline(incident, capsys):
    assert main(["timeline", incident, "--data-dir", str(DATA), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == raw_count(DATA / "incidents" / incident)
    stamps = [r["ts"] for r in rows]
    assert stamps == sorted(stamps)
    events = open_incident(incident, DATA).events()
    assert not events["text"].str.contains("<@U", regex=False).any()
    people = events[events["is_human"] & (events["source"] == "slack")]
    assert not people["actor"].str.fullmatch(r"[UW][A-Z0-9]{6,}").any(), "a human shows as a raw id"
    # PagerDuty links are pages a person can open, never the REST API (its `self` needs a token)
    links = events.loc[events["source"] == "pagerduty", "ref"]
    assert links.empty or links.str.startswith("https://").any()
    assert not links.str.contains("api.pagerduty.com").any()


def test_login_outage_reads_both_sources_and_threads():
    events = open_incident("2026-11-20-login-outage", DATA).events()
    assert set(events["source"]) == {"slack", "pagerduty"}
    assert {"trigger", "acknowledge", "escalate", "resolve", "reply", "join", "bot"} <= set(events["kind"])


def test_multi_day_incident_keeps_the_repeated_message_once_and_the_deletion():
    events = open_incident("2026-06-09-order-events-backlog", DATA).events()
    slack = events[events["source"] == "slack"]
    assert not slack.duplicated(["channel", "ts"]).any()
    assert (events["kind"] == "deleted").sum() >= 1 and events["edited"].any()
    assert events["ts"].dt.date.nunique() >= 3


def test_samples_read_at_once_give_each_its_own_timeline():
    """One read of all the samples (Slack, PagerDuty logs, notes and alerts, in every mix) into
    one frame, and of each alone: each incident's rows, in the order given, are its timeline as
    :meth:`Incident.events` reads it."""
    from pia.snapshot import read_events

    incidents = [open_incident(i, DATA) for i in reversed(SAMPLES)]
    for group in (incidents, *([i] for i in incidents)):
        events, failures, _ = read_events(group)
        assert not failures and list(pd.unique(events["incident"])) == [i.id for i in group]
        for incident in group:
            own = events[(events["incident"] == incident.id).to_numpy(bool)].reset_index(drop=True)
            pd.testing.assert_frame_equal(own, incident.events(), check_categorical=False, obj=incident.id)


def test_a_sample_whose_slack_cannot_be_read_gives_no_rows_not_even_its_pagerduty_ones(tmp_path):
    import shutil

    from pia.snapshot import read_events

    name = "2026-11-20-login-outage"  # Slack, and PagerDuty with notes
    shutil.copytree(DATA / "incidents" / name, tmp_path / "incidents" / name)
    day = tmp_path / "incidents" / name / "slack" / "incident-prod-outage" / "2026-11-20.json"
    messages = json.loads(day.read_text())
    messages[3]["ts"] = "yesterday"
    day.write_text(json.dumps(messages))
    events, failures, _ = read_events([open_incident(name, tmp_path)])
    assert list(failures) == [name] and "yesterday" in str(failures[name])
    assert events.empty


def test_a_sample_without_slack_has_an_empty_directory():
    incident = open_incident("2026-01-17-batch-disk-full", DATA)  # PagerDuty only
    assert incident.slack_source is None
    directory = incident.directory()
    assert directory.users == {} and directory.channels == {}
