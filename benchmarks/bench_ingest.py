"""Reading one big Slack channel: the reader against the floor, and its peak memory.

    python benchmarks/bench_ingest.py [--messages 200000 1000000]

For each size, a synthetic channel (50 people, a bot, threads, mentions, joins, edits; a day
file per day) is written to a temporary data dir. Each measurement runs in a fresh process,
so its peak RSS is its own, and the two alternate ``--repeat`` times (the best time of each
counts, the highest peak): on a shared machine the load shifts between one process and the next:

- the floor: ``json.load`` of every day file, one ``pd.DataFrame`` of all messages and
  ``pd.to_datetime`` of their ``ts`` — what any reader must at least do;
- the reader: ``open_incident(...).events()``, the validated events frame.

Printed: both times, the ratio (goal <= 2x), the peak RSS of each process (goal for
1,000,000 messages: under 1 GiB) and the memory of the events frame itself.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = "the auth deploy rolled back errors since 14:02 looks like pool exhausted checking dashboards p99 latency restarted pods cache hit ratio dropped again".split()


def write_channel(base: Path, messages: int, per_day: int = 2000) -> None:
    rng = random.Random(0)
    folder = base / "incidents" / "big" / "slack"
    (folder / "incident-big").mkdir(parents=True)
    (base / "incidents" / "big" / "incident.toml").write_text('id = "big"\ntitle = "A year in one channel"\n')
    users = [{"id": f"U{n:04d}", "name": f"user{n}", "profile": {"display_name": f"Person {n}"}, "tz": "Europe/Berlin"} for n in range(50)]
    users.append({"id": "UBOT", "name": "alerts", "is_bot": True})
    (folder / "users.json").write_text(json.dumps(users))
    (folder / "channels.json").write_text(json.dumps([{"id": "C0BIG", "name": "incident-big"}]))
    start = 1_700_000_000
    day, batch, last_parent = 0, [], None
    for n in range(messages):
        ts = f"{start + n * 40}.{n % 1_000_000:06d}"
        user = f"U{rng.randrange(50):04d}"
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 18)))
        message: dict = {"type": "message", "user": user, "text": words, "ts": ts}
        roll = rng.random()
        if roll < 0.15:
            message["text"] = f"<@U{rng.randrange(50):04d}> {words}"
        elif roll < 0.20:
            message = {"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "alerts", "text": f"[FIRING] {words}", "ts": ts}
        elif roll < 0.22:
            message = {"type": "message", "subtype": "channel_join", "user": user, "text": f"<@{user}> has joined the channel", "ts": ts}
        elif roll < 0.40 and last_parent:
            message["thread_ts"] = last_parent
        elif roll < 0.42:
            message["edited"] = {"user": user, "ts": ts}
        if roll > 0.9:
            message["reactions"] = [{"name": "eyes", "users": [user], "count": 1}]
        if roll > 0.8:
            last_parent = ts
        batch.append(message)
        if len(batch) == per_day or n == messages - 1:
            (folder / "incident-big" / f"{2023 + day // 365:04d}-{day % 365 // 28 + 1:02d}-{day % 28 + 1:02d}.json").write_text(json.dumps(batch))
            day, batch = day + 1, []


FLOOR = """
import json, sys, time
from pathlib import Path
import pandas as pd
start = time.perf_counter()
rows = []
for path in sorted(Path(sys.argv[1]).glob("incidents/big/slack/incident-big/*.json")):
    with open(path) as handle:
        rows.extend(json.load(handle))
frame = pd.DataFrame(rows)
frame["ts"] = pd.to_datetime(frame["ts"].astype(float), unit="s", utc=True)
"""

READER = """
import sys, time
from pia.snapshot import open_incident
start = time.perf_counter()
frame = open_incident("big", sys.argv[1]).events()
"""

REPORT = """
import resource
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, int(frame.memory_usage(deep=True).sum()), len(frame))
"""


def measure(code: str, base: Path) -> tuple[float, int, int, int]:
    done = subprocess.run([sys.executable, "-c", code + REPORT, str(base)], capture_output=True, text=True, check=True)
    seconds, rss, size, rows = done.stdout.split()
    return float(seconds), int(rss), int(size), int(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="alternate floor and reader this many times")
    args = parser.parse_args(argv)
    mib = 1024**2
    for count in args.messages:
        with tempfile.TemporaryDirectory(prefix="pia-ingest-") as tmp:
            base = Path(tmp)
            write_channel(base, count)
            floors, readers = [], []
            for _ in range(max(1, args.repeat)):
                floors.append(measure(FLOOR, base))
                readers.append(measure(READER, base))
            floor, floor_rss = min(f[0] for f in floors), max(f[1] for f in floors)
            reader, rss = min(r[0] for r in readers), max(r[1] for r in readers)
            _, _, size, rows = readers[0]
        print(f"{count:,} messages ({rows:,} events), best of {max(1, args.repeat)}")
        print(f"  floor (json.load + DataFrame + to_datetime)  {floor:6.2f} s  peak RSS {floor_rss / mib:6.0f} MiB")
        print(f"  open_incident(...).events()                  {reader:6.2f} s  peak RSS {rss / mib:6.0f} MiB  frame {size / mib:5.0f} MiB")
        print(f"  reader / floor: {reader / floor:.2f}x (goal <= 2x); peak under 1 GiB: {'yes' if rss < 1024**3 else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
