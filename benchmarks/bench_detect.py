"""Milestone detection over 1,000,000 events, against the floor of one regex pass.

    python benchmarks/bench_detect.py [--events N] [--repeat R] [--data-dir DIR]

The events are the sample incidents' timelines, copied under new incident ids (and shifted
in time) until there are N of them, so the mix of Slack, PagerDuty, bots and speech is the
samples' own. It prints the time, events per second and ratio to the floor of each stage:
the floor (one pass of a single combined regex, every rule's pattern in one alternation, over
the same text column with ``Series.str.contains`` on Arrow storage), the signals (markers,
rules, vetoes), the milestones and repeated events built from them, and the total of
:func:`detect_incident`. The target is a total of at most 2x the floor.

Where it stands: well short of 2x (about 18x: signals 7.5x, the tables 9x). RE2 through Arrow
only answers whether one pattern matches, and a message can carry several labels, each
cancelled by its own vetoes, so the half of the messages that pass the combined prefilter are
read once per label (ten passes, each costing about what the floor costs per message). Tried
and measured: Hyperscan (one scan for every pattern) reports each match through a Python
callback, and 812,000 of them for 12 of the 19 patterns took 1.3 s, 4.8x the floor before any
veto; Arrow-backed string columns left the total unchanged. The tables after the signals
(milestones, hypotheses, escalations, updates, directives, responders) work on integer codes,
but each is a few dozen pandas operations over the million rows, and those alone cost more
than the floor several times over.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from pia.events.timeline import merge
from pia.milestones import detect_incident, milestones, repeated, signals
from pia.milestones.detect import default_rules
from pia.snapshot import list_incidents, open_incident


def corpus(n: int, root: str | None) -> pd.DataFrame:
    """``n`` events: the samples' timelines repeated under new ids, sorted by time."""
    base = merge(open_incident(i, root).events() for i in list_incidents(root))
    if base.empty:
        raise SystemExit("no sample incidents to build the corpus from")
    copies = -(-n // len(base))
    index = np.tile(np.arange(len(base)), copies)[:n]
    copy = np.repeat(np.arange(copies), len(base))[:n]
    frame = base.iloc[index].reset_index(drop=True)
    frame["incident"] = (frame["incident"] + "#" + pd.Series(copy).astype(str)).astype("string")
    frame["ts"] = frame["ts"] + pd.to_timedelta(copy * 7, unit="D")
    return frame.sort_values(["ts"], kind="stable", ignore_index=True)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def tables(events: pd.DataFrame, found: pd.DataFrame) -> None:
    """Everything :func:`detect_incident` builds after the signals."""
    ic = repeated.commanders(events)
    milestones(events, found)
    repeated.hypotheses(events, found)
    repeated.escalations(events, found)
    repeated.status_updates(events, found)
    repeated.directives(events, found, ic)
    repeated.responders(events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    events = corpus(args.events, args.data_dir)
    rules = default_rules()
    # The floor gets the fastest pass pandas offers: Arrow storage, RE2 (conversion not timed).
    text = events["text"].astype(pd.StringDtype("pyarrow"))
    print(f"{len(events):,} events, {events['incident'].nunique():,} incidents, text dtype {text.dtype}")

    floor = best(lambda: text.str.contains(rules.prefilter, regex=True), args.repeat)
    found = signals(events, rules)
    only_signals = best(lambda: signals(events, rules), args.repeat)
    after = best(lambda: tables(events, found), args.repeat)
    total = best(lambda: detect_incident(events, {}, rules), args.repeat)
    one = events[events["incident"] == events["incident"].iloc[0]]
    whole = best(lambda: detect_incident(one), args.repeat)

    def line(name: str, seconds: float) -> str:
        return f"{name:38s} {seconds:7.3f} s  {len(events) / seconds:12,.0f} events/s  {seconds / floor:6.2f}x floor"

    print(line("floor: one combined regex pass", floor))
    print(line("signals (markers, rules, vetoes)", only_signals))
    print(line("milestones and repeated events", after))
    print(line("total: detect_incident", total))
    print(f"ratio of the total to the floor        {total / floor:7.2f}x  (target <= 2x)")
    print(f"signals found: {len(found):,}; one incident end to end: {whole * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
