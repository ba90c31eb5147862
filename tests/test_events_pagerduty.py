"""PagerDuty REST v2 bodies to events: the real examples in ../shared, one test per quirk."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pia.errors import InputError
from pia.events import validate
from pia.events.pagerduty import alerts_to_events, incident_summary, log_entries_to_events, notes_to_events


def load(path: Path):
    return json.loads(path.read_text())


@pytest.fixture
def schema(external):
    return external / "pagerduty" / "pagerduty-api-schema"


@pytest.fixture
def docs(external):
    return external / "pagerduty" / "pagerduty-developer-docs"


def test_single_trigger_by_a_service_agent(schema):
    events = log_entries_to_events(load(schema / "incident.log_entries.200.json"), incident="t")
    row = validate(events).iloc[0]
    assert (row["kind"], row["is_human"], row["actor"]) == ("trigger", False, "My Mail Service")
    assert row["ref"] == "https://subdomain.pagerduty.com/incidents/PT4KHLK/log_entries/Q02JTSNZWHSEKV"
    assert "Tasks::SFDCValidator" in row["text"]  # event_details.description is kept
    assert row["ts"] == pd.Timestamp("2015-11-07T00:14:20Z")


@pytest.mark.parametrize("name", ["log_entries.list.200.json", "log_entry.get.200.json"])
def test_listing_and_single_entry_bodies(schema, name):
    events = log_entries_to_events(load(schema / name), incident="t")
    assert list(events["kind"]) == ["trigger"]


def test_incident_with_inconsistent_times_and_null_resolve(schema):
    summary = incident_summary(load(schema / "incident.get.200.json"))
    assert summary["resolved_at"] is None
    assert summary["status"] == "acknowledged"
    assert summary["html_url"].startswith("https://")


def test_snoozed_incident_body(schema):
    assert incident_summary(load(schema / "incident.snooze.201.json"))["id"]


def test_alerts(schema):
    events = alerts_to_events(load(schema / "incident.alerts.200.json"), incident="t")
    assert list(events["kind"]) == ["alert"] and not events["is_human"].any()


def test_notes_with_negative_offset_and_bot_author(schema):
    events = notes_to_events(load(schema / "incident.notes.200.json"), incident="t")
    person = events[events["text"] == "Firefighters are on the scene."].iloc[0]
    assert person["ts"] == pd.Timestamp("2013-03-06T20:28:51Z")  # -05:00 read correctly
    assert person["is_human"]
    assert events["is_human"].sum() == 1  # the other is a bot_user_reference via an event rule


def test_resolve_via_slack_with_plus_zero_offset_and_null_html_url(schema):
    body = load(schema / "webhook_incident_action.example.json")
    row = log_entries_to_events({"log_entries": body["log_entries"]}, incident="t").iloc[0]
    assert row["kind"] == "resolve" and row["is_human"]
    assert row["ts"] == pd.Timestamp("2017-09-22T18:37:29Z")
    # html_url is null and `self` is the REST API (no page a person can open): the id stands in
    assert row["ref"] == "R0FFIOTKIU30MN7XWR99SI0"


@pytest.mark.parametrize(
    ("event", "kind"),
    [("trigger", "trigger"), ("acknowledge", "acknowledge"), ("resolve", "resolve"), ("assign", "assign")],
)
def test_webhook_v2_log_entries(docs, event, kind):
    body = load(docs / f"webhook_v2.incident.{event}.json")
    entries = [e for message in body["messages"] for e in message["log_entries"]]
    events = log_entries_to_events({"log_entries": entries}, incident="t")
    assert kind in set(events["kind"])
    for message in body["messages"]:
        assert incident_summary({"incident": message["incident"]})["id"]
    if kind == "assign":
        assert events["mentions"].iloc[0] == "PFBSJ2Z"


@pytest.mark.parametrize(
    "path",
    [
        "pagerduty-api-schema/incidents.list.200.json",
        "pagerduty-developer-docs/incidents.list.without_include.json",
        "pagerduty-developer-docs/incidents.list.include_services.json",
    ],
)
def test_incident_listings(external, path):
    for incident in load(external / "pagerduty" / path)["incidents"]:
        summary = incident_summary({"incident": incident})
        assert summary["created_at"] is not None and summary["id"]


@pytest.mark.parametrize(
    "path",
    [
        "pagerduty-api-schema/error.BadRequest.example.json",
        "pagerduty-developer-docs/error_response.example.json",
        "pagerduty-developer-docs/rate_limit_429.body.json",
    ],
)
def test_error_bodies_are_not_mistaken_for_logs(external, path):
    with pytest.raises(InputError, match="expected an object with a 'log_entries' list"):
        log_entries_to_events(load(external / "pagerduty" / path), incident="t", origin=path)


def entry(kind="acknowledge_log_entry", at="2026-03-14T14:05:00Z", **more):
    return {"id": "R1", "type": kind, "created_at": at, "summary": "x", **more}


def test_both_spellings_of_acknowledge():
    events = log_entries_to_events(
        {"log_entries": [entry("acknowledge_log_entry"), entry("acknowledgement_log_entry", "2026-03-14T14:06:00+00:00")]},
        incident="t",
    )
    assert list(events["kind"]) == ["acknowledge", "acknowledge"]


def test_null_fields_and_unknown_types_are_kept():
    events = log_entries_to_events(
        {"log_entries": [entry("urgency_change_log_entry", agent=None, channel=None, html_url=None, summary=None)]},
        incident="t",
    )
    row = events.iloc[0]
    assert (row["kind"], row["actor"], row["is_human"]) == ("urgency_change", "PagerDuty", False)


def test_user_agent_is_human_service_agent_is_not():
    events = log_entries_to_events(
        {
            "log_entries": [
                entry(agent={"id": "P1", "type": "user_reference", "summary": "Ana"}),
                entry("resolve_log_entry", "2026-03-14T15:00:00Z", agent={"id": "S1", "type": "service_reference", "summary": "API"}),
            ]
        },
        incident="t",
    )
    assert list(events["is_human"]) == [True, False]


@pytest.mark.parametrize(
    ("body", "place", "problem"),
    [
        ({"log_entries": [{"type": "trigger_log_entry"}]}, "log_entries[0]", "has no 'created_at'"),
        ({"log_entries": [{"created_at": "2026-03-14T14:05:00Z"}]}, "log_entries[0]", "has no 'type'"),
        ({"log_entries": [entry(at="2026-03-14T14:05:00")]}, "log_entries[0]", "has no UTC offset"),
        ({"log_entries": [entry(), entry(at="not a time+00:00")]}, "log_entries[1]", "is not an ISO 8601 time"),
        ({"log_entries": {}}, "", "expected an object with a 'log_entries' list"),
    ],
)
def test_bad_log_entries_name_file_and_place(body, place, problem):
    with pytest.raises(InputError) as caught:
        log_entries_to_events(body, incident="t", origin="log_entries.json")
    assert caught.value.place == place and problem in str(caught.value)
    assert str(caught.value).startswith("log_entries.json")
