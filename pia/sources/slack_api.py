"""Reading a Slack channel through the Web API (``slack_sdk.WebClient``).

Messages come back exactly as the API gives them; :mod:`pia.sources.fetch` stores them in
workspace-export form. What this module adds to the client:

- cursor pagination of ``conversations.history`` (``oldest``/``latest``, inclusive) and
  ``conversations.replies`` for every thread parent, the replies on a small thread pool;
- pacing per method under Slack's rate tiers (off for a local server), on top of the client's
  own ``RateLimitErrorRetryHandler`` that honours ``Retry-After``, and bounded retries for
  connection errors, timeouts, 5xx answers and truncated bodies;
- every Slack error, whether it came as HTTP 200 with ``ok: false`` or as an HTTP error
  status, turned into a one-line :class:`~pia.errors.FetchError` that names the fix.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    Jitter,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from pia.errors import FetchError
from pia.sources.credentials import CredentialError, Secret

#: The bot token scopes a fetch needs (public and private channels, user names).
SCOPES = ("channels:history", "groups:history", "channels:read", "groups:read", "users:read")

#: Requests per minute Slack allows each method (its rate tiers: Tier 2 ≈ 20, Tier 3 ≈ 50,
#: Tier 4 ≈ 100). Pacing under these keeps a long fetch from living on 429s.
TIERS: Mapping[str, float] = {
    "conversations.history": 50,
    "conversations.replies": 50,
    "conversations.info": 50,
    "conversations.list": 20,
    "users.info": 100,
    "users.list": 20,
}

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "no_permission",
}
# Read state of the token's own user: not part of an export, and it changes between fetches.
_READ_STATE = ("last_read", "unread_count", "unread_count_display", "subscribed")


@dataclass(frozen=True)
class SlackSettings:
    """How to talk to Slack. The defaults suit slack.com; :meth:`local` suits a test server.

    ``pacing`` maps a method to requests per minute (missing or 0: unpaced); ``workers`` is the
    size of the thread pool for ``conversations.replies`` and ``users.info``.
    """

    base_url: str | None = None
    timeout: float = 30.0
    history_page: int = 999
    replies_page: int = 999
    workers: int = 4
    pacing: Mapping[str, float] = field(default_factory=lambda: dict(TIERS))
    rate_limit_retries: int = 5
    connection_retries: int = 3
    server_error_retries: int = 2
    backoff: float = 0.5
    users: str = "info"  # "info": users.info per user seen (cached); "list": users.list once

    @classmethod
    def local(cls, base_url: str, **changes: Any) -> SlackSettings:
        """Settings for a server on this machine: no pacing, short timeouts and backoff."""
        values: dict[str, Any] = {"timeout": 2.0, "pacing": {}, "backoff": 0.01}
        values.update(changes)
        return cls(base_url=base_url, **values)

    def with_rate(self, per_minute: float | None) -> SlackSettings:
        """These settings with ``conversations.history``/``replies`` paced at ``per_minute``
        (0 or None turns all pacing off)."""
        if not per_minute:
            return replace(self, pacing={})
        pacing = dict(self.pacing)
        pacing.update({"conversations.history": per_minute, "conversations.replies": per_minute})
        return replace(self, pacing=pacing)


class ScaledJitter(Jitter):
    """Jitter of up to the interval itself (the SDK's default adds up to a whole second,
    which would dwarf a short backoff)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1.0 + random.random())


def retry_handlers(settings: SlackSettings) -> list[RetryHandler]:
    """The client's retry handlers: 429 after ``Retry-After``; connection resets, timeouts and
    truncated bodies; 500/503. Each bounded, so a dead or throttled workspace ends in an error."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=settings.backoff, jitter=ScaledJitter())
    return [
        RateLimitErrorRetryHandler(max_retry_count=settings.rate_limit_retries),
        ConnectionErrorRetryHandler(
            max_retry_count=settings.connection_retries,
            interval_calculator=backoff,
            error_types=[
                URLError,
                ConnectionError,  # resets, aborts, refusals
                http.client.RemoteDisconnected,
                http.client.IncompleteRead,  # body shorter than its Content-Length
                TimeoutError,  # no answer within the timeout
                json.JSONDecodeError,  # body cut short but complete by its headers
            ],
        ),
        ServerErrorRetryHandler(
            max_retry_count=settings.server_error_retries, interval_calculator=backoff
        ),
    ]


def make_client(token: Secret, settings: SlackSettings) -> WebClient:
    """A ``WebClient`` for ``token`` with pia's retry handlers and timeout."""
    kwargs: dict[str, Any] = {"token": token.reveal(), "timeout": settings.timeout}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    return WebClient(retry_handlers=retry_handlers(settings), **kwargs)


class Pacer:
    """Spaces calls at least ``60 / per_minute`` seconds apart across threads (None: no wait)."""

    def __init__(self, per_minute: float | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def slack_ts(stamp: Any) -> str:
    """A UTC ``pandas.Timestamp`` (or anything with ``.value`` in ns) as a Slack ``ts``."""
    nanos = int(stamp.value)
    return f"{nanos // 1_000_000_000}.{(nanos // 1_000) % 1_000_000:06d}"


@dataclass
class ChannelPull:
    """One channel's messages over a window: top-level messages and every reply of the
    threads started in it, in export form, sorted by ``ts``, each ``ts`` once."""

    channel: dict[str, Any]
    messages: list[dict[str, Any]]
    oldest: str | None
    latest: str | None
    threads: int = 0
    replies: int = 0
    threads_gone: int = 0  # parents whose thread had vanished by the time we asked

    @property
    def name(self) -> str:
        return str(self.channel.get("name") or self.channel["id"])


class SlackSource:
    """Slack read through one ``WebClient``: channels, messages with threads, users.

    ``requests`` counts the API calls made (retries are the client's and are not counted).
    """

    def __init__(self, client: WebClient, settings: SlackSettings | None = None) -> None:
        self.client = client
        self.settings = settings or SlackSettings()
        self.requests = 0
        self._count_lock = threading.Lock()
        self._pacers = {method: Pacer(rate) for method, rate in self.settings.pacing.items()}
        self._users: dict[str, dict[str, Any] | None] = {}
        self._users_listed = False
        self._channels: list[dict[str, Any]] = []
        self._channel_pages: Iterator[list[dict[str, Any]]] | None = None
        self._channels_done = False
        host = urlsplit(client.base_url).netloc
        self._host = host or "slack.com"

    @classmethod
    def connect(cls, token: Secret, settings: SlackSettings | None = None) -> SlackSource:
        settings = settings or SlackSettings()
        return cls(make_client(token, settings), settings)

    # --- one call --------------------------------------------------------------------------

    def call(self, method: str, *, context: str = "", **params: Any) -> dict[str, Any]:
        """One Web API call; its decoded body, or a :class:`FetchError` naming the fix."""
        pacer = self._pacers.get(method)
        if pacer is not None:
            pacer.wait()
        with self._count_lock:
            self.requests += 1
        try:
            response = self.client.api_call(method, http_verb="GET", params=params)
        except SlackApiError as error:
            raise self._api_error(method, error.response, context) from None
        except (
            OSError,
            URLError,
            http.client.HTTPException,
            ValueError,
            SlackRequestError,
        ) as error:
            raise FetchError(
                "slack",
                f"{method}{context}: {_describe(error)} from {self._host} after retries; "
                "check the network (or slack_base_url) and fetch again",
                parameters=("slack_base_url",),
            ) from None
        data = response.data
        if not isinstance(data, dict):
            raise FetchError(
                "slack", f"{method}{context}: the answer was not a JSON object; fetch again"
            )
        return data

    def _api_error(self, method: str, response: Any, context: str) -> FetchError:
        status = getattr(response, "status_code", None)
        data = response.data if isinstance(getattr(response, "data", None), dict) else {}
        code = str(data.get("error") or "")
        where = f"{method}{context}"
        if status == 429 or code in ("ratelimited", "rate_limited"):
            return FetchError(
                "slack",
                f"{where}: still rate limited after {self.settings.rate_limit_retries} retries; "
                "wait a few minutes and fetch again (or lower slack_rate)",
                status=status,
                parameters=("slack_rate",),
            )
        if code in _AUTH_ERRORS:
            return CredentialError(
                "slack",
                f"{where}: the token was refused ({code}); set SLACK_BOT_TOKEN to a valid bot token "
                "(xoxb-…) of an app installed in this workspace",
                status=status,
            )
        if code == "missing_scope":
            needed = str(data.get("needed") or "")
            named = f" (this call needs {needed})" if needed else ""
            return CredentialError(
                "slack",
                f"{where}: the app lacks a scope{named}; add {', '.join(SCOPES)} "
                "to its bot token scopes and reinstall it",
                status=status,
            )
        if code == "not_in_channel":
            return FetchError(
                "slack",
                f"{where}: the app is not a member of the channel; invite it (/invite @your-app in the channel) "
                "and fetch again",
                status=status,
            )
        if code == "channel_not_found":
            return FetchError(
                "slack",
                f"{where}: channel not found; check the name or id, and for a private channel invite the app "
                "(it needs groups:read and groups:history)",
                status=status,
            )
        if status and status >= 500:
            return FetchError(
                "slack",
                f"{where}: Slack answered HTTP {status} after retries; fetch again later",
                status=status,
            )
        detail = code or (f"HTTP {status}" if status else "no answer")
        return FetchError("slack", f"{where} failed: {detail}", status=status)

    def _pages(
        self, method: str, key: str, context: str = "", **params: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """Cursor pagination: yield each page's ``key`` list until ``next_cursor`` is empty or
        ``response_metadata`` is absent (Slack's last page may carry neither)."""
        cursor = ""
        while True:
            query = dict(params, cursor=cursor) if cursor else params
            data = self.call(method, context=context, **query)
            items = data.get(key) or []
            yield [item for item in items if isinstance(item, dict)]
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return

    # --- channels ---------------------------------------------------------------------------

    def _more_channels(self) -> bool:
        if self._channels_done:
            return False
        if self._channel_pages is None:
            self._channel_pages = self._pages(
                "conversations.list",
                "channels",
                types="public_channel,private_channel",
                exclude_archived=False,
                limit=1000,
            )
        try:
            self._channels.extend(next(self._channel_pages))
            return True
        except StopIteration:
            self._channels_done = True
            return False

    def find_channel(self, wanted: str) -> dict[str, Any] | None:
        """The channel object for a name (``#`` optional) or id, or None if the token sees none.

        Names are matched against ``conversations.list`` (public and private), paged only as
        far as needed and cached, so a discovery run lists the workspace once.
        """
        wanted = wanted.strip().lstrip("#")
        if _CHANNEL_ID.match(wanted):
            for channel in self._channels:
                if channel.get("id") == wanted:
                    return channel
            data = self.call("conversations.info", context=f" {wanted}", channel=wanted)
            return data.get("channel") if isinstance(data.get("channel"), dict) else None
        seen = 0
        while True:
            for channel in self._channels[seen:]:
                if wanted in (channel.get("name"), channel.get("name_normalized")):
                    return channel
            seen = len(self._channels)
            if not self._more_channels():
                return None

    def channel(self, wanted: str) -> dict[str, Any]:
        """:meth:`find_channel`, raising :class:`FetchError` when there is no such channel."""
        found = self.find_channel(wanted)
        if found is None:
            raise FetchError(
                "slack",
                f"no channel #{wanted.lstrip('#')} among the {len(self._channels)} the app can see; check the "
                "name, and for a private channel invite the app (it needs groups:read)",
            )
        return found

    # --- messages ---------------------------------------------------------------------------

    def history(
        self, channel_id: str, oldest: str | None = None, latest: str | None = None, label: str = ""
    ) -> list[dict[str, Any]]:
        """Every top-level message of a channel between ``oldest`` and ``latest`` (inclusive)."""
        params: dict[str, Any] = {
            "channel": channel_id,
            "limit": self.settings.history_page,
            "inclusive": True,
        }
        if oldest:
            params["oldest"] = oldest
        if latest:
            params["latest"] = latest
        out: list[dict[str, Any]] = []
        for page in self._pages(
            "conversations.history", "messages", context=f" #{label or channel_id}", **params
        ):
            out.extend(page)
        return out

    def replies(
        self, channel_id: str, thread_ts: str, label: str = ""
    ) -> list[dict[str, Any]] | None:
        """The replies of one thread (without its parent); None if the thread is gone."""
        out: list[dict[str, Any]] = []
        try:
            for page in self._pages(
                "conversations.replies",
                "messages",
                context=f" #{label or channel_id} thread {thread_ts}",
                channel=channel_id,
                ts=thread_ts,
                limit=self.settings.replies_page,
            ):
                out.extend(m for m in page if m.get("ts") != thread_ts)
        except FetchError as error:
            if "thread_not_found" in error.problem:
                return None
            raise
        return out

    def pull(
        self, wanted: str | Mapping[str, Any], oldest: str | None = None, latest: str | None = None
    ) -> ChannelPull:
        """A channel's messages in the window with all replies of the threads started in it."""
        channel = dict(wanted) if isinstance(wanted, Mapping) else self.channel(wanted)
        cid, label = str(channel["id"]), str(channel.get("name") or channel["id"])
        top = self.history(cid, oldest, latest, label)
        parents = [m["ts"] for m in top if _is_parent(m)]
        threads = self._parallel(lambda ts: self.replies(cid, ts, label), parents)
        gone = sum(1 for r in threads if r is None)
        replies = [m for r in threads if r for m in r]
        by_ts: dict[str, dict[str, Any]] = {}
        for message in (*top, *replies):
            ts = message.get("ts")
            if isinstance(ts, str) and ts not in by_ts:  # a broadcast reply shows in both lists
                by_ts[ts] = {k: v for k, v in message.items() if k not in _READ_STATE}
        messages = sorted(by_ts.values(), key=lambda m: _ts_key(m["ts"]))
        return ChannelPull(channel, messages, oldest, latest, len(parents), len(replies), gone)

    # --- users ------------------------------------------------------------------------------

    def users(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """User objects for ``ids`` (unknown or deleted ids are left out), cached across calls."""
        wanted = sorted({i for i in ids if i and i != "USLACKBOT"})
        missing = [i for i in wanted if i not in self._users]
        if missing and self.settings.users == "list":
            if not self._users_listed:
                for page in self._pages("users.list", "members", limit=200):
                    self._users.update({str(u["id"]): u for u in page if "id" in u})
                self._users_listed = True
            self._users.update({i: None for i in missing if i not in self._users})
        elif missing:
            found = self._parallel(self._user_info, missing)
            self._users.update(zip(missing, found, strict=True))
        return [u for u in (self._users.get(i) for i in wanted) if u]

    def _user_info(self, user_id: str) -> dict[str, Any] | None:
        try:
            data = self.call("users.info", context=f" {user_id}", user=user_id)
        except FetchError as error:
            if any(code in error.problem for code in ("user_not_found", "user_not_visible")):
                return None
            raise
        user = data.get("user")
        return user if isinstance(user, dict) else None

    # --- plumbing ---------------------------------------------------------------------------

    def _parallel(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``[work(x) for x in items]`` on the thread pool; the first error cancels the rest."""
        if len(items) <= 1 or self.settings.workers <= 1:
            return [work(x) for x in items]
        with ThreadPoolExecutor(
            max_workers=self.settings.workers, thread_name_prefix="pia-slack"
        ) as pool:
            futures = [pool.submit(work, x) for x in items]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f in done and f.exception() is not None), None)
            if failed is not None:
                for future in futures:
                    future.cancel()
                raise failed.exception()  # type: ignore[misc]
            return [f.result() for f in futures]


def _is_parent(message: Mapping[str, Any]) -> bool:
    return message.get("thread_ts") == message.get("ts") and bool(
        message.get("reply_count") or message.get("latest_reply") or message.get("replies")
    )


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    try:
        return int(seconds), int(micros.ljust(6, "0")[:6] or 0)
    except ValueError:
        return (0, 0)


def user_ids(messages: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every user id a set of messages names: authors, thread people, inviters, mentions."""
    found: set[str] = set()
    for message in messages:
        for key in ("user", "parent_user_id", "inviter"):
            value = message.get(key)
            if isinstance(value, str) and value:
                found.add(value)
        found.update(u for u in message.get("reply_users") or () if isinstance(u, str))
        text = message.get("text")
        if isinstance(text, str) and "<@" in text:
            found.update(_MENTION.findall(text))
    return found


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return "no answer in time"
    if isinstance(error, json.JSONDecodeError):
        return "a truncated or malformed answer"
    if isinstance(error, http.client.IncompleteRead):
        return "a truncated answer"
    if isinstance(error, (ConnectionError, http.client.RemoteDisconnected)):
        return "the connection was dropped"
    if isinstance(error, URLError):
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return "no answer in time"
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect ({type(reason).__name__})"
    return type(error).__name__
