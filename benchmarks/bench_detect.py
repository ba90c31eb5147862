"""Milestone detection over 1,000,000 events, against the floor of one regex pass.

    python benchmarks/bench_detect.py [--events N] [--repeat R] [--data-dir DIR]

The events are the sample incidents' timelines, copied under new incident ids (and shifted
in time) until there are N of them, so the mix of Slack, PagerDuty, bots and speech is the
samples' own. It prints events per second for detection (signals and milestones) and its
ratio to one pass of a single combined regex (every rule's pattern in one alternation) over
the same text column with ``Series.str.contains``; the target is at most 2x that floor.

Where it stands: the milestone tables are built on integer incident codes and take a fraction
of the time; the signals do not reach 2x, since a message can carry several labels, each
cancelled by its own vetoes (questions, negations), so the ~40% of messages in these dense
incident chats that pass the combined prefilter are read once per label, not once in all.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from pia.events.timeline import merge
from pia.milestones import detect_incident, milestones, signals
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
    detect = best(lambda: milestones(events, signals(events, rules)), args.repeat)
    only_signals = best(lambda: signals(events, rules), args.repeat)
    one = events[events["incident"] == events["incident"].iloc[0]]
    whole = best(lambda: detect_incident(one), args.repeat)

    rate = len(events) / detect
    print(f"floor: one combined regex pass     {floor:7.3f} s  {len(events) / floor:12,.0f} events/s")
    print(f"signals (markers, rules, vetoes)   {only_signals:7.3f} s")
    print(f"detection (signals + milestones)   {detect:7.3f} s  {rate:12,.0f} events/s")
    print(f"ratio to the floor                 {detect / floor:7.2f}x  (target <= 2x)")
    print(f"signals found: {len(found):,}; one incident end to end: {whole * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
