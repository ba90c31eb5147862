"""Slack messages (export day files or API pages, both in export form) to events.

Pure: every function takes payloads already decoded from JSON, plus ``origin`` (the file or URL
they came from) so an error can name it. Opening files is the snapshot layer's job.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pia.errors import InputError, PiaError
from pia.events.blocks import bot_text
from pia.events.schema import empty_events

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
#: the kinds of speech: an app's, a reply in a thread, a message in the channel
_KINDS = ("bot", "reply", "message")


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

    fixed = _fixed_width_ts(values)
    if fixed is not None:
        return pd.Series(pd.to_datetime(fixed, unit="ns", utc=True), index=values.index)
    try:
        plain = (
            values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string"
        )
        text = pa.array(
            values.to_numpy() if plain else values.astype("string"),
            type=pa.string(),
            from_pandas=True,
        )
        good = pc.fill_null(pc.match_substring_regex(text, _TS_PATTERN), False).to_numpy(
            zero_copy_only=False
        )
    except UnicodeEncodeError:  # a lone surrogate, which no timestamp has: find the first bad one
        good = values.astype("string").str.fullmatch(_TS_PATTERN).fillna(False).to_numpy(dtype=bool)
    if not good.all():
        first = int(np.argmin(good))
        raise TimestampError(
            first, f"ts {values.iloc[first]!r} is not a Slack timestamp (seconds.micros)"
        )
    parts = pc.split_pattern(text, ".", max_splits=1)
    seconds = pc.cast(pc.list_element(parts, 0), pa.int64()).to_numpy()
    if (seconds > _MAX_SECONDS).any():
        first = int(np.argmax(seconds > _MAX_SECONDS))
        raise TimestampError(first, f"ts {values.iloc[first]!r} is out of range")
    micros = pc.cast(pc.utf8_rpad(pc.list_element(parts, 1), 6, "0"), pa.int64()).to_numpy()
    nanos = seconds * 1_000_000_000 + micros * 1_000
    return pd.Series(pd.to_datetime(nanos, unit="ns", utc=True), index=values.index)


def _fixed_width_ts(values: pd.Series) -> np.ndarray | None:
    """Nanoseconds of ``values`` where every one has Slack's usual form, ten digits, a dot and
    six (read as one block of bytes, a digit column at a time: no per-value work, and no
    temporary bigger than one integer per value), else None."""
    if values.dtype != object or not len(values):
        return None
    try:
        block = "".join(values.to_numpy()).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    if len(block) != 17 * len(values):
        return None
    digits = np.frombuffer(block, dtype=np.uint8).reshape(-1, 17)
    if not (digits[:, 10] == ord(".")).all():
        return None
    seconds = np.zeros(len(values), dtype=np.int64)
    micros = np.zeros(len(values), dtype=np.int64)
    for column in range(17):
        if column == 10:
            continue
        digit = digits[:, column].astype(np.int64) - ord("0")
        if ((digit < 0) | (digit > 9)).any():
            return None
        if column < 10:
            seconds = seconds * 10 + digit
        else:
            micros = micros * 10 + digit
    if (seconds > _MAX_SECONDS).any():
        return None  # the general reading says which one
    return seconds * 1_000_000_000 + micros * 1_000


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
    plain = text.fillna("").astype(str).to_numpy(dtype=object)
    return pd.Series(_resolved(names, plain), index=text.index, dtype="string")


def _resolve_one(names: Directory, match: re.Match[str]) -> str:
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
        str(f.get("title") or f.get("name") or f.get("id") or "file")
        for f in files
        if isinstance(f, Mapping)
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
        "reactions": _reaction_names(message.get("reactions")),
    }


def _reaction_names(reactions: Any) -> str:
    return ",".join([str(r.get("name")) for r in listed(reactions) if isinstance(r, Mapping)])


def _unwrapped(message: Mapping[str, Any], deleted: set[str]) -> tuple[Mapping[str, Any], bool]:
    """An edit as its latest message (flagged edited), a deletion as a trace without text."""
    subtype = message.get("subtype")
    if subtype == "message_changed" and isinstance(message.get("message"), Mapping):
        inner = message["message"]
        before = message.get("previous_message")
        before = before if isinstance(before, Mapping) else {}
        return inner, "edited" in inner or inner.get("text") != before.get(
            "text", inner.get("text")
        )
    if subtype == "message_deleted" and "deleted_ts" in message:
        deleted.add(str(message["deleted_ts"]))
        return {**message, "ts": message["deleted_ts"], "text": ""}, False
    return message, False


#: keys read column-wise from every message
_KEYS = (
    "ts",
    "type",
    "subtype",
    "user",
    "bot_id",
    "username",
    "text",
    "thread_ts",
    "edited",
    "reactions",
)
_FIELDS = ("type", "subtype", "user", "bot_id", "username", "thread_ts")
#: keys that need :func:`_row`'s care; a message without any of them (most) is read column-wise,
#: and so is an app's message whose text is all it has (no blocks)
_SPECIAL = frozenset(
    {"attachments", "files", "file", "comment", "bot_profile", "message", "deleted_ts"}
)
#: messages gathered before they become columns: enough to amortise a frame over many small
#: files, few enough that a big channel's decoded JSON is freed as it is read
_CHUNK = 20_000


def _plain(values: np.ndarray) -> np.ndarray:
    """``str(value or "")`` of each value (a missing key is ""), in one C pass where all are
    strings or missing (nearly always)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # a key every message has
        return values
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        missing = pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = ""
        return values
    return _objects(
        [
            v if type(v) is str else ("" if v is None or v is np.nan else str(v) if v else "")
            for v in values
        ]
    )


def _shared(values: np.ndarray) -> np.ndarray:
    """:func:`_plain` of ``values``, each distinct string one object: a field that repeats (the
    type, the user) is then compared and hashed among a few objects that stay in the CPU's
    cache, not hundreds of thousands spread over memory, and the JSON's copies go with it."""
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = _plain(values)
    codes, uniques = pd.factorize(values)  # a missing key is -1, the last of the table: ""
    return _objects([*uniques, ""]).take(codes)


def _objects(values: list[Any]) -> np.ndarray:
    """``values`` as an object array, without numpy or pandas looking inside them."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


@dataclass
class _Channel:
    incident: str
    name: str
    channel_id: str
    names: Directory
    first_file: int


@dataclass
class Messages:
    """Messages of many channels (of many incidents) gathered into one set of columns, so that
    a thousand small channels cost one frame, not a thousand. Add each channel with
    :meth:`channel`, its day files with :meth:`day_file`, then take :meth:`events`.

    A problem in a message is recorded against its incident (:attr:`failures`, the first in
    file order) and that incident gives no events; the others are not affected."""

    channels: list[_Channel] = field(default_factory=list)
    failures: dict[str, tuple[int, PiaError]] = field(default_factory=dict)
    _origins: list[str] = field(default_factory=list)
    _file_channel: list[int] = field(default_factory=list)
    _sizes: list[int] = field(default_factory=list)
    _pending: list[Any] = field(default_factory=list)
    _flushed: int = 0
    _parts: list[dict[str, np.ndarray]] = field(default_factory=list)
    #: (channel, ts) of each deleted message
    _deleted: set[tuple[int, str]] = field(default_factory=set)

    def channel(
        self, *, incident: str, channel: str, channel_id: str = "", names: Directory = Directory()
    ) -> None:
        """Start a channel: the day files added next are its own."""
        self.channels.append(
            _Channel(incident, channel, channel_id or channel, names, len(self._origins))
        )

    def day_file(self, origin: str, payload: Any) -> None:
        """Add one day file's decoded payload (a list of messages) to the current channel."""
        incident = self.channels[-1].incident
        if incident in self.failures:
            return
        if not isinstance(payload, list):
            self._fail(
                len(self._origins),
                InputError(
                    origin,
                    "",
                    f"a day file must be a JSON list of messages, not {_json_type(payload)}",
                ),
            )
            return
        for i, message in enumerate(
            () if {dict}.issuperset(map(type, payload)) else payload  # decoded JSON: all dicts
        ):
            if not isinstance(message, Mapping):
                self._fail(
                    len(self._origins),
                    InputError(
                        origin, f"message {i}", f"is a {type(message).__name__}, not an object"
                    ),
                )
                return
        if not payload:
            return
        self._origins.append(origin)
        self._file_channel.append(len(self.channels) - 1)
        self._sizes.append(len(payload))
        self._pending.extend(payload)
        if len(self._pending) >= _CHUNK:
            self._flush()

    def _fail(self, file: int, error: InputError) -> None:
        incident = (
            self.channels[self._file_channel[file]].incident
            if file < len(self._file_channel)
            else self.channels[-1].incident
        )
        if incident not in self.failures or self.failures[incident][0] > file:
            self.failures[incident] = (file, error)

    def _flush(self) -> None:
        """The pending messages as columns (those of :func:`_row`); the decoded JSON goes."""
        messages, self._pending = self._pending, []
        if not messages:
            return
        first, self._flushed = self._flushed, len(self._origins)
        table = pd.DataFrame(messages, columns=list(_KEYS), dtype=object)
        columns = {"raw_ts": table["ts"].to_numpy()}
        for name in _FIELDS:
            columns[name] = _shared(table[name].to_numpy())
        columns["type"] = np.where(columns["type"] == "", "message", columns["type"]).astype(object)
        text = table["text"].to_numpy()
        columns["text"] = (
            text
            if pd.api.types.infer_dtype(text, skipna=False) == "string"
            else _objects([t if type(t) is str else "" for t in text])
        )
        edited = table["edited"].to_numpy()
        present = np.flatnonzero(pd.notna(edited))
        columns["edited"] = np.zeros(len(messages), dtype=bool)
        columns["edited"][present] = [isinstance(edited[i], Mapping) for i in present]
        reactions = table["reactions"].to_numpy()
        columns["reactions"] = np.full(len(messages), "", dtype=object)
        present = np.flatnonzero(pd.notna(reactions))
        columns["reactions"][present] = _objects(list(map(_reaction_names, reactions[present])))
        del table
        files = np.repeat(np.arange(first, len(self._origins)), self._sizes[first:])
        plain = np.fromiter(map(_SPECIAL.isdisjoint, messages), dtype=bool, count=len(messages))
        app = (columns["bot_id"] != "") | (columns["subtype"] == "bot_message")
        special = np.flatnonzero(~plain | app)
        special = special[[not plain[i] or "blocks" in messages[i] for i in special]]
        for i in special:  # an edit, a deletion, files, attachments, an app's blocks
            channel = self._file_channel[files[i]]
            deleted: set[str] = set()
            inner, changed = _unwrapped(messages[i], deleted)
            self._deleted.update((channel, ts) for ts in deleted)
            for name, value in _row(inner, changed).items():
                columns[name][i] = value
        stamps = columns["raw_ts"]
        for row in (
            [] if pd.api.types.infer_dtype(stamps, skipna=False) == "string" else range(len(stamps))
        ):
            ts = stamps[row]
            if type(ts) is not str:
                file = int(files[row])
                place = f"message {row - int(np.searchsorted(files, file))}"
                problem = (
                    "has no 'ts'"
                    if ts is None or ts is np.nan
                    else f"ts {ts!r} is not a Slack timestamp string"
                )
                self._fail(file, InputError(self._origins[file], place, problem))
        columns["file"] = files
        self._parts.append(columns)

    def discard(self, incident: str, error: PiaError) -> None:
        """Give no events for ``incident``: reading one of its files failed with ``error``."""
        if incident not in self.failures:
            self.failures[incident] = (len(self._origins), error)

    def raise_first(self) -> None:
        """Raise the first problem recorded (in file order), if any."""
        if self.failures:
            raise min(self.failures.values(), key=lambda failure: failure[0])[1]

    def events(self) -> pd.DataFrame:
        """Every channel's events in one frame, by incident (in the order added) and then by
        time; the incidents in :attr:`failures` give none."""
        self._flush()
        parts, self._parts = self._parts, []
        if not parts:
            return empty_events()
        # column by column, each part's copy freed as it is joined: a million rows' columns are
        # never all held twice
        raw = {name: np.concatenate([part.pop(name) for part in parts]) for name in list(parts[0])}
        del parts
        files = raw.pop("file")
        channel = np.asarray(self._file_channel, dtype=np.int64).take(files)
        while True:
            keep = self._keep(channel)
            if not keep.all():
                raw = {name: values[keep] for name, values in raw.items()}
                files, channel = files[keep], channel[keep]
            if not len(channel):
                return empty_events()
            try:
                ts = parse_ts(pd.Series(raw["raw_ts"], dtype=object, copy=False))
            except TimestampError as error:
                file = int(files[error.position])
                place = error.position - int(np.searchsorted(files, file))
                self._fail(file, InputError(self._origins[file], f"message {place}", str(error)))
                continue
            break
        raw["ts"] = ts.array
        raw["channel"] = channel
        return _frame(raw, self.channels, self._deleted)

    def _keep(self, channel: np.ndarray) -> np.ndarray:
        failed = [c for c, ch in enumerate(self.channels) if ch.incident in self.failures]
        return ~np.isin(channel, failed) if failed else np.ones(len(channel), dtype=bool)


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
    found = Messages()
    found.channel(incident=incident, channel=channel, channel_id=channel_id, names=names)
    for origin, payload in day_files:
        found.day_file(origin, payload)
        del payload  # the decoded file goes as soon as its messages are columns
    events = found.events()
    found.raise_first()
    return events


def _per_row(
    values: np.ndarray,
    channel: np.ndarray,
    channels: list[_Channel],
    lookup: Callable[[Directory, np.ndarray], np.ndarray],
) -> np.ndarray:
    """``lookup(names, values)`` with each row's own channel's directory: one call where every
    channel has the same directory (one channel, or snapshots of one workspace), else one per
    directory."""
    directories = {id(c.names): c.names for c in channels}
    if len(directories) == 1:
        return lookup(channels[0].names, values)
    owner = np.array([id(c.names) for c in channels], dtype=object).take(channel)
    out = np.empty(len(values), dtype=object)
    for key, names in directories.items():
        rows = np.flatnonzero(owner == key)
        if len(rows):
            out[rows] = lookup(names, values[rows])
    return out


def _frame(
    raw: dict[str, np.ndarray], channels: list[_Channel], deleted: set[tuple[int, str]]
) -> pd.DataFrame:
    """The events of ``raw`` (the columns of many channels, ``channel`` indexing ``channels``),
    built straight into the contract's dtypes: no casts, no copies of the text."""
    n = len(raw["raw_ts"])
    channel = raw.pop("channel")
    # each raw column is taken out as it is used, so its copy of the messages' strings goes
    # when the last derived column is made
    subtype, user, thread, raw_ts = (
        raw.pop("subtype"),
        raw.pop("user"),
        raw.pop("thread_ts"),
        raw.pop("raw_ts"),
    )
    in_thread = (thread != "") & (thread != raw_ts)
    user, listed_bot, known = _by_user(user, channel, channels)
    is_bot = (subtype == "bot_message") | (raw["bot_id"] != "") | (user == "") | listed_bot
    speech = pd.Series(subtype).isin(list(_SPEECH)).to_numpy()
    named = pd.Series(subtype).map(_SUBTYPE_KIND)
    kind = np.select(
        [
            raw["type"] != "message",
            named.notna().to_numpy(),
            is_bot & speech,
            speech & in_thread,
            speech,
        ],
        # one object for each of these kinds, not a string made for every row
        [raw["type"], named.to_numpy(object), *(np.array(k, dtype=object) for k in _KINDS)],
        default=subtype,
    )
    if deleted:
        kind[
            np.array(
                [(c, t) in deleted for c, t in zip(channel.tolist(), raw_ts, strict=True)],
                dtype=bool,
            )
        ] = "deleted"
    actor = np.where(pd.isna(known), np.where(raw["username"] != "", raw["username"], user), known)
    actor = np.where(actor == "", raw["bot_id"], actor)
    cids = [valid_str(c.channel_id) for c in channels]
    ref = [
        f"https://slack.com/archives/{cids[c]}/p{ts.replace('.', '')}"
        for c, ts in zip(channel.tolist(), raw_ts, strict=True)
    ]
    for i in np.flatnonzero(in_thread):
        ref[i] += f"?thread_ts={thread[i]}&cid={cids[channel[i]]}"
    del raw_ts, subtype, known
    text = raw.pop("text")
    # markup or an entity: most messages have neither, and only these are read again
    marked = np.flatnonzero(["<" in t or "&" in t for t in text])
    resolved = text.copy()
    resolved[marked] = _per_row(text[marked], channel[marked], channels, _resolved)
    resolved[kind == "deleted"] = ""
    mentions = np.full(n, "", dtype=object)
    mentioning = marked[np.array([("<@" in t) for t in text[marked]], dtype=bool)]
    mentions[mentioning] = [" ".join(_MENTION_RE.findall(text[i])) for i in mentioning]
    del text
    incident = _objects([valid_str(c.incident) for c in channels])
    names = _objects([valid_str(c.name) for c in channels])
    columns = {
        "incident": incident.take(channel),
        "ts": raw["ts"],
        "source": pd.Categorical.from_codes(
            np.zeros(n, dtype=np.int8), categories=pd.Index(["slack"], dtype="string")
        ),
        "kind": kind,
        "actor": actor,
        "actor_id": np.where(user != "", user, raw["bot_id"]),
        "is_human": ~is_bot,
        "text": resolved,
        "ref": _objects(ref),
        "thread": thread,
        "channel": names.take(channel),
        "edited": raw["edited"],
        "reactions": raw["reactions"],
        "mentions": mentions,
    }
    del ref, resolved, kind, actor, thread, mentions, user, is_bot
    raw.clear()  # the columns hold what is left of it
    # The same ts twice in a channel is one message (the last copy); a deletion supersedes the
    # message itself. Each step takes rows only where it has something to do: a big channel has
    # no copies of messages and is already in order, and every copy of a million rows costs.
    # (A million rows' temporaries cost as much as a column, so the usual case makes none.)
    stamps = columns["ts"].asi8
    later = np.diff(stamps)
    switches = np.flatnonzero(channel[1:] != channel[:-1])  # the last row of each channel
    in_order = later > 0
    in_order[switches] = True
    rows: np.ndarray | None = None  # None: all rows, as they are
    if not in_order.all():  # not each channel in order, or a ts twice
        key = pd.DataFrame(
            {"channel": channel, "ts": columns["ts"], "kind": columns["kind"]}, copy=False
        )
        rows = np.flatnonzero(~key.duplicated(keep="last").to_numpy())
    del in_order
    gone = columns["kind"] == "deleted"
    if gone.any():
        dropped = pd.MultiIndex.from_arrays([channel[gone], columns["ts"][gone]])
        superseded = pd.MultiIndex.from_arrays([channel, columns["ts"]]).isin(dropped) & ~gone
        rows = np.arange(n) if rows is None else rows
        rows = rows[~superseded[rows]]
    incident_order = pd.factorize(incident)[0]
    if rows is None:  # each channel in order: only where one ends and the next begins may not be
        step = incident_order[channel[switches + 1]] - incident_order[channel[switches]]
        if not ((step > 0) | ((step == 0) & (later[switches] >= 0))).all():
            rows = np.arange(n)
    del later
    if rows is not None:
        by_incident = incident_order.take(channel)[rows]
        step, later = np.diff(by_incident), np.diff(stamps[rows])
        if not ((step > 0) | ((step == 0) & (later >= 0))).all():
            rows = rows[np.lexsort((stamps[rows], by_incident))]
        if len(rows) < n or (rows != np.arange(n)).any():
            for name in columns:  # one at a time, each column's old order freed as it goes
                columns[name] = columns[name][rows]
    for name in ("actor", "actor_id", "text", "thread", "reactions"):
        columns[name] = _strings(columns[name])
    # the rest are checked where they come from: the channel's names, or ASCII by construction
    for name in ("incident", "channel", "ref", "mentions"):
        columns[name] = pd.arrays.StringArray(columns[name])
    columns["kind"] = _category(columns["kind"])
    return pd.DataFrame(columns, copy=False)


_MENTION_RE = re.compile(_MENTION)


def _resolved(names: Directory, text: np.ndarray) -> np.ndarray:
    """:func:`resolve_markup` of ``text`` (an object array of strings) with ``names``."""
    out = text.copy()
    marked = np.flatnonzero(["<" in t or "&" in t for t in text])
    if not len(marked):  # most messages: nothing to resolve, and no per-message call
        return out
    one = functools.partial(_resolve_one, names)
    out[marked] = [
        _MARKUP.sub(one, text[i]).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        for i in marked
    ]
    return out


def _by_user(
    user: np.ndarray, channel: np.ndarray, channels: list[_Channel]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's user id (one string object per distinct id: JSON gives every message its own
    copy, and a million copies cost as much as the text), whether the directory lists it as a
    bot, and its name there (None where unknown). One lookup per distinct user where all
    channels share a directory (one channel, or snapshots of one workspace), else per row."""
    codes, uniques = pd.factorize(user)
    uniques = np.asarray(uniques, dtype=object)
    user = uniques.take(codes)
    directories = {id(c.names) for c in channels}
    if len(directories) == 1:
        names = channels[0].names
        bots = np.array([u in names.bots for u in uniques], dtype=bool)
        known = _objects([names.users.get(u) for u in uniques])
        return user, bots.take(codes), known.take(codes)
    owner = [channels[c].names for c in channel.tolist()]
    bots = np.array([u in names.bots for u, names in zip(user, owner, strict=True)], dtype=bool)
    return user, bots, _objects([names.users.get(u) for u, names in zip(user, owner, strict=True)])


def _category(values: np.ndarray) -> pd.Categorical:
    """A categorical of ``values`` (all str), its categories sorted and writable: a lone
    surrogate in a type or subtype, which JSON allows, becomes U+FFFD (read per category)."""
    codes, uniques = pd.factorize(values, sort=True)
    writable = _objects([valid_str(u) for u in uniques])
    if (writable != uniques).any():
        return _category(writable.take(codes))
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype="string"))


def _strings(values: np.ndarray) -> pd.arrays.StringArray:
    """A ``string`` column of ``values`` (all str), with every lone surrogate replaced by U+FFFD.
    Only text that is not ASCII can hold one (Python knows which is, without reading it), and
    that is encoded a slice at a time, so clean text, nearly all, costs no per-row work."""
    wide = np.flatnonzero(~np.fromiter(map(str.isascii, values), dtype=bool, count=len(values)))
    for start in range(0, len(wide), _CHUNK):
        rows = wide[start : start + _CHUNK]
        try:
            "".join(values[rows]).encode("utf-8")
        except UnicodeEncodeError:
            values[rows] = [valid_str(v) for v in values[rows]]
    return pd.arrays.StringArray(values)


def _json_type(value: Any) -> str:
    return {dict: "an object", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )
