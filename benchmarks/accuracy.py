"""Precision and recall of milestone detection against the samples' hand labels.

    python benchmarks/accuracy.py [--data-dir DIR] [--details]

For every incident with an ``expected.toml``, each labelled milestone is a true positive when
detection finds it at the same second, a false negative when it is missed or at another time
(that is also a false positive), and a milestone found where the label says ``missing`` is a
false positive. Manual milestones from ``incident.toml`` are left out: they are not detected.
The repeated events (hypotheses, pivots, status updates, directives) are scored the same way,
as sets of seconds, and responders as sets of ids. Importable: :func:`score` returns the table the tests check.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from pia.milestones import MILESTONES, detect_incident
from pia.milestones.detect import compile_rules
from pia.milestones.config import load_config
from pia.snapshot import data_dir, list_incidents, open_incident

REPEATED = ("hypotheses", "pivots", "status_updates", "directives")  # and responders, by id


def _second(value: Any) -> pd.Timestamp:
    return pd.Timestamp(value).tz_convert("UTC").floor("s")


def expected(path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def compare(root: str | Path | None = None) -> pd.DataFrame:
    """One row per (incident, item, expected second, found second) over all labelled samples."""
    base = data_dir(root)
    rules = compile_rules(load_config(base))
    rows = []
    for incident_id in list_incidents(base):
        label_file = base / "incidents" / incident_id / "expected.toml"
        if not label_file.exists():
            continue
        labels = expected(label_file)
        incident = open_incident(incident_id, base)
        found = detect_incident(incident.events(), incident.meta, rules)
        manual = set((incident.meta.get("milestones") or {}).keys())
        at = found.milestones.set_index("milestone")["ts"]
        wanted = labels.get("milestones", {})
        for milestone in MILESTONES:
            if milestone in manual or milestone == "impact_start":
                continue
            want = _second(wanted[milestone]) if milestone in wanted else None
            if want is None and milestone not in wanted.get("missing", []):
                continue  # not labelled either way
            got = _second(at[milestone]) if milestone in at.index else None
            rows.append({"incident": incident_id, "item": milestone, "expected": want, "found": got})
        seen = {
            "hypotheses": found.hypotheses["ts"],
            "pivots": found.pivots["ts"],
            "status_updates": found.status_updates["ts"],
            "directives": found.directives["ts"],
        }
        for item in REPEATED:
            if item not in labels:
                continue
            want_set = {_second(x["ts"] if isinstance(x, dict) else x) for x in labels[item]}
            got_set = {_second(x) for x in seen[item]}
            for stamp in sorted(want_set | got_set):
                rows.append(
                    {
                        "incident": incident_id,
                        "item": item,
                        "expected": stamp if stamp in want_set else None,
                        "found": stamp if stamp in got_set else None,
                    }
                )
        if "responders" in labels:
            want_ids, got_ids = set(labels["responders"]), set(found.responders["id"])
            for person in sorted(want_ids | got_ids):
                rows.append(
                    {
                        "incident": incident_id,
                        "item": "responders",
                        "expected": person if person in want_ids else None,
                        "found": person if person in got_ids else None,
                    }
                )
    return pd.DataFrame(rows, columns=["incident", "item", "expected", "found"])


def score(root: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(summary, details)``: precision and recall per item, and the row-level comparison."""
    rows = compare(root)
    exp, got = rows["expected"], rows["found"]
    match = exp.notna() & got.notna() & (exp == got)
    rows = rows.assign(
        tp=match,
        fp=got.notna() & ~match,
        fn=exp.notna() & ~match,
    )
    summary = rows.groupby("item", sort=False)[["tp", "fp", "fn"]].sum()
    summary["precision"] = summary["tp"] / (summary["tp"] + summary["fp"])
    summary["recall"] = summary["tp"] / (summary["tp"] + summary["fn"])
    return summary.reset_index(), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--details", action="store_true", help="list every mismatch")
    args = parser.parse_args(argv)
    summary, rows = score(args.data_dir)
    pd.set_option("display.width", 200)
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    if args.details:
        bad = rows[rows["fp"] | rows["fn"]]
        print("\nmismatches:" if len(bad) else "\nno mismatches")
        if len(bad):
            print(bad[["incident", "item", "expected", "found"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
