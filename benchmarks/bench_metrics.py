"""Measuring many incidents: one pass over all of them against one incident at a time.

    python benchmarks/bench_metrics.py [--copies N]

The data dir is the samples, each copied N times under another id (default 30: 300
incidents). It prints, for the same incidents in the same run:

1. the baseline: :func:`pia.metrics.measure_incident` called once per incident (every
   incident read, detected and measured on its own);
2. :func:`pia.metrics.measure_incidents`: every incident read, then all detected and measured
   together, and the time of reading the timelines alone (the floor the second step adds to);
3. ``pia metrics`` from a cold cache and again from a warm one.

The results of 1 and 2 are compared row by row and must be equal.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from pia.cli import main as pia
from pia.metrics import measure_incident, measure_incidents
from pia.milestones import load_config
from pia.milestones.detect import compile_rules
from pia.snapshot import list_incidents, open_incident

ROOT = Path(__file__).resolve().parents[1]


def copies(base: Path, n: int) -> None:
    for copy in range(1, n + 1):
        for folder in sorted((ROOT / "data" / "incidents").iterdir()):
            new = f"{folder.name}-c{copy}"
            target = base / "incidents" / new
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("manifest.json"))
            toml = target / "incident.toml"
            toml.write_text(re.sub(r'^id = ".*"$', f'id = "{new}"', toml.read_text(), count=1, flags=re.M))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pia-bench-") as tmp:
        base = Path(tmp)
        copies(base, args.copies)
        ids = list_incidents(base)
        config = load_config(base)
        rules = compile_rules(config)
        incidents = [open_incident(i, base) for i in ids]
        one, alone = timed(lambda: [measure_incident(i, config, rules=rules) for i in incidents])
        read, _ = timed(lambda: [i.events() for i in incidents])
        together, (measured, failures) = timed(lambda: measure_incidents(incidents, config, rules=rules))
        assert not failures
        a = pd.DataFrame([m.row for m in alone])
        b = pd.DataFrame([measured[i].row for i in ids])
        pd.testing.assert_frame_equal(a, b)
        quiet = contextlib.redirect_stdout(io.StringIO())
        with quiet:
            cold, _ = timed(lambda: pia(["metrics", "--data-dir", str(base), "--format", "csv"]))
        with contextlib.redirect_stdout(io.StringIO()):
            warm, _ = timed(lambda: pia(["metrics", "--data-dir", str(base), "--format", "csv"]))
    n = len(ids)
    print(f"{n} incidents, {sum(len(m.events) for m in alone):,} events")
    print(f"one at a time (baseline)      {one:7.2f} s  {one / n * 1000:6.1f} ms/incident")
    print(f"all together                  {together:7.2f} s  {together / n * 1000:6.1f} ms/incident  {one / together:5.2f}x faster")
    print(f"  of which reading            {read:7.2f} s  ({read / together:.0%})")
    print(f"pia metrics, cold cache       {cold:7.2f} s")
    print(f"pia metrics, warm cache       {warm:7.2f} s  {cold / warm:5.1f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
