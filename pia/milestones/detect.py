"""Signals and milestones: what each event is evidence of, and the moments that matter.

:func:`signals` labels events (hypothesis, mitigation, restored, ...) from explicit markers
and text rules, vectorised over the whole text column on Arrow storage (RE2): one pass of every
rule combined finds the candidate messages, then each label's rules run on those candidates
only, and each veto once, on the messages of the labels it cancels.
:func:`milestones` turns events and signals into one row per milestone with its evidence,
taking the first candidate by precedence (:data:`PRIORITY`): manual > marker > PagerDuty >
an incident platform's status change > a status page > rule on human text > alerting bot, on
integer incident codes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pia.errors import ConfigError
from pia.events.schema import utc_ns
from pia.milestones.config import (
    LABEL_MILESTONE,
    LABELS,
    MILESTONES,
    PLACEHOLDER,
    Config,
    Rule,
    load_config,
)
from pia.milestones.normalise import normal_text
from pia.milestones.numbers import moves
from pia.milestones.stated import IMPACT, stated_times
from pia.milestones.vocative import addressed

#: Event kinds whose text the rules read: human speech in Slack and notes in PagerDuty.
TEXT_KINDS = ("message", "reply", "note", "annotate")
#: Event kinds that are a person acting (engaging) rather than a trace of one; ``relayed`` is
#: a bot's post of a person's act (see :meth:`pia.integrations.Readings.credited`).
ACT_KINDS = (
    "message",
    "reply",
    "acknowledge",
    "annotate",
    "note",
    "assign",
    "escalate",
    "resolve",
    "reassign",
    "relayed",
)
#: Slack kinds that count as "a message in the channel" for detection: a bot's post keeps
#: counting when it is credited to a person or stands in for a PagerDuty log entry.
CHANNEL_KINDS = (
    "message",
    "reply",
    "bot",
    "relayed",
    "trigger",
    "acknowledge",
    "escalate",
    "resolve",
    "annotate",
)
_ORDER = {m: i for i, m in enumerate(MILESTONES)}

#: A message with the first label (from any source) does not also carry the second from a
#: rule, unless from one of the rules named: "back to normal" is not also "impact reduced",
#: but "back to normal, we are monitoring" is the monitoring stage of a status page.
SUPERSEDES = {"restored": ("mitigated", ("watching",))}
#: Where nothing shows the first milestone, the second stands in for it (its rule says so):
#: the incident's resolve for ``restored``; ``restored`` for ``mitigated`` where a remediation
#: was announced by then and the incident was not closed by the same word, since the service
#: back after an action is impact stopped by it. The third entry is the milestone the incident
#: must have by then, if any.
STAND_INS = (
    ("restored", "resolved", None, "resolved (no restore evidence)"),
    ("mitigated", "restored", "mitigation_started", "restored (no mitigated evidence)"),
)
MILESTONE_COLUMNS = ["incident", "milestone", "ts", "source", "rule", "ref", "text", "evidence_ts"]
SIGNAL_COLUMNS = ["row", "label", "source", "rule"]
#: Precedence of evidence, best first. ``fallback`` is the PagerDuty incident's creation
#: standing in for ``declared`` where nothing declares it, below any declaring message.
PRIORITY = {
    "manual": 0,
    "marker": 1,
    "pagerduty": 2,
    "platform": 3,
    "statuspage": 4,
    "rule": 5,
    "fallback": 6,
    "alert": 7,
}
# Clause and sentence ends for the scoped vetoes; "v2.30.4", "10:15" and "1,000" end nothing.
_CLAUSE = r"(?:[^.,;:!?\n—–]|[.,:]\w)*"
_SENTENCE = r"(?:[^.;!?\n]|\.\w)*"
#: What a ``before`` veto may leave between itself and the cue: up to two words, and the head
#: of a hyphenated word the cue starts inside ("once the hot-fix has been applied").
_BEFORE_GAP = r"(?: [^ .,;:!?\n][^ ]*){0,2} (?:[^ ]*-)?"


@dataclass(frozen=True)
class Veto:
    """A veto rule as applied to one label: ``pattern`` is scoped around that label's cue,
    ``bare`` is the veto on its own, which any scoped match contains. ``labels`` are the
    labels the pattern stands for when it is nothing but ``{label}`` placeholders."""

    name: str
    pattern: str
    bare: str
    labels: tuple[str, ...] = ()
    scope: str = "message"


@dataclass(frozen=True)
class RuleSet:
    """A :class:`Config`'s patterns compiled once: each label's rules in file order, the
    label's rules combined (what its vetoes are scoped around), the scoped vetoes and the
    marker pattern."""

    config: Config
    rules: dict[str, tuple[tuple[str, str], ...]]
    labels: dict[str, str]
    vetoes: dict[str, tuple[Veto, ...]]
    marker: str
    reactions: dict[str, str]
    numbers: dict[str, str] = field(default_factory=dict)
    #: (label, veto) -> what lifts that veto: its sparing rules alone, and right before the
    #: label's cue
    spares: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


def compile_rules(config: Config) -> RuleSet:
    """Build the patterns of ``config`` (each checked by ``re`` when loaded)."""
    rules = {
        label: tuple((r.name, config.pattern(r)) for r in config.positive(label))
        for label in LABELS
        if config.positive(label)
    }
    labels = {
        label: _alternation(pattern for _, pattern in patterns) for label, patterns in rules.items()
    }
    vetoes: dict[str, tuple[Veto, ...]] = {}
    for label, cue in labels.items():
        vetoes[label] = tuple(_veto(config, rule, cue) for rule in config.vetoes(label))
    tags = sorted(config.markers, key=len, reverse=True)
    # A leading tag, optionally bold/italic (*hypothesis:*) or bracketed ([mitigated]).
    marker = (
        r"(?i)^[\s*_\[(>]*("
        + "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in tags)
        + r")[\s*_\])]*[:\-–—]"
        if tags
        else ""
    )
    reactions = {name: rf"(?:^|,){re.escape(name)}(?:,|$)" for name in config.reactions}
    numbers = {r.name: r.numbers for r in config.rules if r.numbers}
    spares = {}
    for label, cue in labels.items():
        for veto in config.vetoes(label):
            if lifts := config.spares(veto.name):
                lift = _alternation(config.pattern(r) for r in lifts)
                cued = f"(?i)(?:{lift.removeprefix('(?i)')}) (?:{cue.removeprefix('(?i)')})"
                spares[label, veto.name] = (lift, cued)
    return RuleSet(config, rules, labels, vetoes, marker, reactions, numbers, spares)


@cache
def default_rules() -> RuleSet:
    """The packaged rules, compiled on first use (not at import)."""
    return compile_rules(load_config())


def _alternation(patterns: Any) -> str:
    parts = [f"(?:{p.removeprefix('(?i)')})" for p in patterns]
    return "(?i)" + "|".join(parts) if parts else ""


def _veto(config: Config, rule: Rule, cue: str) -> Veto:
    pattern = config.expand(rule.pattern)
    placeholders = PLACEHOLDER.findall(rule.pattern)
    only = "|".join(f"{{{label}}}" for label in placeholders) == rule.pattern
    scoped, bare = _scoped(pattern, rule.scope, cue), _scoped(pattern, "message", cue)
    return Veto(rule.name, scoped, bare, tuple(placeholders) if only else (), rule.scope)


def _scoped(pattern: str, scope: str, cue: str) -> str:
    veto, cue = f"(?:{pattern})", f"(?:{cue.removeprefix('(?i)')})"
    if scope == "clause":
        return f"(?i){veto}{_CLAUSE}{cue}|{cue}{_CLAUSE}{veto}"
    if scope == "after":
        return f"(?i){cue}{_SENTENCE}{veto}"
    if scope == "before":
        return f"(?i){veto}{_BEFORE_GAP}{cue}"
    return f"(?i){veto}"


def _arrow(values: Any) -> pa.Array:
    """``values`` as an Arrow string array: its kernels run the rules on RE2, many times
    faster than ``re`` per string, and without a Python object per string."""
    if getattr(getattr(values, "dtype", None), "storage", None) == "pyarrow":
        return pa.array(values)
    # straight from the Python strings: a pandas Arrow array on the way costs twice as much
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def _match(text: pa.Array, pattern: str) -> np.ndarray:
    """Where ``pattern`` is found in ``text`` (never in a null). RE2 runs every pattern it can
    take; the rest (look-arounds, backreferences) run on ``re``."""
    try:
        found = pc.match_substring_regex(text, pattern)
    except pa.ArrowInvalid:
        search = re.compile(pattern).search
        return np.fromiter(
            (s is not None and search(s) is not None for s in text.to_pylist()), bool, len(text)
        )
    return _fill(found)


def _spoken(events: pd.DataFrame) -> np.ndarray:
    """Positions of what humans said: the only text the rules read."""
    return np.flatnonzero(
        events["is_human"].to_numpy(bool) & events["kind"].isin(TEXT_KINDS).to_numpy()
    )


def signals(events: pd.DataFrame, rules: RuleSet | None = None) -> pd.DataFrame:
    """What each event is evidence of: one row per (event row, label) with ``source``
    (``marker`` or ``rule``) and ``rule`` (the tag, ``:reaction:``, or the rule's name).

    ``row`` is the event's positional index in ``events``. Only human Slack messages and
    PagerDuty notes are read; bots, integrations, joins and alerts carry no signal. A leading
    marker tag or a configured reaction is taken as stated; the text rules read the
    :mod:`~pia.milestones.normalise` form of each distinct message once, and their matches
    are cancelled by the vetoes (questions, negations, "errors persist").
    """
    rules = rules or default_rules()
    eligible = _spoken(events)
    text = _arrow(events["text"].array[eligible])
    said = _fill(pc.greater(pc.binary_length(text), 0))
    rows, text = eligible[said], text.filter(said)
    # each distinct message is read once; its labels go to every row that says it
    distinct = pc.unique(text)
    which = pc.index_in(text, value_set=distinct).to_numpy(zero_copy_only=False)
    distinct, which = addressed(events, rows, distinct, which)
    on_distinct = [*_markers(distinct, rules), *_rule_hits(normal_text(distinct), rules)]
    order = np.argsort(which, kind="stable")
    parts = [_spread(part, which[order], rows[order]) for part in on_distinct]
    parts = [p for p in (*parts, *_reactions(events, eligible, rules)) if len(p[0])]
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c == "row" else "string") for c in SIGNAL_COLUMNS}
        )
    row = np.concatenate([p[0] for p in parts])
    label, source, rule = (
        np.concatenate([_each(p[i], len(p[0])) for p in parts]) for i in (1, 2, 3)
    )
    # a rule's weaker label gives way to a stronger one on the same message ("back to normal"
    # is not also "impact reduced"); a marker is taken as stated
    for strong, (weak, unless) in SUPERSEDES.items():
        held = np.unique(row[label == strong])
        gone = (label == weak) & (source == "rule") & np.isin(row, held) & ~np.isin(rule, unless)
        row, label, source, rule = row[~gone], label[~gone], source[~gone], rule[~gone]
    # one row per (row, label), in row then label order; a marker outranks a rule, and among
    # markers the first found (tag, then reactions in config order)
    rank, names = pd.factorize(label, sort=True)
    rank = np.where(rank < 0, len(names), rank)
    order = np.lexsort((source != "marker", rank, row))
    keep = order[np.r_[True, (np.diff(row[order]) != 0) | (np.diff(rank[order]) != 0)]]
    return pd.DataFrame(
        {
            "row": row[keep].astype("int64"),
            "label": pd.array(label[keep], dtype="string"),
            "source": pd.array(source[keep], dtype="string"),
            "rule": pd.array(rule[keep], dtype="string"),
        }
    )


def _spread(part: _Part, which: np.ndarray, rows: np.ndarray) -> _Part:
    """A part found on distinct messages, given to every event row that says one of them
    (``which``, sorted, is the distinct message of each of ``rows``)."""
    hit, label, source, rule = part
    start = np.searchsorted(which, hit, side="left")
    count = np.searchsorted(which, hit, side="right") - start
    # positions start_i : start_i + count_i for every hit i, without a loop
    offsets = np.repeat(start - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())
    taken = rows[offsets]

    def spread(value: Any) -> Any:
        return value if np.ndim(value) == 0 else np.repeat(np.asarray(value, dtype=object), count)

    return taken, spread(label), source, spread(rule)


#: Event rows with their label, source and rule (one for all rows, or one per row).
_Part = tuple[np.ndarray, Any, str, Any]


def _each(value: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=object), n)


def _markers(text: pa.Array, rules: RuleSet) -> list[_Part]:
    """Leading tags of ``text`` (distinct raw messages), by position in ``text``."""
    if not rules.marker or not len(text):
        return []
    # extract runs in Python: the RE2 pass first leaves it only the few tagged messages
    where = np.flatnonzero(_match(text, rules.marker))
    tagged = pd.Series(pd.array(text.take(where), dtype=pd.StringDtype("pyarrow")), index=where)
    tag = tagged.str.extract(rules.marker, expand=False).dropna()
    if not len(tag):
        return []
    key = tag.str.lower().str.replace(r"\s+", " ", regex=True)
    return [
        (
            tag.index.to_numpy(),
            key.map(rules.config.markers).to_numpy(object),
            "marker",
            (key + ":").to_numpy(object),
        )
    ]


def _reactions(events: pd.DataFrame, eligible: np.ndarray, rules: RuleSet) -> list[_Part]:
    if not rules.reactions or not len(eligible):
        return []
    # the few rows with reactions, found with numpy (pandas' string methods loop in Python)
    values = objects(events["reactions"])[eligible]
    some = ~pd.isna(values)
    some[some] = values[some] != ""
    reacted = pd.Series(values[some], index=eligible[some], dtype=object)
    parts = []
    for name, pattern in rules.reactions.items():
        # the name is in every match: a plain substring search leaves the pattern a few rows
        near = reacted[reacted.str.contains(name, regex=False).fillna(False).to_numpy(bool)]
        hit = near[_contains(near, pattern)]
        parts.append((hit.index.to_numpy(), rules.config.reactions[name], "marker", f":{name}:"))
    return parts


def _fill(mask: pa.Array) -> np.ndarray:
    """An Arrow boolean array as numpy, null as False."""
    filled = pc.fill_null(mask, False)
    return filled.to_numpy(zero_copy_only=False)


def _contains(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.contains(pattern, regex=True).fillna(False).to_numpy(bool)


def _rule_hits(text: pa.Array, rules: RuleSet) -> list[_Part]:
    """Rule labels of ``text`` (distinct normalised messages), by position in ``text``.

    Each rule runs on its own (RE2 keeps a small pattern in its fast automaton, where the
    alternation of them all overflows it), in file order and only on the messages no earlier
    rule of its label matched, so the first rule that matches names the evidence."""
    if not rules.rules or not len(text):
        return []
    raw: dict[str, np.ndarray] = {}
    names: dict[str, np.ndarray] = {}
    for label, patterns in rules.rules.items():
        hit, name = np.zeros(len(text), dtype=bool), np.full(len(text), None, dtype=object)
        for rule, pattern in patterns:
            open_ = np.flatnonzero(~hit)
            found = open_[_match(text.take(open_), pattern)]
            if rule in rules.numbers:
                found = found[moves(text.take(found), rules.numbers[rule])]
            hit[found], name[found] = True, rule
        raw[label], names[label] = hit, name
    # each veto once on the messages of the labels it cancels
    bare: dict[str, np.ndarray] = {}
    for label in raw:
        for veto in rules.vetoes.get(label, ()):
            if veto.bare in bare:
                continue
            if veto.labels:
                bare[veto.bare] = np.logical_or.reduce([raw[x] for x in veto.labels])
                continue
            need = np.logical_or.reduce(
                [raw[x] for x in raw if any(v.bare == veto.bare for v in rules.vetoes.get(x, ()))]
            )
            found = np.zeros(len(text), dtype=bool)
            at = np.flatnonzero(need)
            found[at] = _match(text.take(at), veto.bare)
            bare[veto.bare] = found
    parts = []
    for label in rules.labels:
        hit = raw[label].copy()
        vetoes = rules.vetoes.get(label, ())
        for veto in vetoes:
            if veto.scope in _PER_CLAUSE:
                continue
            suspect = np.flatnonzero(hit & bare[veto.bare])
            if veto.pattern != veto.bare and len(suspect):
                suspect = suspect[_match(text.take(suspect), veto.pattern)]
            hit[suspect[_applies(text.take(suspect), rules.spares.get((label, veto.name)))]] = False
        in_clause = [v for v in vetoes if v.scope in _PER_CLAUSE]
        if in_clause:
            suspect = np.flatnonzero(hit & np.logical_or.reduce([bare[v.bare] for v in in_clause]))
            # each message judged by the vetoes that apply to it: all but those lifted there
            near = text.take(suspect)
            applies = np.stack(
                [_applies(near, rules.spares.get((label, v.name))) for v in in_clause], axis=1
            )
            cues = [cue for _, cue in rules.rules[label]]
            for which in np.unique(applies, axis=0):
                rows = suspect[(applies == which).all(axis=1)]
                kept = [v for v, keep in zip(in_clause, which, strict=True) if keep]
                if kept:
                    hit[rows[_vetoed_in_clause(text.take(rows), cues, kept)]] = False
        at = np.flatnonzero(hit)
        if len(at):
            parts.append((at, label, "rule", names[label][at]))
    return parts


def _applies(text: pa.Array, spare: tuple[str, str] | None) -> np.ndarray:
    """Where a veto applies to ``text``: everywhere but where ``spare`` (its sparing rules
    alone, and before the label's cue) lifts it."""
    return ~_narrowed(text, *spare) if spare else np.ones(len(text), dtype=bool)


def _narrowed(text: pa.Array, wide: str, narrow: str) -> np.ndarray:
    """Where ``narrow`` matches ``text``, run only where ``wide`` (which any match of
    ``narrow`` holds) does: ``narrow`` holds a label's every rule, and RE2 building it on
    each call costs more than reading a few rows."""
    found = _match(text, wide) if len(text) else np.zeros(0, dtype=bool)
    if narrow != wide and found.any():
        at = np.flatnonzero(found)
        found[at] = _match(text.take(at), narrow)
    return found


#: Where a clause of the normalised text ends: its punctuation tokens and line breaks.
_CLAUSE_END = r" [.,;:!?—–] | \n |^[.,;:!?—–] | [.,;:!?—–]$"
#: Veto scopes judged clause by clause: a message keeps its label while one clause holds a cue
#: the veto does not reach ("we are working to clear the backlog. errors are back to normal").
_PER_CLAUSE = ("clause", "before")


def _vetoed_in_clause(text: pa.Array, cues: list[str], vetoes: list[Veto]) -> np.ndarray:
    """Which of ``text`` lose the label of ``cues`` (its rules' patterns) to ``vetoes`` judged
    per clause: every clause that holds a cue also holds one of the vetoes (a ``clause`` veto
    anywhere in it, a ``before`` veto just before a cue). A cue that only matches across
    clauses (no single clause holds one) falls back to the scoped patterns on the whole
    message. The cues run one by one, as the rules do (their alternation overflows RE2's
    fast automaton)."""
    clauses = pc.split_pattern_regex(text, _CLAUSE_END)
    parent = pc.list_parent_indices(clauses).to_numpy()
    flat = pc.list_flatten(clauses)
    has_cue = np.zeros(len(flat), dtype=bool)
    for cue in cues:
        open_ = np.flatnonzero(~has_cue)
        has_cue[open_[_match(flat.take(open_), cue)]] = True
    has_veto = np.zeros(len(flat), dtype=bool)
    at = np.flatnonzero(has_cue)
    for veto in vetoes:
        open_ = at[~has_veto[at]]
        scoped = veto.bare if veto.scope == "clause" else veto.pattern
        has_veto[open_] = _narrowed(flat.take(open_), veto.bare, scoped)
    free = np.bincount(parent, weights=has_cue & ~has_veto, minlength=len(text)) > 0
    any_cue = np.bincount(parent, weights=has_cue, minlength=len(text)) > 0
    vetoed = any_cue & ~free
    across = np.flatnonzero(~any_cue)
    for veto in vetoes:
        if len(across):
            vetoed[across] |= _narrowed(text.take(across), veto.bare, veto.pattern)
    # the few left vetoed keep the label where a cue spanning clauses has no veto of its own
    doubt = np.flatnonzero(vetoed)
    if len(doubt):
        spans = (~any_cue)[doubt]
        kept = [
            _free_span(message, cues, vetoes, every)
            for message, every in zip(text.take(doubt).to_pylist(), spans, strict=True)
        ]
        vetoed[doubt[np.asarray(kept, dtype=bool)]] = False
    return vetoed


#: How many places a cue is tried at in one message, and how far back its veto may stand:
#: the span check runs in Python, so a 100 KB message must not make it quadratic.
_SPAN_TRIES, _SPAN_LOOKBACK = 64, 300


def _free_span(message: str, cues: list[str], vetoes: list[Veto], every: bool) -> bool:
    """Whether a cue of ``message`` that spans clauses (any cue where ``every``: no clause
    holds one) has none of ``vetoes`` on it: a ``before`` veto just before it, a ``clause``
    veto in its first or its last clause. "increased the resources ... in order to mitigate
    the issue. we are now monitoring" holds "increased ... monitoring" free, whatever "in
    order to" does to the cue at "mitigate"."""
    for cue in cues:
        search, at = _compiled(cue).search, 0
        for _ in range(_SPAN_TRIES):
            found = search(message, at)
            if found is None:
                break
            start, end = found.span()
            at = start + 1
            ends = [m.span() for m in _ENDS_CLAUSE.finditer(message, start, end)]
            if not (ends or every):
                continue
            head = message[max(0, start - _SPAN_LOOKBACK) : start]
            # the clauses the cue begins and ends in (one clause where it crosses none)
            first = (
                _clause(_TAIL_CLAUSE.search(head)) + message[start : ends[0][0] if ends else end]
            )
            tail = message[ends[-1][1] : end] if ends else ""
            last = tail + _clause(_HEAD_CLAUSE.match(message, end))
            if not any(_vetoes_span(veto, head, first, tail, last) for veto in vetoes):
                return True
    return False


def _vetoes_span(veto: Veto, head: str, first: str, tail: str, last: str) -> bool:
    """Whether ``veto`` cancels a cue that spans clauses: ``head`` is the text before it,
    ``first`` and ``last`` its first and last clauses, ``tail`` its part in the last
    ("monitor. we need to fix": "need to" stands before the cue's last words)."""
    found = _compiled(veto.bare).search
    if veto.scope == "before":
        return _compiled(veto.bare + _BEFORE_GAP + r"\Z").search(head) is not None or bool(
            tail and found(tail)
        )
    return found(first) is not None or found(last) is not None


#: A clause end inside a cue's match (not the stop a cue may end on), and the clause a
#: text ends or starts with.
_ENDS_CLAUSE = re.compile(r" [.,;:!?—–] | \n ")
_TAIL_CLAUSE, _HEAD_CLAUSE = re.compile(_CLAUSE + r"\Z"), re.compile(_CLAUSE)


def _clause(found: re.Match[str] | None) -> str:
    return found.group() if found else ""


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


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
    frame = frame.assign(
        incident=str(meta.get("id", "")), source="manual", rule="incident.toml", ref="", text=""
    )
    frame = frame.astype({"ts": "datetime64[ns, UTC]"})
    return frame.assign(evidence_ts=frame["ts"])[MILESTONE_COLUMNS]


def _manual_time(origin: str, key: str, value: Any) -> pd.Timestamp:
    import datetime as dt

    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ConfigError(
                origin, key, f"{value.isoformat()} has no UTC offset (add Z or +00:00)"
            )
        text = value.isoformat()
    elif isinstance(value, str) and re.search(r"(?:Z|z|[+-]\d{2}:?\d{2})$", value.strip()):
        text = value.strip()
    else:
        raise ConfigError(
            origin,
            key,
            f"{value!r} is not an ISO 8601 time with an offset (e.g. 2026-11-20T14:02:00Z)",
        )
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ConfigError(origin, key, f"{value!r} is not an ISO 8601 time") from None
    try:
        return utc_ns(stamp)
    except ValueError as error:
        raise ConfigError(origin, key, f"{text} is {error}") from None


# --- milestones -----------------------------------------------------------------------------


def milestones(
    events: pd.DataFrame,
    found: pd.DataFrame,
    manual: pd.DataFrame | None = None,
    *,
    zone: str = "UTC",
    runners_up: int = 0,
    integrated: pd.DataFrame | None = None,
    incidents: Incidents | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, Callable[[], pd.DataFrame]]:
    """One row per (incident, milestone) that has evidence, in :data:`MILESTONES` order.

    ``found`` is :func:`signals` of ``events``; ``manual`` is :func:`manual_milestones`
    (for any incident in ``events``). Milestones without evidence have no row. ``ts`` is the
    milestone's time and ``evidence_ts`` the time of its evidence: they differ where the text
    states when a state began ("normal since 14:53", read in ``zone`` where no zone is given).
    With ``runners_up`` > 0, also returns a function that builds the candidates of each
    milestone, best first (at most that many per milestone), as :data:`CANDIDATE_COLUMNS`:
    only a review or ``--explain`` needs them, so they are built when first asked for.
    ``integrated`` is the evidence bots reported (:attr:`pia.integrations.Readings.evidence`),
    each row offered at its source's :data:`PRIORITY`. ``incidents`` is
    :meth:`Incidents.of` ``events``, where the caller has it.
    """
    incidents = incidents or Incidents.of(events)
    codes = incidents.codes
    manual = manual if manual is not None and len(manual) else None
    best = _Best(codes, events["ts"].array.asi8, len(incidents.names), runners_up)
    kind = events["kind"]
    is_pd, slack = _is(events["source"], "pagerduty"), _is(events["source"], "slack")
    triggers = np.flatnonzero(is_pd & _is(kind, "trigger"))
    # detected: first PagerDuty trigger, else the first message in the channel
    best.offer(
        best.first(triggers), "detected", "pagerduty", "first trigger", PRIORITY["pagerduty"]
    )
    integrated = (
        integrated
        if integrated is not None
        else pd.DataFrame(columns=["row", "milestone", "source", "rule", "last"])
    )
    # an alert that fired is detection where nothing in the channel is earlier (offered before
    # the first message, so the same post is named as the alert it is)
    firing = integrated[
        (integrated["milestone"] == "detected").to_numpy(bool)
        & (integrated["source"] == "alert").to_numpy(bool)
    ]
    best.offer(
        firing["row"].to_numpy(np.int64),
        "detected",
        "alert",
        firing["rule"].to_numpy(object),
        PRIORITY["rule"],
    )
    channel = np.flatnonzero(slack & kind.isin(CHANNEL_KINDS).to_numpy(bool))
    best.offer(best.first(channel), "detected", "rule", "first message", PRIORITY["rule"])
    acks = np.flatnonzero(is_pd & _is(kind, "acknowledge"))
    best.offer(
        best.first(acks), "acknowledged", "pagerduty", "first acknowledge", PRIORITY["pagerduty"]
    )
    _integrated(integrated.drop(firing.index), best)
    # labels: markers and rules
    rows = found["row"].to_numpy(np.int64)
    label, labels = pd.factorize(found["label"])
    source, sources = pd.factorize(found["source"])
    rule = objects(found["rule"])
    spoken = _spoken(events)
    stated = _stated(events, spoken, found, zone)
    never = np.iinfo(np.int64).max
    recovery, guesses = [], []
    for name, milestone in LABEL_MILESTONE.items():
        for kind_of in ("marker", "rule"):
            priority = PRIORITY[kind_of]
            at = np.flatnonzero(
                (label == _code(labels, name)) & (source == _code(sources, kind_of))
            )
            at = at[np.argsort(rows[at], kind="stable")]
            stamps = _when(stated.get(milestone), rows[at], best.stamps)
            if kind_of == "rule" and milestone in ("mitigated", "restored"):
                recovery.append((rows[at], rule[at], milestone, stamps))
            elif kind_of == "rule" and milestone == "first_hypothesis":
                guesses.append((rows[at], rule[at]))
            else:
                best.offer(rows[at], milestone, kind_of, rule[at], priority, when=stamps)
    # impact start: a time stated by a message about the trouble ("errors since 13:58")
    if "impact_start" in stated:
        at, when = stated["impact_start"]
        best.offer(at, "impact_start", "rule", "stated time", PRIORITY["rule"], when=when)
    # declared: a declaring message; else the PagerDuty incident's creation (its trigger)
    best.offer(
        best.first(triggers), "declared", "pagerduty", "incident created", PRIORITY["fallback"]
    )
    # text-rule recovery from before the first remediation (of any source) is dropped: "db
    # looks healthy" while investigating is not a recovery (without any remediation it stands
    # on its own); a status update that says so is a declaration to customers, and stands
    since = best.earliest("mitigation_started", np.iinfo(np.int64).min)
    updates = rows[label == _code(labels, "status_update")]
    for part, names, milestone, stamps in recovery:
        keep = (best.stamps[part] >= since[codes[part]]) | np.isin(part, updates)
        best.offer(
            part[keep],
            milestone,
            "rule",
            names[keep],
            PRIORITY["rule"],
            when=None if stamps is None else stamps[keep],
        )
        if milestone == "restored":
            watched = rows[label == _code(labels, "mitigated")]
            _last_word(spoken, np.setdiff1d(part[keep], watched), best)
    # resolved: the last PagerDuty resolve outranks a message
    resolves = np.flatnonzero(is_pd & _is(kind, "resolve"))
    best.offer(
        best.last(resolves),
        "resolved",
        "pagerduty",
        "last resolve",
        PRIORITY["pagerduty"],
        ties=True,
    )
    # a cause first named after someone said the incident is resolved is hindsight (a closing
    # summary, a postmortem), not a hypothesis of the response; an alert that resolved itself
    # closes nothing, people may only then look into it
    closed = np.where(
        np.isin(best.source[_ORDER["resolved"] :: len(MILESTONES)], ("marker", "rule")),
        best.stamp("resolved", never),
        never,
    )
    for part, names in guesses:
        keep = best.stamps[part] <= closed[codes[part]]
        best.offer(part[keep], "first_hypothesis", "rule", names[keep], PRIORITY["rule"])
    _engaged(events, best)
    _working_hypothesis(found, best)
    frame = best.frame(events, incidents.names, manual)
    return (
        (frame, partial(best.candidates, events, incidents.names, manual, runners_up))
        if runners_up
        else frame
    )


def _last_word(spoken: np.ndarray, restoring: np.ndarray, best: _Best) -> None:
    """resolved where nothing resolves the incident: a message saying the service is back
    (and not that it is being watched) that is the last thing anyone said, as a status
    page's final "operating normally" is; offered below any resolve, so a resolving message
    or the PagerDuty resolve still wins. ``spoken`` is :func:`_spoken` of the events."""
    last = best.last(spoken)
    best.offer(
        last[np.isin(last, restoring)],
        "resolved",
        "rule",
        "restored, nothing said after",
        PRIORITY["fallback"],
    )


def _integrated(evidence: pd.DataFrame, best: _Best) -> None:
    """Offer what the bots reported: each (milestone, source) at the source's priority; the
    last of an incident's rows where the row says so (a resolve, a recovery), else the
    earliest. PagerDuty's creation stands in for ``declared`` only as the fallback."""
    for (milestone, source, last), part in evidence.groupby(["milestone", "source", "last"]):
        milestone, source = str(milestone), str(source)
        rows = part["row"].to_numpy(np.int64)
        order = np.argsort(rows, kind="stable")
        rows, rule = rows[order], part["rule"].to_numpy(object)[order]
        priority = PRIORITY[
            "fallback" if (source, milestone) == ("pagerduty", "declared") else source
        ]
        if last:
            pick = best.last(rows)
            best.offer(pick, milestone, source, rule[np.searchsorted(rows, pick)], priority)
        else:
            best.offer(rows, milestone, source, rule, priority)


def _stated(
    events: pd.DataFrame, spoken: np.ndarray, found: pd.DataFrame, zone: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Stated times by milestone: (event rows ascending, times in ns), for the messages of
    ``spoken`` (:func:`_spoken`) that carry a state label or an impact cue (see
    :mod:`pia.milestones.stated`)."""
    if not len(spoken):
        return {}
    text = _arrow(events["text"].array[spoken])
    distinct = pc.unique(text)
    which = pc.index_in(text, value_set=distinct).to_numpy(zero_copy_only=False)
    # only messages with a clock time or a count of units can state a time ...
    maybe = _fill(
        pc.match_substring_regex(distinct, r"\d[:h.]\d\d|\d\s*(?:s|sec|m|min|h|hr|hour|minute)")
    )[which]
    label = objects(found["label"])
    rows = found["row"].to_numpy(np.int64)
    restored = np.isin(spoken, rows[label == "restored"])
    mitigated = np.isin(spoken, rows[label == "mitigated"])
    # ... and only a state, or trouble starting, is placed at one
    maybe &= restored | mitigated | _fill(pc.match_substring_regex(distinct, IMPACT))[which]
    spoken, restored, mitigated = spoken[maybe], restored[maybe], mitigated[maybe]
    if not len(spoken):
        return {}
    times = stated_times(
        pd.Series(events["text"].array[spoken]),
        pd.Series(events["ts"].array[spoken]),
        restored,
        mitigated,
        zone,
    )
    rows = spoken[times["position"].to_numpy(np.int64)]
    milestone, stamps = objects(times["milestone"]), times["ts"].array.asi8
    out = {}
    for name in pd.unique(milestone):
        part = np.flatnonzero(milestone == name)  # rows ascending: spoken is
        out[str(name)] = (rows[part], stamps[part])
    return out


def _when(
    stated: tuple[np.ndarray, np.ndarray] | None, rows: np.ndarray, stamps: np.ndarray
) -> np.ndarray | None:
    """Each of ``rows``' stated time where it has one, else its own time; None if none has."""
    if stated is None or not len(rows):
        return None
    have, when = stated
    at = np.searchsorted(have, rows)
    hit = (at < len(have)) & (have[np.minimum(at, len(have) - 1)] == rows)
    return np.where(hit, when[np.minimum(at, len(have) - 1)], stamps[rows])


@dataclass(frozen=True)
class Incidents:
    """Each event's incident as an integer: ``codes[row]`` is its position in ``names`` (in
    order of first appearance). Factorised once per detection and shared by every step that
    groups by incident: hashing a million ids costs as much as a step's own work."""

    codes: np.ndarray
    names: pd.Index

    @classmethod
    def of(cls, events: pd.DataFrame) -> Incidents:
        codes, names = pd.factorize(events["incident"])
        return cls(codes, pd.Index(np.asarray(names, dtype=object)))


def objects(column: pd.Series) -> np.ndarray:
    """A text column's values as an object array (read only: Python storage is shared, not
    copied), without the null scan pandas makes on every ``to_numpy``."""
    return np.asarray(column.array, dtype=object)


def _is(column: pd.Series, value: str) -> np.ndarray:
    """Where a category column (never null: the events contract) equals ``value``."""
    return (column == value).to_numpy(bool)


def _code(uniques: pd.Index, value: str) -> int:
    where = uniques.get_indexer(pd.Index([value]))[0]
    return int(where) if where >= 0 else -2


#: One row per candidate of a milestone, best first: what ``pia metrics --explain`` prints.
CANDIDATE_COLUMNS = [
    "incident",
    "milestone",
    "rank",
    "ts",
    "evidence_ts",
    "source",
    "rule",
    "actor",
    "ref",
    "text",
]


class _Best:
    """The best evidence so far of each (incident, milestone): the highest priority (lowest
    number), then the earliest, then the first in the timeline. Kept in flat arrays indexed
    by incident code and milestone, so no candidate frame is ever sorted on strings. Every
    candidate offered is kept too (``pool``), for the runners-up a reviewer may prefer."""

    def __init__(
        self, codes: np.ndarray, stamps: np.ndarray, incidents: int, keep: int = 0
    ) -> None:
        self.codes, self.stamps, self.keep = codes, stamps, keep
        size = incidents * len(MILESTONES)
        self.row = np.full(size, -1, dtype=np.int64)
        self.when = np.zeros(size, dtype=np.int64)
        self.priority = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
        self.source = np.full(size, None, dtype=object)
        self.rule = np.full(size, None, dtype=object)
        self.pool: list[tuple[np.ndarray, str, str, Any, int, np.ndarray]] = []
        #: the earliest time offered for each (incident, milestone), whatever its priority
        self.seen = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)

    def first_of(self, rows: np.ndarray) -> np.ndarray:
        """Positions in ``rows`` (ascending) of each incident's first."""
        return np.unique(self.codes[rows], return_index=True)[1]

    def first(self, rows: np.ndarray) -> np.ndarray:
        """Each incident's first of ``rows`` (ascending): events are in time order, so only
        that one can win."""
        return rows[self.first_of(rows)]

    def last(self, rows: np.ndarray) -> np.ndarray:
        """Each incident's last of ``rows`` (ascending)."""
        return rows[::-1][self.first_of(rows[::-1])]

    def offer(
        self,
        rows: np.ndarray,
        milestone: str,
        source: str,
        rule: Any,
        priority: int,
        *,
        ties: bool = False,
        when: np.ndarray | None = None,
    ) -> None:
        """Take the best of ``rows`` for each incident where it beats what is held: the
        earliest by ``when`` (the rows' own times where not given); with ``ties``, ``rows``
        hold at most one per incident and win wherever their priority is at least as high."""
        if not len(rows):
            return
        when = self.stamps[rows] if when is None else np.asarray(when, dtype=np.int64)
        rule = np.broadcast_to(np.asarray(rule, dtype=object), len(rows))
        np.minimum.at(self.seen, self.codes[rows] * len(MILESTONES) + _ORDER[milestone], when)
        # each incident's best few go to the pool of runners-up; the best one is offered
        order = np.lexsort((rows, when, self.codes[rows]))
        codes = self.codes[rows[order]]
        start = np.r_[True, codes[1:] != codes[:-1]]
        nth = np.arange(len(order)) - np.maximum.accumulate(
            np.where(start, np.arange(len(order)), 0)
        )
        kept = order[nth < self.keep]
        self.pool.append((rows[kept], milestone, source, rule[kept], priority, when[kept]))
        if not ties:
            pick = order[start]
            rows, rule, when = rows[pick], rule[pick], when[pick]
        at = self.codes[rows] * len(MILESTONES) + _ORDER[milestone]
        held, rank, old = self.row[at], self.priority[at], self.when[at]
        if ties:
            better = priority <= rank
        else:
            better = (priority < rank) | (
                (priority == rank) & ((when < old) | ((when == old) & (rows < held)))
            )
        at = at[better]
        self.row[at], self.when[at], self.priority[at], self.source[at] = (
            rows[better],
            when[better],
            priority,
            source,
        )
        self.rule[at] = rule[better]

    def stamp(self, milestone: str, missing: int) -> np.ndarray:
        """The time (ns) of ``milestone`` per incident code, ``missing`` where there is none."""
        step = slice(_ORDER[milestone], None, len(MILESTONES))
        return np.where(self.row[step] >= 0, self.when[step], missing)

    def earliest(self, milestone: str, missing: int) -> np.ndarray:
        """The earliest time (ns) offered for ``milestone`` per incident code, of any source,
        ``missing`` where none was offered."""
        seen = self.seen[_ORDER[milestone] :: len(MILESTONES)]
        return np.where(seen == np.iinfo(np.int64).max, missing, seen)

    def evidence(self, milestone: str) -> np.ndarray:
        """The evidence row of ``milestone`` per incident code, -1 where there is none."""
        return self.row[_ORDER[milestone] :: len(MILESTONES)]

    def frame(
        self, events: pd.DataFrame, incidents: pd.Index, manual: pd.DataFrame | None
    ) -> pd.DataFrame:
        """The held evidence as milestone rows, with ``manual`` (None or not empty) winning
        over all of it and the :data:`STAND_INS` standing in where nothing else shows one."""
        steps = len(MILESTONES)
        at = np.flatnonzero(self.row >= 0)
        rows, code, step = self.row[at], at // steps, at % steps
        source, rule, when = self.source[at], self.rule[at], self.when[at]
        if manual is not None:
            # manual rows come last and win: one row per (incident, milestone)
            known, theirs = np.asarray(incidents, dtype=object), manual["incident"].to_numpy(object)
            names = pd.Index(
                np.r_[known, pd.unique(theirs[pd.Index(known).get_indexer(pd.Index(theirs)) < 0])],
                dtype=object,
            )
            code = np.r_[code, names.get_indexer(pd.Index(theirs))]
            step = np.r_[step, manual["milestone"].map(_ORDER).to_numpy(np.int64)]
            source = np.r_[source, manual["source"].to_numpy(object)]
            rule = np.r_[rule, manual["rule"].to_numpy(object)]
            when = np.r_[when, manual["ts"].array.asi8]
            incidents = names
        rank = np.empty(len(incidents), dtype=np.int64)
        rank[np.argsort(np.asarray(incidents, dtype=object), kind="stable")] = np.arange(
            len(incidents)
        )
        pick = np.lexsort((-np.arange(len(code)), step, rank[code]))
        repeat = (np.diff(rank[code[pick]]) == 0) & (np.diff(step[pick]) == 0)
        pick = pick[~np.r_[False, repeat]] if len(pick) else pick
        # where nothing shows a milestone, the next one stands in (STAND_INS)
        final_step, notes = step[pick], np.full(len(pick), None, dtype=object)
        for weak_name, strong_name, needs, note in STAND_INS:
            weak, strong = _ORDER[weak_name], _ORDER[strong_name]
            real = pd.isna(notes)  # a stand-in does not stand in for another milestone
            standing = (
                (final_step == strong) & real & ~np.isin(code[pick], code[pick][final_step == weak])
            )
            if needs:
                # only where the incident has ``needs`` by then, and before it was closed (a
                # message that closes it is its resolution, not also its mitigation)
                first = np.full((2, len(incidents)), np.iinfo(np.int64).max, dtype=np.int64)
                for bound, milestone in enumerate((needs, "resolved")):
                    have = pick[final_step == _ORDER[milestone]]
                    np.minimum.at(first[bound], code[have], when[have])
                standing &= (first[0][code[pick]] <= when[pick]) & (
                    when[pick] < first[1][code[pick]]
                )
            stand_in = np.flatnonzero(standing)
            pick = np.r_[pick, pick[stand_in]]
            final_step = np.r_[final_step, np.full(len(stand_in), weak)]
            notes = np.r_[notes, np.full(len(stand_in), note, dtype=object)]
        order = np.lexsort((final_step, rank[code[pick]]))
        pick, final_step, notes = pick[order], final_step[order], notes[order]
        rule = np.where(pd.isna(notes), rule[pick], notes)

        def column(name: str) -> Any:
            if manual is None:
                return events[name].array.take(rows[pick])
            both = pd.concat(
                [pd.Series(events[name].array.take(rows)), manual[name]], ignore_index=True
            )
            return both.array.take(pick)

        evidence = column("ts")
        return pd.DataFrame(
            {
                "incident": pd.array(column("incident"), dtype="string"),
                "milestone": pd.array(
                    np.asarray(MILESTONES, dtype=object)[final_step], dtype="string"
                ),
                "ts": pd.DatetimeIndex(when[pick].view("M8[ns]")).tz_localize("UTC"),
                "source": pd.array(source[pick], dtype="string"),
                "rule": pd.array(rule, dtype="string"),
                "ref": pd.array(column("ref"), dtype="string"),
                "text": pd.array(column("text"), dtype="string"),
                "evidence_ts": pd.array(evidence, dtype="datetime64[ns, UTC]"),
            }
        )

    def candidates(
        self, events: pd.DataFrame, incidents: pd.Index, manual: pd.DataFrame | None, limit: int
    ) -> pd.DataFrame:
        """Every candidate offered for each milestone, best first (the order :meth:`offer`
        ranks by), at most ``limit`` per (incident, milestone); a manual value (``manual``:
        None or not empty) ranks first."""
        steps = len(MILESTONES)
        names = pd.Index(np.asarray(incidents, dtype=object))
        if manual is not None:
            extra = pd.unique(
                manual["incident"].to_numpy(object)[
                    names.get_indexer(manual["incident"].to_numpy(object)) < 0
                ]
            )
            names = names.append(pd.Index(extra, dtype=object))
        if self.pool:
            rows = np.concatenate([p[0] for p in self.pool])
            step = np.concatenate([np.full(len(p[0]), _ORDER[p[1]]) for p in self.pool])
            source = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in self.pool])
            rule = np.concatenate([np.asarray(p[3], dtype=object) for p in self.pool])
            priority = np.concatenate([np.full(len(p[0]), p[4]) for p in self.pool])
            when = np.concatenate([p[5] for p in self.pool])
        else:
            rows = step = priority = when = np.zeros(0, dtype=np.int64)
            source = rule = np.zeros(0, dtype=object)
        code = self.codes[rows]
        key = code.astype(np.int64) * steps + step
        # the held evidence first (a tie-winning offer, the last resolve, beats an earlier
        # one of its priority), then as offer ranks; a row offered twice for a milestone (an
        # alert that is also the first message) is listed once, as it is held
        held = (self.row[key] == rows) & (self.source[key] == source)
        order = np.lexsort((rows, when, priority, ~held, key))
        once = np.unique(np.c_[key[order], rows[order]], axis=0, return_index=True)[1]
        order = order[np.sort(once)]
        manual_keys = set()
        if manual is not None:
            manual_keys = set(
                names.get_indexer(manual["incident"].to_numpy(object)) * steps
                + manual["milestone"].map(_ORDER).to_numpy(np.int64)
            )
        group = key[order]
        start = np.r_[True, group[1:] != group[:-1]] if len(group) else np.zeros(0, bool)
        rank = (
            np.arange(len(group))
            - np.maximum.accumulate(np.where(start, np.arange(len(group)), 0))
            + 1
        )
        if manual_keys:
            rank = rank + np.isin(group, np.fromiter(manual_keys, np.int64))
        keep = order[rank <= limit]
        rank = rank[rank <= limit]
        picked = rows[keep]
        out = pd.DataFrame(
            {
                "code": code[keep],
                "step": step[keep],
                "rank": rank,
                "ts": pd.DatetimeIndex(when[keep]).tz_localize("UTC"),
                "evidence_ts": events["ts"].array.take(picked),
                "source": pd.array(source[keep], dtype="string"),
                "rule": pd.array(rule[keep], dtype="string"),
                "actor": events["actor"].array.take(picked),
                "ref": events["ref"].array.take(picked),
                "text": events["text"].array.take(picked),
            }
        )
        if manual is not None:
            out = pd.concat(
                [
                    out,
                    pd.DataFrame(
                        {
                            "code": names.get_indexer(manual["incident"].to_numpy(object)),
                            "step": manual["milestone"].map(_ORDER).to_numpy(np.int64),
                            "rank": 1,
                            "ts": manual["ts"].array,
                            "evidence_ts": manual["ts"].array,
                            "source": manual["source"].astype("string").array,
                            "rule": manual["rule"].astype("string").array,
                            "actor": pd.array([""] * len(manual), dtype="string"),
                            "ref": manual["ref"].astype("string").array,
                            "text": manual["text"].astype("string").array,
                        }
                    ),
                ],
                ignore_index=True,
            )
        by_name = np.empty(len(names), dtype=np.int64)
        by_name[np.argsort(names.to_numpy(object), kind="stable")] = np.arange(len(names))
        code = out["code"].to_numpy(np.int64)
        out = out.iloc[np.lexsort((out["rank"].to_numpy(), out["step"].to_numpy(), by_name[code]))]
        out["incident"] = pd.array(
            names.to_numpy(object)[out["code"].to_numpy(np.int64)], dtype="string"
        )
        out["milestone"] = pd.array(
            np.asarray(MILESTONES, dtype=object)[out["step"].to_numpy(np.int64)], dtype="string"
        )
        strings = ["source", "rule", "actor", "ref", "text"]
        return (
            out[CANDIDATE_COLUMNS]
            .astype({**dict.fromkeys(strings, "string"), "rank": "int64"})
            .reset_index(drop=True)
        )


def _engaged(events: pd.DataFrame, best: _Best) -> None:
    """engaged: the earlier of the first acknowledge (at or after the trigger) and the first
    act, after ``detected``, of a human other than the one who reported the problem (the
    author of the first message, or a person who triggered the page by hand or through a
    workflow whose post carries their id); bots and integrations never engage."""
    never = np.iinfo(np.int64).max
    start = best.stamp("detected", never)
    if (start == never).all():
        return
    reported = best.evidence("detected")
    human = events["is_human"].to_numpy(bool)
    kind = events["kind"]
    rows = np.flatnonzero(human & kind.isin(ACT_KINDS).to_numpy())
    # who reported it: whoever is behind the detecting event (a bot's or an integration's id
    # is no human's), compared as codes of the few ids involved, not of the whole column
    reporters = np.flatnonzero(reported >= 0)
    ids = objects(events["actor_id"])[np.r_[rows, reported[reporters]]]
    codes = pd.factorize(np.where(pd.isna(ids), "", ids))[0]
    reporter = np.full(len(reported), -1, dtype=np.int64)
    reporter[reporters] = codes[len(rows) :]
    stamps, since = best.stamps[rows], start[best.codes[rows]]
    acknowledge = _is(kind, "acknowledge")
    ack = acknowledge[rows]
    other = codes[: len(rows)] != reporter[best.codes[rows]]
    rows = rows[((stamps > since) & other) | (ack & (stamps >= since) & (since != never))]
    is_ack = acknowledge[rows]
    for where, source in ((is_ack, "pagerduty"), (~is_ack, "rule")):
        priority = PRIORITY[source]
        picked = best.first(rows[where])
        rule = (
            "first acknowledge"
            if source == "pagerduty"
            else "first human " + kind.iloc[picked].astype(str).to_numpy(object)
        )
        best.offer(picked, "engaged", source, rule, priority)


def _working_hypothesis(found: pd.DataFrame, best: _Best) -> None:
    """working_hypothesis: the last hypothesis stated by the time of the mitigation that
    worked (``mitigated``, else ``restored``; a stated time counts) that was not dropped
    before the next hypothesis of its incident."""
    label = objects(found["label"])
    rows = found["row"].to_numpy(np.int64)
    hyp, drops = rows[label == "hypothesis"], rows[label == "dropped"]
    if not len(hyp):
        return
    never = np.iinfo(np.int64).max
    mitigated, restored = best.stamp("mitigated", never), best.stamp("restored", never)
    until = np.where(mitigated != never, mitigated, restored)
    # order within each incident by row (rows are in time order within an incident)
    span = len(best.stamps) + 1
    hyp_key = np.sort(best.codes[hyp].astype(np.int64) * span + hyp)
    drop_key = np.sort(best.codes[drops].astype(np.int64) * span + drops)
    hyp, code = hyp_key % span, hyp_key // span
    next_key = np.r_[hyp_key[1:], never]
    # the first drop after each hypothesis, in its incident, up to and including the next
    # hypothesis (a message may drop one theory and state the next), said by the mitigation
    at = np.searchsorted(drop_key, hyp_key, side="right")
    drop = np.r_[drop_key, never][at]
    drop_row = drop % span
    in_time = best.stamps[np.minimum(drop_row, len(best.stamps) - 1)] <= until[code]
    dropped = (drop <= next_key) & (drop // span == code) & in_time
    keep = hyp[(until[code] != never) & (best.stamps[hyp] <= until[code]) & ~dropped]
    best.offer(
        best.last(np.sort(keep)),
        "working_hypothesis",
        "rule",
        "last hypothesis kept before mitigation",
        PRIORITY["rule"],
    )
