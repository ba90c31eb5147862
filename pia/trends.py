"""Across incidents: counts per period, duration medians and p90 with bootstrap confidence
intervals, Kaplan–Meier survival of time to restore and resolve, tables by service and
severity, responder load, and warnings where a group is too small to tell change from noise.

Everything takes the metrics table (one row per incident, as :func:`pia.cache.measure_all` or
:func:`pia.sources.stages.stage_table` make it): durations as timedeltas with ``<name>_observed``
flags, ``detected`` times, ``severity`` and ``services``. Medians and p90, not means: incident
durations are skewed. Censored values (open incidents) enter the survival curves as censored
and are left out of medians, which would otherwise be biased low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pia.contracts import ContractError

#: a group with fewer incidents than this gets a plain warning
MIN_INCIDENTS = 5
BOOTSTRAP = 1000
PERIODS = {"week": "W-MON", "month": "M"}


def observed_flags(table: pd.DataFrame, name: str) -> pd.Series:
    """Whether each value of duration ``name`` was observed (not censored): its
    ``<name>_observed`` column, else derived where the data tells: a resolved incident has
    nothing left to censor. A value of an incident not known to be resolved, without the flag,
    is a :class:`~pia.contracts.ContractError`: taken as observed, a censored value would bias
    medians and survival curves toward short durations."""
    flag = f"{name}_observed"
    if flag in table:
        return table[flag].astype(bool)
    values = table[name]
    resolved = (
        table["status"].eq("resolved") if "status" in table else pd.Series(False, index=table.index)
    )
    unknown = (values.notna() & ~resolved).to_numpy(bool)
    if unknown.any():
        problem = (
            "missing, and the incident is not known to be resolved, so its value may be censored"
        )
        failures = pd.DataFrame(
            {
                "position": pd.array(np.flatnonzero(unknown), dtype="Int64"),
                "column": flag,
                "problem": problem,
            }
        )
        raise ContractError("metrics", failures)
    return values.notna()


def in_window(
    table: pd.DataFrame, since: pd.Timestamp | None = None, until: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Incidents detected within ``since``..``until`` (inclusive)."""
    keep = pd.Series(True, index=table.index)
    if since is not None:
        keep &= table["detected"] >= since
    if until is not None:
        keep &= table["detected"] <= until
    return table[keep]


def period(table: pd.DataFrame, group_by: str = "month") -> pd.Series:
    """The period (week or month) each incident was detected in, as its start date."""
    if group_by not in PERIODS:
        raise ValueError(f"group_by must be one of {sorted(PERIODS)}, not {group_by!r}")
    naive = table["detected"].dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.dt.to_period(PERIODS[group_by]).dt.start_time


def counts(table: pd.DataFrame, group_by: str = "month") -> pd.DataFrame:
    """Incidents per period (rows, every period in the range) and severity (columns)."""
    if table.empty:
        return pd.DataFrame()
    frame = pd.crosstab(
        period(table, group_by), table["severity"].fillna("unknown").replace("", "unknown")
    )
    full = pd.period_range(frame.index.min(), frame.index.max(), freq=PERIODS[group_by]).start_time
    return frame.reindex(full, fill_value=0).rename_axis("period")


def bootstrap(
    values: np.ndarray, q: float, *, rounds: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float]:
    """A 95% percentile-bootstrap interval of the ``q`` quantile of ``values`` (seeded, so the
    same data gives the same interval)."""
    if len(values) < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    samples = values[rng.integers(0, len(values), size=(rounds, len(values)))]
    stats = np.quantile(samples, q, axis=1)
    low, high = np.quantile(stats, [0.025, 0.975])
    return float(low), float(high)


def duration_summary(
    table: pd.DataFrame, names: list[str], group_by: str = "month"
) -> pd.DataFrame:
    """Per period and duration: observed count, median and p90 (seconds) with bootstrap 95%
    intervals, and how many censored values were left out."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    periods = period(table, group_by)
    for name in names:
        if name not in table:
            continue
        seconds = table[name].dt.total_seconds()
        observed = observed_flags(table, name)
        for start, group in seconds[observed & seconds.notna()].groupby(periods):
            values = group.to_numpy(float)
            median_ci, p90_ci = bootstrap(values, 0.5), bootstrap(values, 0.9)
            rows.append(
                {
                    "period": start,
                    "duration": name,
                    "n": len(values),
                    "median": float(np.median(values)),
                    "median_low": median_ci[0],
                    "median_high": median_ci[1],
                    "p90": float(np.quantile(values, 0.9)),
                    "p90_low": p90_ci[0],
                    "p90_high": p90_ci[1],
                    "censored": int(((~observed) & seconds.notna() & (periods == start)).sum()),
                }
            )
    return pd.DataFrame(rows)


@dataclass
class Survival:
    """Kaplan–Meier estimates of one duration, one curve per group."""

    duration: str
    curves: dict[str, pd.DataFrame]  # group -> timeline (seconds) and survival
    medians: dict[str, float]  # group -> median survival time in seconds (inf if not reached)
    sizes: dict[str, tuple[int, int]]  # group -> (incidents, censored)


def survival(table: pd.DataFrame, name: str, by: str = "severity") -> Survival:
    """Kaplan–Meier curves of duration ``name`` by ``by`` (and ``all``): observed values are
    events, censored ones (open incidents at ``as_of``) are censored; missing values are out."""
    from lifelines import KaplanMeierFitter

    if name not in table:
        return Survival(name, {}, {}, {})
    seconds = table[name].dt.total_seconds()
    observed = observed_flags(table, name)
    usable = seconds.notna()
    groups = {"all": usable} | {
        str(g): usable & (table[by] == g) for g in sorted(table[by].dropna().unique(), key=str)
    }
    curves, medians, sizes = {}, {}, {}
    for label, rows in groups.items():
        if not rows.any():
            continue
        fitter = KaplanMeierFitter().fit(seconds[rows], event_observed=observed[rows], label=label)
        curve = fitter.survival_function_.reset_index()
        curve.columns = ["seconds", "survival"]
        curves[label] = curve
        medians[label] = float(fitter.median_survival_time_)
        sizes[label] = (int(rows.sum()), int((rows & ~observed).sum()))
    return Survival(name, curves, medians, sizes)


def by_group(table: pd.DataFrame, names: list[str], by: str) -> pd.DataFrame:
    """Per ``by`` value (a service listed comma-separated counts for each): incidents, and the
    median and p90 of each duration over observed values."""
    if table.empty:
        return pd.DataFrame()
    frame = table.assign(**{by: table[by].fillna("").astype(str).str.split(",")}).explode(by)
    frame[by] = frame[by].str.strip().replace("", "(none)")
    out = frame.groupby(by).size().rename("incidents").to_frame()
    for name in names:
        if name not in frame:
            continue
        observed = observed_flags(frame, name)
        values = frame[name].where(observed).dt.total_seconds()
        grouped = values.groupby(frame[by])
        out[f"{name} median"] = grouped.median()
        out[f"{name} p90"] = grouped.quantile(0.9)
    return out.sort_values("incidents", ascending=False)


def responder_load(responders: pd.DataFrame) -> pd.DataFrame:
    """Per person: incidents responded to, messages, pages and off-hours pages."""
    if responders.empty:
        return pd.DataFrame(columns=["incidents", "messages", "pages", "off_hours_pages"])
    grouped = responders.groupby("person")
    out = pd.DataFrame(
        {
            "incidents": grouped["incident"].nunique(),
            "messages": grouped["messages"].sum(),
            "pages": grouped["pages"].sum(),
            "off_hours_pages": grouped["off_hours_pages"].sum(),
        }
    )
    return out.sort_values(["incidents", "off_hours_pages"], ascending=False)


def small_groups(table: pd.DataFrame, by: list[str], minimum: int = MIN_INCIDENTS) -> list[str]:
    """A plain warning for each group with fewer than ``minimum`` incidents."""
    lines = []
    if len(table) < minimum:
        lines.append(f"Only {len(table)} incidents in all: too few to tell a change from noise.")
    for column in by:
        sizes = table[column].fillna("unknown").replace("", "unknown").value_counts()
        for group, size in sizes[sizes < minimum].items():
            lines.append(
                f"{column} {group}: {size} incident{'s' if size != 1 else ''}, too few to tell a change from noise."
            )
    return lines


#: the durations of the trends headline: the mission's three
HEADLINE = ("time_to_engage", "time_to_hypothesis", "time_to_restore")


def headline(
    table: pd.DataFrame,
    group_by: str = "month",
    *,
    end: pd.Timestamp | None = None,
    names: tuple[str, ...] = HEADLINE,
) -> pd.DataFrame:
    """This period (the week or month holding ``end``, else the latest detection) against the
    one before: per period its ``start``, ``incidents``, and for each of ``names`` the
    observed ``n``, ``median`` and 95% bootstrap interval (seconds; NaN where none). One row
    per period, this one first."""
    if table.empty and end is None:
        return pd.DataFrame()
    freq = PERIODS[group_by]
    last = (
        (end if end is not None else table["detected"].max())
        .tz_convert("UTC")
        .tz_localize(None)
        .to_period(freq)
    )
    periods = period(table, group_by) if len(table) else pd.Series(dtype="datetime64[ns]")
    rows = []
    for which in (last, last - 1):
        inside = table[(periods == which.start_time).to_numpy(bool)] if len(table) else table
        row: dict[str, object] = {
            "start": which.start_time,
            "end": which.end_time,
            "incidents": len(inside),
        }
        for name in names:
            values = (
                inside[name]
                .where(observed_flags(inside, name))
                .dt.total_seconds()
                .dropna()
                .to_numpy(float)
                if name in inside
                else np.array([])
            )
            low, high = bootstrap(values, 0.5)
            row |= {
                f"{name} n": len(values),
                f"{name} median": float(np.median(values)) if len(values) else np.nan,
                f"{name} low": low,
                f"{name} high": high,
            }
        rows.append(row)
    return pd.DataFrame(rows)
