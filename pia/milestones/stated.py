"""Stated times: a message that says when the system's state changed places the milestone
there, not at the moment it was posted.

"sign-in has worked normally since 14:53 UTC" is restored at 14:53; "5xx back to baseline
for 12 min" at 15:05:30 is restored at 14:53:30; "errors started at 13:58" is an impact start
at 13:58; "from 21:38 to 21:49 UTC" (or "19:52-20:35") is an impact start and a restore (a
mitigation where the message says only that). Only states are placed this way (impact_start,
mitigated, restored); what people said or did keeps its message time.

A clock time with a zone (UTC, GMT, Z, PST, CEST, ...) is read in it; a bare one in the data
dir's zone (``[stated_times] zone`` in ``pia.toml``, default UTC). It means the latest such
time at or before the message, and no more than :data:`REACH` before it; a time that would
fall after the message, or further back, is ignored, as are times no clock shows ("25:99").
The text is read with RE2 through Arrow (linear in its length), only on the messages that
carry a state label or an impact cue.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: How far back before its message a stated time may point.
REACH = pd.Timedelta(hours=12)
#: The milestones a stated time places, by the codes used while placing them.
PLACED = ("impact_start", "mitigated", "restored")
IMPACT_START, MITIGATED, RESTORED = range(3)
NAT = pd.NaT.value  # as int64 nanoseconds
#: Zone abbreviations people write after a clock time, as UTC offsets in hours.
ZONES = {
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "pst": -8,
    "pdt": -7,
    "mst": -7,
    "mdt": -6,
    "cst": -6,
    "cdt": -5,
    "est": -5,
    "edt": -4,
    "bst": 1,
    "cet": 1,
    "cest": 2,
    "eet": 2,
    "eest": 3,
    "ist": 5.5,
    "jst": 9,
    "aest": 10,
    "aedt": 11,
}
_ZONE = "|".join(sorted(ZONES, key=len, reverse=True))


def _clock(n: str) -> str:
    date = r"(?:\s+\d{1,2}/\d{1,2}(?:/\d{2,4})?)?"
    return (
        rf"(?P<h{n}>[0-2]?\d)[:h.](?P<m{n}>[0-5]\d)(?::[0-5]\d)?\s*(?P<ap{n}>am|pm|a\.m\.|p\.m\.)?{date}"
        rf"(?:\s*\(?(?P<z{n}>{_ZONE})\b\)?)?"
    )


_APPROX = r"(?:~|about|around|approx\.?|approximately|roughly|circa|ca\.)?\s*"
#: "from 21:38 to 21:49", "between 8:08pm and 8:31pm UTC", "19:52-20:35 UTC"
RANGE = rf"(?i)(?:\b(?:from|between)\s+{_APPROX})?\b{_clock('1')}\s*(?:-|–|—|to|until|till|and|through)\s*{_APPROX}{_clock('2')}"
#: "since 14:53", "started at 13:58", "as of 09:40 UTC"
SINCE = (
    rf"(?i)\b(?P<cue>since|as of|starting at|starting around|start at|start around|started at|started around|"
    rf"began at|began around|beginning at|begun at|from)\s+{_APPROX}{_clock('1')}"
)
#: "for 12 min", "over the last 15 minutes": a state that has held that long
HELD = (
    r"(?i)(?:\b(?P<pre>[a-z']+)\W{0,3}\s)?\b(?:for|over)\s+(?:the\s+(?:last|past)\s+)?(?:~|about|around)?\s*"
    r"(?P<n>\d{1,3})\s*(?P<unit>s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b"
)
#: Words before "for N min" that say what is still to come, not how long a state has held.
_WAITING = {
    "monitor",
    "monitoring",
    "watch",
    "watching",
    "wait",
    "waiting",
    "observe",
    "observing",
    "keep",
    "it",
    "them",
    "hold",
    "continue",
    "pause",
    "paused",
    "stopped",
    "down",
    "failing",
    "broken",
    "erroring",
    "degraded",
    "up",
}
#: Cues that a "since"/"started at" time is when the trouble began.
IMPACT = (
    r"(?i)\b(?:error|5\d\d|5xx|4xx|fail|down|slow|latenc|timeout|timing out|outage|issue|problem|broken|"
    r"degrad|unavailable|unreachable|impact|spik|elevated|start|began|begun|alert|page|can't|cannot|unable)"
)


def stated_times(
    text: pd.Series, ts: pd.Series, restored: np.ndarray, mitigated: np.ndarray, zone: str = "UTC"
) -> pd.DataFrame:
    """The times stated in ``text`` (messages posted at ``ts``; ``restored`` and ``mitigated``
    say which carry those labels), one row per (position, milestone, ts).

    Positions are those of ``text``. Restored or mitigated messages place their own
    milestone; a range places ``impact_start`` too; any other message with an impact cue
    places ``impact_start`` at a "since" / "started at" time. The text is read once per
    distinct message; only the clock arithmetic is done per message.
    """
    values = pa.array(text.astype(pd.StringDtype("pyarrow")).array)
    if not len(values):
        return _empty()
    distinct = pc.unique(values)
    parsed = _parse(distinct)
    # the clock arithmetic is per message, and only for those whose text states a time
    which = pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False)
    states = parsed[["r1h", "s1h", "held"]].notna().any(axis=1).to_numpy()
    at = np.flatnonzero(states[which])
    if not len(at):
        return _empty()
    parsed = parsed.iloc[which[at]].reset_index(drop=True)
    posted = pd.DatetimeIndex(ts).tz_convert("UTC")[at]
    restored = np.asarray(restored, bool)[at]
    mitigated = np.asarray(mitigated, bool)[at] & ~restored
    # the milestone placed, as a position in PLACED (-1: the message carries no state)
    state = np.where(restored, RESTORED, np.where(mitigated, MITIGATED, -1))
    out: list[tuple[np.ndarray, np.ndarray | int, np.ndarray]] = []
    # a range: impact start, and the end of the state (restored unless it says mitigated)
    start = _resolve(parsed, "r1", posted, zone)
    end = _resolve(parsed, "r2", posted, zone)
    ranged = (start != NAT) & (end != NAT) & (start < end)
    out += [
        (ranged, IMPACT_START, start),
        (ranged, np.where(state == MITIGATED, MITIGATED, RESTORED), end),
    ]
    # "since 14:53": the state's start where the message has one, else the impact's start
    since = _resolve(parsed, "s1", posted, zone)
    has = (since != NAT) & ~ranged
    stateful = has & (state >= 0) & parsed["cue"].isin(["since", "as of", "from"]).to_numpy()
    impact = has & (state < 0) & parsed["impact"].to_numpy(bool)
    out += [(stateful, state, since), (impact, IMPACT_START, since)]
    # "for 12 min" on a restored or mitigated message: it has held since then
    span = np.nan_to_num(parsed["held"].to_numpy(float)) * 1e9
    use = (
        (state >= 0)
        & parsed["held"].notna().to_numpy()
        & ~parsed["pre"].isin(_WAITING).to_numpy()
        & (span <= REACH.value)
        & ~ranged
    )
    out += [(use, state, posted.asi8 - span.astype(np.int64))]
    position = np.concatenate([np.flatnonzero(where) for where, _, _ in out])
    milestone = np.concatenate(
        [np.broadcast_to(np.asarray(m), len(where))[where] for where, m, _ in out]
    ).astype(np.int64)
    stamp = np.concatenate([np.asarray(t)[where] for where, _, t in out])
    # one time per (message, milestone): the earliest it states
    order = np.lexsort((stamp, milestone, position))
    position, milestone, stamp = position[order], milestone[order], stamp[order]
    first = np.ones(len(position), dtype=bool)
    first[1:] = (np.diff(position) != 0) | (np.diff(milestone) != 0)
    return pd.DataFrame(
        {
            "position": at[position[first]].astype("int64"),
            "milestone": pd.array(
                np.asarray(PLACED, dtype=object)[milestone[first]], dtype="string"
            ),
            "ts": pd.to_datetime(stamp[first], utc=True).as_unit("ns"),
        }
    )


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "position": pd.Series(dtype="int64"),
            "milestone": pd.Series(dtype="string"),
            "ts": pd.Series(dtype="datetime64[ns, UTC]"),
        }
    )


def _parse(distinct: pa.Array) -> pd.DataFrame:
    """What each distinct message states: the clocks of a range (``r1``, ``r2``) and of a
    "since" (``s1``) as hour, minute, am/pm and zone columns, the "since" cue, a held span in
    seconds with the word before it, and whether it has an impact cue."""

    def fields(pattern: str, names: dict[str, str]) -> dict[str, pd.Series]:
        found = pc.extract_regex(distinct, pattern)
        return {
            out: pd.Series(found.field(name).to_numpy(zero_copy_only=False), dtype=object)
            for name, out in names.items()
        }

    columns: dict[str, pd.Series] = {}
    for n, prefix in (("1", "r1"), ("2", "r2")):
        columns.update(
            fields(
                RANGE,
                {
                    f"h{n}": f"{prefix}h",
                    f"m{n}": f"{prefix}m",
                    f"ap{n}": f"{prefix}ap",
                    f"z{n}": f"{prefix}z",
                },
            )
        )
    columns.update(
        fields(SINCE, {"h1": "s1h", "m1": "s1m", "ap1": "s1ap", "z1": "s1z", "cue": "cue"})
    )
    held = fields(HELD, {"pre": "pre", "n": "n", "unit": "unit"})
    frame = pd.DataFrame(columns)
    # numbers and lower-cased words here, once per distinct message
    for clock in ("r1", "r2", "s1"):
        frame[f"{clock}h"] = pd.to_numeric(frame[f"{clock}h"], errors="coerce")
        frame[f"{clock}m"] = pd.to_numeric(frame[f"{clock}m"], errors="coerce")
        frame[f"{clock}ap"] = (
            frame[f"{clock}ap"].fillna("").str.replace(".", "", regex=False).str.lower()
        )
        frame[f"{clock}z"] = frame[f"{clock}z"].fillna("").str.lower().map(ZONES)
    frame["cue"] = frame["cue"].fillna("").str.lower()
    unit = held["unit"].fillna("").str[:1].str.lower().map({"s": 1, "m": 60, "h": 3600})
    frame["held"] = pd.to_numeric(held["n"], errors="coerce") * unit
    frame["pre"] = held["pre"].fillna("").str.lower()
    frame["impact"] = pc.fill_null(pc.match_substring_regex(distinct, IMPACT), False).to_numpy(
        zero_copy_only=False
    )
    return frame


def _resolve(parsed: pd.DataFrame, clock: str, posted: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """The UTC time (int64 ns) each message's ``clock`` means: the latest such time at or
    before its message (within :data:`REACH`), :data:`NAT` where there is none or the clock
    is impossible."""
    out = np.full(len(parsed), NAT, dtype=np.int64)
    hour = parsed[f"{clock}h"].to_numpy(float)
    minute = parsed[f"{clock}m"].to_numpy(float)
    at = np.flatnonzero(~np.isnan(hour) & ~np.isnan(minute))
    if not len(at):
        return out
    ampm = parsed[f"{clock}ap"].to_numpy(object)[at]
    hour, minute = hour[at], minute[at]
    hour = np.where(
        (ampm == "pm") & (hour < 12), hour + 12, np.where((ampm == "am") & (hour == 12), 0, hour)
    )
    valid = (hour >= 0) & (hour <= 23) & (minute >= 0) & (minute <= 59)
    offset = parsed[f"{clock}z"].to_numpy(float)[at]
    named = ~np.isnan(offset)
    stamp = posted[at]
    # the message's wall clock in the zone the clock time is read in, as naive nanoseconds
    local = np.where(
        named,
        stamp.asi8 + (np.nan_to_num(offset) * 3600e9).astype(np.int64),
        stamp.tz_convert(zone).tz_localize(None).asi8,
    )
    day = 86_400 * 10**9
    candidate = local - local % day + ((hour * 3600 + minute * 60) * 1e9).astype(np.int64)
    candidate = np.where(candidate <= local + 60 * 10**9, candidate, candidate - day)
    # back to UTC: a fixed offset is subtracted, a zone name is localised (DST-aware)
    zoned = (
        pd.DatetimeIndex(candidate)
        .tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        .tz_convert("UTC")
    )
    utc = np.where(named, candidate - (np.nan_to_num(offset) * 3600e9).astype(np.int64), zoned.asi8)
    utc = np.where(~named & pd.isna(zoned), NAT, utc)
    ok = valid & (utc >= stamp.asi8 - REACH.value) & (utc <= stamp.asi8 + 60 * 10**9) & (utc != NAT)
    out[at[ok]] = utc[ok]
    return out
