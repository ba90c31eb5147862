"""The trends report across incidents: one method per section, each rendering itself, so the
trends notebook is one call per cell (as :mod:`pia.report.review` is for one incident)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import pandas as pd

from pia import trends
from pia.errors import BadValue, InputError
from pia.report import charts
from pia.report.html import Section, table, text
from pia.times import TimeLike, as_utc, human_duration

#: the durations drawn in the trend charts (all are in the tables)
CHARTED = [
    "time_to_engage",
    "time_to_hypothesis",
    "time_to_diagnose",
    "time_to_mitigate",
    "time_to_restore",
    "time_to_resolve",
    "time_to_declare",
]
SURVIVAL = {"time_to_restore": "Time to restore", "time_to_resolve": "Time to resolve"}
SECTIONS = (
    "Incidents",
    "Durations",
    "Time to restore and resolve",
    "By severity",
    "By service",
    "Responder load",
    "Warnings",
)


def _note(message: str) -> str:
    return f'<p class="note">{text(message)}</p>'


def _hours(seconds: float) -> str:
    return (
        human_duration(seconds) if pd.notna(seconds) and seconds != float("inf") else "not reached"
    )


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
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        group_by: str = "month",
        as_of: TimeLike | None = None,
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

        window, stamp = cls.check(
            since=since, until=until, group_by=group_by, as_of=as_of, table=table
        )
        if table is not None:
            frame, responders, notes, source = *_read_table(Path(table)), str(table)
        else:
            measured = measure_all(resolve(data_dir), as_of=stamp)
            frame, responders, source = (
                measured.table,
                measured.responders,
                f"{resolve(data_dir)}/incidents",
            )
            notes = measured.failures + [
                w for w in frame.get("warnings", pd.Series(dtype=str)).dropna() if w
            ]
        frame, responders, notes = _masked(frame, responders, notes, data_dir)
        frame = trends.in_window(frame, *window) if len(frame) else frame
        if len(responders) and len(frame):
            responders = responders[responders["incident"].isin(frame["incident"])]
        if pseudonymise and len(responders):
            people = pd.unique(responders["person"])
            responders = responders.assign(
                person=responders["person"].map(
                    {p: f"Responder {i}" for i, p in enumerate(people, 1)}
                )
            )
        return cls(frame, responders, group_by, *window, stamp, source, notes)

    @staticmethod
    def check(
        *,
        since: TimeLike | None,
        until: TimeLike | None,
        group_by: str,
        as_of: TimeLike | None,
        table: str | os.PathLike[str] | None,
    ) -> tuple[tuple[pd.Timestamp | None, pd.Timestamp | None], pd.Timestamp | None]:
        """Parse and check the options; a bad one is a one-line :class:`PiaError`."""
        if group_by not in trends.PERIODS:
            raise BadValue("group_by", group_by, f"is not one of {', '.join(trends.PERIODS)}")
        if table is not None and not Path(table).is_file():
            raise InputError(table, "", "no such file")
        if table is not None and Path(table).suffix == ".parquet":
            _read_table(Path(table))  # a table that breaks the contract fails here, in one line
        return (as_utc(since, "since"), as_utc(until, "until")), as_utc(as_of)

    @property
    def durations(self) -> list[str]:
        return [
            c.removesuffix("_observed")
            for c in map(str, self.table.columns)
            if c.endswith("_observed")
        ]

    def window_words(self) -> str:
        """The window in words: "1 January to 30 November 2026" (the ``since``/``until``
        given, else the first and last detection)."""
        first = (
            self.since
            if self.since is not None
            else (self.table["detected"].min() if len(self.table) else None)
        )
        last = (
            self.until
            if self.until is not None
            else (self.table["detected"].max() if len(self.table) else None)
        )
        if first is None or last is None or pd.isna(first) or pd.isna(last):
            return "no incidents"
        return day_span(first, last)

    def header(self) -> Section:
        """The window in words, then the headline: this period against the one before."""
        count = len(self.table)
        lead = f"{count} incident{'' if count == 1 else 's'} detected {self.window_words()}, grouped by {self.group_by}."
        opened = int((self.table["status"] == "open").sum()) if "status" in self.table else 0
        if self.as_of is not None:
            censored = f"censored at {self.as_of:%H:%M} UTC on {_day(self.as_of)} (as_of)"
        else:
            censored = "not censored: their durations are left out (no as_of)"
        rows = [
            (
                "Open incidents",
                f"{opened or 'none'}"
                + (f"; {censored}" if opened or self.as_of is not None else ""),
            ),
            ("Data", self.source),
        ]
        grid = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in rows)
        return Section(
            "Incident trends",
            f'<p class="lead">{text(lead)}</p><dl class="meta">{grid}</dl>' + self._headline(),
            level=1,
        )

    def _headline(self) -> str:
        """This period against the previous one: incidents and the median time to engage, to
        hypothesis and to restore, each with its 95% bootstrap interval."""
        rows = trends.headline(self.table, self.group_by, end=self.until)
        if rows.empty:
            return ""
        this, before = rows.iloc[0], rows.iloc[1]
        names = {
            "time_to_engage": "Median time to engage",
            "time_to_hypothesis": "Median time to hypothesis",
            "time_to_restore": "Median time to restore",
        }
        lines: list[tuple[str, ...]] = [
            ("Incidents", str(this["incidents"]), str(before["incidents"]))
        ]
        for name, label in names.items():
            lines.append((label, *(_median_cell(r, name) for r in (this, before))))
        head = f"<tr><th></th><th class=num>{text(_period_name(this['start'], self.group_by))}</th><th class=num>{text(_period_name(before['start'], self.group_by))}</th></tr>"
        body = "".join(
            f"<tr><th>{text(a)}</th><td class=num>{text(b)}</td><td class=num>{text(c)}</td></tr>"
            for a, b, c in lines
        )
        small = min(this["incidents"], before["incidents"]) < trends.MIN_INCIDENTS
        note = _note(
            "Medians of observed values with 95% bootstrap intervals (n observed)."
            + (
                f" Fewer than {trends.MIN_INCIDENTS} incidents in a period: too few to tell a change from noise."
                if small
                else ""
            )
        )
        return f'<div class="headline"><h2>This {self.group_by} against the one before</h2><div class="table"><table>{head}{body}</table></div>{note}</div>'

    def incidents(self) -> Section:
        counts = trends.counts(self.table, self.group_by)
        chart = charts.incidents_per_period_chart(counts, self.group_by)
        return Section(
            "Incidents", chart._repr_html_() if chart else _note("No incidents in the window.")
        )

    def duration_summary(self) -> pd.DataFrame:
        return trends.duration_summary(self.table, self.durations, self.group_by)

    def duration_points(self) -> pd.DataFrame:
        """Each incident's charted durations, a row each: ``detected``, ``duration``, ``value``
        and ``seconds`` (the dots of the duration charts)."""
        points = self.table.melt(
            id_vars=["detected"],
            value_vars=[d for d in CHARTED if d in self.table],
            var_name="duration",
            value_name="value",
        )
        return points.assign(seconds=points["value"].dt.total_seconds()).dropna(subset=["seconds"])

    def durations_section(self) -> Section:
        summary = self.duration_summary()
        if summary.empty:
            return Section("Durations", _note("No observed durations in the window."))
        points = self.duration_points()
        chart = charts.duration_trends_chart(
            summary, points, CHARTED, periods=trends.counts(self.table, self.group_by).index
        )
        body = (chart._repr_html_() if chart else "") + self._by_period(summary)
        body += _note(
            f"Median per {self.group_by} of observed values, with its 95% bootstrap interval where a {self.group_by} has two or more "
            "(n observed); the chart shows p90 too. Censored (still open) values are left out here and counted in the survival curves."
        )
        return Section("Durations", body)

    def _by_period(self, summary: pd.DataFrame) -> str:
        """One row per duration, one column per period: the median (its interval and n below)."""
        label = "%b %Y" if self.group_by == "month" else "%d %b"
        cells = summary.assign(
            cell=[
                f'{text(_hours(m))}<br><span class="stated">{text(f"{_hours(lo)}–{_hours(hi)}, " if pd.notna(lo) else "")}n={n}</span>'
                for m, lo, hi, n in zip(
                    summary["median"],
                    summary["median_low"],
                    summary["median_high"],
                    summary["n"],
                    strict=True,
                )
            ]
        )
        grid = cells.pivot(index="duration", columns="period", values="cell")
        grid = grid.reindex([d for d in self.durations if d in grid.index])
        grid.columns = [f"{p:{label}}" for p in grid.columns]
        shown = grid.reset_index().fillna("–")
        shown["duration"] = shown["duration"].str.replace("_", " ")
        periods = list(shown.columns[1:])
        return table(shown, cells={p: itemgetter(p) for p in periods}, numeric=periods)

    def survival(self) -> Section:
        results = [trends.survival(self.table, name) for name in SURVIVAL]
        chart = charts.survival_chart(results, SURVIVAL)
        if chart is None:
            return Section(
                "Time to restore and resolve", _note("No restore or resolve times in the window.")
            )
        rows = [
            {
                "duration": SURVIVAL[r.duration],
                "group": group,
                "incidents": r.sizes[group][0],
                "open (censored)": r.sizes[group][1],
                "median (Kaplan–Meier)": _hours(median),
            }
            for r in results
            for group, median in r.medians.items()
        ]
        body = chart._repr_html_() + table(
            pd.DataFrame(rows), numeric=["incidents", "open (censored)"]
        )
        return Section("Time to restore and resolve", body)

    def _group_section(self, title: str, by: str) -> Section:
        """One column per group, one row per duration (median · p90): the table grows down, not
        across the page, however many durations there are."""
        grouped = trends.by_group(self.table, self.durations, by)
        if by == "severity":
            grouped = grouped.sort_index(key=lambda names: names.astype(str))
        if grouped.empty:
            return Section(title, _note("No incidents in the window."))
        rows = {"incidents": grouped["incidents"].astype(str)}
        for name in self.durations:
            if f"{name} median" in grouped:
                median, p90 = (
                    grouped[f"{name} {q}"].map(_hours).replace("not reached", "–")
                    for q in ("median", "p90")
                )
                rows[name.replace("_", " ")] = median + " · " + p90
        shown = pd.DataFrame(rows).T.rename_axis("").reset_index()
        shown.columns = [str(c) for c in shown.columns]
        groups = list(shown.columns[1:])
        body = table(shown, numeric=groups, one_line=[""])
        return Section(title, body + _note("Median · p90 of observed values."))

    def by_severity(self) -> Section:
        return self._group_section("By severity", "severity")

    def by_service(self) -> Section:
        return self._group_section("By service", "services")

    def responder_load(self) -> Section:
        load = trends.responder_load(self.responders)
        if load.empty:
            return Section(
                "Responder load", _note("No responder data (tables of stage times carry none).")
            )
        chart = charts.responder_load_chart(load)
        body = (chart._repr_html_() if chart else "") + table(
            load.reset_index(), numeric=["incidents", "messages", "pages", "off_hours_pages"]
        )
        return Section("Responder load", body)

    def warnings(self) -> Section:
        lines = (
            trends.small_groups(self.table, ["severity"])
            if len(self.table)
            else ["No incidents in the window."]
        )
        lines += self.notes
        if not lines:
            return Section("Warnings", _note("No warnings."))
        return Section(
            "Warnings", "<ul>" + "".join(f"<li>{text(line)}</li>" for line in lines) + "</ul>"
        )


def _day(ts: pd.Timestamp) -> str:
    return f"{ts.day} {ts:%B %Y}"


def day_span(first: pd.Timestamp, last: pd.Timestamp) -> str:
    """Two days as words, the year (and month) said once where they are shared:
    "1 January to 30 November 2026", "3 to 9 March 2026", "30 December 2025 to 2 January 2026"."""
    if first.year != last.year:
        return f"{_day(first)} to {_day(last)}"
    if first.month != last.month:
        return f"{first.day} {first:%B} to {_day(last)}"
    if first.day != last.day:
        return f"{first.day} to {_day(last)}"
    return f"on {_day(first)}"


def _period_name(start: pd.Timestamp, group_by: str) -> str:
    return f"{start:%B %Y}" if group_by == "month" else f"week of {_day(start)}"


def _median_cell(row: pd.Series, name: str) -> str:
    n = int(row[f"{name} n"])
    if not n:
        return "–"
    return f"{_interval(row[f'{name} median'], row[f'{name} low'], row[f'{name} high'])}, n={n}"


def _read_table(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """A stage CSV (mapped to milestones) or a metrics table saved as Parquet (checked against
    its contract, :func:`pia.contracts.metrics_contract`)."""
    if path.suffix == ".parquet":
        from pia.contracts import metrics_contract

        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several kinds for a file that is not Parquet
            raise InputError(
                path, "", f"not a readable Parquet file ({type(error).__name__})"
            ) from None
        return metrics_contract(frame).check(frame, str(path)), pd.DataFrame(), []
    from pia.sources.stages import stage_table

    frame, notes = stage_table(path.read_bytes(), str(path))
    return frame, pd.DataFrame(), notes


def _masked(
    frame: pd.DataFrame,
    responders: pd.DataFrame,
    notes: list[str],
    root: str | os.PathLike[str] | None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Secrets masked in everything the trends show that came from snapshots: titles,
    severities, services, names, and the errors of incidents that could not be measured."""
    from pia.privacy import scrub
    from pia.privacy.redact import load_redactor
    from pia.snapshot import data_dir

    redactor = load_redactor(data_dir(root))
    return (
        scrub.frame(frame, redactor, None),
        scrub.frame(responders, redactor, None),
        [redactor.value(n) for n in notes],
    )
