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
#: Zone abbreviations people write after a clock time, as UTC offsets in hours.
ZONES = {
    "utc": 0, "gmt": 0, "z": 0, "pst": -8, "pdt": -7, "mst": -7, "mdt": -6, "cst": -6, "cdt": -5,
    "est": -5, "edt": -4, "bst": 1, "cet": 1, "cest": 2, "eet": 2, "eest": 3, "ist": 5.5, "jst": 9,
    "aest": 10, "aedt": 11,
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
_WAITING = {"monitor", "monitoring", "watch", "watching", "wait", "waiting", "observe", "observing", "keep", "it", "them",
            "hold", "continue", "pause", "paused", "stopped", "down", "failing", "broken", "erroring", "degraded", "up"}
#: Cues that a "since"/"started at" time is when the trouble began.
IMPACT = (
    r"(?i)\b(?:error|5\d\d|5xx|4xx|fail|down|slow|latenc|timeout|timing out|outage|issue|problem|broken|"
    r"degrad|unavailable|unreachable|impact|spik|elevated|start|began|begun|alert|page|can't|cannot|unable)"
)


def stated_times(text: pd.Series, ts: pd.Series, labels: pd.Series, zone: str = "UTC") -> pd.DataFrame:
    """The times stated in ``text`` (messages posted at ``ts``, carrying the set of signal
    labels in ``labels`` as a comma-joined string), one row per (position, milestone, ts).

    Positions are those of ``text``. Restored or mitigated messages place their own
    milestone; a range places ``impact_start`` too; any other message with an impact cue
    places ``impact_start`` at a "since" / "started at" time.
    """
    out = []
    values = pa.array(pd.array(text, dtype=pd.StringDtype("pyarrow")))
    posted = pd.DatetimeIndex(ts).tz_convert("UTC")
    label = pd.Series(labels).fillna("").to_numpy(object)
    restored = np.array(["restored" in x for x in label])
    mitigated = np.array(["mitigated" in x for x in label]) & ~restored
    state = np.where(restored, "restored", np.where(mitigated, "mitigated", ""))
    # a range: impact start, and the end of the state (restored unless it says mitigated)
    found = _extract(values, RANGE)
    if found is not None:
        start = _resolve(found, "1", posted, zone)
        end = _resolve(found, "2", posted, zone)
        ok = start.notna() & end.notna() & (start < end)
        ends = np.where(state == "mitigated", "mitigated", "restored")
        out += [_rows(ok, "impact_start", start), _rows(ok, ends, end)]
    else:
        ok = np.zeros(len(values), bool)
    # "since 14:53": the state's start where the message has one, else the impact's start
    found = _extract(values, SINCE)
    if found is not None:
        at = _resolve(found, "1", posted, zone)
        cue = pd.Series(found.field("cue").to_pylist(), dtype=object).str.lower()
        has = at.notna().to_numpy() & ~ok
        stateful = has & (state != "") & cue.isin(["since", "as of", "from"]).to_numpy()
        impact = has & (state == "") & _found(values, IMPACT) 
        out += [_rows(stateful, state, at), _rows(impact, "impact_start", at)]
    # "for 12 min" on a restored or mitigated message: it has held since then
    found = _extract(values, HELD)
    if found is not None:
        pre = pd.Series(found.field("pre").to_pylist(), dtype=object).str.lower()
        n = pd.to_numeric(pd.Series(found.field("n").to_pylist(), dtype=object), errors="coerce")
        unit = pd.Series(found.field("unit").to_pylist(), dtype=object).str[0].map({"s": "s", "m": "min", "h": "h"})
        span = pd.to_timedelta(n.to_numpy(float) * unit.map({"s": 1, "min": 60, "h": 3600}).to_numpy(float), unit="s")
        at = pd.Series(posted - span, dtype="datetime64[ns, UTC]")
        use = (state != "") & n.notna().to_numpy() & ~pre.isin(_WAITING).to_numpy() & (span <= REACH) & ~ok
        out += [_rows(use, state, at)]
    out = [o for o in out if len(o)]
    if not out:
        return pd.DataFrame({"position": pd.Series(dtype="int64"), "milestone": pd.Series(dtype="string"), "ts": pd.Series(dtype="datetime64[ns, UTC]")})
    frame = pd.concat(out, ignore_index=True)
    # one time per (message, milestone): the earliest it states
    return frame.sort_values(["position", "milestone", "ts"]).drop_duplicates(["position", "milestone"], ignore_index=True)


def _extract(values: pa.Array, pattern: str) -> pa.StructArray | None:
    if not len(values):
        return None
    return pc.extract_regex(values, pattern)


def _found(values: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(zero_copy_only=False)


def _rows(where: np.ndarray, milestone: object, at: pd.Series) -> pd.DataFrame:
    pick = np.flatnonzero(np.asarray(where, bool))
    names = np.broadcast_to(np.asarray(milestone, dtype=object), len(where))[pick]
    return pd.DataFrame({"position": pick.astype("int64"), "milestone": pd.array(names, dtype="string"), "ts": at.iloc[pick].to_numpy()})


def _resolve(found: pa.StructArray, n: str, posted: pd.DatetimeIndex, zone: str) -> pd.Series:
    """The UTC time each match's clock means: the latest such time at or before its message
    (within :data:`REACH`), NaT where there is none or the clock is impossible."""
    hour = pd.to_numeric(pd.Series(found.field(f"h{n}").to_pylist(), dtype=object), errors="coerce")
    minute = pd.to_numeric(pd.Series(found.field(f"m{n}").to_pylist(), dtype=object), errors="coerce")
    ampm = pd.Series(found.field(f"ap{n}").to_pylist(), dtype=object).fillna("").str.replace(".", "", regex=False)
    named = pd.Series(found.field(f"z{n}").to_pylist(), dtype=object).fillna("").str.lower()
    hour = hour.where(~((ampm == "pm") & (hour < 12)), hour + 12).where(~((ampm == "am") & (hour == 12)), 0)
    valid = hour.between(0, 23) & minute.between(0, 59) & ~((ampm != "") & (hour > 23))
    # the message's day in the zone the clock is read in
    offset = named.map(ZONES)
    local_zone = pd.Series(posted.tz_convert(zone).tz_localize(None), dtype="datetime64[ns]")
    fixed = pd.Series(posted.tz_localize(None), dtype="datetime64[ns]") + pd.to_timedelta(offset.fillna(0).to_numpy(float), unit="h")
    local = local_zone.where(offset.isna(), fixed)
    clock = pd.to_timedelta(hour.fillna(0).to_numpy(float) * 3600 + minute.fillna(0).to_numpy(float) * 60, unit="s")
    day = local.dt.normalize() + clock
    day = day.where(day <= local + pd.Timedelta(minutes=1), day - pd.Timedelta(days=1))
    back_zone = pd.Series(pd.DatetimeIndex(day).tz_localize(zone, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC"))
    back_fixed = pd.Series(pd.DatetimeIndex(day - pd.to_timedelta(offset.fillna(0).to_numpy(float), unit="h")).tz_localize("UTC"))
    at = back_zone.where(offset.isna(), back_fixed)
    reach = (at >= pd.Series(posted) - REACH) & (at <= pd.Series(posted) + pd.Timedelta(minutes=1))
    return at.where(valid.to_numpy() & reach.to_numpy())
