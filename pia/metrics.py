"""Milestones to durations and per-incident metrics, and the metrics table of all incidents.

A duration is a named pair of milestones (``[durations]`` in the rules config). Each value
knows whether it was observed: an incident with no ``resolved`` milestone is open, and its
unfinished durations are censored at an explicit ``as_of`` (never at the wall clock); a
milestone that never happened in a resolved incident is missing (NaN). Milestones in an
impossible order give a data-quality warning and a NaN, never a negative duration.

Only :func:`metrics_table` touches the disk, through :mod:`pia.snapshot`.
"""

from __future__ import annotations

import html
import os
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd

from pia.errors import ConfigError, PiaError
from pia.events.schema import conform
from pia.milestones import Detection, detect_incidents, manual_milestones
from pia.milestones.config import MILESTONES, Config, load_config
from pia.milestones.detect import RuleSet, compile_rules
from pia.times import TimeLike, as_utc

DURATION_COLUMNS = [
    "incident",
    "duration",
    "start_milestone",
    "end_milestone",
    "start",
    "end",
    "value",
    "observed",
    "status",
    "start_source",
    "start_ref",
    "end_source",
    "end_ref",
]
# Milestones that cannot come before `detected` (impact_start can, and usually does).
_AFTER_DETECTED = [m for m in MILESTONES if m not in ("impact_start", "detected")]


@dataclass
class Durations:
    """Every duration of one incident or several, each knowing whether it was observed.

    Made by :func:`durations`; shows itself as a table in a notebook.

    Attributes
    ----------
    frame : DataFrame
        One row per (incident, duration): ``value`` (a timedelta, NaT where unknown),
        ``observed``, ``status`` (``observed``, ``censored``, ``open``, ``missing``, ``no
        start`` or ``out of order``), the milestone and time at each end (``start_milestone``,
        ``start``, ``end_milestone``, ``end``) and the evidence's source and link.
    warnings : list of str
        Data-quality problems (milestones out of order), one line each.

    Examples
    --------
    >>> import pia
    >>> incident = pia.open_incident("2026-11-20-login-outage")
    >>> spans = pia.measure_incident(incident).durations
    >>> spans.frame["status"].value_counts().to_dict()
    {'observed': 9}
    """

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        from pia.times import human_duration

        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    r.duration,
                    f"{r.start_milestone} → {r.end_milestone}",
                    human_duration(r.value),
                    r.status,
                )
            )
            + "</tr>"
            for r in self.frame.itertuples()
        )
        notes = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (
            "<table><thead><tr><th>duration</th><th>span</th><th>value</th><th>status</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>" + (f"<ul>{notes}</ul>" if notes else "")
        )


def durations(
    milestones: pd.DataFrame,
    config: Config | None = None,
    *,
    as_of: TimeLike | None = None,
    incidents: Iterable[str] | None = None,
) -> Durations:
    """Every configured duration of every incident in ``milestones``: the pipeline's last step.

    A milestone has happened once its evidence was posted (``evidence_ts``, where the frame
    has it): a restore stated as "since 14:53" in a message at 15:10 is not yet known at 15:00.

    Parameters
    ----------
    milestones : DataFrame
        ``Detection.milestones`` (``incident``, ``milestone``, ``ts``; ``evidence_ts``,
        ``source`` and ``ref`` where there are).
    config : Config, optional
        Where the durations are defined (``[durations]``); the packaged ones where None.
    as_of : str or Timestamp, optional
        The moment the analysis stands at, with an offset: milestones after it have not yet
        happened, and an open incident's unfinished durations are censored there
        (``observed`` false, status ``censored``). Without it they are NaN with status
        ``open``; it is never the wall clock.
    incidents : iterable of str, optional
        Incidents to include that have no milestone at all.

    Returns
    -------
    Durations
        ``frame``, a row per incident and duration, and ``warnings``.

    Examples
    --------
    Half an hour after detection, the login outage was not yet restored: its time to
    restore is censored at ``as_of``, at least 28 minutes.

    >>> import pia
    >>> incident = pia.open_incident("2026-11-20-login-outage")
    >>> found = pia.detect_incident(incident.events(), incident.meta)
    >>> spans = pia.durations(found.milestones, as_of="2026-11-20T14:30:00Z")
    >>> restore = spans.frame.set_index("duration").loc["time_to_restore"]
    >>> restore["value"], bool(restore["observed"]), restore["status"]
    (Timedelta('0 days 00:28:00'), False, 'censored')
    """
    from pia.contracts import MILESTONES_CONTRACT

    config = config or load_config()
    as_of = as_utc(as_of)
    MILESTONES_CONTRACT.check(milestones)
    ms = milestones if as_of is None else milestones[_known(milestones) <= as_of]
    ids = list(dict.fromkeys([*(incidents or ()), *milestones["incident"].astype(str)]))
    first = ms.drop_duplicates(["incident", "milestone"]).set_index(["incident", "milestone"])["ts"]
    recorded = set(ms["milestone"])
    none = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns, UTC]")
    at = pd.DataFrame(
        {
            m: first.xs(m, level="milestone").reindex(ids) if m in recorded else none
            for m in MILESTONES
        },
        index=pd.Index(ids, name="incident"),
    )
    evidence = ms.set_index(["incident", "milestone"])[["source", "ref"]] if len(ms) else None
    resolved = at["resolved"].notna()
    frames, warnings = [], []
    for spec in config.durations:
        start = pd.Series(pd.NaT, index=at.index, dtype="datetime64[ns, UTC]")
        start_name = pd.Series(spec.start[0], index=at.index, dtype=object)
        for name in reversed(spec.start):  # the first present of the `from` list wins
            present = at[name].notna()
            start = start.where(~present, at[name])
            start_name = start_name.where(~present, name)
        end = at[spec.end]
        value = end - start
        backwards = value < pd.Timedelta(0)
        status = np.select(
            [start.isna(), backwards, end.notna(), ~resolved & (as_of is not None), ~resolved],
            ["no start", "out of order", "observed", "censored", "open"],
            default="missing",
        )
        censored = status == "censored"
        if as_of is not None:
            value = value.where(~censored, as_of - start)
        value = value.where(~backwards & ~(censored & (value < pd.Timedelta(0))))
        warnings += [
            f"{incident}: {spec.end} ({end[incident]:%Y-%m-%d %H:%M:%S}) is before "
            f"{start_name[incident]} ({start[incident]:%Y-%m-%d %H:%M:%S}); {spec.name} left empty"
            for incident in at.index[backwards.to_numpy()]
        ]
        frames.append(
            pd.DataFrame(
                {
                    "incident": at.index.astype(str),
                    "duration": spec.name,
                    "start_milestone": start_name.to_numpy(),
                    "end_milestone": spec.end,
                    "start": start.to_numpy(),
                    "end": end.to_numpy(),
                    "value": value.to_numpy(),
                    "observed": status == "observed",
                    "status": status,
                }
            )
        )
    frame = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DURATION_COLUMNS)
    )
    frame = _with_evidence(frame, evidence)
    warnings = _order_warnings(at) + warnings
    order = {d.name: i for i, d in enumerate(config.durations)}
    frame = frame.assign(order=frame["duration"].map(order)).sort_values(
        ["incident", "order"], kind="stable"
    )
    frame = frame.drop(columns="order").reset_index(drop=True)
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = pd.to_datetime(frame["end"], utc=True)
    frame["value"] = pd.to_timedelta(frame["value"])
    return Durations(frame[DURATION_COLUMNS], list(dict.fromkeys(warnings)))


def _known(milestones: pd.DataFrame) -> pd.Series:
    """When each milestone became known: the time of its evidence (``evidence_ts``), which is
    later than ``ts`` where a message states an earlier time ("normal since 14:53" posted at
    15:10); frames without the column (a stage table) are known at ``ts``."""
    if "evidence_ts" not in milestones:
        return milestones["ts"]
    return milestones["evidence_ts"].where(milestones["evidence_ts"].notna(), milestones["ts"])


def _with_evidence(frame: pd.DataFrame, evidence: pd.DataFrame | None) -> pd.DataFrame:
    if evidence is None or frame.empty:
        return frame.assign(start_source="", start_ref="", end_source="", end_ref="")
    ev = evidence.reset_index()
    for end in ("start", "end"):
        renamed = ev.rename(
            columns={
                "milestone": f"{end}_milestone",
                "source": f"{end}_source",
                "ref": f"{end}_ref",
            }
        )
        frame = frame.merge(renamed, on=["incident", f"{end}_milestone"], how="left")
        has = frame[end].notna()
        frame[f"{end}_source"] = frame[f"{end}_source"].where(has, "").fillna("")
        frame[f"{end}_ref"] = frame[f"{end}_ref"].where(has, "").fillna("")
    return frame


def _order_warnings(at: pd.DataFrame) -> list[str]:
    """Milestones before ``detected`` (other than ``impact_start``), ``resolved`` before
    ``restored`` or ``mitigated``, and a working hypothesis before the first or after
    ``mitigated``."""
    out = []
    checks = [("detected", m) for m in _AFTER_DETECTED] + [
        ("mitigated", "resolved"),
        ("restored", "resolved"),
    ]
    # the working hypothesis is the first or a later one, and it came before the mitigation it led to
    checks += [("first_hypothesis", "working_hypothesis"), ("working_hypothesis", "mitigated")]
    for first, then in checks:
        bad = at[then] < at[first]
        out += [
            f"{incident}: {then} ({at[then][incident]:%Y-%m-%d %H:%M:%S}) is before "
            f"{first} ({at[first][incident]:%Y-%m-%d %H:%M:%S})"
            for incident in at.index[bad.fillna(False).to_numpy(bool)]
        ]
    return out


# --- per-incident metrics -----------------------------------------------------------------------


def off_hours_pages(
    events: pd.DataFrame,
    timezones: Mapping[str, str],
    config: Config | None = None,
    *,
    by_incident: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """PagerDuty ``notify`` entries with the notified person's local time and ``off_hours``
    (outside the working hours and days of ``config``; NA where the person's zone is unknown).

    ``timezones`` maps a PagerDuty user id, or a name as it appears in the entry's text
    ("Notified Alice Chen by SMS"), to an IANA zone; ``by_incident`` gives each incident of
    ``events`` a mapping of its own instead.
    """
    config = config or load_config()
    is_page = ((events["source"] == "pagerduty") & (events["kind"] == "notify")).to_numpy(
        bool, na_value=False
    )
    at = np.flatnonzero(is_page)
    pages = pd.DataFrame(
        {c: events[c].array.take(at) for c in ("incident", "ts", "text", "mentions")}
    )
    person = pages["mentions"].str.split().str[0].fillna("")
    incident = pages["incident"].to_numpy(object)
    tables = (
        by_incident if by_incident is not None else dict.fromkeys(pd.unique(incident), timezones)
    )
    zone = np.array(
        [tables.get(i, {}).get(p) for i, p in zip(incident, person, strict=True)], dtype=object
    )
    # the rest by name in the entry's text, longest name first; pages are few, names per incident too
    text = pages["text"].fillna("").str.casefold().to_numpy(object)
    for row in np.flatnonzero(pd.isna(zone)):
        zones = tables.get(incident[row], {})
        names = sorted((k for k in zones if " " in k or not k.isupper()), key=len, reverse=True)
        zone[row] = next((zones[n] for n in names if n.casefold() in text[row]), None)
    local_hour = np.full(len(pages), np.nan)
    weekday = np.full(len(pages), np.nan)
    for tz in pd.unique(zone[~pd.isna(zone)]):
        rows = zone == tz
        local = pages.loc[rows, "ts"].dt.tz_convert(tz)
        local_hour[rows] = (local.dt.hour + local.dt.minute / 60).to_numpy()
        weekday[rows] = local.dt.day_of_week.to_numpy()
    known = ~pd.isna(zone)
    working = (
        np.isin(weekday, config.work_days)
        & (local_hour >= config.work_start)
        & (local_hour < config.work_end)
    )
    off = pd.Series(pd.NA, index=pages.index, dtype="boolean").mask(known, ~working)
    return pages.assign(person=person, timezone=pd.Series(zone, dtype=object), off_hours=off)


def people_timezones(
    meta: Mapping[str, Any], directory: Any = None, origin: str = "incident.toml"
) -> dict[str, str]:
    """Zones by PagerDuty user id or person name: ``[people]`` of ``incident.toml``
    (``PXXXXXX = { slack = "U123", tz = "Europe/Berlin" }``, or just ``PXXXXXX = "U123"``),
    then every Slack user's name with the ``tz`` of the Slack directory."""
    zones: dict[str, str] = {}
    slack_zones = dict(getattr(directory, "timezones", {}) or {})
    slack_names = dict(getattr(directory, "users", {}) or {})
    for slack_id, name in slack_names.items():
        if slack_id in slack_zones and len(name) >= 3:
            zones[name] = slack_zones[slack_id]
    people = meta.get("people", {}) or {}
    if not isinstance(people, Mapping):
        raise ConfigError(
            origin,
            "people",
            "must be a table of PagerDuty user id = Slack user id or { slack, tz }",
        )
    for pd_id, spec in people.items():
        if isinstance(spec, str):
            spec = {"slack": spec}
        if not isinstance(spec, Mapping):
            raise ConfigError(
                origin, f"people.{pd_id}", "must be a Slack user id or { slack = ..., tz = ... }"
            )
        tz = spec.get("tz") or slack_zones.get(str(spec.get("slack", "")))
        if tz:
            _check_zone(origin, f"people.{pd_id}.tz", str(tz))
            zones[str(pd_id)] = str(tz)
    return zones


def _check_zone(origin: str, key: str, tz: str) -> None:
    try:
        pd.Timestamp("2000-01-01", tz=tz)
    except Exception:  # zoneinfo raises several kinds
        raise ConfigError(
            origin, key, f"unknown time zone {tz!r} (use an IANA name like Europe/Berlin)"
        ) from None


def incident_metrics(
    events: pd.DataFrame,
    found: Detection,
    spans: Durations,
    pages: pd.DataFrame,
    config: Config | None = None,
) -> dict[str, Any]:
    """The counts beside the durations for one incident: responders, messages, hypotheses,
    pivots, escalations, status updates (and the longest gap between them, and how many
    came later than the configured cadence), directives (answered, median answer time),
    pages and off-hours pages."""
    config = config or load_config()
    ids = pd.unique(
        pd.concat([events["incident"].astype(str), found.milestones["incident"].astype(str)])
    )
    return _metric_values(_counts(events, found, pages, config), str(ids[0]) if len(ids) else "")


def _per_incident(
    frame: pd.DataFrame, column: str | None = None, how: str = "size"
) -> dict[str, Any]:
    """``how`` of ``frame[column]`` (or the row count) for each incident that has rows."""
    if not len(frame):
        return {}
    grouped = frame.groupby(frame["incident"].astype(str).to_numpy(object), sort=False)
    return cast(
        dict[str, Any], (grouped.size() if column is None else grouped[column].agg(how)).to_dict()
    )


def _counts(
    events: pd.DataFrame, found: Detection, pages: pd.DataFrame, config: Config
) -> dict[str, dict[str, Any]]:
    """Each of :func:`incident_metrics`' counts for every incident, from one grouping of each
    frame of all incidents: ``{count: {incident: value}}`` (no entry where it has no rows)."""
    speech = events[
        (events["is_human"] & events["kind"].astype(str).isin(["message", "reply"])).to_numpy(bool)
    ]
    updates = found.status_updates
    late = updates["gap"] > pd.Timedelta(minutes=config.cadence_minutes) if len(updates) else None
    answered = (
        found.directives[found.directives["answered"].to_numpy(bool)]
        if len(found.directives)
        else found.directives
    )
    hypotheses = found.hypotheses
    return {
        "responders": _per_incident(found.responders),
        "messages": _per_incident(speech),
        "hypotheses": _per_incident(hypotheses),
        "pivots": _per_incident(
            hypotheses.assign(pivot=hypotheses["pivot"].astype(bool))
            if len(hypotheses)
            else hypotheses,
            "pivot",
            "sum",
        ),
        "escalations": _per_incident(found.escalations),
        "status_updates": _per_incident(updates),
        "longest_update_gap": _per_incident(updates, "gap", "max"),
        "late_updates": _per_incident(
            updates.assign(late=late) if len(updates) else updates, "late", "sum"
        ),
        "directives": _per_incident(found.directives),
        "directives_answered": _per_incident(answered),
        "median_answer_time": _per_incident(answered, "answer_time", "median"),
        "pages": _per_incident(pages),
        "off_hours_pages": _per_incident(
            pages.assign(off=pages["off_hours"].fillna(False).astype(bool)), "off", "sum"
        ),
        "pages_unknown_zone": _per_incident(
            pages.assign(unknown=pages["off_hours"].isna()), "unknown", "sum"
        ),
    }


_TIMES = ("longest_update_gap", "median_answer_time")


def _metric_values(counts: dict[str, dict[str, Any]], incident: str) -> dict[str, Any]:
    """One incident's counts out of :func:`_counts`: 0 or NaT where it has no rows, and no
    longest gap with fewer than two updates."""
    out: dict[str, Any] = {}
    for name, per in counts.items():
        got = per.get(incident)
        out[name] = (pd.NaT if pd.isna(got) else got) if name in _TIMES else int(got or 0)
    if out["status_updates"] < 2:
        out["longest_update_gap"] = pd.NaT
    return out


# --- the table ------------------------------------------------------------------------------------


@dataclass
class IncidentMetrics:
    """Everything measured for one incident, as :func:`measure_incident` gives it.

    Attributes
    ----------
    incident : str
        The incident id.
    detection : Detection
        Milestones and repeated events.
    durations : Durations
        Each duration, observed or censored.
    pages : DataFrame
        PagerDuty's notifications, each marked off-hours or not in the person's zone.
    row : dict
        The incident's row of the metrics table: status, each milestone's time, each
        duration and whether it was observed (``<name>_observed``), and the counts.
    events : DataFrame
        The timeline it was measured on.

    Examples
    --------
    >>> import pia
    >>> measured = pia.measure_incident(pia.open_incident("2026-11-20-login-outage"))
    >>> measured.row["status"], measured.row["responders"], measured.row["pivots"]
    ('resolved', 7, 2)
    """

    incident: str
    detection: Detection
    durations: Durations
    pages: pd.DataFrame
    row: dict[str, Any]
    events: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _repr_html_(self) -> str:
        return self.detection._repr_html_() + "<h4>Durations</h4>" + self.durations._repr_html_()


@dataclass
class MetricsTable:
    """The metrics of many incidents, as :func:`metrics_table` gives it.

    Attributes
    ----------
    frame : DataFrame
        One row per incident (the columns of ``IncidentMetrics.row``).
    failures : list of str
        A one-line message per incident that could not be read or measured.
    incidents : dict of str to IncidentMetrics
        Everything measured, by incident id.

    Examples
    --------
    >>> import pia
    >>> table = pia.metrics_table()
    >>> table.frame.shape[0], table.failures
    (12, [])
    """

    frame: pd.DataFrame
    failures: list[str] = field(default_factory=list)
    incidents: dict[str, IncidentMetrics] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        from pia.times import human_duration

        shown = self.frame.copy()
        for name in shown:
            if pd.api.types.is_timedelta64_dtype(shown[name]):
                shown[name] = shown[name].map(human_duration)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape('' if _blank(v) else str(v))}</td>" for v in row)
            + "</tr>"
            for row in shown.itertuples(index=False)
        )
        fails = "".join(f"<li>{html.escape(f)}</li>" for f in self.failures)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" + (
            f"<ul>{fails}</ul>" if fails else ""
        )


def _blank(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, list)) and pd.isna(value))


def measure_incident(
    incident: Any,
    config: Config | None = None,
    *,
    as_of: TimeLike | None = None,
    rules: RuleSet | None = None,
) -> IncidentMetrics:
    """Read, detect and measure one incident: the pipeline after :func:`open_incident` in one
    call.

    Parameters
    ----------
    incident : Incident
        From :func:`open_incident`.
    config : Config, optional
        The rules and durations (:func:`load_config`); the packaged ones where None, so pass
        ``pia.load_config(pia.data_dir())`` for the data dir's ``pia.toml`` to count.
    as_of : str or Timestamp, optional
        Where an open incident's durations are censored (see :func:`durations`).
    rules : RuleSet, optional
        ``config``'s rules compiled, to reuse across calls.

    Returns
    -------
    IncidentMetrics
        The detection, the durations, the pages and the incident's row of the metrics table.

    Raises
    ------
    InputError
        A file of the snapshot is malformed.

    Examples
    --------
    >>> import pia
    >>> measured = pia.measure_incident(pia.open_incident("2026-11-20-login-outage"))
    >>> pia.human_duration(measured.row["time_to_restore"])
    '51m 00s'
    """
    config = config or load_config()
    together, failures = measure_together([incident], config, as_of=as_of, rules=rules)
    if failures:
        raise next(iter(failures.values()))
    return together.split()[incident.id]


def measure_incidents(
    incidents: Iterable[Any],
    config: Config | None = None,
    *,
    as_of: TimeLike | None = None,
    rules: RuleSet | None = None,
    progress: bool = False,
) -> tuple[dict[str, IncidentMetrics], list[str]]:
    """Read, detect and measure many incidents at once: their timelines are read file by file
    into one frame, then detected and measured together, so a thousand small incidents cost about what one
    large one does.

    Parameters
    ----------
    incidents : iterable of Incident
        From :func:`open_incident`.
    config : Config, optional
        The rules and durations; the packaged ones where None.
    as_of : str or Timestamp, optional
        Where open incidents' durations are censored (see :func:`durations`).
    rules : RuleSet, optional
        ``config``'s rules compiled.
    progress : bool
        Show a progress bar while reading.

    Returns
    -------
    measured : dict of str to IncidentMetrics
        By incident id.
    failures : list of str
        A line per incident that could not be read; the others are still measured.

    Examples
    --------
    >>> import pia
    >>> measured, failures = pia.measure_incidents(pia.open_incident(i) for i in pia.list_incidents())
    >>> len(measured), failures
    (12, [])
    """
    together, failures = measure_together(
        incidents, config, as_of=as_of, rules=rules, progress=progress
    )
    return together.split(), [str(error) for error in failures.values()]


@dataclass
class Together:
    """Many incidents measured at once: their merged timeline (``events``, by incident in the
    order read, then by time), detection, durations, pages and the table's rows, one frame each
    for all of them."""

    incidents: list[Any]
    directories: dict[str, Any]
    events: pd.DataFrame
    detection: Detection | None
    durations: Durations | None
    pages: pd.DataFrame | None
    rows: list[dict[str, Any]]

    def split(self) -> dict[str, IncidentMetrics]:
        """One :class:`IncidentMetrics` per incident, each with its own frames."""
        ids = [i.id for i in self.incidents]
        if self.detection is None or self.durations is None or self.pages is None:
            return {}
        sizes = (
            self.events["incident"].value_counts(sort=False).reindex(ids, fill_value=0).to_numpy()
        )
        first = dict(zip(ids, np.cumsum(np.concatenate([[0], sizes]))[:-1].tolist(), strict=True))
        detections = _split_detection(
            self.detection, self.events, ids, first, dict(zip(ids, sizes.tolist(), strict=True))
        )
        pages, spans = _by_incident(self.pages, ids), _by_incident(self.durations.frame, ids)
        warned = _warnings_by_incident(self.durations.warnings)
        out = {}
        for incident, row in zip(self.incidents, self.rows, strict=True):
            own, found = (
                Durations(spans[incident.id], warned.get(incident.id, [])),
                detections[incident.id],
            )
            out[incident.id] = IncidentMetrics(
                incident.id, found, own, pages[incident.id], row, found.events
            )
        return out


def measure_together(
    incidents: Iterable[Any],
    config: Config | None = None,
    *,
    as_of: Any = None,
    rules: RuleSet | None = None,
    progress: bool = False,
) -> tuple[Together, dict[str, PiaError]]:
    """Read, detect and measure ``incidents`` together (see :class:`Together`), and the error
    of each that could not be read or measured."""
    from pia.snapshot import read_events

    config = config or load_config()
    as_of = as_utc(as_of)
    rules = rules or compile_rules(config)
    incidents = list(incidents)
    bar = None
    if progress and len(incidents) > 1:
        from tqdm import tqdm

        bar = tqdm(total=len(incidents), desc="reading", unit="incident", leave=False)
    events, failures, directories = read_events(incidents, bar.update if bar is not None else None)
    if bar is not None:
        bar.close()
    read, zones, origins, dropped = [], {}, {}, []
    for incident in incidents:
        if incident.id in failures:
            continue
        origin = str(incident.path / "incident.toml")
        try:
            if incident.meta.get("milestones"):
                manual_milestones(
                    incident.meta, origin
                )  # a bad one fails its own incident, not the rest
            zones[incident.id] = people_timezones(
                incident.meta, directories.get(incident.id), origin
            )
        except PiaError as error:
            failures[incident.id] = error
            dropped.append(incident.id)
            continue
        read.append(incident)
        origins[incident.id] = origin
    failures = {
        i.id: failures[i.id] for i in incidents if i.id in failures
    }  # read's and these, in the order given
    if dropped and len(events):
        events = conform(events[~events["incident"].isin(dropped).to_numpy(bool)])
    ids = [i.id for i in read]
    if not read:
        return Together([], {}, events, None, None, None, []), failures
    seen = {i: directories[i] for i in ids if directories.get(i) is not None}
    found = detect_incidents(
        events, {i.id: i.meta for i in read}, rules, origins=origins, directories=seen
    )
    spans = durations(found.milestones, config, as_of=as_of, incidents=ids)
    pages = off_hours_pages(events, {}, config, by_incident=zones)
    # from here on the timeline as detection read it: bot posts credited to the people they name
    credited = found.events
    rows = _rows(read, credited, found, spans, pages, config, as_of)
    return Together(
        read, {i: directories.get(i) for i in ids}, credited, found, spans, pages, rows
    ), failures


def _by_incident(frame: pd.DataFrame, ids: list[str]) -> dict[str, pd.DataFrame]:
    """``frame`` split by its ``incident`` column, an empty frame for ids without rows."""
    groups = (
        {
            str(k): g.reset_index(drop=True)
            for k, g in frame.groupby("incident", sort=False, observed=True)
        }
        if len(frame)
        else {}
    )
    return {i: groups.get(i, frame.iloc[:0].reset_index(drop=True)) for i in ids}


def _warnings_by_incident(warnings: list[str]) -> dict[str, list[str]]:
    """Each incident's warnings (they start with its id and a colon)."""
    out: dict[str, list[str]] = {}
    for warning in warnings:
        out.setdefault(warning.split(": ", 1)[0], []).append(warning)
    return out


def _split_detection(
    found: Detection,
    events: pd.DataFrame,
    ids: list[str],
    first: dict[str, int],
    lengths: dict[str, int],
) -> dict[str, Detection]:
    """One :class:`Detection` per incident; signal rows become positions in that incident's own
    timeline (``lengths[id]`` rows from ``first[id]`` in the merged ``events``). The candidates are split
    when one incident's are first asked for."""
    signals = found.signals.assign(
        incident=events["incident"].array.take(found.signals["row"].to_numpy())
    )
    frames = {
        name: _by_incident(frame, ids)
        for name, frame in (
            ("milestones", found.milestones),
            ("signals", signals),
            ("hypotheses", found.hypotheses),
            ("escalations", found.escalations),
            ("status_updates", found.status_updates),
            ("directives", found.directives),
            ("responders", found.responders),
            ("notes", found.notes),
        )
    }
    candidates = cache(lambda: _by_incident(found.candidates, ids))
    out = {}
    for i in ids:
        own = {name: parts[i] for name, parts in frames.items()}
        signals_of = own["signals"].drop(columns="incident")
        own["signals"] = signals_of.assign(row=signals_of["row"] - first[i])
        # the incident's own rows of the credited timeline (its events start at first[i])
        timeline = found.events.iloc[first[i] : first[i] + lengths[i]].reset_index(drop=True)

        def own_candidates(incident: str = i) -> pd.DataFrame:
            return candidates()[incident]

        out[i] = Detection(
            **own,
            commander=found.commander[found.commander.index == i],
            events=timeline,
            _candidates=own_candidates,
        )
    return out


def _rows(
    incidents: list[Any],
    events: pd.DataFrame,
    found: Detection,
    spans: Durations,
    pages: pd.DataFrame,
    config: Config,
    as_of: pd.Timestamp | None,
) -> list[dict[str, Any]]:
    """Each incident's line in the metrics table, every count and time taken per incident from
    one grouping of all incidents' frames (see :func:`incident_metrics` for one incident)."""
    ms = found.milestones
    keys = list(zip(ms["incident"].astype(str), ms["milestone"].astype(str), strict=True))
    at = dict(zip(keys, ms["ts"], strict=True))
    known = dict(zip(keys, _known(ms), strict=True))
    start = _per_incident(events, "ts", "min")
    value = dict(
        zip(
            zip(spans.frame["incident"], spans.frame["duration"], strict=True),
            spans.frame["value"],
            strict=True,
        )
    )
    observed = dict(
        zip(
            zip(spans.frame["incident"], spans.frame["duration"], strict=True),
            spans.frame["observed"],
            strict=True,
        )
    )
    warned = _warnings_by_incident(spans.warnings)
    counts = _counts(events, found, pages, config)
    rows = []
    for incident in incidents:
        i, meta = incident.id, incident.meta
        first = at.get((i, "impact_start"), at.get((i, "detected")))
        happened = i in start or any((i, m) in at for m in MILESTONES)
        resolved = (i, "resolved") in at and (as_of is None or known[(i, "resolved")] <= as_of)
        row: dict[str, Any] = {
            "incident": i,
            "title": str(meta.get("title", "")),
            "severity": str(meta.get("severity", "")),
            "services": ",".join(str(s) for s in meta.get("services", []) or []),
            "date": (first or start.get(i, pd.NaT)).strftime("%Y-%m-%d") if happened else "",
            "status": "resolved" if resolved else "open",
        }
        row.update({m: at.get((i, m), pd.NaT) for m in MILESTONES})
        row.update({d.name: value[(i, d.name)] for d in config.durations})
        row.update({f"{d.name}_observed": bool(observed[(i, d.name)]) for d in config.durations})
        row.update(_metric_values(counts, i))
        row["warnings"] = "; ".join(w.split(": ", 1)[-1] for w in warned.get(i, []))
        rows.append(row)
    return rows


def metrics_table(
    root: str | os.PathLike[str] | None = None,
    ids: Sequence[str] | None = None,
    *,
    as_of: TimeLike | None = None,
    config: Config | None = None,
) -> MetricsTable:
    """The metrics table: one row per incident, as ``pia metrics`` prints it.

    Parameters
    ----------
    root : str or PathLike, optional
        The data dir (see :func:`data_dir`); its ``pia.toml`` counts.
    ids : sequence of str, optional
        The incidents; every one in the data dir where None.
    as_of : str or Timestamp, optional
        Where open incidents' durations are censored (see :func:`durations`).
    config : Config, optional
        The rules and durations; the data dir's where None.

    Returns
    -------
    MetricsTable
        ``frame`` (a row per incident, durations as timedeltas) and ``failures``: an
        incident that cannot be read or measured is a line there, the others are measured.

    Raises
    ------
    ConfigError
        A bad ``pia.toml``, which would spoil every row.

    Examples
    --------
    >>> import pia
    >>> table = pia.metrics_table(as_of="2026-12-01T00:00:00Z")
    >>> search = table.frame.set_index("incident").loc["2026-11-24-search-latency"]
    >>> search["status"], bool(search["time_to_restore_observed"])
    ('open', False)
    """
    from pia.snapshot import data_dir, list_incidents, open_incident

    base = data_dir(root)
    config = config or load_config(base)
    rules = compile_rules(config)
    as_of = as_utc(as_of)
    ids = ids if ids is not None else list_incidents(base)
    incidents, failures = [], []
    for incident_id in ids:
        try:
            incidents.append(open_incident(incident_id, base))
        except PiaError as error:
            failures.append(str(error))
    measured, unread = measure_incidents(incidents, config, as_of=as_of, rules=rules)
    failures += unread
    rows = [measured[i].row for i in ids if i in measured]
    frame = typed_table(pd.DataFrame(rows), config)
    return MetricsTable(frame, failures, {i: measured[i] for i in ids if i in measured})


@dataclass
class Explanation:
    """Why each milestone of one incident has the time it has, as
    :func:`explain_milestones` gives it; shows itself as a table in a notebook.

    Attributes
    ----------
    incident : str
        The incident id.
    candidates : DataFrame
        Per milestone, the winner (``rank`` 1) and the runners-up, best first (the columns
        of ``Detection.candidates``).
    manual : list of str
        The milestones set in ``incident.toml [milestones]``, which win over anything detected.

    Examples
    --------
    >>> import pia
    >>> pia.explain_milestones("2026-11-20-login-outage").manual
    ['impact_start']
    """

    incident: str
    candidates: pd.DataFrame
    manual: list[str] = field(default_factory=list)
    milestones: tuple[str, ...] = MILESTONES

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape('' if _blank(v) else str(v))}</td>"
                for v in (
                    r.milestone,
                    r.rank,
                    f"{r.ts:%Y-%m-%d %H:%M:%S}",
                    ""
                    if r.evidence_ts == r.ts or _blank(r.evidence_ts)
                    else f"{r.evidence_ts:%Y-%m-%d %H:%M:%S}",
                    r.actor,
                    f"{r.source} · {r.rule}",
                    r.text,
                )
            )
            + "</tr>"
            for r in (SimpleNamespace(**row) for row in records(self.candidates))
        )
        head = "".join(
            f"<th>{c}</th>"
            for c in (
                "milestone",
                "rank",
                "time",
                "stated in a message at",
                "who",
                "found by",
                "text",
            )
        )
        return (
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            "<p>A value in incident.toml [milestones] wins over anything detected.</p>"
        )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as dicts by column name."""
    return [
        dict(zip(map(str, frame.columns), row, strict=True))
        for row in frame.itertuples(index=False)
    ]


def explain_milestones(
    incident_id: str,
    root: str | os.PathLike[str] | None = None,
    *,
    redact: bool = True,
    config: Config | None = None,
) -> Explanation:
    """Each milestone's candidates for one incident: the one used and the runners-up a
    reviewer may prefer, best first, as ``pia metrics --explain`` prints them.

    Parameters
    ----------
    incident_id : str
        The incident.
    root : str or PathLike, optional
        The data dir (see :func:`data_dir`); its ``pia.toml`` counts.
    redact : bool
        Mask secrets in the candidates' text and links.
    config : Config, optional
        The rules; the data dir's where None.

    Returns
    -------
    Explanation
        ``candidates`` by milestone and rank, and the ``manual`` milestones.

    Raises
    ------
    UnknownIncident
        No snapshot by that id.
    ConfigError
        A bad ``pia.toml`` or manual milestone.

    Examples
    --------
    >>> import pia
    >>> found = pia.explain_milestones("2026-11-20-login-outage").candidates
    >>> found.query("milestone == 'restored'")[["rank", "source", "rule"]].head(2).values.tolist()
    [[1, 'rule', 'back_to_normal'], [2, 'rule', 'back_to_normal']]
    """
    from pia.privacy import scrub
    from pia.privacy.redact import load_redactor
    from pia.snapshot import data_dir, open_incident

    base = data_dir(root)
    config = config or load_config(base)
    incident = open_incident(incident_id, base)
    origin = str(incident.path / "incident.toml")
    found = detect_incidents(
        incident.events(),
        {incident.id: incident.meta},
        compile_rules(config),
        origins={incident.id: origin},
        directories={incident.id: incident.directory()},
    )
    candidates = found.candidates.reset_index(drop=True)
    if redact:
        candidates = scrub.frame(candidates, load_redactor(base), None)
    manual = manual_milestones(incident.meta, origin)
    return Explanation(incident.id, candidates, [str(m) for m in manual["milestone"]])


def typed_table(table: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Durations as timedeltas, milestone times as UTC datetimes, flags as bools, whatever the
    rows were built from (fresh dicts with NaT, or Parquet)."""
    out = table.copy()
    spans = {d.name for d in config.durations} | {"longest_update_gap", "median_answer_time"}
    for name in out:
        if name in spans:  # in nanoseconds, as computed: a row of Timedelta objects may infer less
            out[name] = pd.to_timedelta(out[name].astype(object)).astype("timedelta64[ns]")
        elif name in MILESTONES:
            out[name] = pd.to_datetime(out[name], utc=True).dt.as_unit("ns")
        elif str(name).endswith("_observed"):
            out[name] = out[name].astype(bool)
    return out


#: what ``pia metrics`` shows in a terminal: the headline durations and counts, 100 columns wide
HEADLINE = [
    "incident",
    "status",
    "date",
    "time_to_engage",
    "time_to_hypothesis",
    "time_to_restore",
    "responders",
    "status_updates",
]


def for_output(table: pd.DataFrame, fmt: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The table as the CLI prints it: in ``table`` format the ``columns`` asked for (default
    :data:`HEADLINE`) with durations as human times, a censored one marked ``≥``, and milestone
    times to the minute; in CSV and JSON every column (or those asked for), durations in seconds."""
    wanted = list(columns or (HEADLINE if fmt == "table" else table.columns))
    unknown = [c for c in wanted if c not in table]
    if unknown:
        raise PiaError(
            f"columns: no column {', '.join(map(repr, unknown))}; the table has {', '.join(table.columns)}",
            parameters=("columns",),
        )
    out = table[wanted].copy()
    spans = [c for c in out if pd.api.types.is_timedelta64_dtype(out[c])]
    if fmt == "table":
        from pia.times import human_duration

        for name in spans:
            text = out[name].map(human_duration)
            observed = table.get(f"{name}_observed")
            if observed is not None:
                text = text.where(observed.astype(bool) | out[name].isna(), "≥ " + text)
            out[name] = text
        for name in out.columns.intersection(list(MILESTONES)):
            out[name] = out[name].dt.strftime("%Y-%m-%d %H:%M").fillna("")
        out = out.drop(columns=[c for c in out if str(c).endswith("_observed")])
        return out.rename(
            columns={
                name: str(name).removeprefix("time_to_").removeprefix("status_") for name in out
            }
        )
    for name in spans:
        out[name] = out[name].dt.total_seconds()
    return out


def legend(shown: Sequence[str], left_out: Sequence[str] = (), config: Config | None = None) -> str:
    """The lines under a terminal table of the columns ``shown`` (as :func:`for_output` names
    them): where each duration starts, what ``≥`` means, and the columns ``left_out`` for the
    terminal's width."""
    config = config or load_config()
    starts: dict[str, list[str]] = {}
    for spec in config.durations:
        short = spec.name.removeprefix("time_to_")
        if short in shown:
            starts.setdefault(spec.since, []).append(short)
    parts = [f"{', '.join(names)}: {since}" for since, names in starts.items()]
    parts.append("≥: still open, counted to --as-of")
    if left_out:
        parts.append(f"not shown for the width: {', '.join(left_out)} (--columns to choose)")
    return textwrap.fill("; ".join(parts), 100, break_on_hyphens=False)
