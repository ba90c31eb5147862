"""Measuring many incidents: one pass over all of them against one incident at a time.

    python benchmarks/bench_metrics.py [--copies N]
    python benchmarks/bench_metrics.py --small 4000

With ``--small N`` it measures only a cold cache over N small incidents (2 to 4 Slack messages
each, some with a PagerDuty log), the shape of a year of pages across many teams: ``pia
metrics`` from a cold cache, in ms per incident (goal: at most 10 ms), and the part of it spent
reading the timelines (all in one pass, as the cold cache reads them, and one incident at a time).

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
from pia.snapshot import list_incidents, open_incident, read_events

ROOT = Path(__file__).resolve().parents[1]


def copies(base: Path, n: int) -> None:
    for copy in range(1, n + 1):
        for folder in sorted((ROOT / "data" / "incidents").iterdir()):
            new = f"{folder.name}-c{copy}"
            target = base / "incidents" / new
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("manifest.json"))
            toml = target / "incident.toml"
            toml.write_text(re.sub(r'^id = ".*"$', f'id = "{new}"', toml.read_text(), count=1, flags=re.M))


def small_incidents(base: Path, n: int) -> None:
    """``n`` incidents of 2 to 4 messages; every third one also has a PagerDuty log."""
    import json

    lines = ["seeing 5xx on checkout, paging", "I think it's the deploy", "rolled back, errors gone", "resolved"]
    users = json.dumps([{"id": "U1", "name": "ana"}, {"id": "U2", "name": "bo"}])
    for i in range(n):
        folder = base / "incidents" / f"small-{i:05d}"
        (folder / "slack" / "inc").mkdir(parents=True)
        (folder / "incident.toml").write_text(f'id = "small-{i:05d}"\ntitle = "Small {i}"\nseverity = "SEV{i % 4 + 1}"\n')
        (folder / "slack" / "users.json").write_text(users)
        (folder / "slack" / "channels.json").write_text(json.dumps([{"id": "C1", "name": "inc"}]))
        start = 1_767_225_600 + i * 7200
        messages = [{"type": "message", "user": f"U{k % 2 + 1}", "text": text, "ts": f"{start + k * 300}.000100"} for k, text in enumerate(lines[: 2 + i % 3])]
        (folder / "slack" / "inc" / f"{pd.Timestamp(start, unit='s'):%Y-%m-%d}.json").write_text(json.dumps(messages))
        if i % 3 == 0:
            (folder / "pagerduty").mkdir()
            at = f"{pd.Timestamp(start - 60, unit='s'):%Y-%m-%dT%H:%M:%SZ}"
            (folder / "pagerduty" / "incident.json").write_text(json.dumps({"incident": {"id": f"P{i}", "title": "5xx", "created_at": at, "html_url": f"https://example.pagerduty.com/incidents/P{i}"}}))
            entries = [{"id": f"L{i}", "type": "trigger_log_entry", "created_at": at, "summary": "Triggered", "agent": {"id": "S1", "type": "service_reference", "summary": "checkout"}}]
            (folder / "pagerduty" / "log_entries.json").write_text(json.dumps({"log_entries": entries}))


def cold_small(n: int) -> int:
    with tempfile.TemporaryDirectory(prefix="pia-bench-") as tmp:
        base = Path(tmp)
        small_incidents(base, n)
        with contextlib.redirect_stdout(io.StringIO()):
            cold, code = timed(lambda: pia(["metrics", "--data-dir", str(base), "--format", "csv"]))
        assert code == 0
        incidents = [open_incident(i, base) for i in list_incidents(base)]
        together, (events, failures, _) = timed(lambda: read_events(incidents))
        assert not failures and events["incident"].nunique() == n
        alone, _ = timed(lambda: [i.events() for i in incidents])
    print(f"{n} small incidents, pia metrics from a cold cache: {cold:6.1f} s  {cold / n * 1000:5.1f} ms/incident (goal <= 10)")
    print(f"  reading the timelines in one pass:            {together:6.1f} s  {together / n * 1000:5.1f} ms/incident")
    print(f"  reading them one incident at a time:          {alone:6.1f} s  {alone / n * 1000:5.1f} ms/incident")
    return 0


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=30)
    parser.add_argument("--small", type=int, metavar="N", help="only: a cold cache over N small incidents")
    args = parser.parse_args(argv)
    if args.small:
        return cold_small(args.small)
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
