"""Charts for the review: the incident timeline and the stakeholder-update cadence.

Each chart is a :class:`Chart` that shows itself in a notebook as an embedded PNG, so the HTML
report needs no file beside it and no request anywhere.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pia.report.html import text

P = ParamSpec("P")
R = TypeVar("R")

_MILESTONE_COLOURS = {
    "impact_start": "#b3261e",
    "detected": "#6d4c9f",
    "acknowledged": "#2456a6",
    "engaged": "#2456a6",
    "declared": "#a15c00",
    "first_hypothesis": "#00838f",
    "working_hypothesis": "#00695c",
    "mitigation_started": "#8d6e00",
    "mitigated": "#558b2f",
    "restored": "#1e7a3c",
    "resolved": "#37474f",
}


def literal_text(draw: Callable[P, R]) -> Callable[P, R]:
    """Draw with every text shown as written: a name like ``$\\undefined{x}$`` from a snapshot
    is never parsed as mathtext (which fails on it, or draws it as a formula)."""

    @functools.wraps(draw)
    def drawn(*args: P.args, **kwargs: P.kwargs) -> R:
        with plt.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return drawn


@dataclass
class Chart:
    """A rendered matplotlib figure with a caption and alt text."""

    png: bytes
    alt: str
    caption: str = ""

    @classmethod
    def from_figure(cls, figure: Figure, alt: str, caption: str = "") -> Chart:
        buffer = io.BytesIO()
        # no Software stamp, so the same data gives the same bytes
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(figure)
        return cls(buffer.getvalue(), alt, caption)

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.png).decode()
        caption = f"<figcaption class=note>{text(self.caption)}</figcaption>" if self.caption else ""
        return f'<figure><img src="data:image/png;base64,{data}" alt="{text(self.alt)}">{caption}</figure>'


def _local(ts: pd.Series | pd.Timestamp, tz: str):
    return ts.dt.tz_convert(tz) if isinstance(ts, pd.Series) else ts.tz_convert(tz)


def _whole_numbers(axis: Axis) -> None:
    """Ticks on whole numbers only (counts of incidents), by the default locator's own rule."""
    locator = axis.get_major_locator()
    assert isinstance(locator, MaxNLocator)  # AutoLocator, the default, is one
    locator.set_params(integer=True)


@literal_text
def timeline(events: pd.DataFrame, milestones: pd.DataFrame, **options: Any) -> Chart | None:
    """Lanes per responder (and one per bot and for PagerDuty), a tick per event, milestones as
    labelled vertical lines, the impact window shaded, hypotheses and pivots marked; the caption
    names what was drawn. ``options`` are those of :func:`timeline_figure`."""
    drawn = timeline_figure(events, milestones, **options)
    return Chart.from_figure(*drawn) if drawn else None


#: the gid of each milestone label on the timeline (tests find the labels by it)
MILESTONE_LABEL = "milestone-label"


def timeline_figure(
    events: pd.DataFrame,
    milestones: pd.DataFrame,
    *,
    tz: str = "UTC",
    hypotheses: pd.DataFrame | None = None,
    title: str = "",
) -> tuple[Figure, str, str] | None:
    """The figure of :func:`timeline` with its alt text and caption, before it is rendered."""
    shown = events[~events["kind"].isin(["deleted"])]
    if shown.empty:
        return None
    lane = shown["actor"].where(shown["source"] != "pagerduty", "PagerDuty")
    lane = lane.where(shown["is_human"] | (shown["source"] == "pagerduty"), "bots")
    first = shown.assign(lane=lane).groupby("lane", sort=False)["ts"].min().sort_values()
    order = [name for name in first.index if name not in ("PagerDuty", "bots")]
    order += [name for name in ("bots", "PagerDuty") if name in first.index]
    y = {name: i for i, name in enumerate(reversed(order))}
    height = max(2.6, 0.38 * len(order) + 1.6)
    figure, axis = plt.subplots(figsize=(11, height))
    when = _local(shown["ts"], tz)
    axis.scatter(when, lane.map(y), marker="|", s=160, linewidths=1.4, color="#5b6475", zorder=2)
    caption = ["Ticks are messages and log entries, one lane per person"]

    marks = milestones.dropna(subset=["ts"]) if len(milestones) else milestones
    spots = dict(zip(marks["milestone"], marks["ts"], strict=True)) if len(marks) else {}
    start_name = "impact_start" if "impact_start" in spots else "detected"
    end_name = "restored" if "restored" in spots else "resolved"
    start, end = spots.get(start_name), spots.get(end_name)
    if start is not None and end is not None and end > start:
        axis.axvspan(_local(start, tz), _local(end, tz), color="#b3261e", alpha=0.07, zorder=0, label="impact")
        caption.append(f"the shaded band runs from {start_name.replace('_', ' ')} to {end_name}")
    moments: dict[pd.Timestamp, list[str]] = {}
    for name, ts in sorted(spots.items(), key=lambda item: item[1]):
        moments.setdefault(ts, []).append(name)
        axis.axvline(_local(ts, tz), color=_MILESTONE_COLOURS.get(name, "#37474f"), linewidth=1.1, linestyle="--", zorder=1)
    if moments:
        caption.append("dashed lines are milestones, named above the chart")
    if hypotheses is not None and len(hypotheses):
        pivots = hypotheses["pivot"].astype(bool) if "pivot" in hypotheses else pd.Series(False, index=hypotheses.index)
        for is_pivot, group in hypotheses.groupby(pivots):
            lanes = group["actor"].map(y)
            ok = lanes.notna()
            axis.scatter(
                _local(group.loc[ok, "ts"], tz), lanes[ok], marker="D" if is_pivot else "*",
                s=90 if is_pivot else 150, color="#00838f" if not is_pivot else "#a15c00", zorder=3,
                label="pivot" if is_pivot else "hypothesis",
            )
            caption.append("diamonds are pivots (a new hypothesis after one was dropped)" if is_pivot else "stars are hypotheses")
    axis.set_yticks(list(y.values()), list(y.keys()))
    axis.set_ylim(-0.7, len(order) + 0.6)
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=when.dt.tz))
    axis.set_xlabel(f"time ({tz})")
    axis.grid(axis="x", color="#e3e6ec", linewidth=0.6)
    axis.spines[["top", "right"]].set_visible(False)
    handles, labels = axis.get_legend_handles_labels()
    if handles:
        axis.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.005, 1), fontsize=8, frameon=False)  # outside: never over a tick
    if title:
        axis.set_title(title, loc="left", fontsize=11)
    _label_milestones(figure, axis, {_local(ts, tz): names for ts, names in moments.items()})
    alt = f"Timeline of {len(shown)} events across {len(order)} lanes: {', '.join(reversed(list(y)))}"
    return figure, alt, "; ".join(caption) + "."


def _label_milestones(figure: Figure, axis, moments: dict[pd.Timestamp, list[str]]) -> None:
    """Name each milestone line above the plot, left to right, each label in the lowest row
    where it overlaps no label placed before it (measured by the renderer, so it holds however
    close the milestones are); a thin line joins a raised label to its milestone."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas has it; the base class's stub lacks it
    right_edge = axis.get_window_extent(renderer).x1
    placed: list[tuple[float, float, int]] = []  # (left, right, row) in display pixels
    row_height = 11  # points
    for x, names in moments.items():
        label = axis.annotate(
            ", ".join(n.replace("_", " ") for n in names),
            xy=(x, 1), xycoords=("data", "axes fraction"), xytext=(2, 4), textcoords="offset points",
            fontsize=8, ha="left", va="bottom", color=_MILESTONE_COLOURS.get(names[0], "#37474f"),
            annotation_clip=False, gid=MILESTONE_LABEL,
        )
        box = label.get_window_extent(renderer)
        side = 2
        if box.x1 > right_edge:  # a label past the plot's right end reads leftwards from its line
            label.set_horizontalalignment("right")
            side = -2
            label.xyann = (side, 4)
            box = label.get_window_extent(renderer)
        pad = 4
        below = [row for left, right, row in placed if left - pad < box.x1 and box.x0 < right + pad]
        row = max(below) + 1 if below else 0
        label.xyann = (side, 4 + row * row_height)
        if row:
            axis.annotate(
                "", xy=(x, 1), xycoords=("data", "axes fraction"), xytext=(0, 4 + row * row_height), textcoords="offset points",
                arrowprops={"arrowstyle": "-", "color": "#9aa5b1", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 0}, annotation_clip=False,
            )
        placed.append((box.x0, box.x1, row))


@literal_text
def cadence(updates: pd.DataFrame, *, target_minutes: float, tz: str = "UTC") -> Chart | None:
    """The wait before each stakeholder update (``ts``, ``gap``, ``late`` as in the review's
    Communication table) as bars against the target cadence: the table and the chart are one
    reading of the same rows."""
    rows = updates.dropna(subset=["gap"])
    if rows.empty:
        return None
    minutes = rows["gap"].dt.total_seconds() / 60
    late = rows["late"].astype(bool)
    labels = [f"→ {t:%H:%M}" for t in _local(rows["ts"], tz)]
    figure, axis = plt.subplots(figsize=(min(11, 3.5 + 0.8 * len(rows)), 2.8))  # a few updates, a narrow chart
    axis.bar(range(len(rows)), minutes, width=0.6, color=late.map({True: "#b3261e", False: "#1e7a3c"}).tolist())
    axis.set_ylim(0, max(float(minutes.max()), target_minutes) * 1.3)  # room for the legend above the bars
    axis.axhline(target_minutes, color="#a15c00", linestyle="--", linewidth=1, label=f"target {target_minutes:g} min")
    axis.set_xticks(range(len(rows)), labels, fontsize=8)
    axis.set_ylabel("minutes since previous")
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(fontsize=8, frameon=False, loc="upper right")
    colours = [c for c, shown in (("red bars waited longer than the target", late.any()), ("green bars were on time", (~late).any())) if shown]
    caption = "Each bar is the wait before an update, labelled with the update's time (the first from detection); " + " and ".join(colours) + "."
    return Chart.from_figure(figure, f"Waits before stakeholder updates; {int(late.sum())} of {len(rows)} over the {target_minutes:g}-minute target", caption)


_SEVERITY_COLOURS = ["#b3261e", "#e07b39", "#e3b341", "#6b9bd2", "#9aa5b1", "#5b6475", "#8e7cc3"]


@literal_text
def incidents_per_period(counts: pd.DataFrame, group_by: str) -> Chart | None:
    """Stacked bars: incidents per week or month, by severity."""
    if counts.empty:
        return None
    figure, axis = plt.subplots(figsize=(11, 3.2))
    bottom = pd.Series(0, index=counts.index)
    width = 5 if group_by == "week" else 20
    for i, severity in enumerate(sorted(counts.columns, key=str)):
        axis.bar(counts.index, counts[severity], width=width, bottom=bottom, label=str(severity), color=_SEVERITY_COLOURS[i % len(_SEVERITY_COLOURS)])
        bottom = bottom + counts[severity]
    axis.set_ylabel(f"incidents per {group_by}")
    _whole_numbers(axis.yaxis)
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(fontsize=8, frameon=False, ncols=min(6, len(counts.columns)))
    total = int(counts.to_numpy().sum())
    return Chart.from_figure(figure, f"{total} incidents per {group_by}, stacked by severity")


@literal_text
def duration_trends(summary: pd.DataFrame, points: pd.DataFrame, names: list[str], periods: pd.Index | None = None) -> Chart | None:
    """One panel per duration: monthly median (line, 95% bootstrap band) and p90 (dashed), the
    individual incidents as points. Times in hours. ``periods`` is every period of the window:
    a period without values breaks the lines rather than being bridged by them."""
    names = [n for n in names if n in set(summary.get("duration", []))]
    if not names:
        return None
    cols = 2
    rows = (len(names) + 1) // cols
    figure, axes = plt.subplots(rows, cols, figsize=(11, 2.8 * rows), squeeze=False, sharex=True)
    for axis, name in zip(axes.flat, names, strict=False):
        data = summary[summary["duration"] == name].sort_values("period")
        if periods is not None:
            data = data.set_index("period").reindex(periods.union(pd.Index(data["period"]))).rename_axis("period").reset_index()
        hours = 3600
        dots = points[points["duration"] == name]
        axis.scatter(dots["detected"], dots["seconds"] / hours, s=9, color="#9aa5b1", alpha=0.6, zorder=1, label="incidents")
        axis.fill_between(data["period"], data["median_low"] / hours, data["median_high"] / hours, color="#2456a6", alpha=0.15, label="median 95% CI")
        axis.plot(data["period"], data["median"] / hours, color="#2456a6", marker="o", markersize=3, label="median")
        axis.plot(data["period"], data["p90"] / hours, color="#a15c00", linestyle="--", label="p90")
        axis.set_title(name.replace("_", " "), loc="left", fontsize=10)
        axis.set_ylabel("hours")
        axis.set_yscale("symlog", linthresh=0.25)
        axis.spines[["top", "right"]].set_visible(False)
    for axis in list(axes.flat)[len(names):]:
        axis.set_visible(False)
    axes.flat[0].legend(fontsize=7, frameon=False)
    figure.autofmt_xdate()
    return Chart.from_figure(figure, "Monthly median and p90 of each duration with bootstrap intervals; dots are incidents")


@literal_text
def survival_curves(curves: list, labels: dict[str, str]) -> Chart | None:
    """Kaplan–Meier curves: the share of incidents not yet restored (or resolved) over time."""
    curves = [c for c in curves if c.curves]
    if not curves:
        return None
    figure, axes = plt.subplots(1, len(curves), figsize=(11, 3.4), squeeze=False)
    for axis, result in zip(axes.flat, curves, strict=True):
        for i, (group, curve) in enumerate(result.curves.items()):
            style = {"color": "#1d2330", "linewidth": 2.2} if group == "all" else {"color": _SEVERITY_COLOURS[i % len(_SEVERITY_COLOURS)], "linewidth": 1.2}
            n, censored = result.sizes[group]
            axis.step(curve["seconds"] / 3600, curve["survival"], where="post", label=f"{group} (n={n}, {censored} open)", **style)
        axis.set_xscale("symlog", linthresh=1)
        axis.set_xlabel("hours")
        axis.set_ylabel("share not yet done")
        axis.set_ylim(0, 1.02)
        axis.set_title(labels.get(result.duration, result.duration), loc="left", fontsize=10)
        axis.spines[["top", "right"]].set_visible(False)
        axis.legend(fontsize=7, frameon=False)
    return Chart.from_figure(figure, "Kaplan–Meier curves of time to restore and time to resolve by severity; open incidents censored at as_of")


@literal_text
def responder_load(load: pd.DataFrame, top: int = 15) -> Chart | None:
    """Horizontal bars: incidents and off-hours pages per person."""
    if load.empty:
        return None
    shown = load.head(top).iloc[::-1]
    figure, axis = plt.subplots(figsize=(11, 0.35 * len(shown) + 1.2))
    axis.barh(shown.index.astype(str), shown["incidents"], color="#2456a6", label="incidents")
    axis.barh(shown.index.astype(str), shown["off_hours_pages"], color="#b3261e", height=0.4, label="off-hours pages")
    axis.spines[["top", "right"]].set_visible(False)
    _whole_numbers(axis.xaxis)
    axis.legend(fontsize=8, frameon=False)
    return Chart.from_figure(figure, f"Incidents and off-hours pages for the {len(shown)} busiest responders")
