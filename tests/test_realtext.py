"""Real status-page text (../shared, written by other companies) replayed as incident channels
and measured through the whole ``pia metrics`` path by benchmarks/realtext.py.

The full run takes about a minute, so the tests replay every 5th incident of each table,
through the same code. Skipped where ../shared is absent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import realtext  # noqa: E402

from pia.snapshot import list_incidents, open_incident  # noqa: E402

EVERY = 5
#: recall each scored stage should reach per dataset, and the most false milestones allowed
TARGET_RECALL = 0.9
MAX_FALSE = 0.05

pytestmark = pytest.mark.skipif(
    not all((realtext.shared_dir() / p).is_file() for p in realtext.DATASETS.values()),
    reason="status-page tables not found: put the shared folder beside the checkout (../shared) or set PIA_SHARED",
)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    workdir = tmp_path_factory.mktemp("realtext")
    return realtext.replay(every=EVERY, workdir=workdir), workdir


def test_every_sampled_incident_is_replayed_and_measured(replayed) -> None:
    rows, workdir = replayed
    incidents = realtext.read_incidents(every=EVERY)
    assert sorted(rows["incident"]) == sorted(incidents["incident"]) == list_incidents(workdir)
    counts = rows["dataset"].value_counts().to_dict()
    assert counts == {"llm-services": -(-542 // EVERY), "status-pages": -(-1400 // EVERY)}
    # the cache went into the temporary data dir, nowhere else
    assert (workdir / ".pia-cache" / "metrics.parquet").is_file()


def test_each_stage_post_reads_back_as_one_human_message(replayed) -> None:
    """The snapshot holds each stage's text as published (entities decoded), at its time."""
    rows, workdir = replayed
    for row in rows.iloc[:: max(1, len(rows) // 40)].itertuples():
        events = open_incident(row.incident, workdir).events()
        posts = [(getattr(row, f"{s}_post"), getattr(row, f"{s}_text")) for s in realtext.STAGES]
        posts = sorted((ts, text) for ts, text in posts if not pd.isna(ts))
        assert events["is_human"].all() and set(events["kind"]) == {"message"}
        assert list(zip(events["ts"], events["text"])) == posts, row.incident


def test_markup_characters_survive_the_export(tmp_path) -> None:
    """&, < and > are stored as a Slack export stores them, and read back as written."""
    incidents = realtext.read_incidents()
    one = incidents[incidents["identified_post"].notna()].iloc[:1].copy()
    text = "errors <5% & falling -> fix at <https://x>"
    one["identified_text"] = text
    realtext.write_snapshots(tmp_path, one)
    folder = tmp_path / "incidents" / one["incident"].iloc[0]
    stored = [m["text"] for day in folder.glob("slack/*/*.json") for m in json.loads(day.read_text(encoding="utf-8"))]
    assert "errors &lt;5% &amp; falling -&gt; fix at &lt;https://x&gt;" in stored
    read = list(open_incident(one["incident"].iloc[0], tmp_path).events()["text"])
    assert text in read


def _totals(rows: pd.DataFrame) -> pd.DataFrame:
    table = realtext.summary(rows)
    return table[table["provider"] == "(all)"]


#: What the rules reach on this sample, less a margin: a rule change that loses more fails here.
#: (dataset, stage) -> (least recall, most false)
#: Found-anyway rates of mitigated count the restored posts that stand in for it after a
#: remediation (the service back after an action is impact stopped, stage or no stage).
FLOORS = {
    ("llm-services", "identified"): (0.79, 0.16),
    ("llm-services", "monitoring"): (0.79, 0.18),
    ("llm-services", "resolved"): (0.85, 1.0),
    ("status-pages", "identified"): (0.73, 0.44),
    ("status-pages", "monitoring"): (0.78, 0.23),
}
#: The least share of the posts read as status updates (every one is), per dataset
UPDATE_FLOORS = {"llm-services": 0.79, "status-pages": 0.87}


def test_no_stage_falls_below_what_the_rules_reach(replayed) -> None:
    totals = _totals(replayed[0])
    worse = [
        f"{r.dataset} {r.stage}: recall {r.recall:.0%} (floor {FLOORS[(r.dataset, r.stage)][0]:.0%}), false {r.false_rate:.0%}"
        for r in totals.itertuples()
        if r.recall < FLOORS[(r.dataset, r.stage)][0] or (r.false_rate or 0) > FLOORS[(r.dataset, r.stage)][1]
    ]
    assert not worse, "\n".join(worse)



def test_status_posts_read_as_updates_do_not_fall(replayed) -> None:
    table = realtext.update_share(replayed[0])
    share = table["read as updates"] / table["posts"]
    worse = {d: round(float(share[d]), 3) for d, floor in UPDATE_FLOORS.items() if not share[d] >= floor}
    assert not worse, f"fewer status-page posts read as status updates: {worse}"

@pytest.mark.xfail(strict=False, reason="the 90% recall target is not reached: see docs/metrics.md, Accuracy")
def test_recall_per_stage_per_dataset(replayed) -> None:
    totals = _totals(replayed[0])
    short = [f"{r.dataset} {r.stage}" for r in totals.itertuples() if not r.recall >= TARGET_RECALL]
    shown = totals[["dataset", "stage", "milestone", "with_stage", "hits", "recall"]].to_string(index=False)
    assert not short, f"recall below {TARGET_RECALL} (every {EVERY}th incident):\n{shown}"


@pytest.mark.xfail(strict=False, reason="the 5% target is not reached: most milestones found without their stage come from posts that state a cause or a fix; see docs/metrics.md")
def test_false_milestones_per_stage_per_dataset(replayed) -> None:
    totals = _totals(replayed[0])
    over = [f"{r.dataset} {r.stage}" for r in totals.itertuples() if r.false_rate > MAX_FALSE]
    shown = totals[["dataset", "stage", "milestone", "without_stage", "found_anyway", "false_rate"]].to_string(index=False)
    assert not over, f"milestones found without their stage in more than {MAX_FALSE:.0%} (every {EVERY}th incident):\n{shown}"
