"""Slack payloads to events: the real exports and API bodies in ../shared, one test per quirk,
and our own rules on hand-made messages (these need nothing beside the checkout)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pia.errors import InputError
from pia.events import validate
from pia.events.slack import Directory, directory, messages_to_events, parse_ts, resolve_markup
from pia.snapshot import Tree, export_directory, slack_events


def load(path: Path):
    return json.loads(path.read_text())


def events_of(messages, names=Directory(), origin="page.json"):
    return messages_to_events([(origin, messages)], incident="t", channel="c", channel_id="C1", names=names)


# --- the real 2016 workspace export (folder and zip) ------------------------------------------


@pytest.fixture
def archive(external):
    return external / "slack" / "hfaran-slack-export-viewer"


def test_export_zip_and_folder_read_the_same(archive):
    folder = slack_events(Tree(archive / "testarchive"), "t")
    zipped = slack_events(Tree(archive / "testarchive.zip"), "t")
    pd.testing.assert_frame_equal(folder, zipped)
    assert len(folder) == 158
    validate(folder)


def test_export_message_kinds(archive):
    events = slack_events(Tree(archive / "testarchive"), "t")
    kinds = events["kind"].value_counts().to_dict()
    # 94 bot_message, 8 channel_join, 3 bot_add; the 3 file_share and 1 file_comment are speech
    assert kinds == {"bot": 94, "message": 53, "join": 8, "bot_add": 3}
    assert not events.loc[events["kind"] == "bot", "is_human"].any()
    assert events["ts"].is_monotonic_increasing


def test_empty_display_name_falls_back_to_real_name(archive):
    names = export_directory(Tree(archive / "testarchive"))
    assert names.users["U0BMM2FEH"] == "heroeshannibal"
    assert names.timezones["U0BMYT2FL"] == "America/Los_Angeles"


def test_bot_message_with_empty_text_takes_attachment_text_and_keeps_reactions(archive):
    day = load(archive / "testarchive" / "enrique" / "2016-03-28.json")
    events = events_of(day)
    first = events.iloc[0]
    assert first["kind"] == "bot" and first["text"] != ""
    assert first["reactions"] == ",".join(r["name"] for r in day[0]["reactions"])


def test_file_share_with_null_bot_id_is_human(archive):
    events = slack_events(Tree(archive / "testarchive"), "t")
    files = events[events["text"].str.contains("uploaded a file", regex=False)]
    assert len(files) == 3
    assert files["is_human"].all()


def test_edit_with_zero_micro_edited_ts_is_flagged(archive):
    events = events_of(load(archive / "testarchive" / "traveling-sailor" / "2016-03-25.json"))
    assert events["edited"].sum() == 1


def test_file_comment_actor_comes_from_the_comment(archive):
    events = events_of(load(archive / "testarchive" / "traveling-sailor" / "2016-03-27.json"))
    comment = events[events["text"].str.contains("commented on", regex=False)].iloc[0]
    assert comment["actor_id"] == "U0BMS113R" and comment["is_human"]


# --- Web API bodies (slack-api-specs) ---------------------------------------------------------


@pytest.fixture
def specs(external):
    return external / "slack" / "slackapi-slack-api-specs"


def test_history_page_parses(specs):
    page = load(specs / "conversations.history.200.json")
    events = events_of(page["messages"])
    assert list(events["text"]) == [m["text"] for m in sorted(page["messages"], key=lambda m: m["ts"])]


def test_replies_page_marks_parent_and_replies(specs):
    page = load(specs / "conversations.replies.200.json")
    events = events_of(page["messages"])
    assert list(events["kind"]) == ["message", "reply", "reply", "reply"]
    assert (events["thread"] == "1482960137.003543").all()
    assert "thread_ts=1482960137.003543" in events["ref"].iloc[1]


def test_users_list_prefers_profile_display_then_real_name(specs):
    members = load(specs / "users.list.200.json")["members"]
    names = directory(members)
    assert names.users["W07QCRPA4"] == "Glinda the Fairly Good"
    assert names.users["W012A3CDE"] == "spengler"  # display_name is set, so it wins
    assert directory([{**members[0], "profile": {**members[0]["profile"], "display_name": ""}}]).users[
        "W012A3CDE"
    ] == "Egon Spengler"


def test_users_info_and_channels_list(specs):
    user = load(specs / "users.info.200.json")["user"]
    channels = load(specs / "conversations.list.200.json")["channels"]
    names = directory([user], channels)
    assert names.users[user["id"]] == user["profile"]["display_name"]
    text = resolve_markup(pd.Series([f"<@{user['id']}> see <#{channels[0]['id']}>"]), names)
    assert text.iloc[0] == f"@{user['profile']['display_name']} see #{channels[0]['name']}"


def test_bot_post_with_username(specs):
    message = load(specs / "chat.postMessage.200_bot_message.json")["message"]
    events = events_of([message])
    assert events["kind"].iloc[0] == "bot" and not events["is_human"].iloc[0]
    assert events["actor"].iloc[0] == message["username"]


# --- Events API envelopes (real captures) -----------------------------------------------------


@pytest.fixture
def captured(external):
    return external / "slack" / "mercurytechnologies-slack-web"


def test_message_changed_by_unfurl_is_not_an_edit(captured):
    event = load(captured / "SlackWebhookEvent" / "messageChange.json")["event"]
    events = events_of([event])
    assert len(events) == 1 and not events["edited"].iloc[0]
    assert events["ts"].iloc[0] == parse_ts(pd.Series([event["message"]["ts"]])).iloc[0]


def test_message_deleted_keeps_a_trace_without_text(captured):
    event = load(captured / "SlackWebhookEvent" / "message_deleted.json")["event"]
    original = {**event["previous_message"], "ts": event["deleted_ts"]}
    events = events_of([original, event])
    assert list(events["kind"]) == ["deleted"] and events["text"].iloc[0] == ""


def test_file_share_upload(captured):
    event = load(captured / "SlackWebhookEvent" / "message_file_share.json")["event"]
    row = events_of([event]).iloc[0]
    assert row["kind"] == "message" and row["is_human"] and "[file: " in row["text"]


def test_channel_join_with_inviter(captured):
    event = load(captured / "SlackWebhookEvent" / "joinChannel.json")["event"]
    row = events_of([event], Directory({"U0442US8QGH": "Dana"})).iloc[0]
    assert row["kind"] == "join" and row["text"] == "@Dana has joined the channel"


def test_bot_message_without_user(captured):
    event = load(captured / "SlackWebhookEvent" / "message_subtype_bot_message.json")["event"]
    row = events_of([event]).iloc[0]
    assert row["kind"] == "bot" and row["actor"] == "Reacji Channeler" and row["actor_id"] == event["bot_id"]


def test_attachment_ts_number_or_string_reads_the_same(captured):
    number = events_of([load(captured / "SlackWebhookEvent" / "github_notification.json")["event"]])
    string = events_of([load(captured / "SlackWebhookEvent" / "github_notification_ts_string.json")["event"]])
    pd.testing.assert_frame_equal(number, string)
    assert number["kind"].iloc[0] == "bot" and number["text"].iloc[0]


def test_users_list_with_bots_and_deleted_users_without_profile(captured):
    names = directory(load(captured / "ListRsp" / "with_bots.json")["members"])
    assert "U061F7AUR" in names.bots
    assert names.users["W012A3CDE"] == "bob"


def test_real_file_object(captured):
    file = load(captured / "FileObject" / "real.json")
    row = events_of([{"type": "message", "user": "U1", "ts": "1700000000.000100", "text": "", "files": [file]}]).iloc[0]
    assert row["text"] == f"[file: {file['title']}]"


# --- legacy docs and third-party exports ------------------------------------------------------


def test_legacy_message_changed_with_nested_edit(external):
    event = load(external / "slack" / "slackhq-slack-api-docs" / "message_changed.json")
    row = events_of([event]).iloc[0]
    assert row["edited"] and row["text"] == "Hello, world!"


def test_legacy_message_deleted(external):
    event = load(external / "slack" / "slackhq-slack-api-docs" / "message_deleted.json")
    original = {"type": "message", "user": "U1", "text": "oops", "ts": event["deleted_ts"]}
    events = events_of([original, event])
    assert list(events["kind"]) == ["deleted"]


def test_legacy_history_with_shared_ts_and_unknown_type(external):
    page = load(external / "slack" / "slackhq-slack-api-docs" / "channels.history.response.json")
    events = events_of(page["messages"])
    # the unknown item type is kept under its own name, beside the message it shares a ts with
    assert sorted(events["kind"].astype(str)) == ["message", "message", "something_else"]
    assert events.loc[events["text"] == "World", "reactions"].iloc[0] == "space_invader,sweet_potato"


def test_thread_with_broadcast_reply_and_no_type(external):
    messages = load(external / "slack" / "zulip" / "thread_with_broadcast_reply.json")
    events = events_of(messages)
    assert list(events["kind"]) == ["message", "reply", "reply"]


# --- our own rules ----------------------------------------------------------------------------


def test_duplicate_ts_across_day_files_is_kept_once():
    message = {"type": "message", "user": "U1", "text": "hi", "ts": "1700000000.000100"}
    events = messages_to_events(
        [("a.json", [message]), ("b.json", [dict(message, text="hi (edited)")])], incident="t", channel="c"
    )
    assert len(events) == 1 and events["text"].iloc[0] == "hi (edited)"


def test_a_thread_parent_is_a_message_and_its_replies_are_replies():
    """Inline, as an export stores a thread: the parent's ``thread_ts`` is its own ``ts``."""
    parent = "1700000000.000100"
    events = events_of(
        [
            {"type": "message", "user": "U1", "text": "is checkout down?", "ts": parent, "thread_ts": parent, "reply_count": 2},
            {"type": "message", "user": "U2", "text": "yes, 5xx", "ts": "1700000030.000200", "thread_ts": parent, "parent_user_id": "U1"},
            {"type": "message", "subtype": "thread_broadcast", "user": "U1", "text": "paging payments", "ts": "1700000060.000300", "thread_ts": parent},
            {"type": "message", "user": "U2", "text": "unrelated, in the channel", "ts": "1700000090.000400"},
        ]
    )
    assert list(events["kind"]) == ["message", "reply", "reply", "message"]
    assert list(events["thread"]) == [parent, parent, parent, ""]
    assert "thread_ts" not in events["ref"].iloc[0] and "thread_ts" not in events["ref"].iloc[3]
    assert f"thread_ts={parent}" in events["ref"].iloc[1]


def test_unknown_subtype_is_kept_under_its_name():
    events = events_of([{"type": "message", "subtype": "huddle_thread", "user": "U1", "ts": "1700000000.000100"}])
    assert events["kind"].iloc[0] == "huddle_thread"


def test_tombstone_is_a_deleted_trace():
    events = events_of(
        [{"type": "message", "subtype": "tombstone", "text": "This message was deleted.", "hidden": True, "user": "USLACKBOT", "ts": "1700000000.000100", "thread_ts": "1700000000.000100"}]
    )
    assert events["kind"].iloc[0] == "deleted" and events["text"].iloc[0] == ""


@pytest.mark.parametrize(
    ("messages", "place", "problem"),
    [
        ([{"type": "message", "text": "x"}], "message 0", "has no 'ts'"),
        ([{"type": "message", "ts": "yesterday"}], "message 0", "is not a Slack timestamp"),
        ([{"type": "message", "ts": 1700000000.1}], "message 0", "is not a Slack timestamp string"),
        (["text"], "message 0", "not an object"),
    ],
)
def test_bad_messages_name_file_and_place(messages, place, problem):
    with pytest.raises(InputError) as caught:
        events_of(messages, origin="day.json")
    assert caught.value.path == "day.json" and caught.value.place == place
    assert problem in str(caught.value) and "\n" not in str(caught.value)


# --- properties -------------------------------------------------------------------------------


@given(st.integers(0, 9_223_372_035), st.integers(0, 999_999))
def test_ts_parses_exactly(seconds, micros):
    parsed = parse_ts(pd.Series([f"{seconds}.{micros:06d}"])).iloc[0]
    assert parsed.value == seconds * 1_000_000_000 + micros * 1_000
    assert str(parsed.tz) == "UTC"


@given(st.text().filter(lambda s: not SLACK_TS_RE.fullmatch(s)))
def test_ts_rejects_everything_else(text):
    with pytest.raises(ValueError):
        parse_ts(pd.Series([text]))


import re  # noqa: E402  (kept next to the property that needs it)

SLACK_TS_RE = re.compile(r"\d{1,10}\.\d{1,6}")

_plain = st.text(alphabet=st.characters(blacklist_characters="<>&", blacklist_categories=("Cs",)))
_ids = st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True)


@given(_plain)
def test_plain_text_is_unchanged(text):
    assert resolve_markup(pd.Series([text]), Directory()).iloc[0] == text


@given(_plain, _ids, st.text(alphabet=st.characters(blacklist_characters="<>|&"), min_size=1))
def test_mentions_resolve_to_names(before, user, name):
    names = Directory({user: name})
    out = resolve_markup(pd.Series([f"{before}<@{user}>"]), names).iloc[0]
    assert out == f"{before}@{name}"


@given(_plain)
def test_entities_decode_once(text):
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert resolve_markup(pd.Series([escaped]), Directory()).iloc[0] == text


@given(st.from_regex(r"https?://[a-z]{1,10}\.[a-z]{2,3}/[a-z0-9]{0,8}", fullmatch=True), st.text(alphabet=st.characters(blacklist_characters="<>|&"), min_size=1))
def test_links_keep_label_and_url(url, label):
    out = resolve_markup(pd.Series([f"<{url}|{label}>", f"<{url}>"]), Directory())
    assert list(out) == ([f"{label} ({url})"] if label != url else [url]) + [url]


# --- many incidents in one pass -----------------------------------------------------------------


def test_many_incidents_read_in_one_pass_as_each_alone(tmp_path):
    """One frame for many snapshots gives each incident the rows it gives alone, names from its
    own directory; one with a bad ts and one with malformed JSON are failures and leave no
    rows, and the others are not affected."""
    from conftest import write_incident

    from pia.snapshot import list_incidents, open_incident, read_events

    for name in ("a-good", "b-bad-ts", "c-good", "d-broken-json", "e-renamed"):
        write_incident(tmp_path, incident=name)
    day = tmp_path / "incidents" / "b-bad-ts" / "slack" / "inc-1" / "2026-11-20.json"
    rows = json.loads(day.read_text())
    rows[1]["ts"] = "yesterday"
    day.write_text(json.dumps(rows))
    (tmp_path / "incidents" / "d-broken-json" / "slack" / "inc-1" / "2026-11-20.json").write_text('[{"ts": ')
    users = tmp_path / "incidents" / "e-renamed" / "slack" / "users.json"
    users.write_text(json.dumps([{"id": "U1", "name": "ana", "profile": {"display_name": "Ana Other"}}]))
    incidents = [open_incident(i, tmp_path) for i in list_incidents(tmp_path)]

    events, failures, _ = read_events(incidents)

    assert list(failures) == ["b-bad-ts", "d-broken-json"]
    assert "2026-11-20.json" in str(failures["b-bad-ts"]) and "message 1" in str(failures["b-bad-ts"]) and "yesterday" in str(failures["b-bad-ts"])
    assert "malformed JSON" in str(failures["d-broken-json"])
    assert list(pd.unique(events["incident"])) == ["a-good", "c-good", "e-renamed"]
    for incident in incidents:
        if incident.id in failures:
            with pytest.raises(InputError):
                incident.events()
            continue
        own = events[(events["incident"] == incident.id).to_numpy(bool)].reset_index(drop=True)
        pd.testing.assert_frame_equal(own, incident.events(), check_categorical=False)
    assert "Ana Other" in set(events.loc[(events["incident"] == "e-renamed").to_numpy(bool), "actor"])
    assert "Ana Other" not in set(events.loc[(events["incident"] == "a-good").to_numpy(bool), "actor"])
