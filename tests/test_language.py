"""The labelled message corpus (tests/language): that it is whole and valid, that the scorer in
benchmarks/language.py counts right, and how detection does on the held-out voices.

The corpus's messages are never printed here: a failure names files, lines and ids only.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import language  # noqa: E402

from pia.events.schema import conform  # noqa: E402
from pia.milestones import signals  # noqa: E402

CORPUS = ROOT / "tests" / "language"
#: the F1 every label should reach on the held-out voices
TARGET_F1 = 0.9
README_LABELS = {
    "hypothesis", "dropped", "declared", "mitigation", "mitigated",
    "restored", "resolved", "status_update", "escalation", "directive",
}


@pytest.fixture(scope="module")
def corpus() -> language.Corpus:
    if not list(CORPUS.glob("*.jsonl")):
        pytest.skip("no <voice>.jsonl in tests/language yet")
    return language.load(CORPUS)


def test_the_readme_gives_ten_labels_and_splits_ten_voices() -> None:
    split, labels = language.read_readme(CORPUS)
    assert set(labels) == README_LABELS
    assert len(split) == 10
    assert sorted(set(split.values())) == [language.HELD_OUT, language.TUNE]


def test_every_voice_is_in_exactly_one_part(corpus) -> None:
    table = (CORPUS / "README.md").read_text(encoding="utf-8").split("## The split", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"`([^`]+)`", "\n".join(line for line in table.splitlines() if line.startswith("| tune") or line.startswith("| held out")))
    twice = sorted({v for v in listed if listed.count(v) > 1})
    assert not twice, f"voices in both parts: {twice}"
    unsplit = sorted(set(corpus.messages["voice"]) - set(corpus.split))
    assert not unsplit, f"voice files the README's split does not name: {unsplit}"


def test_every_line_parses_with_known_labels_and_a_time(corpus) -> None:
    assert not corpus.problems, "\n".join(corpus.problems[:50])


def test_ids_are_unique(corpus) -> None:
    ids = corpus.messages["id"]
    repeated = sorted(ids[ids.duplicated()].unique())
    assert not repeated, f"repeated ids: {repeated[:20]}"


def test_the_corpus_is_large_enough(corpus) -> None:
    voices = sorted(corpus.messages["voice"].unique())
    n = len(corpus.messages)
    assert n >= 1500, f"{n} messages in {len(voices)} voices"
    assert len(voices) >= 8, f"only {voices}"


def test_each_conversation_is_in_time_order(corpus) -> None:
    m = corpus.messages
    back = m.loc[m["ts"] < m.groupby("conversation")["ts"].cummax(), "line"].tolist()
    assert not back, f"out of order: {back[:20]}"


def test_the_messages_make_one_valid_events_frame(corpus) -> None:
    events, order = language.events(corpus.messages)  # validates
    rows, messages = len(events), len(corpus.messages)
    assert rows == messages
    misplaced = int((events["ref"].to_numpy() != corpus.messages["id"].to_numpy()[order]).sum())
    assert misplaced == 0
    incidents, conversations = sorted(set(events["incident"])), sorted(set(corpus.messages["conversation"]))
    assert incidents == conversations


# --- the scorer's arithmetic, on a corpus written here ---------------------------------------


def _write(folder: Path, voice: str, rows: list[tuple[str, str, str, list[str]]]) -> None:
    with open(folder / f"{voice}.jsonl", "w", encoding="utf-8") as out:
        for id_, conversation, ts, labels in rows:
            item = {"id": id_, "conversation": conversation, "ts": ts, "author": "ann", "text": f"message {id_}", "labels": labels, "stated": {}}
            out.write(json.dumps(item) + "\n")


@pytest.fixture
def tiny(tmp_path: Path) -> language.Corpus:
    """Two tune conversations (terse) and one held-out conversation (irc)."""
    (tmp_path / "README.md").write_text((CORPUS / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    _write(
        tmp_path,
        "terse",
        [
            ("t1", "a", "2026-01-01T10:00:00Z", ["hypothesis"]),
            ("t2", "a", "2026-01-01T10:01:00Z", ["hypothesis", "mitigation"]),
            ("t3", "a", "2026-01-01T10:02:00Z", []),
            ("t4", "b", "2026-01-02T10:00:00Z", ["hypothesis"]),
            ("t5", "b", "2026-01-02T10:01:00Z", []),
        ],
    )
    # irc's file is read first but its messages fall between terse's: file order is not time order
    _write(tmp_path, "irc", [("i1", "c", "2026-01-01T10:00:30Z", ["restored"]), ("i2", "c", "2026-01-01T10:01:30Z", [])])
    return language.load(tmp_path)


FOUND = {"t1": ("hypothesis",), "t2": ("mitigation",), "t3": ("hypothesis",), "t4": ("hypothesis",), "t5": (), "i1": ("restored",), "i2": ("restored",)}


def _row(summary: pd.DataFrame, part: str, label: str) -> pd.Series:
    return summary[(summary["part"] == part) & (summary["label"] == label)].iloc[0]


def test_counts_and_rates_by_hand(tiny) -> None:
    found = tiny.messages["id"].map(FOUND)
    scores = language.score(tiny, found=found, resamples=200)
    s = scores.summary
    # tune hypothesis: expected t1 t2 t4, found t1 t3 t4 -> TP 2, FP 1 (t3), FN 1 (t2)
    h = _row(s, "tune", "hypothesis")
    assert (h["support"], h["tp"], h["fp"], h["fn"]) == (3, 2, 1, 1)
    assert h["precision"] == pytest.approx(2 / 3) and h["recall"] == pytest.approx(2 / 3) and h["f1"] == pytest.approx(2 / 3)
    m = _row(s, "tune", "mitigation")
    assert (m["tp"], m["fp"], m["fn"], m["f1"]) == (1, 0, 0, 1.0)
    # a label nobody gave and nothing found: undefined, not 0 or 1
    assert np.isnan(_row(s, "tune", "dropped")["f1"])
    # held out restored: expected i1, found i1 i2 -> precision 1/2, recall 1, F1 2/3
    r = _row(s, "held out", "restored")
    assert (r["tp"], r["fp"], r["fn"]) == (1, 1, 0)
    assert r["precision"] == pytest.approx(0.5) and r["recall"] == 1.0 and r["f1"] == pytest.approx(2 / 3)
    # one conversation: every resample is that conversation, the interval is the point
    assert r["precision_lo"] == r["precision_hi"] == pytest.approx(0.5)
    # (all) sums the labels: all parts TP 2+1+1, FP 1+1, FN 1
    a = _row(s, "all", "(all)")
    assert (a["tp"], a["fp"], a["fn"], a["support"]) == (4, 2, 1, 5)
    assert a["f1"] == pytest.approx(8 / 11)
    assert (a["conversations"], a["messages"]) == (3, 7)
    v = scores.voices.set_index("voice")
    assert v.loc["terse", "hypothesis"] == pytest.approx(2 / 3) and v.loc["irc", "part"] == "held out"
    assert list(scores.messages.loc[~scores.messages["match"], "id"]) == ["i2", "t2", "t3"]


def test_the_bootstrap_matches_a_plain_loop(tiny) -> None:
    """The vectorised intervals against the same draws summed one resample at a time."""
    found = tiny.messages["id"].map(FOUND)
    scores = language.score(tiny, found=found, resamples=300, seed=7)
    row = _row(scores.summary, "tune", "hypothesis")
    tune = tiny.messages[tiny.messages["part"] == "tune"].reset_index(drop=True)
    conversations = sorted(tune["conversation"].unique())
    per = {}
    for c in conversations:
        own = tune[tune["conversation"] == c]
        e = own["labels"].map(lambda x: "hypothesis" in x)
        f = own["id"].map(lambda i: "hypothesis" in FOUND[i])
        per[c] = (int((e & f).sum()), int((f & ~e).sum()), int((e & ~f).sum()))
    draws = np.random.default_rng(7).integers(0, len(conversations), size=(300, len(conversations)))
    f1s, precisions = [], []
    for draw in draws:
        tp, fp, fn = (sum(per[conversations[i]][k] for i in draw) for k in range(3))
        f1s.append(2 * tp / (2 * tp + fp + fn))
        precisions.append(tp / (tp + fp))
    assert (row["f1_lo"], row["f1_hi"]) == pytest.approx(tuple(np.percentile(f1s, [2.5, 97.5])))
    assert (row["precision_lo"], row["precision_hi"]) == pytest.approx(tuple(np.percentile(precisions, [2.5, 97.5])))
    assert row["f1_lo"] < row["f1"] < row["f1_hi"]


def test_predictions_land_on_their_own_messages(tiny) -> None:
    """Messages sorted by time across voices are mapped back to their own lines: what the
    whole corpus gets equals what each message gets alone."""
    texts = ["rolling back 2.31", "declaring a SEV2", "maybe the cert expired on lb?", "@bob can you check the LB logs", "ok", "it's back to normal", "hi"]
    messages = tiny.messages.assign(text=texts)
    assert (language.events(messages)[1] != np.arange(len(messages))).any()
    together = language.predict(messages)
    for i, text in enumerate(texts):
        one = conform(pd.DataFrame({"incident": "x", "ts": [messages["ts"][i]], "source": "slack", "kind": "message", "is_human": True, "text": [text]}))
        alone = tuple(sorted(set(signals(one)["label"].astype(str))))
        assert together[i] == alone, messages["id"][i]


# --- the held-out targets --------------------------------------------------------------------


#: Held-out F1 per label as measured once the rules were final, less 0.05: a rule change that
#: loses more on language it was not fitted to fails here.
HELD_OUT_FLOORS = {
    "hypothesis": 0.59, "dropped": 0.46, "declared": 0.87, "mitigation": 0.44, "mitigated": 0.49,
    "restored": 0.56, "resolved": 0.88, "status_update": 0.66, "escalation": 0.69, "directive": 0.76,
}


def test_held_out_f1_does_not_fall(corpus) -> None:
    summary = language.score(corpus).summary
    held = summary[(summary["part"] == language.HELD_OUT) & (summary["label"] != "(all)")].set_index("label")
    worse = {label: round(float(held.at[label, "f1"]), 2) for label, floor in HELD_OUT_FLOORS.items() if not held.at[label, "f1"] >= floor}
    assert not worse, f"held-out F1 fell below its floor: {worse}"


@pytest.mark.xfail(strict=False, reason="the 0.9 target is reached for declared and resolved only: see docs/metrics.md, Accuracy")
def test_held_out_f1_per_label(corpus) -> None:
    if not (corpus.messages["part"] == language.HELD_OUT).any():
        pytest.skip("no held-out voice in the corpus yet")
    summary = language.score(corpus).summary
    held = summary[summary["part"] == language.HELD_OUT]
    short = held[(held["label"] != "(all)") & ~(held["f1"] >= TARGET_F1) & (held["tp"] + held["fp"] + held["fn"] > 0)]
    below = sorted(short["label"])
    assert not below, f"F1 below {TARGET_F1} on the held-out voices for {below}:\n" + language.format_summary(held)
