"""PagerDuty REST v2 bodies (incident, log entries, notes, alerts) to events.

Pure: functions take decoded JSON plus ``origin`` for error messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from pia.errors import InputError
from pia.events.schema import conform, empty_events
from pia.events.slack import listed, table_of, valid_str, valid_text

_HUMAN_AGENTS = {"user_reference", "user"}
# PagerDuty spells the same entry two ways across API versions and docs.
_KIND_ALIASES = {"acknowledgement": "acknowledge", "unacknowledgement": "unacknowledge"}
_OFFSET = r"(?:Z|z|[+-]\d{2}:?\d{2})$"


def _is_human(reference: Mapping[str, Any]) -> bool:
    """Whether a PagerDuty reference (an entry's agent, a note's user) is a person."""
    kind = reference.get("type")
    return isinstance(kind, str) and kind in _HUMAN_AGENTS


def _ref(obj: Mapping[str, Any], fallback: str = "") -> str:
    """The web page a person can open (``html_url``); never ``self``, the REST API's address,
    which answers only with a token."""
    value = obj.get("html_url")
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return fallback or str(obj.get("id") or "")


def _people(entry: Mapping[str, Any]) -> str:
    """Ids of the users an entry is about: who was notified, assigned or escalated to."""
    refs = [entry.get("user"), entry.get("assigned_user"), *listed(entry.get("assignees"))]
    return " ".join(str(r["id"]) for r in refs if isinstance(r, Mapping) and r.get("id"))


def _detail(entry: Mapping[str, Any]) -> str:
    channel = table_of(entry.get("channel"))
    details = table_of(entry.get("event_details"))
    for value in (channel.get("summary"), details.get("description"), channel.get("subject")):
        if isinstance(value, str) and value:
            return value
    return ""


def _entries(payload: Any, origin: str) -> list[Any]:
    if isinstance(payload, Mapping) and isinstance(payload.get("log_entries"), list):
        return payload["log_entries"]
    if isinstance(payload, Mapping) and isinstance(payload.get("log_entry"), Mapping):
        return [payload["log_entry"]]
    raise InputError(origin, "", "expected an object with a 'log_entries' list")


def parse_times(values: pd.Series, origin: str, places: pd.Series) -> pd.Series:
    """ISO 8601 times with an offset (``Z`` or ``±hh:mm``) to UTC; a time without one is an
    error, since guessing the zone would shift every duration."""
    text = values.astype("string")
    bad = ~text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            origin,
            places.iloc[i],
            f"timestamp {values.iloc[i]!r} has no UTC offset (add Z or +00:00)",
        )
    try:
        return pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, OverflowError):
        for i, value in enumerate(text):
            try:
                pd.to_datetime(value, utc=True, format="ISO8601")
            except (ValueError, OverflowError):
                raise InputError(
                    origin, places.iloc[i], f"timestamp {value!r} is not an ISO 8601 time"
                ) from None
        raise


def _parse_time(value: str, origin: str, place: str) -> pd.Timestamp:
    """One time as :func:`parse_times` reads it (without a Series: an incident has three)."""
    if not re.search(_OFFSET, value):
        raise InputError(origin, place, f"timestamp {value!r} has no UTC offset (add Z or +00:00)")
    try:
        return pd.to_datetime(value, utc=True, format="ISO8601").as_unit("ns")
    except (ValueError, OverflowError):
        raise InputError(origin, place, f"timestamp {value!r} is not an ISO 8601 time") from None


def log_entries_to_events(
    payload: Any,
    *,
    incident: str,
    origin: str = "log_entries.json",
    incident_url: str = "",
) -> pd.DataFrame:
    """``{"log_entries": [...]}`` (all pages of GET /incidents/{id}/log_entries) to events.

    ``kind`` is the entry type without ``_log_entry`` (``acknowledgement`` is read as
    ``acknowledge``); unknown types are kept under their own name. ``is_human`` is true only for
    entries whose agent is a user. Raises :class:`InputError` for an entry without ``type`` or
    ``created_at``, or with a time that has no offset.
    """
    return _finish(
        log_entry_rows(payload, origin=origin, incident_url=incident_url), incident, origin
    )


def log_entry_rows(
    payload: Any, *, origin: str = "log_entries.json", incident_url: str = ""
) -> list[dict[str, Any]]:
    """The rows of :func:`log_entries_to_events`, their times not yet read."""
    rows = []
    for i, entry in enumerate(_entries(payload, origin)):
        place = f"log_entries[{i}]"
        if not isinstance(entry, Mapping):
            raise InputError(origin, place, "is not an object")
        for key in ("type", "created_at"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise InputError(origin, place, f"has no {key!r}")
        agent = table_of(entry.get("agent"))
        kind = entry["type"].removesuffix("_log_entry").removesuffix("_reference")
        summary = str(entry.get("summary") or kind)
        detail = _detail(entry)
        entry_id = str(entry.get("id") or "")
        rows.append(
            {
                "place": place,
                "created_at": entry["created_at"],
                "kind": _KIND_ALIASES.get(kind, kind),
                "actor": str(agent.get("summary") or agent.get("id") or "PagerDuty"),
                "actor_id": str(agent.get("id") or ""),
                "is_human": _is_human(agent),
                "text": f"{summary} — {detail}" if detail and detail not in summary else summary,
                "ref": _ref(
                    entry, f"{incident_url}/log_entries/{entry_id}" if incident_url else entry_id
                ),
                "mentions": _people(entry),
            }
        )
    return rows


def _timed_items(
    payload: Any, key: str, what: str, origin: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(place, item)`` for each item of ``payload[key]``, every one checked to be an object
    with a ``created_at``."""
    items = payload.get(key) if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        article = "an" if key[0] in "aeiou" else "a"
        raise InputError(origin, "", f"expected an object with {article} {key!r} list")
    for i, item in enumerate(items):
        place = f"{key}[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("created_at"), str):
            raise InputError(origin, place, f"is not {what} with a 'created_at'")
        yield place, item


def notes_to_events(
    payload: Any, *, incident: str, origin: str = "notes.json", incident_url: str = ""
) -> pd.DataFrame:
    """``{"notes": [...]}`` to ``note`` events (the note's text, its author)."""
    rows = []
    for place, note in _timed_items(payload, "notes", "a note", origin):
        user = table_of(note.get("user"))
        rows.append(
            {
                "place": place,
                "created_at": note["created_at"],
                "kind": "note",
                "actor": str(user.get("summary") or user.get("id") or "PagerDuty"),
                "actor_id": str(user.get("id") or ""),
                "is_human": _is_human(user),
                "text": str(note.get("content") or ""),
                "ref": incident_url or str(note.get("id") or ""),
                "mentions": "",
            }
        )
    return _finish(rows, incident, origin)


def alerts_to_events(
    payload: Any, *, incident: str, origin: str = "alerts.json", incident_url: str = ""
) -> pd.DataFrame:
    """``{"alerts": [...]}`` to ``alert`` events (never human)."""
    return _finish(alert_rows(payload, origin=origin, incident_url=incident_url), incident, origin)


def alert_rows(
    payload: Any, *, origin: str = "alerts.json", incident_url: str = ""
) -> list[dict[str, Any]]:
    """The rows of :func:`alerts_to_events`, their times not yet read."""
    rows = []
    for place, alert in _timed_items(payload, "alerts", "an alert", origin):
        source = alert.get("integration") or alert.get("service") or {}
        rows.append(
            {
                "place": place,
                "created_at": alert["created_at"],
                "kind": "alert",
                "actor": str(source.get("summary") or "PagerDuty")
                if isinstance(source, Mapping)
                else "PagerDuty",
                "actor_id": str(source.get("id") or "") if isinstance(source, Mapping) else "",
                "is_human": False,
                "text": str(alert.get("summary") or ""),
                "ref": _ref(alert, incident_url),
                "mentions": "",
            }
        )
    return rows


def _finish(rows: list[dict[str, Any]], incident: str, origin: str) -> pd.DataFrame:
    if not rows:
        return empty_events()
    raw = pd.DataFrame(rows)
    ts = parse_times(raw["created_at"], origin, raw["place"])
    return _frame(raw, ts, incident).sort_values("ts", kind="stable", ignore_index=True)


def _frame(raw: pd.DataFrame, ts: pd.Series, incident: Any) -> pd.DataFrame:
    frame = raw.drop(columns=["place", "created_at"]).assign(
        incident=incident,
        ts=ts,
        source="pagerduty",
        channel=incident,
        thread="",
        edited=False,
        reactions="",
    )
    return conform(valid_text(frame))


@dataclass
class Entries:
    """The PagerDuty rows (log entries, alerts) of many incidents, made into one frame at the
    end instead of one per file: add each file's rows with :meth:`add`, then take
    :meth:`events`."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, incident: str, origin: str, rows: list[dict[str, Any]]) -> None:
        self.rows.extend({**row, "incident": incident, "origin": origin} for row in rows)

    def events(self) -> tuple[pd.DataFrame, dict[str, InputError]]:
        """Every incident's rows as events, in the order added (each incident's sorted by time,
        ties in file order), and the error of each incident with a time that cannot be read
        (it gives no events)."""
        if not self.rows:
            return empty_events(), {}
        raw = pd.DataFrame(self.rows)
        try:
            ts = parse_times(raw["created_at"], "", raw["place"])
        except InputError:  # rare: find whose, file by file, and leave those out
            return self._one_by_one(raw)
        frame = _frame(raw.drop(columns="origin"), ts, raw["incident"])
        order = np.lexsort((frame["ts"].array.asi8, pd.factorize(raw["incident"])[0]))
        return conform(frame.take(order)), {}

    def _one_by_one(self, raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, InputError]]:
        failures: dict[str, InputError] = {}
        frames = []
        for incident, rows in raw.groupby("incident", sort=False):
            try:
                parts = [
                    _finish(
                        cast(
                            list[dict[str, Any]],
                            part.drop(columns=["incident", "origin"]).to_dict("records"),
                        ),
                        str(incident),
                        str(origin),
                    )
                    for origin, part in rows.groupby("origin", sort=False)
                ]
            except InputError as error:
                failures[str(incident)] = error
                continue
            frames.append(
                pd.concat(parts, ignore_index=True).sort_values(
                    "ts", kind="stable", ignore_index=True
                )
            )
        return (
            conform(pd.concat(frames, ignore_index=True)) if frames else empty_events()
        ), failures


def _number(value: Any) -> int | str | None:
    """An incident number as PagerDuty gives it (an integer); text is kept, made writable,
    and anything else is no number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return valid_str(value) if isinstance(value, str) else None


def incident_summary(payload: Any, origin: str = "incident.json") -> dict[str, Any]:
    """The fields of GET /incidents/{id} that the timeline needs: id, number, title, status,
    urgency, service, created and resolved times, html_url."""
    body = payload.get("incident") if isinstance(payload, Mapping) else None
    if not isinstance(body, Mapping):
        raise InputError(origin, "", "expected an object with an 'incident' object")
    if not isinstance(body.get("id"), str):
        raise InputError(origin, "incident.id", "is missing")
    times: dict[str, pd.Timestamp | None] = {}
    for key in ("created_at", "resolved_at", "last_status_change_at"):
        value = body.get(key)
        if isinstance(value, str) and value:
            times[key] = _parse_time(value, origin, f"incident.{key}")
        else:
            times[key] = None
    service = table_of(body.get("service"))
    return {
        "id": valid_str(body["id"]),
        "number": _number(body.get("incident_number")),
        "title": valid_str(str(body.get("title") or body.get("summary") or "")),
        "status": valid_str(str(body.get("status") or "")),
        "urgency": valid_str(str(body.get("urgency") or "")),
        "service": valid_str(str(service.get("summary") or "")),
        "html_url": valid_str(_ref(body)),
        **times,
    }
