"""Benchmark: fetch a large Slack channel from a local server into a snapshot.

Prints the requests made per method against the fewest the page sizes allow, and wall times
for fetching, writing and reading the snapshot back. Run from the repository root::

    python benchmarks/bench_fetch.py                      # 50,000 messages, 2,000 threads
    python benchmarks/bench_fetch.py --messages 5000 --threads 200 --workers 8

The server is the one the tests use (tests/http_replay.py); pacing is off, so the numbers are
the client's and the writer's own cost. The last line estimates the same fetch against Slack at
its Tier 3 rate (~50 conversations.history/replies calls a minute).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from http_replay import SlackServer, generated_channel  # noqa: E402

from pia.snapshot import open_incident  # noqa: E402
from pia.sources.credentials import Secret  # noqa: E402
from pia.sources.fetch import Connections, fetch_incident  # noqa: E402
from pia.sources.slack_api import SlackSettings, SlackSource  # noqa: E402

TOKEN = "xoxb-bench-not-a-real-token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--page", type=int, default=999, help="history and replies page size")
    args = parser.parse_args()

    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    built = time.perf_counter()
    channel, top, threads = generated_channel("C0BENCH01", "inc-bench", messages=args.messages, threads=args.threads, start=start)
    users = sorted({m["user"] for m in top} | {r["user"] for rs in threads.values() for r in rs})
    print(f"channel: {args.messages:,} messages, {len(threads):,} threads, {len(top):,} in history "
          f"(built in {time.perf_counter() - built:.1f}s)")

    with SlackServer(TOKEN) as server, tempfile.TemporaryDirectory() as data:
        server.add_channel(channel, top, threads)
        for user in users[:2]:
            server.users[user] = {"id": user, "name": user.lower()}
        settings = SlackSettings.local(
            server.url + "/api/", workers=args.workers, history_page=args.page, replies_page=args.page, timeout=30.0
        )
        connections = Connections(slack=SlackSource.connect(Secret(TOKEN), settings))

        began = time.perf_counter()
        result = fetch_incident("bench", root=data, slack_channels=["inc-bench"], connections=connections)
        fetched = time.perf_counter() - began

        began = time.perf_counter()
        events = open_incident("bench", data).events()
        read = time.perf_counter() - began

        made = Counter(server.route(r.path) for r in server.requests())
        minimum = {
            "conversations.list": 1,
            "conversations.history": math.ceil(len(top) / args.page),
            # the parent comes back with its replies, so a thread of n replies is n + 1 items
            "conversations.replies": sum(math.ceil((len(r) + 1) / args.page) for r in threads.values()),
            "users.info": len(users),
        }
        summary = result.slack[0]
        print(f"fetched: {summary['messages']:,} messages, {summary['threads']:,} threads, "
              f"{summary['replies']:,} replies; {len(events):,} events read back")
        print(f"{'method':<24}{'requests':>10}{'minimum':>10}")
        for method in minimum:
            print(f"{method:<24}{made[method]:>10,}{minimum[method]:>10,}")
        total, least = sum(made.values()), sum(minimum.values())
        print(f"{'total':<24}{total:>10,}{least:>10,}   ({total / least:.3f}x the minimum)")
        print(f"wall time: fetch and write {fetched:.2f}s ({total / fetched:,.0f} requests/s, "
              f"{args.workers} workers), read back {read:.2f}s")
        paced = (made["conversations.history"] + made["conversations.replies"]) / 50
        print(f"at Slack's Tier 3 pace (50/min) the same fetch would take about {paced:.0f} minutes")


if __name__ == "__main__":
    main()
