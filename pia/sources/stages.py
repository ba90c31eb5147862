"""Status-page incident stages (investigating / identified / monitoring / resolved) as milestones.

Public status pages post an incident's stages with timestamps; many data sets of real incidents
come in that shape. They map onto pia's milestones so the same durations and trends apply:

    first stage posted  → detected
    investigating       → declared
    identified          → first_hypothesis and working_hypothesis (the cause found)
    monitoring          → mitigated
    resolved            → resolved      (restored then falls back to resolved)

Zero-length incidents, missing stages and stages out of order are kept: a missing stage is a
missing milestone, and an order problem becomes a data-quality warning from the durations.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from pia.errors import InputError

STAGE_MILESTONES = {
    "investigating": "declared",
    "identified": "first_hypothesis",
    "monitoring": "mitigated",
    "resolved": "resolved",
}
IMPACT = {0: "none", 1: "minor", 2: "major", 3: "critical", 4: "maintenance"}
_NEEDED = ("incident_id", "start_timestamp", *(f"{s}_timestamp" for s in STAGE_MILESTONES))


def read_stage_csv(
    data: bytes, origin: str = "stages.csv"
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Parse a stage-timestamp CSV; returns ``(incidents, milestones, warnings)``: one row per
    incident (incident, title, severity, services, date), the milestones frame (incident,
    milestone, ts, source, rule, ref, text, evidence_ts) that :func:`pia.metrics.durations` measures, and a
    line per incident whose stages were posted out of order or that has no stage at all."""
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise InputError(origin, "", f"not a readable CSV: {error}") from None
    missing = [c for c in _NEEDED if c not in raw]
    if missing:
        raise InputError(origin, "header", f"missing columns {missing}")
    raw = raw.drop_duplicates("incident_id")
    stamp = {}
    for column in ("start_timestamp", *(f"{s}_timestamp" for s in STAGE_MILESTONES)):
        parsed = pd.to_datetime(
            raw[column].replace("", None), utc=True, errors="coerce", format="ISO8601"
        )
        bad = parsed.isna() & (raw[column] != "")
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(
                origin, f"row {row + 2} {column}", f"{raw[column].iloc[row]!r} is not a timestamp"
            )
        stamp[column] = parsed
    parts = [
        pd.DataFrame(
            {
                "incident": raw["incident_id"],
                "milestone": "detected",
                "ts": stamp["start_timestamp"],
                "text": "first stage posted",
            }
        )
    ]
    stages = {}
    for stage, milestone in STAGE_MILESTONES.items():
        text = raw.get(f"{stage}_description", pd.Series("", index=raw.index))
        stages[stage] = pd.DataFrame(
            {
                "incident": raw["incident_id"],
                "milestone": milestone,
                "ts": stamp[f"{stage}_timestamp"],
                "text": text,
            }
        )
    parts += stages.values()
    # "identified" is the diagnosis: the first hypothesis on record and the one that held
    parts.append(stages["identified"].assign(milestone="working_hypothesis"))
    parts.append(
        stages["resolved"].assign(
            milestone="restored", text="(resolved) " + stages["resolved"]["text"]
        )
    )
    milestones = pd.concat(parts, ignore_index=True).dropna(subset=["ts"])
    # each stage is known when it is posted: no stated time differs from its post
    milestones = milestones.assign(
        source="manual", rule="status page stage", ref="", evidence_ts=milestones["ts"]
    )
    impact = pd.to_numeric(
        raw.get("incident_impact_level", pd.Series("", index=raw.index)), errors="coerce"
    )
    incidents = pd.DataFrame(
        {
            "incident": raw["incident_id"],
            "title": raw.get("Incident_Title", pd.Series("", index=raw.index)),
            "severity": impact.map(IMPACT).fillna("unknown"),
            "services": raw.get("provider", pd.Series("", index=raw.index)),
            "date": stamp["start_timestamp"].dt.strftime("%Y-%m-%d"),
        }
    ).reset_index(drop=True)
    columns = ["incident", "milestone", "ts", "source", "rule", "ref", "text", "evidence_ts"]
    return incidents, milestones[columns], _stage_warnings(raw, stamp)


def _stage_warnings(raw: pd.DataFrame, stamp: dict[str, pd.Series]) -> list[str]:
    """Stages posted out of their natural order, and incidents with no stage time at all."""
    order = pd.DataFrame({s: stamp[f"{s}_timestamp"] for s in STAGE_MILESTONES})
    # each stage against the latest stage posted before it in the natural order
    latest_before = order.ffill(axis=1).shift(axis=1)
    backwards = order.lt(latest_before)
    lines = []
    for row in backwards.index[backwards.any(axis=1)]:
        stages = [s for s in STAGE_MILESTONES if backwards.at[row, s]]
        lines.append(
            f"{raw['incident_id'][row]}: stage {', '.join(stages)} posted before an earlier stage"
        )
    empty = order.isna().all(axis=1)
    lines += [f"{raw['incident_id'][row]}: no stage has a time" for row in order.index[empty]]
    return lines


def stage_table(
    data: bytes, origin: str = "stages.csv", config: Any = None
) -> tuple[pd.DataFrame, list[str]]:
    """A metrics table (one row per incident, durations as timedeltas with ``*_observed``
    flags) from a stage CSV, and the data-quality warnings of its durations."""
    from pia.metrics import durations

    incidents, milestones, warnings = read_stage_csv(data, origin)
    spans = durations(milestones, config, incidents=list(incidents["incident"]))
    wide = spans.frame.pivot(index="incident", columns="duration", values="value")
    seen = (
        spans.frame.pivot(index="incident", columns="duration", values="observed")
        .astype(bool)
        .add_suffix("_observed")
    )
    at = milestones.pivot_table(index="incident", columns="milestone", values="ts", aggfunc="first")
    table = incidents.set_index("incident").join(wide).join(seen)
    table["detected"] = at.get("detected")
    table["resolved"] = at.get("resolved")
    table["status"] = table["resolved"].notna().map({True: "resolved", False: "open"})
    table["responders"] = 0
    return table.reset_index(), warnings + spans.warnings
