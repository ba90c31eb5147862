"""Fuzzing the readers: Slack messages and PagerDuty entries built from their schemas with fields
missing, of the wrong type, odd unicode, huge texts and extreme times. A reader either parses
or raises pia's own error, never anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pia.errors import PiaError
from pia.events.pagerduty import alerts_to_events, incident_summary, log_entries_to_events, notes_to_events
from pia.events.slack import directory, messages_to_events

FUZZ = settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# text with right-to-left marks, zero-width joiners, emoji, lone surrogates (as JSON allows)
odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\u202eevil", "a\u200db", "🔥🧯", "\ud800", "x" * 20_000, "<@U1>", "&amp;&lt;", ""]),
)
anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), odd_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
slack_ts = st.one_of(
    st.from_regex(r"\d{1,10}\.\d{6}", fullmatch=True),
    st.sampled_from(["0.000000", "9999999999.999999", "1e9", "-1.000000", "1700000000", "", " 1.0"]),
    anything,
)
iso_time = st.one_of(
    st.sampled_from(["2026-03-14T14:05:00Z", "2026-03-14T14:05:00+00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-03-14T14:05:00", "2026-02-30T00:00:00Z", "yesterday"]),
    anything,
)


def maybe(strategy):
    """A field that may be missing (None here is dropped) or present with any value."""
    return st.one_of(st.just(None), strategy, anything)


slack_message = st.fixed_dictionaries(
    {},
    optional={
        "type": maybe(st.sampled_from(["message", "something_else"])),
        "subtype": maybe(st.sampled_from(["bot_message", "channel_join", "tombstone", "message_changed", "message_deleted", "thread_broadcast", "file_share", "weird"])),
        "ts": slack_ts,
        "user": maybe(st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True)),
        "text": maybe(odd_text),
        "thread_ts": maybe(slack_ts),
        "bot_id": maybe(st.text(max_size=5)),
        "reactions": maybe(st.lists(st.fixed_dictionaries({"name": maybe(odd_text)}), max_size=2)),
        "attachments": maybe(st.lists(st.dictionaries(st.sampled_from(["text", "fallback", "pretext"]), anything, max_size=2), max_size=2)),
        "files": maybe(st.lists(st.dictionaries(st.sampled_from(["title", "name", "id"]), anything, max_size=2), max_size=2)),
        "edited": maybe(st.fixed_dictionaries({"ts": slack_ts})),
        "message": maybe(st.fixed_dictionaries({"ts": slack_ts, "text": maybe(odd_text)})),
        "deleted_ts": maybe(slack_ts),
        "comment": anything,
        "bot_profile": anything,
    },
)

reference = st.one_of(st.fixed_dictionaries({"id": maybe(st.text(max_size=6)), "type": maybe(st.sampled_from(["user_reference", "service_reference"])), "summary": maybe(odd_text)}), anything)
log_entry = st.fixed_dictionaries(
    {},
    optional={
        "id": maybe(st.text(max_size=8)),
        "type": maybe(st.sampled_from(["trigger_log_entry", "acknowledgement_log_entry", "notify_log_entry", "x"])),
        "created_at": iso_time,
        "summary": maybe(odd_text),
        "agent": reference,
        "channel": anything,
        "user": reference,
        "assignees": maybe(st.lists(reference, max_size=2)),
        "html_url": anything,
        "event_details": anything,
    },
)


def drop_none(value):
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    return value


def through_json(value):
    """What a file would give back: JSON round trip (lone surrogates survive as escapes)."""
    return json.loads(json.dumps(value))


def parses_or_says_why(call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except PiaError as error:
        assert "\n" not in str(error)


@FUZZ
@given(st.lists(slack_message, max_size=6))
def test_slack_messages(messages):
    payload = through_json([drop_none(m) for m in messages])
    parses_or_says_why(messages_to_events, [("day.json", payload)], incident="f", channel="c")


@FUZZ
@given(anything)
def test_slack_day_file_of_any_shape(payload):
    parses_or_says_why(messages_to_events, [("day.json", through_json(payload))], incident="f", channel="c")


@FUZZ
@given(st.lists(st.one_of(st.fixed_dictionaries({"id": anything}, optional={"profile": anything, "real_name": anything, "tz": anything, "is_bot": anything}), anything), max_size=4))
def test_users_and_channels(users):
    parses_or_says_why(directory, through_json(users), through_json(users))


@FUZZ
@given(st.lists(log_entry, max_size=6))
def test_pagerduty_log_entries(entries):
    payload = {"log_entries": through_json([drop_none(e) for e in entries])}
    parses_or_says_why(log_entries_to_events, payload, incident="f")


@FUZZ
@given(anything, anything, anything)
def test_pagerduty_bodies_of_any_shape(notes, alerts, incident):
    payload = through_json({"notes": notes})
    parses_or_says_why(notes_to_events, payload, incident="f")
    parses_or_says_why(alerts_to_events, through_json({"alerts": alerts}), incident="f")
    parses_or_says_why(incident_summary, through_json({"incident": incident}))
    parses_or_says_why(log_entries_to_events, through_json(notes), incident="f")


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "a\x00b"])
def test_lone_surrogates_and_nul_in_text(bad):
    events = messages_to_events([("d.json", [{"type": "message", "user": "U1", "ts": "1700000000.000100", "text": bad}])], incident="f", channel="c")
    assert len(events) == 1
