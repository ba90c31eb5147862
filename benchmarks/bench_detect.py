"""Milestone detection over 1,000,000 events: time and events per second of each stage.

    python benchmarks/bench_detect.py [--events N] [--repeat R] [--data-dir DIR]

The events are the sample incidents' timelines, copied under new incident ids (and shifted
in time) until there are N of them, so the mix of Slack, PagerDuty, bots and speech is the
samples' own. It prints the time, events per second and ratio to the floor of each stage:
the floor (one Arrow pass that lower-cases the text column: the least any reading of the text
costs), the signals (normalised text, markers, rules, vetoes), the bots' posts read by their
integrations (:func:`pia.integrations.read`), the milestones (with stated times and runners-up)
and repeated events built from them, and the total of :func:`detect_incident`.

The rules read the normalised text of each distinct message once, so a channel that repeats
itself (bots, copies) costs what its distinct messages cost; the samples repeated here are the
friendly case for that. Each rule runs as a pattern of its own: RE2 keeps a small pattern in
its fast automaton, while the alternation of every rule overflows it (on 98,000 distinct
messages: all rules one by one 2.0 s, one label's rules combined up to 4.2 s, everything
combined 14.8 s). The steps after the signals hash the incident ids once between them
(:class:`pia.milestones.detect.Incidents`) and work on integer codes. The target is a total no
slower than before the normalised text layer: that tree 4.60, 4.74 and 4.80 s (about 211,000
events/s), the tree after it 3.56, 4.15 and 4.25 s (about 241,000 events/s), the two alternated in
one session on this 2-core machine; runs of one tree differ by up to 15%. The calls by first
name and the falling numbers cost the signals about 0.2 s more (0.42-0.43 s -> 0.60-0.65 s);
the totals moved less than runs vary: 3.21, 3.29, 3.92, 3.65 and 3.81 s against 2.98, 3.47,
3.54, 3.82 and 4.35 s before them, alternated. The ops-chat round after them (more rules and
vetoes, quoted lines dropped, remarks by nick) left the signals where they were (0.49-0.75 s
against 0.60-0.77 s) and the totals within the noise: 3.42, 3.69, 3.88, 3.99, 3.34, 3.26 and
3.35 s against 2.92, 3.29, 3.01, 4.23, 3.05, 3.13 and 3.57 s, alternated. The round after it
(sparing rules, many more phrasings) first took the signals to 1.1 s: a veto judged per clause
matched its label's whole alternation of rules and built its scoped pattern (which holds them
all) on every call. Run rule by rule, and scoped only where the veto alone is found, the signals
came back to 0.68-0.73 s against 0.61-0.75 s before the round, totals 3.77, 4.07 and 3.55 s
against 3.60, 3.86 and 3.68 s, alternated.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from pia import integrations
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
    # The floor gets the fastest pass pandas offers: Arrow storage (conversion not timed).
    text = events["text"].astype(pd.StringDtype("pyarrow"))
    print(f"{len(events):,} events, {events['incident'].nunique():,} incidents, text dtype {text.dtype}")

    floor = best(lambda: text.str.lower(), args.repeat)
    found = signals(events, rules)
    only_signals = best(lambda: signals(events, rules), args.repeat)
    bots = best(lambda: integrations.read(events, rules.config.integrations), args.repeat)
    after = best(lambda: tables(events, found), args.repeat)
    total = best(lambda: detect_incident(events, {}, rules), args.repeat)
    one = events[events["incident"] == events["incident"].iloc[0]]
    whole = best(lambda: detect_incident(one), args.repeat)

    def line(name: str, seconds: float) -> str:
        return f"{name:38s} {seconds:7.3f} s  {len(events) / seconds:12,.0f} events/s  {seconds / floor:6.2f}x floor"

    print(line("floor: one lower-casing pass", floor))
    print(line("signals (normalised text, rules, vetoes)", only_signals))
    print(line("bot posts read by their integrations", bots))
    print(line("milestones and repeated events", after))
    print(line("total: detect_incident", total))
    print(f"signals found: {len(found):,}; one incident end to end: {whole * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
