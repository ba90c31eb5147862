"""Slack messages (export day files or API pages, both in export form) to events.

Pure: every function takes payloads already decoded from JSON, plus ``origin`` (the file or URL
they came from) so an error can name it. Opening files is the snapshot layer's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pia.errors import InputError
from pia.events.blocks import bot_text
from pia.events.schema import conform, empty_events

#: Slack's message timestamp: unix seconds, a dot, six digits of sequence (microseconds).
_TS_PATTERN = r"^[0-9]{1,10}\.[0-9]{1,6}$"
# datetime64[ns] ends in 2262; a ts past that is not a real Slack timestamp.
_MAX_SECONDS = 9_223_372_035

_SUBTYPE_KIND = {
    "bot_message": "bot",
    "channel_join": "join",
    "group_join": "join",
    "channel_leave": "leave",
    "group_leave": "leave",
    "tombstone": "deleted",
    "message_deleted": "deleted",
}
# Subtypes that are ordinary speech: they stay `message` (or `reply` in a thread).
_SPEECH = {"", "file_share", "thread_broadcast", "me_message", "file_comment"}


@dataclass(frozen=True)
class Directory:
    """Names for the ids that appear in messages: users, bots and channels."""

    users: Mapping[str, str] = field(default_factory=dict)
    bots: frozenset[str] = frozenset()
    channels: Mapping[str, str] = field(default_factory=dict)
    timezones: Mapping[str, str] = field(default_factory=dict)
    #: full names (real_name), to match people across Slack and PagerDuty
    full_names: Mapping[str, str] = field(default_factory=dict)

    def name(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)


def display_name(user: Mapping[str, Any]) -> str:
    """A user's name as Slack shows it: display_name, else real_name, else name, else id."""
    profile = table_of(user.get("profile"))
    for candidate in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return str(user.get("id", ""))


def directory(
    users: Iterable[Mapping[str, Any]] = (),
    channels: Iterable[Mapping[str, Any]] = (),
    *,
    origin: str = "users.json",
) -> Directory:
    """Build a :class:`Directory` from users.json / users.list members and channels.json."""
    names: dict[str, str] = {}
    bots: set[str] = {"USLACKBOT"}
    zones: dict[str, str] = {}
    full: dict[str, str] = {}
    for i, user in enumerate(users):
        if not isinstance(user, Mapping) or not isinstance(user.get("id"), str):
            raise InputError(origin, f"user {i}", "is not a user object with a string 'id'")
        names[user["id"]] = display_name(user)
        if user.get("is_bot") or user.get("is_app_user"):
            bots.add(user["id"])
        if isinstance(user.get("tz"), str) and user["tz"]:
            zones[user["id"]] = user["tz"]
        profile = table_of(user.get("profile"))
        real = profile.get("real_name") or user.get("real_name")
        if isinstance(real, str) and real.strip():
            full[user["id"]] = real.strip()
    rooms = {
        str(c["id"]): str(c.get("name") or c["id"])
        for c in channels
        if isinstance(c, Mapping) and "id" in c
    }
    return Directory(names, frozenset(bots), rooms, zones, full)


class TimestampError(ValueError):
    """A value that is not a Slack timestamp, at ``position`` of the values given."""

    def __init__(self, position: int, problem: str) -> None:
        self.position = position
        super().__init__(problem)


def parse_ts(values: pd.Series) -> pd.Series:
    """Slack ``ts`` strings to UTC datetimes, exactly (integer arithmetic, no float rounding),
    in Arrow's compute kernels: a channel has hundreds of thousands.

    Raises :class:`TimestampError` naming the first value that is not a Slack timestamp.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(values.astype("string"), type=pa.string())
        good = pc.fill_null(pc.match_substring_regex(text, _TS_PATTERN), False).to_numpy(zero_copy_only=False)
    except UnicodeEncodeError:  # a lone surrogate, which no timestamp has: find the first bad one
        good = values.astype("string").str.fullmatch(_TS_PATTERN).fillna(False).to_numpy(dtype=bool)
    if not good.all():
        first = int(np.argmin(good))
        raise TimestampError(first, f"ts {values.iloc[first]!r} is not a Slack timestamp (seconds.micros)")
    parts = pc.split_pattern(text, ".", max_splits=1)
    seconds = pc.cast(pc.list_element(parts, 0), pa.int64()).to_numpy()
    if (seconds > _MAX_SECONDS).any():
        first = int(np.argmax(seconds > _MAX_SECONDS))
        raise TimestampError(first, f"ts {values.iloc[first]!r} is out of range")
    micros = pc.cast(pc.utf8_rpad(pc.list_element(parts, 1), 6, "0"), pa.int64()).to_numpy()
    nanos = seconds * 1_000_000_000 + micros * 1_000
    return pd.Series(pd.to_datetime(nanos, unit="ns", utc=True), index=values.index)


# JSON lets a lone surrogate through as an escape ("\ud800"); no encoding can write one, so
# the readers put U+FFFD in its place and every later stage gets text it can write out.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_str(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def valid_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every lone surrogate in its text columns replaced by U+FFFD (each column's
    joined text is encoded once first, so clean input costs no per-row work)."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype != object and not isinstance(column.dtype, pd.StringDtype):
            continue
        values = column.to_numpy(dtype=object)
        try:
            "".join(values).encode("utf-8")
        except TypeError:  # a missing value among the strings: check them one by one
            if all(not isinstance(v, str) or _LONE_SURROGATE.search(v) is None for v in values):
                continue
        except UnicodeEncodeError:
            pass
        else:
            continue
        frame[name] = column.str.replace(_LONE_SURROGATE, "\ufffd", regex=True)
    return frame


_MARKUP = re.compile(r"<([^<>]*)>")
_MENTION = r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>"


def resolve_markup(text: pd.Series, names: Directory) -> pd.Series:
    """Slack markup to readable text: ``<@U1>`` → ``@Name``, ``<#C1|x>`` → ``#x``, links,
    ``<!here>`` → ``@here``, and the ``&amp;``/``&lt;``/``&gt;`` entities decoded last."""

    def one(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + names.users.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + (label or names.channels.get(target[1:], target[1:]))
        if target.startswith("!"):
            command = target[1:]
            if command.startswith("subteam^"):
                return label or "@" + command.split("^", 1)[1]
            if command.startswith("date^"):
                return label or command
            return "@" + command
        if target.startswith("mailto:"):
            return label or target[len("mailto:") :]
        if label and label != target:
            return f"{label} ({target})"
        return target

    out = text.fillna("").astype("string")
    marked = out.str.contains("<", regex=False) | out.str.contains("&", regex=False)
    if not marked.any():  # most messages: nothing to resolve, and no per-message call
        return out
    some = out[marked].str.replace(_MARKUP, one, regex=True)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        some = some.str.replace(entity, char, regex=False)
    return out.mask(marked, some)


def table_of(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else empty: a field of the wrong type is ignored."""
    return value if isinstance(value, Mapping) else {}


def listed(value: Any) -> list[Any]:
    """``value`` if it is a JSON list, else empty: a field of the wrong type is ignored."""
    return value if isinstance(value, list) else []


def _attachment_text(message: Mapping[str, Any]) -> str:
    pieces = []
    for attachment in listed(message.get("attachments")):
        if isinstance(attachment, Mapping):
            for key in ("pretext", "text", "fallback", "title"):
                value = attachment.get(key)
                if isinstance(value, str) and value:
                    pieces.append(value)
                    break
    return "\n".join(pieces)


def _file_text(message: Mapping[str, Any], text: str) -> str:
    """``[file: title]`` for each shared file the text does not already name (older exports
    carry one ``file``, newer ones a ``files`` list)."""
    files = [message.get("file"), *listed(message.get("files"))]
    names = [
        str(f.get("title") or f.get("name") or f.get("id") or "file") for f in files if isinstance(f, Mapping)
    ]
    return " ".join(f"[file: {name}]" for name in names if name not in text)


def _comment(message: Mapping[str, Any]) -> Mapping[str, Any]:
    comment = message.get("comment")
    return comment if isinstance(comment, Mapping) else {}


def _row(message: Mapping[str, Any], edited: bool) -> dict[str, Any]:
    subtype = str(message.get("subtype") or "")
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    if message.get("bot_id") or subtype == "bot_message":
        # an app says most of what it has to say in its blocks and attachments
        text = bot_text(message)
    elif not text:
        text = _attachment_text(message)
    files = _file_text(message, text)
    if files:
        text = f"{text} {files}".strip()
    bot_profile = table_of(message.get("bot_profile"))
    reactions = [
        str(r.get("name")) for r in listed(message.get("reactions")) if isinstance(r, Mapping)
    ]
    return {
        "raw_ts": message.get("ts"),
        "type": str(message.get("type") or "message"),
        "subtype": subtype,
        "user": str(message.get("user") or _comment(message).get("user") or ""),
        "bot_id": str(message.get("bot_id") or ""),
        "username": str(message.get("username") or bot_profile.get("name") or ""),
        "text": text,
        "thread_ts": str(message.get("thread_ts") or ""),
        "edited": edited or isinstance(message.get("edited"), Mapping),
        "reactions": ",".join(reactions),
    }


def _unwrapped(message: Mapping[str, Any], deleted: set[str]) -> tuple[Mapping[str, Any], bool]:
    """An edit as its latest message (flagged edited), a deletion as a trace without text."""
    subtype = message.get("subtype")
    if subtype == "message_changed" and isinstance(message.get("message"), Mapping):
        inner = message["message"]
        before = message.get("previous_message")
        before = before if isinstance(before, Mapping) else {}
        return inner, "edited" in inner or inner.get("text") != before.get("text", inner.get("text"))
    if subtype == "message_deleted" and "deleted_ts" in message:
        deleted.add(str(message["deleted_ts"]))
        return {**message, "ts": message["deleted_ts"], "text": ""}, False
    return message, False


#: keys that need :func:`_row`'s care; a message without any of them (most) is read column-wise
_SPECIAL = frozenset({"attachments", "files", "file", "comment", "bot_id", "bot_profile", "reactions", "message", "deleted_ts"})
_FIELDS = ("type", "subtype", "user", "bot_id", "username", "thread_ts")


def _plain(values: list[Any]) -> list[str]:
    """``str(value or "")`` of each value, without a call for the strings (nearly all)."""
    return [v if type(v) is str else (str(v) if v else "") for v in values]


def _array(values: list[Any]) -> np.ndarray:
    """``values`` as a numpy array without pandas' inference (bool where they are)."""
    array = np.empty(len(values), dtype=bool if values and type(values[0]) is bool else object)
    array[:] = values
    return array


def _columns(messages: list[Any], origin: str, deleted: set[str]) -> dict[str, list[Any]]:
    """One file's messages as columns (those of :func:`_row`): read field by field over all
    messages, and message by message only for the few with edits, files, attachments or
    reactions (no frame per file: a small incident's file has a few messages). Also adds the
    ts of deleted messages to ``deleted``."""
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InputError(origin, f"message {i}", f"is a {type(message).__name__}, not an object")
    columns: dict[str, list[Any]] = {"raw_ts": [m.get("ts") for m in messages]}
    for name in _FIELDS:
        columns[name] = _plain([m.get(name) for m in messages])
    columns["type"] = [t or "message" for t in columns["type"]]
    columns["text"] = [t if type(t) is str else "" for t in [m.get("text") for m in messages]]
    columns["edited"] = [e is not None and isinstance(e, Mapping) for e in [m.get("edited") for m in messages]]
    columns["reactions"] = [""] * len(messages)
    for i, message in enumerate(messages):
        if not _SPECIAL.isdisjoint(message) or message.get("subtype") == "bot_message":  # an app's blocks too
            inner, changed = _unwrapped(message, deleted)
            for name, value in _row(inner, changed).items():
                columns[name][i] = value
    for i, ts in enumerate(columns["raw_ts"]):
        if ts is None:
            raise InputError(origin, f"message {i}", "has no 'ts'")
        if type(ts) is not str:
            raise InputError(origin, f"message {i}", f"ts {ts!r} is not a Slack timestamp string")
    return columns


def messages_to_events(
    day_files: Iterable[tuple[str, Any]],
    *,
    incident: str,
    channel: str,
    channel_id: str = "",
    names: Directory = Directory(),
) -> pd.DataFrame:
    """One channel's messages to events.

    ``day_files`` yields ``(origin, payload)`` pairs: a day file's path and its decoded list of
    messages (an API page's ``messages`` list works the same). Messages whose ``ts`` appears in
    several day files are kept once (the last copy); a deleted message keeps a ``deleted`` trace
    without text; an edit keeps the latest text with ``edited`` set.

    Raises :class:`InputError` naming the origin and message index for a payload that is not a
    list, a message without ``ts`` or a ``ts`` that is not a Slack timestamp.
    """
    parts: list[dict[str, list[Any]]] = []
    origins: list[str] = []
    deleted: set[str] = set()
    for origin, payload in day_files:
        if not isinstance(payload, list):
            raise InputError(
                origin, "", f"a day file must be a JSON list of messages, not {_json_type(payload)}"
            )
        if payload:
            parts.append(_columns(payload, origin, deleted))
            origins.append(origin)
        del payload  # the decoded file goes as soon as its columns are read
    if not parts:
        return empty_events()
    # object arrays straight from the lists: pandas would look through each list for dates
    raw = pd.DataFrame({name: _array([v for part in parts for v in part[name]]) for name in parts[0]}, copy=False)
    sizes = [len(part["raw_ts"]) for part in parts]
    del parts
    try:
        ts = parse_ts(raw["raw_ts"])
    except TimestampError as error:
        file = int(np.searchsorted(np.cumsum(sizes), error.position, side="right"))
        raise InputError(origins[file], f"message {error.position - sum(sizes[:file])}", str(error)) from None
    return _frame(raw.assign(ts=ts), deleted, incident, channel, channel_id or channel, names)


def _frame(
    raw: pd.DataFrame,
    deleted: set[str],
    incident: str,
    channel: str,
    channel_id: str,
    names: Directory,
) -> pd.DataFrame:
    subtype = raw["subtype"]
    in_thread = (raw["thread_ts"] != "") & (raw["thread_ts"] != raw["raw_ts"])
    is_bot = (
        (subtype == "bot_message")
        | (raw["bot_id"] != "")
        | raw["user"].isin(names.bots)
        | (raw["user"] == "")
    )
    chosen = np.select(
        [
            raw["type"] != "message",
            subtype.isin(list(_SUBTYPE_KIND)),
            is_bot & subtype.isin(list(_SPEECH)),
            subtype.isin(list(_SPEECH)) & in_thread,
            subtype.isin(list(_SPEECH)),
        ],
        [raw["type"], subtype.map(_SUBTYPE_KIND), "bot", "reply", "message"],
        default=subtype,
    )
    kind = pd.Series(chosen, index=raw.index).where(~raw["raw_ts"].isin(deleted), "deleted")
    known = raw["user"].map(names.users).astype("string")
    actor = known.fillna(raw["username"].where(raw["username"] != "", raw["user"]))
    actor = actor.where(actor != "", raw["bot_id"])
    link = f"https://slack.com/archives/{channel_id}/p"
    ref = pd.Series([link + ts.replace(".", "") for ts in raw["raw_ts"]], index=raw.index, dtype=object)
    ref = ref.where(~in_thread, ref + "?thread_ts=" + raw["thread_ts"] + f"&cid={channel_id}")
    text = resolve_markup(raw["text"], names).where(kind != "deleted", "")
    mentioning = raw["text"].str.contains("<@", regex=False)
    mentions = pd.Series("", index=raw.index, dtype=object)
    if mentioning.any():
        mentions[mentioning] = raw.loc[mentioning, "text"].str.findall(_MENTION).str.join(" ")
    frame = pd.DataFrame(
        {
            "incident": incident,
            "ts": raw["ts"],
            "source": "slack",
            "kind": kind,
            "actor": actor,
            "actor_id": raw["user"].where(raw["user"] != "", raw["bot_id"]),
            "is_human": ~is_bot,
            "text": text,
            "ref": ref,
            "thread": raw["thread_ts"],
            "channel": channel,
            "edited": raw["edited"].astype(bool),
            "reactions": raw["reactions"],
            "mentions": mentions,
        }
    )
    # The same ts in two day files is one message; a deletion supersedes the message itself.
    # Each step copies the frame only where it has something to do: a big channel has no copies
    # of messages and is already in order, and every copy of a million rows costs memory.
    again = frame.duplicated(subset=["ts", "kind"], keep="last")
    if again.any():
        frame = frame[~again]
    superseded = frame["ts"].isin(frame.loc[frame["kind"] == "deleted", "ts"]) & (frame["kind"] != "deleted")
    if superseded.any():
        frame = frame[~superseded]
    if not frame["ts"].is_monotonic_increasing:
        frame = frame.sort_values("ts", kind="stable")
    return conform(valid_text(frame))


def _json_type(value: Any) -> str:
    return {dict: "an object", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)
