"""Slack fetch: the real ``WebClient`` against a local server replaying Slack's payloads.

Pagination, threads, windows, retries (429 with Retry-After, 500, reset, timeout, cut bodies),
pacing, and every error turned into a one-line message with its fix.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone

import pytest

from http_replay import (
    SlackServer,
    fixture_users,
    generated_channel,
    generated_users,
    load,
    reset,
    short,
    slow,
    status,
    truncated,
)
from pia.errors import FetchError
from pia.sources.credentials import CredentialError, Secret
from pia.sources.slack_api import SCOPES, Pacer, SlackSettings, SlackSource, user_ids

TOKEN = "xoxb-1111-2222-SeCrEtSlackTokenValue"
START = datetime(2026, 3, 14, 13, 0, tzinfo=timezone.utc)
RATELIMITED = {"ok": False, "error": "ratelimited"}


def serving(users):
    with SlackServer(TOKEN) as running:
        for user in users:
            running.users[user["id"]] = user
        yield running


@pytest.fixture
def server():
    yield from serving(fixture_users())


@pytest.fixture
def bare_server():
    """The same server with generated users: tests on it need nothing beside the checkout."""
    yield from serving(generated_users())


def source(server: SlackServer, token: str = TOKEN, **changes) -> SlackSource:
    return SlackSource.connect(Secret(token), SlackSettings.local(server.url + "/api/", **changes))


def channel(server: SlackServer, messages: int = 300, threads: int = 10, **kw):
    chan, top, replies = generated_channel("C0INC0042", "inc-42", messages=messages, threads=threads, start=START, **kw)
    server.add_channel(chan, top, replies)
    return chan, top, replies


def test_pull_pages_history_and_fetches_every_thread(server):
    _, top, threads = channel(server, messages=600, threads=20)
    pulled = source(server, history_page=100).pull("inc-42")

    assert len(pulled.messages) == 600
    assert [m["ts"] for m in pulled.messages] == sorted((m["ts"] for m in pulled.messages), key=lambda t: tuple(map(int, t.split("."))))
    assert len({m["ts"] for m in pulled.messages}) == 600  # broadcast replies kept once
    assert pulled.threads == 20 and pulled.replies == sum(len(r) for r in threads.values())
    assert not any("last_read" in m or "subscribed" in m for m in pulled.messages)
    # the fewest requests these page sizes allow: list once, history pages, one per thread
    assert len(server.requests("conversations.list")) == 1
    assert len(server.requests("conversations.history")) == math.ceil(len(top) / 100)
    assert len(server.requests("conversations.replies")) == 20
    first = server.requests("conversations.history")[0].params
    assert first["channel"] == ["C0INC0042"] and first["inclusive"] == ["1"]


def test_recorded_payloads_history_replies_and_users(server):
    history = load("slack", "slackapi-slack-api-specs", "conversations.history.200.json")["messages"]
    thread = load("slack", "slackapi-slack-api-specs", "conversations.replies.200.json")["messages"]
    parent, replies = thread[0], thread[1:]
    server.add_channel({"id": "C012AB3CD", "name": "general"}, [*history, parent], {parent["ts"]: replies})
    slack = source(server)
    pulled = slack.pull("general")

    assert [m["text"] for m in pulled.messages] == ["island", "one island", "two island", "three for the land",
                                                     "I find you punny and would like to smell your nose letter",
                                                     "What, you want to smell my shoes better?"]
    assert "unread_count" not in pulled.messages[0]
    users = slack.users(user_ids(pulled.messages) | {"W012A3CDE"})
    # U012AB3CDE / U061F7AUR answer user_not_found (the recorded error) and are left out
    assert [u["id"] for u in users] == ["W012A3CDE"]
    slack.users(["W012A3CDE", "U061F7AUR"])
    assert len(server.requests("users.info")) == 3  # cached: nothing asked twice


def test_users_list_mode_pages_once(server):
    slack = source(server, users="list")
    assert {u["id"] for u in slack.users(["W012A3CDE", "W07QCRPA4", "U0NOBODY"])} == {"W012A3CDE", "W07QCRPA4"}
    slack.users(["U0NOBODY2"])
    assert len(server.requests("users.list")) == 1 and not server.requests("users.info")


def test_window_is_inclusive_and_keeps_late_replies_of_threads_started_in_it(server):
    _, top, threads = channel(server, messages=300, threads=10)
    chosen = sorted(top, key=lambda m: m["ts"])[40:60]
    oldest, latest = chosen[0]["ts"], chosen[-1]["ts"]
    pulled = source(server).pull("inc-42", oldest, latest)

    in_window = [m for m in top if oldest <= m["ts"] <= latest and m.get("subtype") != "thread_broadcast"]
    parents = [m["ts"] for m in in_window if m.get("reply_count")]
    expected = {m["ts"] for m in in_window} | {r["ts"] for p in parents for r in threads[p]}
    assert {m["ts"] for m in pulled.messages} == expected
    sent = server.requests("conversations.history")[0].params
    assert sent["oldest"] == [oldest] and sent["latest"] == [latest]


def test_cursor_chain_whose_last_page_has_no_response_metadata(server):
    folder = ("slack", "slackapi-python-slack-sdk")
    server.list_pages = {
        "": load(*folder, "web_response_conversations_list_pagination.json"),
        "has_page2": load(*folder, "web_response_conversations_list_pagination_has_page2.json"),
        "has_page3": load(*folder, "web_response_conversations_list_pagination_has_page3.json"),
    }
    slack = source(server)
    assert slack.find_channel("incident-room") is None
    assert [r.params.get("cursor", [""])[0] for r in server.requests("conversations.list")] == ["", "has_page2", "has_page3"]
    with pytest.raises(FetchError, match=r"no channel #incident-room among the 3 the app can see"):
        slack.channel("#incident-room")
    assert len(server.requests("conversations.list")) == 3  # the listing is cached


def test_429_waits_for_retry_after_then_succeeds(server):
    channel(server, messages=50, threads=2)
    server.inject("conversations.history", status(429, RATELIMITED, Retry_After="1"))
    pulled = source(server).pull("inc-42")

    assert len(pulled.messages) == 50
    first, second = server.requests("conversations.history")
    assert second.at - first.at >= 1.0


@pytest.mark.parametrize(("headers", "least"), [({"Retry_After": "2"}, 2.0), ({}, 1.0)], ids=["with-retry-after", "without"])
def test_429_is_retried_after_the_wait_asked_for_or_a_second(bare_server, headers, least):
    """Without ``Retry-After`` the client still waits (a second and a jitter) and retries."""
    channel(bare_server, messages=30, threads=1)
    bare_server.inject("conversations.history", status(429, RATELIMITED, **headers))
    pulled = source(bare_server).pull("inc-42")

    assert len(pulled.messages) == 30 and pulled.threads == 1
    first, second = bare_server.requests("conversations.history")
    assert second.at - first.at >= least


@pytest.mark.parametrize(
    "fault",
    [status(500, {"ok": False, "error": "fatal_error"}), status(503, b"<html>down</html>"), reset(), slow(1.0), truncated(), short()],
    ids=["500", "503-html", "reset", "timeout", "truncated-json", "short-body"],
)
def test_transient_faults_are_retried(server, fault):
    channel(server, messages=80, threads=4)
    server.inject("conversations.replies", fault)
    pulled = source(server, timeout=0.4).pull("inc-42")

    assert len(pulled.messages) == 80 and pulled.threads == 4
    assert len(server.requests("conversations.replies")) == 5  # one thread asked twice


def test_retries_are_bounded(server):
    channel(server, messages=20, threads=0)
    server.inject("conversations.history", *[status(429, RATELIMITED, Retry_After="0")] * 5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="still rate limited after 1 retries; wait a few minutes"):
        source(server, rate_limit_retries=1).pull("inc-42")
    assert len(server.requests("conversations.history")) == 2
    assert time.monotonic() - started < 5


def test_server_errors_give_up_with_a_message(server):
    channel(server, messages=20, threads=0)
    server.inject("conversations.history", *[status(500, {"ok": False, "error": "fatal_error"})] * 3)
    with pytest.raises(FetchError, match=r"conversations.history #inc-42: Slack answered HTTP 500 after retries"):
        source(server).pull("inc-42")


def test_unreachable_server_is_one_line(server):
    slack = SlackSource.connect(Secret(TOKEN), SlackSettings.local("http://127.0.0.1:9/api/", connection_retries=1))
    with pytest.raises(FetchError) as caught:
        slack.pull("C0INC0042")
    assert "connection refused" in str(caught.value) and "\n" not in str(caught.value)


def test_thread_gone_between_history_and_replies(server):
    channel(server, messages=40, threads=2)
    server.inject("conversations.replies", status(200, load("slack", "slackapi-slack-api-specs", "conversations.replies.error_thread_not_found.json")))
    pulled = source(server).pull("inc-42")
    assert pulled.threads_gone == 1 and pulled.threads == 2


@pytest.mark.parametrize("http_status", [200, 403])
def test_errors_say_what_to_do_whether_http_200_or_an_error_status(server, http_status):
    channel(server, messages=10, threads=0)
    server.inject("conversations.history", status(http_status, {"ok": False, "error": "not_in_channel"}))
    with pytest.raises(FetchError, match=r"the app is not a member of the channel; invite it"):
        source(server).pull("inc-42")


def test_not_in_channel(server):
    chan, top, _ = generated_channel("C0PRIV001", "inc-secret", messages=5, threads=0, start=START)
    server.add_channel(chan, top, member=False)
    with pytest.raises(FetchError, match=r"conversations.history #inc-secret: the app is not a member .*/invite"):
        source(server).pull("inc-secret")


def test_channel_not_found_by_id(server):
    with pytest.raises(FetchError, match=r"conversations.info C0GONE0001: channel not found; check the name or id"):
        source(server).pull("C0GONE0001")


def test_invalid_auth_and_not_authed_name_the_variable(server):
    channel(server, messages=5, threads=0)
    with pytest.raises(CredentialError, match=r"token was refused \(invalid_auth\); set SLACK_BOT_TOKEN") as wrong:
        source(server, token="xoxb-wrong").pull("inc-42")
    with pytest.raises(CredentialError, match=r"token was refused \(not_authed\)") as none:
        source(server, token="").pull("inc-42")
    assert "xoxb-wrong" not in str(wrong.value) and TOKEN not in str(none.value)


def test_missing_scope_names_the_scopes(server):
    channel(server, messages=5, threads=0)
    server.scopes_missing["conversations.history"] = "channels:history,groups:history"
    with pytest.raises(CredentialError) as caught:
        source(server).pull("inc-42")
    message = str(caught.value)
    assert "needs channels:history,groups:history" in message
    assert all(scope in message for scope in SCOPES) and "reinstall" in message


def test_pacer_spaces_calls_across_threads():
    pacer = Pacer(per_minute=1200)  # one call per 50 ms
    started = time.monotonic()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: pacer.wait(), range(6)))
    assert time.monotonic() - started >= 0.24
    assert Pacer(None).interval == 0


def test_replies_are_paced_under_the_tier_and_run_on_a_bounded_pool(server):
    channel(server, messages=60, threads=6)
    slack = source(server, pacing={"conversations.replies": 1200}, workers=3)
    slack.pull("inc-42")
    stamps = [r.at for r in server.requests("conversations.replies")]
    # six calls 50 ms apart at the client span at least 250 ms at the server (less some jitter)
    assert len(stamps) == 6 and stamps[-1] - stamps[0] >= 0.22


def test_settings_with_rate():
    assert SlackSettings().with_rate(0).pacing == {}
    paced = SlackSettings().with_rate(20).pacing
    assert paced["conversations.replies"] == 20 and paced["users.info"] == 100
