"""The trends report across incidents: one method per section, each rendering itself, so the
trends notebook is one call per cell (as :mod:`pia.report.review` is for one incident)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pia import trends
from pia.output import human_duration, parse_time
from pia.report import charts
from pia.report.html import Section, table, text

#: the durations drawn in the trend charts (all are in the tables)
CHARTED = ["time_to_engage", "time_to_hypothesis", "time_to_diagnose", "time_to_mitigate", "time_to_restore", "time_to_resolve", "time_to_declare"]
SURVIVAL = {"time_to_restore": "Time to restore", "time_to_resolve": "Time to resolve"}
SECTIONS = ("Incidents", "Durations", "Time to restore and resolve", "By severity", "By service", "Responder load", "Warnings")


def _note(message: str) -> str:
    return f'<p class="note">{text(message)}</p>'


def _hours(seconds: float) -> str:
    return human_duration(seconds) if pd.notna(seconds) and seconds != float("inf") else "not reached"


def _interval(value: float, low: float, high: float) -> str:
    """``1h 05m (52m 10s–1h 20m)``; a single incident has no interval."""
    if pd.isna(low) or pd.isna(high):
        return _hours(value)
    return f"{_hours(value)} ({_hours(low)}–{_hours(high)})"


@dataclass
class TrendsReport:
    """The incidents of a data dir (or of a metrics table) in a window, ready to show."""

    table: pd.DataFrame
    responders: pd.DataFrame
    group_by: str = "month"
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        group_by: str = "month",
        as_of: str | None = None,
        table: str | os.PathLike[str] | None = None,
        pseudonymise: bool = False,
    ) -> TrendsReport:
        """Measure every incident in ``data_dir`` (from the cache where nothing changed), or
        read ``table``: a stage-timestamp CSV (status-page stages) or a metrics table
        (Parquet). ``since``/``until`` bound the window by detection time; ``as_of`` censors
        incidents still open; ``group_by`` is ``week`` or ``month``; ``pseudonymise`` shows
        responders as ``Responder 1``, ``Responder 2``, … (by first appearance)."""
        from pia.cache import measure_all
        from pia.snapshot import data_dir as resolve

        window, stamp = cls.check(since=since, until=until, group_by=group_by, as_of=as_of, table=table)
        if table is not None:
            frame, responders, notes, source = *_read_table(Path(table)), str(table)
        else:
            measured = measure_all(resolve(data_dir), as_of=stamp)
            frame, responders, source = measured.table, measured.responders, f"{resolve(data_dir)}/incidents"
            notes = measured.failures + [w for w in frame.get("warnings", pd.Series(dtype=str)).dropna() if w]
        frame, responders, notes = _masked(frame, responders, notes, data_dir)
        frame = trends.in_window(frame, *window) if len(frame) else frame
        if len(responders) and len(frame):
            responders = responders[responders["incident"].isin(frame["incident"])]
        if pseudonymise and len(responders):
            people = pd.unique(responders["person"])
            responders = responders.assign(person=responders["person"].map({p: f"Responder {i}" for i, p in enumerate(people, 1)}))
        return cls(frame, responders, group_by, *window, stamp, source, notes)

    @staticmethod
    def check(
        *, since: str | None, until: str | None, group_by: str, as_of: str | None, table: str | os.PathLike[str] | None
    ) -> tuple[tuple[pd.Timestamp | None, pd.Timestamp | None], pd.Timestamp | None]:
        """Parse and check the options; a bad one is a one-line :class:`PiaError`."""
        from pia.errors import InputError, PiaError

        if group_by not in trends.PERIODS:
            raise PiaError(f"group_by: {group_by!r} is not one of {', '.join(trends.PERIODS)}")
        if table is not None and not Path(table).is_file():
            raise InputError(table, "", "no such file")
        return (parse_time(since, "since"), parse_time(until, "until")), parse_time(as_of, "as_of")

    @property
    def durations(self) -> list[str]:
        return [c.removesuffix("_observed") for c in self.table if c.endswith("_observed")]

    def header(self) -> Section:
        first, last = (self.table["detected"].min(), self.table["detected"].max()) if len(self.table) else (None, None)
        rows = [
            ("Incidents", str(len(self.table))),
            ("From", f"{first:%Y-%m-%d}" if first is not None and pd.notna(first) else "–"),
            ("To", f"{last:%Y-%m-%d}" if last is not None and pd.notna(last) else "–"),
            ("Window", f"{self.since or '…'} to {self.until or '…'}"),
            ("Open incidents censored at", str(self.as_of) if self.as_of is not None else "not set (open durations left out)"),
            ("Grouped by", self.group_by),
            ("Data", self.source),
        ]
        grid = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in rows)
        return Section("Incident trends", f'<dl class="meta">{grid}</dl>', level=1)

    def incidents(self) -> Section:
        counts = trends.counts(self.table, self.group_by)
        chart = charts.incidents_per_period(counts, self.group_by)
        return Section("Incidents", chart._repr_html_() if chart else _note("No incidents in the window."))

    def duration_summary(self) -> pd.DataFrame:
        return trends.duration_summary(self.table, self.durations, self.group_by)

    def durations_section(self) -> Section:
        summary = self.duration_summary()
        if summary.empty:
            return Section("Durations", _note("No observed durations in the window."))
        points = self.table.melt(id_vars=["detected"], value_vars=[d for d in CHARTED if d in self.table], var_name="duration", value_name="value")
        points = points.assign(seconds=points["value"].dt.total_seconds()).dropna(subset=["seconds"])
        chart = charts.duration_trends(summary, points, CHARTED)
        shown = summary.assign(
            period=summary["period"].dt.strftime("%Y-%m-%d"),
            duration=summary["duration"].str.replace("_", " "),
            median=[_interval(m, lo, hi) for m, lo, hi in zip(summary["median"], summary["median_low"], summary["median_high"])],
            p90=[_interval(m, lo, hi) for m, lo, hi in zip(summary["p90"], summary["p90_low"], summary["p90_high"])],
        )
        body = (chart._repr_html_() if chart else "") + table(
            shown, ["duration", "period", "n", "median", "p90", "censored"], numeric=["n", "censored"]
        )
        body += _note("Median and p90 of observed values with 95% bootstrap intervals; censored (still open) values are left out here and counted in the survival curves.")
        return Section("Durations", body)

    def survival(self) -> Section:
        results = [trends.survival(self.table, name) for name in SURVIVAL]
        chart = charts.survival_curves(results, SURVIVAL)
        if chart is None:
            return Section("Time to restore and resolve", _note("No restore or resolve times in the window."))
        rows = [
            {"duration": SURVIVAL[r.duration], "group": group, "incidents": r.sizes[group][0], "open (censored)": r.sizes[group][1], "median (Kaplan–Meier)": _hours(median)}
            for r in results
            for group, median in r.medians.items()
        ]
        body = chart._repr_html_() + table(pd.DataFrame(rows), numeric=["incidents", "open (censored)"])
        return Section("Time to restore and resolve", body)

    def _group_section(self, title: str, by: str) -> Section:
        grouped = trends.by_group(self.table, self.durations, by)
        if grouped.empty:
            return Section(title, _note("No incidents in the window."))
        shown = grouped.reset_index()
        for column in shown.columns[2:]:
            shown[column] = shown[column].map(_hours).replace("not reached", "–")
        return Section(title, table(shown, numeric=list(shown.columns[1:])))

    def by_severity(self) -> Section:
        return self._group_section("By severity", "severity")

    def by_service(self) -> Section:
        return self._group_section("By service", "services")

    def responder_load(self) -> Section:
        load = trends.responder_load(self.responders)
        if load.empty:
            return Section("Responder load", _note("No responder data (tables of stage times carry none)."))
        chart = charts.responder_load(load)
        body = (chart._repr_html_() if chart else "") + table(load.reset_index(), numeric=["incidents", "messages", "pages", "off_hours_pages"])
        return Section("Responder load", body)

    def warnings(self) -> Section:
        lines = trends.small_groups(self.table, ["severity"]) if len(self.table) else ["No incidents in the window."]
        lines += self.notes
        if not lines:
            return Section("Warnings", _note("No warnings."))
        return Section("Warnings", "<ul>" + "".join(f"<li>{text(line)}</li>" for line in lines) + "</ul>")


def _read_table(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """A stage CSV (mapped to milestones) or a metrics table saved as Parquet."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path), pd.DataFrame(), []
    from pia.sources.stages import stage_table

    frame, notes = stage_table(path.read_bytes(), str(path))
    return frame, pd.DataFrame(), notes


def _masked(frame: pd.DataFrame, responders: pd.DataFrame, notes: list[str], root: str | os.PathLike[str] | None) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Secrets masked in everything the trends show that came from snapshots: titles,
    severities, services, names, and the errors of incidents that could not be measured."""
    from pia.privacy import scrub
    from pia.privacy.redact import load_redactor
    from pia.snapshot import data_dir

    redactor = load_redactor(data_dir(root))
    return scrub.frame(frame, redactor, None), scrub.frame(responders, redactor, None), [redactor.value(n) for n in notes]
