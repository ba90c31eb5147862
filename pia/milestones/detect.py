"""Signals and milestones: what each event is evidence of, and the moments that matter.

:func:`signals` labels events (hypothesis, mitigation, restored, ...) from explicit markers
and text rules, vectorised over the whole text column: one pass of every rule combined finds
the candidate messages, then each label's rules run on those candidates only.
:func:`milestones` turns events and signals into one row per milestone with its evidence,
taking the first candidate by precedence: manual > marker > PagerDuty > rule.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from pia.errors import ConfigError
from pia.milestones.config import LABEL_MILESTONE, LABELS, MILESTONES, Config, Rule, load_config

#: Event kinds whose text the rules read: human speech in Slack and notes in PagerDuty.
TEXT_KINDS = ("message", "reply", "note", "annotate")
#: Event kinds that are a person acting (engaging) rather than a trace of one.
ACT_KINDS = ("message", "reply", "acknowledge", "annotate", "note", "assign", "escalate", "resolve", "reassign")
#: Slack kinds that count as "a message in the channel" for detection.
CHANNEL_KINDS = ("message", "reply", "bot")
_ORDER = {m: i for i, m in enumerate(MILESTONES)}

MILESTONE_COLUMNS = ["incident", "milestone", "ts", "source", "rule", "ref", "text"]
SIGNAL_COLUMNS = ["row", "label", "source", "rule"]
_PRIORITY = {"manual": 0, "marker": 1}
# Clause and sentence ends for the scoped vetoes; "v2.30.4", "10:15" and "1,000" end nothing.
_CLAUSE = r"(?:[^.,;:!?\n—–]|[.,:]\w)*"
_SENTENCE = r"(?:[^.;!?\n]|\.\w)*"


@dataclass(frozen=True)
class RuleSet:
    """A :class:`Config`'s patterns compiled once: the combined prefilter, one pattern per
    label, the scoped vetoes and the marker pattern."""

    config: Config
    prefilter: str
    labels: dict[str, str]
    vetoes: dict[str, tuple[tuple[str, str], ...]]
    marker: str
    reactions: dict[str, str]


def compile_rules(config: Config) -> RuleSet:
    """Build the combined patterns of ``config`` (each checked by ``re`` when loaded)."""
    labels = {
        label: _alternation(r.pattern for r in config.positive(label))
        for label in LABELS
        if config.positive(label)
    }
    vetoes: dict[str, tuple[tuple[str, str], ...]] = {}
    for label, cue in labels.items():
        vetoes[label] = tuple((rule.name, _scoped(config.expand(rule.pattern), rule.scope, cue)) for rule in config.vetoes(label))
    tags = sorted(config.markers, key=len, reverse=True)
    # A leading tag, optionally bold/italic (*hypothesis:*) or bracketed ([mitigated]).
    marker = (
        r"(?i)^[\s*_\[(>]*(" + "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in tags) + r")[\s*_\])]*[:\-–—]"
        if tags
        else ""
    )
    reactions = {name: rf"(?:^|,){re.escape(name)}(?:,|$)" for name in config.reactions}
    return RuleSet(config, _alternation(labels.values()), labels, vetoes, marker, reactions)


@cache
def default_rules() -> RuleSet:
    """The packaged rules, compiled on first use (not at import)."""
    return compile_rules(load_config())


def _alternation(patterns: Any) -> str:
    parts = [f"(?:{p.removeprefix('(?i)')})" for p in patterns]
    return "(?i)" + "|".join(parts) if parts else ""


def _scoped(pattern: str, scope: str, cue: str) -> str:
    veto, cue = f"(?:{pattern})", f"(?:{cue.removeprefix('(?i)')})"
    if scope == "clause":
        return f"(?i){veto}{_CLAUSE}{cue}|{cue}{_CLAUSE}{veto}"
    if scope == "after":
        return f"(?i){cue}{_SENTENCE}{veto}"
    return f"(?i){veto}"


def _arrow(text: pd.Series) -> pd.Series:
    """``text`` on Arrow storage where pyarrow is installed: its string kernels run the rules
    on RE2, many times faster than ``re`` per string (patterns RE2 cannot take, such as
    look-arounds, still run on ``re``)."""
    try:
        return text.astype(pd.StringDtype("pyarrow"))
    except ImportError:
        return text


def _contains(text: pd.Series, pattern: str) -> pd.Series:
    return text.str.contains(pattern, regex=True).fillna(False).astype(bool)


def signals(events: pd.DataFrame, rules: RuleSet | None = None) -> pd.DataFrame:
    """What each event is evidence of: one row per (event row, label) with ``source``
    (``marker`` or ``rule``) and ``rule`` (the tag, ``:reaction:``, or the rule's name).

    ``row`` is the event's positional index in ``events``. Only human Slack messages and
    PagerDuty notes are read; bots, integrations, joins and alerts carry no signal. A leading
    marker tag or a configured reaction is taken as stated; rule matches are cancelled by the
    vetoes (questions, negations, "errors persist").
    """
    rules = rules or default_rules()
    eligible = events["is_human"].to_numpy(bool) & events["kind"].isin(TEXT_KINDS).to_numpy()
    text = _arrow(events["text"].reset_index(drop=True)[eligible])
    text = text[text.str.len() > 0]
    frames = [_markers(text, events, eligible, rules), _rule_hits(text, rules)]
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    if out is None:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "string") for c in SIGNAL_COLUMNS})
    out["order"] = out["source"].map({"marker": 0, "rule": 1})
    out = out.sort_values(["row", "label", "order"], kind="stable").drop_duplicates(["row", "label"])
    return out[SIGNAL_COLUMNS].reset_index(drop=True).astype({"label": "string", "source": "string", "rule": "string"})


def _markers(text: pd.Series, events: pd.DataFrame, eligible: np.ndarray, rules: RuleSet) -> pd.DataFrame:
    frames = []
    if rules.marker:
        # extract runs in Python; the RE2 pass first leaves it only the few tagged messages
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the tag's group is for extract below
            tagged = text[_contains(text, rules.marker)]
        tag = tagged.str.extract(rules.marker, expand=False).dropna()
        if len(tag):
            key = tag.str.lower().str.replace(r"\s+", " ", regex=True)
            frames.append(
                pd.DataFrame(
                    {"row": tag.index, "label": key.map(rules.config.markers).to_numpy(), "source": "marker", "rule": (key + ":").to_numpy()}
                )
            )
    if rules.reactions:
        reacted = events["reactions"].reset_index(drop=True)[eligible]
        reacted = reacted[reacted.str.len() > 0]
        for name, pattern in rules.reactions.items():
            hit = reacted[_contains(reacted, pattern)]
            label = rules.config.reactions[name]
            frames.append(pd.DataFrame({"row": hit.index, "label": label, "source": "marker", "rule": f":{name}:"}))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SIGNAL_COLUMNS)


def _rule_hits(text: pd.Series, rules: RuleSet) -> pd.DataFrame:
    if not rules.prefilter or text.empty:
        return pd.DataFrame(columns=SIGNAL_COLUMNS)
    candidates = text[_contains(text, rules.prefilter)]
    frames = []
    for label, pattern in rules.labels.items():
        hit = candidates[_contains(candidates, pattern)]
        for _name, veto in rules.vetoes.get(label, ()):
            if hit.empty:
                break
            hit = hit[~_contains(hit, veto)]
        if hit.empty:
            continue
        frames.append(pd.DataFrame({"row": hit.index, "label": label, "source": "rule", "rule": _which(hit, rules.config.positive(label))}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SIGNAL_COLUMNS)


def _which(hit: pd.Series, candidates: tuple[Rule, ...]) -> np.ndarray:
    """The name of the first rule (in file order) that matches each of ``hit``."""
    names = np.full(len(hit), candidates[-1].name, dtype=object)
    if len(candidates) == 1:
        return names
    open_ = np.ones(len(hit), dtype=bool)
    for rule in candidates[:-1]:
        where = np.flatnonzero(open_)
        if not len(where):
            break
        matched = _contains(hit.iloc[where], "(?i)" + rule.pattern).to_numpy()
        names[where[matched]] = rule.name
        open_[where[matched]] = False
    return names


# --- manual milestones ----------------------------------------------------------------------


def manual_milestones(meta: Mapping[str, Any], origin: str = "incident.toml") -> pd.DataFrame:
    """The ``[milestones]`` table of ``incident.toml`` as milestone rows (source ``manual``).

    Raises :class:`ConfigError` for an unknown milestone or a value that is not an ISO 8601
    time with an offset.
    """
    table = meta.get("milestones", {}) or {}
    if not isinstance(table, Mapping):
        raise ConfigError(origin, "milestones", "must be a table of milestone = time")
    rows = []
    for name, value in table.items():
        key = f"milestones.{name}"
        if name not in MILESTONES:
            raise ConfigError(origin, key, f"unknown milestone (known: {', '.join(MILESTONES)})")
        rows.append({"milestone": name, "ts": _manual_time(origin, key, value)})
    frame = pd.DataFrame(rows, columns=["milestone", "ts"])
    return frame.assign(
        incident=str(meta.get("id", "")), source="manual", rule="incident.toml", ref="", text=""
    ).astype({"ts": "datetime64[ns, UTC]"})[MILESTONE_COLUMNS]


def _manual_time(origin: str, key: str, value: Any) -> pd.Timestamp:
    import datetime as dt

    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ConfigError(origin, key, f"{value.isoformat()} has no UTC offset (add Z or +00:00)")
        return pd.Timestamp(value).tz_convert("UTC")
    if not isinstance(value, str) or not re.search(r"(?:Z|z|[+-]\d{2}:?\d{2})$", value.strip()):
        raise ConfigError(origin, key, f"{value!r} is not an ISO 8601 time with an offset (e.g. 2026-11-20T14:02:00Z)")
    try:
        return pd.Timestamp(value.strip()).tz_convert("UTC")
    except ValueError:
        raise ConfigError(origin, key, f"{value!r} is not an ISO 8601 time") from None


# --- milestones -----------------------------------------------------------------------------


def milestones(
    events: pd.DataFrame,
    found: pd.DataFrame,
    manual: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (incident, milestone) that has evidence, in :data:`MILESTONES` order.

    ``found`` is :func:`signals` of ``events``; ``manual`` is :func:`manual_milestones`
    (for any incident in ``events``). Milestones without evidence have no row.
    """
    kind = events["kind"]
    pd_source = events["source"] == "pagerduty"
    slack = events["source"] == "slack"
    pos = pd.RangeIndex(len(events))
    codes, incidents = pd.factorize(events["incident"])
    incidents = pd.Index(incidents)
    candidates = []

    def add(rows: np.ndarray | pd.Index, milestone: str, source: str, rule: str | np.ndarray, priority: int) -> None:
        rows = np.asarray(rows)
        if not len(rows):
            return
        if not (milestone in ("mitigated", "restored") and source == "rule"):
            # events are in time order, so an incident's first row is its earliest: only that
            # one can win (text-rule recovery waits for the remedy check, which may drop rows)
            order = np.argsort(rows, kind="stable")
            rows = rows[order]
            rule = rule if isinstance(rule, str) else np.asarray(rule)[order]
            first = np.unique(codes[rows], return_index=True)[1]
            rows = rows[first]
            rule = rule if isinstance(rule, str) else rule[first]
        candidates.append(pd.DataFrame({"row": rows, "milestone": milestone, "source": source, "rule": rule, "priority": priority}))

    # detected: first PagerDuty trigger, else the first message in the channel
    add(pos[(pd_source & (kind == "trigger")).to_numpy()], "detected", "pagerduty", "first trigger", 2)
    add(pos[(slack & kind.isin(CHANNEL_KINDS)).to_numpy()], "detected", "rule", "first message", 3)
    add(pos[(pd_source & (kind == "acknowledge")).to_numpy()], "acknowledged", "pagerduty", "first acknowledge", 2)
    # labels: markers (priority 1) and rules (priority 3)
    for label, milestone in LABEL_MILESTONE.items():
        rows = found[found["label"] == label]
        for source, priority in (("marker", 1), ("rule", 3)):
            part = rows[rows["source"] == source]
            add(part["row"].to_numpy(), milestone, source, part["rule"].to_numpy(dtype=object), priority)
    # declared: a declaring message; else the PagerDuty incident's creation (its trigger)
    add(pos[(pd_source & (kind == "trigger")).to_numpy()], "declared", "pagerduty", "incident created", 4)
    frame = _first(events, _after_remedy(events, candidates, codes, incidents), codes)
    # resolved: the last PagerDuty resolve outranks a message
    resolves = pos[(pd_source & (kind == "resolve")).to_numpy()]
    if len(resolves):
        last = _rows_frame(events, pd.DataFrame({"row": resolves, "milestone": "resolved", "source": "pagerduty", "rule": "last resolve", "priority": 2}))
        last = last.groupby("incident", sort=False).tail(1)
        frame = _prefer(frame, last)
    frame = _engaged(events, frame, codes, incidents)
    if manual is not None and len(manual):
        frame = _prefer(frame, manual.assign(priority=0))
    frame = _restored_fallback(frame)
    order = {m: i for i, m in enumerate(MILESTONES)}
    frame = frame.assign(order=frame["milestone"].map(order)).sort_values(["incident", "order"], kind="stable")
    return frame[MILESTONE_COLUMNS].reset_index(drop=True).astype(
        {"incident": "string", "milestone": "string", "source": "string", "rule": "string", "ref": "string", "text": "string"}
    )


def _rows_frame(events: pd.DataFrame, cands: pd.DataFrame) -> pd.DataFrame:
    picked = events.iloc[cands["row"].to_numpy()]
    # .array keeps the time zone without boxing every value (to_numpy would)
    return cands.assign(
        incident=picked["incident"].array,
        ts=picked["ts"].array,
        ref=picked["ref"].array,
        text=picked["text"].array,
    )


def _first(events: pd.DataFrame, candidates: list[pd.DataFrame], codes: np.ndarray | None = None) -> pd.DataFrame:
    """The best candidate per (incident, milestone): highest priority, then earliest, then
    first in the timeline. Sorted on integer codes, not strings."""
    if not candidates:
        return pd.DataFrame(columns=[*MILESTONE_COLUMNS, "priority"]).astype({"ts": "datetime64[ns, UTC]"})
    codes = pd.factorize(events["incident"])[0] if codes is None else codes
    cands = pd.concat(candidates, ignore_index=True)
    rows = cands["row"].to_numpy()
    step = cands["milestone"].map(_ORDER).to_numpy()
    stamps = events["ts"].array.asi8[rows]
    order = np.lexsort((rows, stamps, cands["priority"].to_numpy(), step, codes[rows]))
    key = codes[rows][order] * len(MILESTONES) + step[order]
    best = order[np.unique(key, return_index=True)[1]]
    return _rows_frame(events, cands.iloc[best]).drop(columns="row")


def _after_remedy(
    events: pd.DataFrame, candidates: list[pd.DataFrame], codes: np.ndarray, incidents: pd.Index
) -> list[pd.DataFrame]:
    """Text-rule evidence of ``mitigated`` or ``restored`` from before the first remediation
    is dropped: "db looks healthy" while investigating is not a recovery. (Without any
    remediation, recovery on its own is kept.)"""
    if not candidates:
        return candidates
    firsts = _first(events, candidates, codes)
    started = firsts[firsts["milestone"] == "mitigation_started"]
    if started.empty:
        return candidates
    # no remedy in an incident: its recovery stands on its own (kept whatever its time)
    since = np.full(len(incidents), np.iinfo(np.int64).min, dtype=np.int64)
    since[incidents.get_indexer(started["incident"])] = started["ts"].array.asi8
    stamps = events["ts"].array.asi8
    out = []
    for part in candidates:
        if part["milestone"].iloc[0] in ("mitigated", "restored") and part["source"].iloc[0] == "rule":
            rows = part["row"].to_numpy()
            part = part[stamps[rows] >= since[codes[rows]]]
        out.append(part)
    return out


def _prefer(frame: pd.DataFrame, better: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``better`` replace rows of ``frame`` of the same (incident, milestone) when their
    priority is at least as high."""
    both = pd.concat([better.drop(columns="row", errors="ignore"), frame], ignore_index=True)
    both = both.sort_values(["incident", "milestone", "priority"], kind="stable")
    return both.drop_duplicates(["incident", "milestone"])


def _engaged(events: pd.DataFrame, frame: pd.DataFrame, codes: np.ndarray, incidents: pd.Index) -> pd.DataFrame:
    """engaged: the first human act after ``detected`` (an acknowledge counts at any time
    after the trigger); bots and integrations never engage."""
    detected = frame[frame["milestone"] == "detected"]
    if detected.empty:
        return frame
    never = np.iinfo(np.int64).max
    since = np.full(len(incidents), never, dtype=np.int64)
    since[incidents.get_indexer(detected["incident"])] = detected["ts"].array.asi8
    kind = events["kind"]
    rows = np.flatnonzero(events["is_human"].to_numpy(bool) & kind.isin(ACT_KINDS).to_numpy())
    stamps, start = events["ts"].array.asi8[rows], since[codes[rows]]
    ack = (kind == "acknowledge").to_numpy()[rows]
    rows = rows[(stamps > start) | (ack & (stamps >= start) & (start != never))]
    if not len(rows):
        return frame
    first = events.iloc[rows[np.unique(codes[rows], return_index=True)[1]]]  # rows are in time order
    is_ack = (first["kind"] == "acknowledge").to_numpy()
    engaged = pd.DataFrame(
        {
            "incident": first["incident"].array,
            "milestone": "engaged",
            "ts": first["ts"].array,
            "source": np.where(is_ack, "pagerduty", "rule"),
            "rule": np.where(is_ack, "first acknowledge", "first human " + first["kind"].astype(str).to_numpy(object)),
            "ref": first["ref"].array,
            "text": first["text"].array,
            "priority": np.where(is_ack, 2, 3),
        }
    )
    return pd.concat([frame, engaged], ignore_index=True)


def _restored_fallback(frame: pd.DataFrame) -> pd.DataFrame:
    """restored: where nothing shows the service back, the incident's resolve stands in."""
    have = set(frame.loc[frame["milestone"] == "restored", "incident"])
    resolved = frame[(frame["milestone"] == "resolved") & ~frame["incident"].isin(have)]
    if resolved.empty:
        return frame
    stand_in = resolved.assign(milestone="restored", rule="resolved (no restore evidence)")
    return pd.concat([frame, stand_in], ignore_index=True)
