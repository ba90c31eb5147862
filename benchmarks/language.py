"""Message labels of the labelled corpus against what detection finds, per part and per label.

    python benchmarks/language.py [--data-dir DIR] [--corpus DIR] [--details [--show-held-out]]

The corpus (``tests/language``, see its README) is one ``<voice>.jsonl`` file per voice, each
line a message with the labels a reader gave it; the README's table splits the voices into a
tune part (rules may be fitted to it) and a held-out part (reported only). Every voice present
is read, whatever is missing.

All messages become one events DataFrame (an incident per conversation, each message a human
Slack message) and go through :func:`pia.milestones.signals` with the packaged rules, or with a
data dir's ``pia.toml`` overrides (``--data-dir``). Each message's found label set is compared
with its labels: per label, a message is a true positive when both have the label, a false
positive when only detection has it, a false negative when only the reader gave it. Counts,
precision, recall and F1 (``2 TP / (2 TP + FP + FN)``) are given per part (tune, held out,
all) and per label, with an ``(all)`` row summing the labels; precision, recall and F1 each
carry a 95% bootstrap interval that resamples whole conversations (messages of one incident
are not independent), 2,000 times with a fixed seed. A per-voice table gives F1 per label.
The ``stated`` times are not scored here (they are the milestones' business, not the labels').

``--details`` lists the tune part's mismatches (id, expected, found, text). The held-out
messages are listed only with ``--show-held-out``: reading them spoils the held-out figures.

Importable: :func:`load` reads the corpus, :func:`score` returns the tables the tests check.
About a second for 1,800 messages, most of it the rules' first compile.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pia.events.schema import conform, validate
from pia.milestones import signals
from pia.milestones.config import load_config
from pia.milestones.detect import RuleSet, compile_rules, default_rules

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "language"
TUNE, HELD_OUT, ALL = "tune", "held out", "all"
KEYS = ("id", "conversation", "ts", "author", "text", "labels", "stated")
RESAMPLES = 2000
SEED = 2026
COUNTS = ("tp", "fp", "fn")
RATES = ("precision", "recall", "f1")


@dataclass
class Corpus:
    """The messages of every voice file present (one row each, in file order), the README's
    split (voice -> part) and label set, and one line per problem found while reading."""

    messages: pd.DataFrame = field(repr=False)  # a repr (a test failure) shows no message text
    split: dict[str, str] = field(repr=False)
    labels: tuple[str, ...]
    problems: list[str] = field(default_factory=list)


@dataclass
class Scores:
    """``summary``: one row per (part, label) with counts, rates and intervals; ``voices``:
    F1 per voice and label; ``messages``: each message's expected and found labels."""

    summary: pd.DataFrame
    voices: pd.DataFrame
    messages: pd.DataFrame = field(repr=False)


def _section(readme: str, heading: str) -> list[list[str]]:
    """The rows of the first table under ``## heading``, as lists of cell texts."""
    part = readme.split(f"## {heading}", 1)[-1] if f"## {heading}" in readme else ""
    part = part.split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in part.splitlines() if line.strip().startswith("|")]
    return [r for r in rows[2:] if r]  # after the header and its --- line


def read_readme(folder: Path) -> tuple[dict[str, str], tuple[str, ...]]:
    """The split (voice -> ``tune`` or ``held out``) and the label names of the README."""
    text = (folder / "README.md").read_text(encoding="utf-8")
    split = {}
    for cells in _section(text, "The split"):
        part = TUNE if cells[0].startswith("tune") else HELD_OUT if cells[0].startswith("held out") else cells[0]
        for voice in re.findall(r"`([^`]+)`", cells[1] if len(cells) > 1 else ""):
            split[voice] = part
    labels = tuple(m.group(1) for cells in _section(text, "Labels") if (m := re.fullmatch(r"`([^`]+)`", cells[0])))
    return split, labels


def load(folder: str | Path = CORPUS) -> Corpus:
    """Every ``<voice>.jsonl`` in ``folder``. A line that does not parse, lacks a key or has a
    bad time is left out; an unknown label is dropped from its message; both are listed in
    ``problems`` (file, line and what is wrong, never the message's text)."""
    folder = Path(folder)
    split, known = read_readme(folder)
    rows, problems = [], []
    for path in sorted(folder.glob("*.jsonl")):
        voice = path.stem
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{number}"
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"{where}: not JSON ({error.msg} at column {error.colno})")
                continue
            if not isinstance(item, dict):
                problems.append(f"{where}: not a JSON object")
                continue
            missing = [k for k in KEYS if k not in item]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            labels = item["labels"]
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                problems.append(f"{where}: labels is not a list of names")
                continue
            unknown = sorted(set(labels) - set(known))
            if unknown:
                problems.append(f"{where}: unknown labels {unknown}")
            if not isinstance(item["text"], str):
                problems.append(f"{where}: text is not a string")
                continue
            rows.append(
                {
                    "voice": voice,
                    "part": split.get(voice, "unsplit"),
                    "id": str(item["id"]),
                    "conversation": f"{voice}/{item['conversation']}",
                    "ts": item["ts"],
                    "author": str(item["author"]),
                    "text": item["text"],
                    "labels": tuple(sorted(set(labels) & set(known))),
                    "stated": item["stated"],
                    "line": where,
                }
            )
    columns = ["voice", "part", "id", "conversation", "ts", "author", "text", "labels", "stated", "line"]
    messages = pd.DataFrame(rows, columns=columns)
    messages["ts"] = pd.to_datetime(messages["ts"], utc=True, format="ISO8601", errors="coerce")
    for where in messages.loc[messages["ts"].isna(), "line"]:
        problems.append(f"{where}: ts is not an ISO 8601 time")
    messages = messages[messages["ts"].notna()].reset_index(drop=True)
    return Corpus(messages, split, known, problems)


def events(messages: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The messages as one events DataFrame (valid by the contract, sorted by time) and, for
    each event row, the position of its message in ``messages``."""
    order = np.argsort(messages["ts"].to_numpy(), kind="stable")
    frame = pd.DataFrame(
        {
            "incident": messages["conversation"],
            "ts": messages["ts"],
            "source": "slack",
            "kind": "message",
            "actor": messages["author"],
            "actor_id": messages["author"],
            "is_human": True,
            "text": messages["text"],
            "ref": messages["id"],
            "thread": "",
        }
    ).iloc[order]
    return validate(conform(frame.reset_index(drop=True))), order


def predict(messages: pd.DataFrame, rules: RuleSet | None = None) -> pd.Series:
    """The labels detection gives each message, as a sorted tuple per message."""
    frame, order = events(messages)
    found = signals(frame, rules or default_rules())
    at = order[found["row"].to_numpy()]
    by_message = pd.Series(found["label"].astype(str).to_numpy(), index=at).groupby(level=0).agg(lambda s: tuple(sorted(set(s))))
    return by_message.reindex(range(len(messages))).map(lambda x: x if isinstance(x, tuple) else ()).set_axis(messages.index)


def _matrix(sets: pd.Series, labels: tuple[str, ...]) -> np.ndarray:
    """A (messages x labels) boolean matrix of label sets."""
    out = np.zeros((len(sets), len(labels)), dtype=bool)
    column = {label: j for j, label in enumerate(labels)}
    for i, names in enumerate(sets):
        for name in names:
            if name in column:
                out[i, column[name]] = True
    return out


def _rates(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and F1 (NaN where undefined) of count arrays of any shape."""
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
        }


def bootstrap(counts: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, np.ndarray]:
    """95% intervals of precision, recall and F1 from per-conversation counts.

    ``counts`` is (conversations, labels, 3) with TP, FP, FN in the last axis. Each resample
    draws as many conversations with replacement, ``np.random.default_rng(seed).integers(0, n,
    size=(resamples, n))``, and sums their counts; the interval is the 2.5th and 97.5th
    percentile of each rate over the resamples where it is defined. Returns rate -> an array
    (2, labels) of low and high."""
    n, width = counts.shape[0], counts.shape[1]
    if n == 0:
        return {rate: np.full((2, width), np.nan) for rate in RATES}
    draw = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    weights = np.bincount((np.arange(resamples)[:, None] * n + draw).ravel(), minlength=resamples * n).reshape(resamples, n)
    totals = (weights @ counts.reshape(n, -1)).reshape(resamples, width, 3)
    rates = _rates(totals[..., 0], totals[..., 1], totals[..., 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a rate never defined: NaN interval
        return {rate: np.nanpercentile(values, [2.5, 97.5], axis=0) for rate, values in rates.items()}


def _part_rows(part: str, expected: np.ndarray, found: np.ndarray, conversation: pd.Series, labels: tuple[str, ...], resamples: int, seed: int) -> pd.DataFrame:
    """One row per label and an ``(all)`` row for the messages of one part."""
    per_message = np.stack([expected & found, found & ~expected, expected & ~found], axis=-1)  # (m, L, 3)
    per_message = np.concatenate([per_message, per_message.sum(axis=1, keepdims=True)], axis=1)  # + (all)
    codes, names = pd.factorize(conversation, sort=True)
    per_conversation = np.zeros((len(names), per_message.shape[1], 3), dtype=np.int64)
    np.add.at(per_conversation, codes, per_message)
    total = per_conversation.sum(axis=0)
    point = _rates(total[:, 0], total[:, 1], total[:, 2])
    interval = bootstrap(per_conversation, resamples, seed)
    frame = pd.DataFrame(
        {
            "part": part,
            "label": [*labels, "(all)"],
            "conversations": len(names),
            "messages": len(conversation),
            "support": total[:, 0] + total[:, 2],
            "tp": total[:, 0],
            "fp": total[:, 1],
            "fn": total[:, 2],
        }
    )
    for rate in RATES:
        frame[rate] = point[rate]
        frame[f"{rate}_lo"] = interval[rate][0]
        frame[f"{rate}_hi"] = interval[rate][1]
    return frame


def score(
    corpus: Corpus | str | Path = CORPUS,
    *,
    rules: RuleSet | None = None,
    found: pd.Series | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Scores:
    """Score detection on ``corpus`` (a folder or a loaded :class:`Corpus`).

    ``found`` (a label tuple per message, aligned with ``corpus.messages``) replaces what
    ``rules`` (default: the packaged rules) would find, which is how the arithmetic is tested.
    """
    corpus = corpus if isinstance(corpus, Corpus) else load(corpus)
    messages, labels = corpus.messages, corpus.labels
    found = predict(messages, rules) if found is None else found
    expected_m, found_m = _matrix(messages["labels"], labels), _matrix(found, labels)
    parts = []
    for part in (TUNE, HELD_OUT, ALL):
        keep = np.ones(len(messages), dtype=bool) if part == ALL else (messages["part"] == part).to_numpy()
        parts.append(_part_rows(part, expected_m[keep], found_m[keep], messages["conversation"][keep], labels, resamples, seed))
    summary = pd.concat(parts, ignore_index=True)
    voices = []
    for voice, rows in messages.groupby("voice", sort=True).groups.items():
        at = np.asarray(messages.index.get_indexer(rows))
        e, f = expected_m[at], found_m[at]
        tp, fp, fn = (e & f).sum(0), (f & ~e).sum(0), (e & ~f).sum(0)
        f1 = _rates(np.r_[tp, tp.sum()], np.r_[fp, fp.sum()], np.r_[fn, fn.sum()])["f1"]
        voices.append({"voice": voice, "part": messages.loc[at[0], "part"], "messages": len(at), **dict(zip([*labels, "(all)"], f1))})
    voices_frame = pd.DataFrame(voices, columns=["voice", "part", "messages", *labels, "(all)"])
    voices_frame = voices_frame.sort_values(["part", "voice"], key=lambda s: s.map({TUNE: 0, HELD_OUT: 1}).fillna(2) if s.name == "part" else s, ignore_index=True)
    table = messages[["voice", "part", "id", "conversation", "ts", "text", "labels"]].rename(columns={"labels": "expected"})
    table["found"] = list(found)
    table["match"] = table["expected"] == table["found"]
    return Scores(summary, voices_frame, table)


def _ratio(value: float, lo: float, hi: float) -> str:
    if np.isnan(value):
        return "-"
    return f"{value:.2f} [{lo:.2f}, {hi:.2f}]" if not np.isnan(lo) else f"{value:.2f}"


def format_summary(summary: pd.DataFrame) -> str:
    """The per-part, per-label table as plain text."""
    blocks = []
    for part, rows in summary.groupby("part", sort=False):
        head = f"{part}: {rows['messages'].iloc[0]:,} messages, {rows['conversations'].iloc[0]:,} conversations"
        shown = rows[["label", "support", "tp", "fp", "fn"]].copy()
        for rate in RATES:
            shown[rate] = [_ratio(*v) for v in rows[[rate, f"{rate}_lo", f"{rate}_hi"]].to_numpy(float)]
        blocks.append(head + "\n" + shown.to_string(index=False))
    return "\n\n".join(blocks)


def format_voices(voices: pd.DataFrame) -> str:
    """F1 per voice and label as plain text."""
    return voices.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:.2f}")


def _names(labels: Any) -> str:
    return ", ".join(labels) or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="use this data dir's pia.toml overrides")
    parser.add_argument("--corpus", default=str(CORPUS), help="the folder of <voice>.jsonl files and their README")
    parser.add_argument("--details", action="store_true", help="list the tune part's mismatches")
    parser.add_argument("--show-held-out", action="store_true", help="with --details, list the held-out mismatches too")
    args = parser.parse_args(argv)
    corpus = load(args.corpus)
    if corpus.messages.empty:
        raise SystemExit(f"no messages in {args.corpus}")
    for line in corpus.problems:
        print(f"problem: {line}", file=sys.stderr)
    rules = compile_rules(load_config(args.data_dir)) if args.data_dir else default_rules()
    scores = score(corpus, rules=rules)
    pd.set_option("display.width", 250)
    present = corpus.messages.groupby("part")["voice"].unique()
    for part in present.index:
        print(f"{part}: {', '.join(sorted(present[part]))}")
    print()
    print(format_summary(scores.summary))
    print("\nF1 per voice")
    print(format_voices(scores.voices))
    if args.details:
        shown = [TUNE, HELD_OUT] if args.show_held_out else [TUNE]
        if args.show_held_out:
            print("\nlisting held-out messages: whoever reads them can no longer tune blind, and the held-out figures are spoiled")
        bad = scores.messages[~scores.messages["match"] & scores.messages["part"].isin(shown)]
        print(f"\n{len(bad)} mismatches ({' and '.join(shown)}):" if len(bad) else "\nno mismatches")
        for row in bad.itertuples():
            print(f"{row.id}  expected: {_names(row.expected)}  found: {_names(row.found)}\n    {row.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
