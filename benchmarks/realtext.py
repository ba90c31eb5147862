"""Real status-page updates, replayed as incident channels, through the whole ``pia metrics`` path.

    python benchmarks/realtext.py [--shared DIR] [--every K] [--data-dir DIR] [--details]

Two tables of status-page incidents written by other companies (see the external fixtures'
SOURCES.md): OpenAI, Anthropic and Character.AI (``llm-services``: stages investigating,
identified, monitoring, resolved, postmortem) and 13 Atlassian pages plus Netlify
(``status-pages``: the same stages without postmortem; their resolved posts were never
captured, so resolved is not scored there). They are read from ``../shared`` beside the
checkout, or ``--shared DIR``, or ``$PIA_SHARED``.

Each incident becomes a real snapshot in a temporary data dir: ``incident.toml``, a Slack
export with one human user and one channel, and day files in which that person posts each
stage's update at its published time, in stage order (the k-th stage of the list above is
posted k microseconds after its published time, so every post has its own Slack ts and a
milestone's time names the post it came from; the minute and second are the published ones).
The data dir is then measured as ``pia metrics`` measures one (:func:`pia.cache.measure_all`,
its cache inside the temporary dir), and each milestone's time is read from the metrics table:
``resolved`` as it is, the others as ``detected`` plus their duration (time_to_hypothesis,
time_to_mitigate).

Scored per provider, for identified -> first_hypothesis, monitoring -> mitigated and resolved ->
resolved: of the incidents with that stage, the share whose milestone is at that stage's post
(recall); of those without it, the share where the milestone was found anyway (false). A
milestone at another post, or at a time the text states, is a miss. ``--details`` lists the
stage texts that missed, grouped, most frequent first, and the posts that gave a milestone
without its stage.

Importable: :func:`replay` returns one row per incident, :func:`summary` one per provider and
stage. All 1,942 incidents take about a minute of CPU here (writing the snapshots 10 s,
``pia metrics`` from a cold cache the rest; 1-2 minutes of wall time on a busy machine);
``--every 5`` replays every 5th incident of each table in 13-20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pia.cache import measure_all
from pia.milestones.config import load_config
from pia.snapshot import write_manifest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {
    "llm-services": Path("fixtures/external/incident-datasets/atlarge-research-llm-service-analysis/incident_stages.csv"),
    "status-pages": Path("fixtures/external/incident-datasets/status-pages/stages.csv"),
}
STAGES = ("investigating", "identified", "monitoring", "resolved", "postmortem")
#: stage -> the milestone its post is evidence of
PAIRS = {"identified": "first_hypothesis", "monitoring": "mitigated", "resolved": "resolved"}
#: stages a dataset never captured: their absence says nothing, so they are not scored
NOT_CAPTURED = {"status-pages": ("resolved",)}
#: provider names as the CSV spells them -> as reported
PROVIDERS = {"character": "character.ai"}
USER = "U0REPLAY001"


def shared_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """``path``, else ``$PIA_SHARED``, else ``shared/`` beside the checkout."""
    return Path(path or os.environ.get("PIA_SHARED") or ROOT.parent / "shared")


def read_incidents(shared: str | os.PathLike[str] | None = None, every: int = 1) -> pd.DataFrame:
    """One row per incident of both tables (every ``every``-th of each): ``dataset``,
    ``provider``, ``source_id``, ``title``, ``incident`` (the snapshot id) and, per stage, its
    post's time (``<stage>_post``, NaT where there is none) and text (``<stage>_text``)."""
    base = shared_dir(shared)
    frames = []
    for dataset, relative in DATASETS.items():
        raw = pd.read_csv(base / relative, dtype={"incident_id": str}, keep_default_na=False).iloc[::every]
        frame = pd.DataFrame(
            {
                "dataset": dataset,
                "provider": raw["provider"].replace(PROVIDERS),
                "source_id": raw["incident_id"],
                "title": raw["Incident_Title"],
            }
        )
        for k, stage in enumerate(STAGES):
            present = raw[f"{stage}_flag"].astype(str).eq("1") if f"{stage}_flag" in raw else pd.Series(False, index=raw.index)
            stamp = pd.to_datetime(raw[f"{stage}_timestamp"].where(present), utc=True, format="ISO8601") if present.any() else pd.NaT
            frame[f"{stage}_post"] = pd.Series(stamp, index=raw.index, dtype="datetime64[ns, UTC]") + pd.Timedelta(microseconds=k)
            frame[f"{stage}_text"] = raw[f"{stage}_description"].where(present, "") if f"{stage}_description" in raw else ""
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["incident"] = (out["provider"] + "-" + out["source_id"].str.lower()).str.replace(r"[^a-z0-9.-]+", "-", regex=True)
    return out


def _toml_string(value: str) -> str:
    # JSON's escapes are valid in a TOML basic string; TOML wants DEL escaped too, JSON does not
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _slack_text(text: str) -> str:
    """Text as a Slack export holds it: &, < and > as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_ts(stamp: pd.Timestamp) -> str:
    micros = stamp.value // 1000
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def write_snapshots(root: Path, incidents: pd.DataFrame) -> None:
    """One Slack-only snapshot per incident under ``root/incidents``: one person posts each
    stage's text at its time, in the day file of its UTC date; a ``manifest.json`` lists the
    files, as one that was fetched or imported has."""
    users = json.dumps(
        [
            {
                "id": USER,
                "name": "status",
                "real_name": "Status Page",
                "deleted": False,
                "is_bot": False,
                "profile": {"real_name": "Status Page", "display_name": "status"},
            }
        ]
    )
    posts = incidents.melt(id_vars=["incident"], value_vars=[f"{s}_post" for s in STAGES], var_name="stage", value_name="ts").dropna(subset=["ts"])
    posts["stage"] = posts["stage"].str.removesuffix("_post")
    texts = incidents.set_index("incident")
    posts["text"] = [texts.at[i, f"{s}_text"] for i, s in zip(posts["incident"], posts["stage"])]
    posts = posts.sort_values(["incident", "ts"], kind="stable")
    posts["day"] = posts["ts"].dt.strftime("%Y-%m-%d")
    by_incident = dict(tuple(posts.groupby("incident", sort=False)))
    for row in incidents.itertuples():
        folder = root / "incidents" / row.incident
        channel = f"status-{row.source_id.lower()}"
        (folder / "slack" / channel).mkdir(parents=True)
        (folder / "incident.toml").write_text(
            f"id = {_toml_string(row.incident)}\ntitle = {_toml_string(row.title)}\nslack_channels = [{_toml_string(channel)}]\n",
            encoding="utf-8",
        )
        (folder / "slack" / "users.json").write_text(users, encoding="utf-8")
        own = by_incident.get(row.incident)
        created = int(own["ts"].min().timestamp()) if own is not None else 0
        (folder / "slack" / "channels.json").write_text(
            json.dumps([{"id": "C0REPLAY001", "name": channel, "created": created, "creator": USER, "members": [USER]}]),
            encoding="utf-8",
        )
        for day, messages in own.groupby("day", sort=True) if own is not None else ():
            payload = [{"type": "message", "user": USER, "text": _slack_text(m.text), "ts": _slack_ts(m.ts)} for m in messages.itertuples()]
            (folder / "slack" / channel / f"{day}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        write_manifest(folder)


def _milestone_times(table: pd.DataFrame, root: Path) -> pd.DataFrame:
    """Each scored milestone's time per incident, from the metrics table: ``resolved`` as it
    is, the others as ``detected`` plus the configured duration from ``detected`` to them."""
    out = pd.DataFrame({"incident": table["incident"].astype(str), "status_updates": table["status_updates"].to_numpy()})
    spans = {d.end: d.name for d in load_config(root).durations if d.start == ("detected",)}
    for milestone in PAIRS.values():
        if milestone in table:
            out[milestone] = pd.to_datetime(table[milestone], utc=True)
        elif milestone in spans and spans[milestone] in table:
            out[milestone] = table["detected"] + table[spans[milestone]]
        else:
            raise SystemExit(f"the metrics table has no {milestone} and no duration from detected to it")
    return out


def replay(
    shared: str | os.PathLike[str] | None = None,
    *,
    every: int = 1,
    workdir: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Replay the incidents (every ``every``-th of each table) and measure them.

    The snapshots go into ``workdir`` (which must be empty or absent; default a temporary dir,
    removed afterwards), with ``data_dir``'s ``pia.toml`` if it has one. Returns one row per
    incident: its ``dataset``, ``provider``, ``incident``, and per scored stage the stage's
    post time (``<stage>_post``), the milestone's time (``<milestone>``), ``<stage>_hit`` (the
    milestone is at that post), ``<milestone>_on`` (the stage whose post the milestone is at,
    ``other`` for a time no post has, empty where it was not found) and the stage's text.
    Raises RuntimeError listing the incidents that could not be measured.
    """
    incidents = read_incidents(shared, every)
    with tempfile.TemporaryDirectory(prefix="pia-realtext-") as scratch:
        root = Path(workdir) if workdir is not None else Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        if data_dir is not None and (Path(data_dir) / "pia.toml").is_file():
            shutil.copyfile(Path(data_dir) / "pia.toml", root / "pia.toml")
        write_snapshots(root, incidents)
        measured = measure_all(root)
        if measured.failures:
            raise RuntimeError("could not measure: " + "; ".join(measured.failures))
        found = _milestone_times(measured.table, root)
    rows = incidents.merge(found, on="incident", how="left", validate="one_to_one")
    posts = rows[[f"{s}_post" for s in STAGES]].set_axis(list(STAGES), axis=1)
    for stage, milestone in PAIRS.items():
        at = rows[milestone]
        rows[f"{stage}_hit"] = posts[stage].notna() & (at == posts[stage])
        on = np.select([posts[s].eq(at) for s in STAGES], list(STAGES), default="other")
        rows[f"{milestone}_on"] = np.where(at.isna(), "", on)
    return rows


def _group_rows(frame: pd.DataFrame, dataset: str, provider: str) -> list[dict[str, object]]:
    out = []
    for stage, milestone in PAIRS.items():
        if stage in NOT_CAPTURED.get(dataset, ()):
            continue
        has = frame[f"{stage}_post"].notna()
        found = frame[milestone].notna()
        with_stage, without = int(has.sum()), int((~has).sum())
        hits, anyway = int(frame[f"{stage}_hit"].sum()), int((found & ~has).sum())
        out.append(
            {
                "dataset": dataset,
                "provider": provider,
                "stage": stage,
                "milestone": milestone,
                "incidents": len(frame),
                "with_stage": with_stage,
                "hits": hits,
                "recall": hits / with_stage if with_stage else np.nan,
                "without_stage": without,
                "found_anyway": anyway,
                "false_rate": anyway / without if without else np.nan,
            }
        )
    return out


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, provider, scored stage), with an ``atlassian (all)`` group of the
    Atlassian pages and an ``(all)`` total per dataset: incidents with the stage, hits and
    recall; incidents without it, those where the milestone was found anyway, and their share."""
    out = []
    for dataset, frame in rows.groupby("dataset", sort=False):
        for provider, own in frame.groupby("provider", sort=True):
            out += _group_rows(own, str(dataset), str(provider))
        atlassian = frame[frame["provider"].str.startswith("atlassian")]
        if len(atlassian):
            out += _group_rows(atlassian, str(dataset), "atlassian (all)")
        out += _group_rows(frame, str(dataset), "(all)")
    return pd.DataFrame(out)


def update_share(rows: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: every post of a status page is an update for stakeholders, so the share of
    posts the metrics count as status updates is the recall of that label on real text."""
    posts = rows[[f"{s}_post" for s in STAGES]].notna().sum(axis=1)
    table = pd.DataFrame({"dataset": rows["dataset"], "posts": posts, "read as updates": rows["status_updates"]}).groupby("dataset").sum()
    table["share"] = (table["read as updates"] / table["posts"]).map("{:.1%}".format)
    return table


def format_summary(table: pd.DataFrame) -> str:
    """The per-provider table, one line per provider, as plain text."""
    shown = []
    for (dataset, provider), rows in table.groupby(["dataset", "provider"], sort=False):
        line = {"dataset": dataset, "provider": provider, "incidents": str(rows["incidents"].iloc[0])}
        for r in rows.itertuples():
            line[f"{r.stage} n"] = str(r.with_stage)
            line[f"{r.stage} recall"] = "-" if np.isnan(r.recall) else f"{r.recall:.1%}"
            line[f"{r.stage} false"] = "-" if np.isnan(r.false_rate) else f"{r.false_rate:.1%} ({r.found_anyway}/{r.without_stage})"
        shown.append(line)
    return pd.DataFrame(shown).fillna("").to_string(index=False)


def _text_of(rows: pd.DataFrame, stages: pd.Series) -> pd.Series:
    """Each row's text of the stage named in ``stages`` (empty where it names none), on one line."""
    text = pd.Series("", index=rows.index, dtype=object)
    for stage in STAGES:
        text = text.where(stages != stage, rows[f"{stage}_text"])
    return text.str.replace(r"\s+", " ", regex=True)


def format_misses(rows: pd.DataFrame) -> str:
    """The development view. The stage texts that missed, grouped by dataset, text, and the post
    the milestone went to instead (with that post's text), most frequent first; then the posts
    that gave a milestone where the incident has no post of its stage."""
    parts = []
    scored = {stage: rows[~rows["dataset"].isin([d for d, s in NOT_CAPTURED.items() if stage in s])] for stage in PAIRS}
    for stage, milestone in PAIRS.items():
        own = scored[stage]
        missed = own[own[f"{stage}_post"].notna() & ~own[f"{stage}_hit"]]
        if not len(missed):
            continue
        on = missed[f"{milestone}_on"]
        groups = (
            pd.DataFrame(
                {
                    "dataset": missed["dataset"],
                    "text": _text_of(missed, pd.Series(stage, index=missed.index)),
                    "went": on.replace({"": "not found", "other": "a stated time"}),
                    "said": _text_of(missed, on),
                }
            )
            .value_counts(sort=False)
            .reset_index(name="n")
            .sort_values(["n", "dataset", "text"], ascending=[False, True, True], kind="stable")
        )
        parts.append(f"\n{stage} -> {milestone}: {len(missed)} missed, {len(groups)} distinct (n, dataset, {stage} text; where {milestone} went)")
        for g in groups.itertuples():
            parts.append(f"{g.n:5d}  {g.dataset}  {g.text}")
            parts.append(f"       {milestone}: {g.went}" + (f": {g.said}" if g.said else ""))
    for stage, milestone in PAIRS.items():
        own = scored[stage]
        spare = own[own[f"{stage}_post"].isna() & own[f"{milestone}_on"].isin(STAGES)]
        if not len(spare):
            continue
        on = spare[f"{milestone}_on"]
        groups = (
            pd.DataFrame({"dataset": spare["dataset"], "on": on, "text": _text_of(spare, on)})
            .value_counts(sort=False)
            .reset_index(name="n")
            .sort_values(["n", "dataset", "text"], ascending=[False, True, True], kind="stable")
        )
        parts.append(f"\n{milestone} found in incidents with no {stage} post: {len(spare)} (n, dataset, the post it came from, its text)")
        parts += [f"{g.n:5d}  {g.dataset}  {g.on}  {g.text}" for g in groups.itertuples()]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=None, help="the shared folder (default: $PIA_SHARED, else ../shared beside the checkout)")
    parser.add_argument("--every", type=int, default=1, help="replay every K-th incident of each table")
    parser.add_argument("--data-dir", default=None, help="use this data dir's pia.toml overrides")
    parser.add_argument("--details", action="store_true", help="list the stage texts that missed")
    args = parser.parse_args(argv)
    missing = [str(shared_dir(args.shared) / p) for p in DATASETS.values() if not (shared_dir(args.shared) / p).is_file()]
    if missing:
        raise SystemExit("not found: " + ", ".join(missing) + " (give --shared DIR or set PIA_SHARED)")
    start = time.perf_counter()
    rows = replay(args.shared, every=args.every, data_dir=args.data_dir)
    seconds = time.perf_counter() - start
    pd.set_option("display.width", 250)
    print(f"{len(rows):,} incidents replayed and measured in {seconds:.1f} s")
    print("recall: share of incidents with the stage whose milestone is at that stage's post;")
    print("false: share of incidents without the stage where the milestone was found anyway")
    print("status-pages: resolved posts were never captured, so resolved is not scored there\n")
    print(format_summary(summary(rows)))
    print("\nposts read as status updates (every post of a status page is one):")
    print(update_share(rows).to_string())
    if args.details:
        print(format_misses(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
