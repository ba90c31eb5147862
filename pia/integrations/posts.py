"""Bot posts in an incident channel read as the events they report.

Pure: takes the events frame and the configured :class:`~pia.integrations.config.Integration`
list. Each integration's patterns run over its own bots' posts, each distinct post once, on
RE2 (Arrow's ``extract_regex``; no loop over messages); what a post says becomes a row of
:attr:`Readings.posts`, and from those:

- ``evidence``: milestone candidates, each with its ``source`` (``pagerduty``, ``platform``,
  ``statuspage``, ``alert``) for detection to rank by precedence;
- ``signals``: status updates (an incident platform's updates, each status-page stage update)
  for the comms cadence, in the shape of :func:`pia.milestones.signals`;
- ``commanders``: the IC a platform's role assignment names, by incident;
- ``notes``: data-quality findings (a post with nothing to read, an unknown status name, a
  status going backwards, a person the bot names who is not known here).

An echo of PagerDuty's log by its Slack app is the same event as the log entry (same incident,
same kind, within :data:`ECHO_WINDOW`): it is counted once, as the log entry. Where the log
lacks the entry, the echo stands in for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pia.integrations.config import GROUPS, STAGES, Integration

#: An echo within this of a log entry of the same kind is that entry.
ECHO_WINDOW = pd.Timedelta(minutes=2)
#: PagerDuty Slack app events and the log entry kinds they echo.
ECHOES = {"trigger": ("trigger",), "acknowledge": ("acknowledge",), "escalate": ("escalate",), "resolve": ("resolve",), "note": ("annotate", "note")}
#: Events whose ``person`` is a responder acting (a trigger's "by" is usually a service).
ACTS = ("acknowledge", "escalate", "resolve", "note", "declared", "status", "role", "update")
#: What a PagerDuty echo standing in for the log is evidence of.
PAGERDUTY_MILESTONES = {"trigger": ("detected", "declared"), "acknowledge": ("acknowledged", "engaged"), "resolve": ("resolved",)}
_SEVERITY = r"(?i)\bseverity\b\W*(?P<severity>[A-Za-z]*\s?\d+|critical|major|minor|high|low)"
_RAW_ID = re.compile(r"^@?[UW][A-Z0-9]{2,}$")
POST_COLUMNS = ["row", "incident", "ts", "integration", "kind", "event", "person", "person_id", "status", "old", "stage", "role", "severity", "echo_of"]
NOTE_COLUMNS = ["incident", "check", "ts", "detail", "ref"]
EVIDENCE_COLUMNS = ["row", "milestone", "source", "rule", "last"]


@dataclass
class Readings:
    """What the bots in the channel reported (see the module docstring)."""

    posts: pd.DataFrame
    evidence: pd.DataFrame
    signals: pd.DataFrame
    commanders: dict[str, str] = field(default_factory=dict)
    notes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NOTE_COLUMNS))

    def attributed(self, events: pd.DataFrame) -> pd.DataFrame:
        """``events`` with each bot post that names a known person credited to that person
        (``actor``, ``actor_id``), as the repeated-event lists show it."""
        named = self.posts[self.posts["person_id"] != ""].drop_duplicates("row")
        if not len(named):
            return events
        out = events.copy(deep=False)
        rows = named["row"].to_numpy(np.int64)
        for column, values in (("actor", named["person"].str.lstrip("@")), ("actor_id", named["person_id"])):
            array = out[column].array.copy()
            array[rows] = values.to_numpy(object)
            out[column] = array
        return out


def read(events: pd.DataFrame, integrations: Sequence[Integration]) -> Readings:
    """The posts of ``integrations``' bots in ``events`` (one or many incidents), read."""
    posts, silent = _posts(events, integrations)
    if len(posts):
        posts = _stages(posts, integrations)
        posts = _people(posts, events)
        posts = _echoes(posts, events)
    notes = [_silent_notes(events, silent), *(_post_notes(posts, events, integrations) if len(posts) else [])]
    evidence, signals = _evidence(posts)
    return Readings(posts, evidence, signals, _commanders(posts, integrations), _concat(notes, NOTE_COLUMNS))


# --- reading the posts ------------------------------------------------------------------


def _flags(pattern: str) -> tuple[str, str]:
    """``pattern`` split into its leading inline flags and the rest (flags must stay first)."""
    lead = re.match(r"^\(\?[aiLmsux]+\)", pattern)
    return (lead.group(0), pattern[lead.end() :]) if lead else ("", pattern)


def _extract(text: pa.Array, pattern: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Where ``pattern`` matches ``text`` and its named groups there ('' where a group took no
    part). RE2 (Arrow) runs every pattern it can take; the rest (look-arounds) run on ``re``."""
    flags, body = _flags(pattern)
    wrapped = f"{flags}(?P<_hit>{body})"
    try:
        found = pc.extract_regex(text, wrapped)
    except pa.ArrowInvalid:
        table = pd.Series(text.to_pylist(), dtype=object).str.extract(wrapped)
        hit = table["_hit"].notna().to_numpy(bool)
        return hit, {g: table.loc[hit, g].fillna("").to_numpy(object) for g in table if g in GROUPS}
    hit = pc.fill_null(found.is_valid(), False).to_numpy(zero_copy_only=False)
    found = found.filter(pa.array(hit))
    return hit, {f.name: found.field(f.name).to_numpy(zero_copy_only=False) for f in found.type if f.name in GROUPS}


def _posts(events: pd.DataFrame, integrations: Sequence[Integration]) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per (bot post, event it reports); also the positions of the integrations'
    posts that have no text at all (nothing in text, blocks or attachments)."""
    bots = np.flatnonzero(~events["is_human"].to_numpy(bool) & (events["source"] == "slack").to_numpy(bool, na_value=False) & (events["kind"] != "deleted").to_numpy(bool, na_value=False))
    # who posted, compared on the few distinct names and ids rather than on every post
    names, name_of = pd.factorize(pd.Series(events["actor"].array.take(bots)).fillna(""))
    ids, id_of = pd.factorize(pd.Series(events["actor_id"].array.take(bots)).fillna(""))
    lower = pd.Index(name_of).str.lower()
    text = pa.array(pd.array(events["text"].array.take(bots), dtype=pd.StringDtype("pyarrow"))).fill_null("")
    parts, silent, claimed = [], [], np.zeros(len(bots), dtype=bool)
    for integration in integrations:
        known = [b.lower() for b in integration.bots]
        mine = (lower.isin(known)[names] | pd.Index(id_of).isin(integration.bots)[ids]) & ~claimed
        claimed |= mine
        at = np.flatnonzero(mine)
        # each distinct post is read once (a bot repeats itself); its reading goes to every copy
        said = text.take(pa.array(at))
        distinct = pc.unique(said)
        which = pc.index_in(said, value_set=distinct).to_numpy(zero_copy_only=False)
        empty = pc.equal(pc.utf8_trim_whitespace(distinct), "").to_numpy(zero_copy_only=False)
        silent.append(bots[at[empty[which]]])
        for event, pattern in integration.events.items():
            hit, groups = _extract(distinct, pattern)
            if not hit.any():
                continue
            if event == "declared":
                groups["severity"] = _severities(distinct.filter(pa.array(hit)))
            # each group's value on every distinct text (hits only), then on every post
            position = np.cumsum(hit) - 1
            post = np.flatnonzero(hit[which])
            part = {g: groups[g][position[which[post]]] if g in groups else "" for g in ("person", "status", "old", "role", "severity")}
            parts.append(pd.DataFrame(part, index=range(len(post))).assign(row=bots[at[post]], integration=integration.name, kind=integration.kind, event=event))
    silent_rows = np.concatenate(silent) if silent else np.zeros(0, np.int64)
    if not parts:
        return pd.DataFrame(columns=POST_COLUMNS), silent_rows
    posts = pd.concat(parts, ignore_index=True).sort_values(["row", "event"], kind="stable", ignore_index=True)
    rows = posts["row"].to_numpy(np.int64)
    posts = posts.assign(
        incident=events["incident"].array.take(rows),
        ts=events["ts"].array.take(rows),
        person=_per_distinct(posts["person"], lambda v: v.str.strip().str.rstrip(".").str.strip()),
        stage="",
        person_id="",
        echo_of="",
    )
    return posts[POST_COLUMNS], silent_rows


def _per_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> np.ndarray:
    """``fn`` of ``values``, computed once per distinct value (bot posts repeat themselves)."""
    codes, uniques = pd.factorize(values.fillna(""))
    return fn(pd.Series(uniques, dtype=object)).to_numpy(object)[codes] if len(uniques) else np.full(len(values), "", dtype=object)


def _severities(text: pa.Array) -> np.ndarray:
    """The severity each declaration names ('' where none), e.g. SEV2 from "*Severity:* SEV2"."""
    hit, groups = _extract(text, _SEVERITY)
    out = np.full(len(text), "", dtype=object)
    out[hit] = groups.get("severity", np.zeros(0, dtype=object))
    return out


def _stages(posts: pd.DataFrame, integrations: Sequence[Integration]) -> pd.DataFrame:
    """Each reported status in the integration's own name mapped to a known stage ('' where
    the name is not known)."""
    known = {(i.name, raw): stage for i in integrations for raw, stage in i.statuses.items()}
    key = posts["integration"].astype(object) + "\x1f" + posts["status"].astype(object)

    def stage(keys: pd.Series) -> pd.Series:
        pair = keys.str.split("\x1f", n=1, expand=True).reindex(columns=[0, 1], fill_value="")
        return pd.Series([known.get(k, "") for k in zip(pair[0], _folded(pair[1]), strict=True)], dtype=object)

    return posts.assign(stage=_per_distinct(key, stage))


def _people(posts: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each named person's id: the only person the post mentions (``<@U…>``), else a human of
    the incident with that name (Slack first, then PagerDuty)."""
    name = pd.Series(_per_distinct(posts["person"], lambda v: v.str.lstrip("@").str.strip()), index=posts.index)
    mentioned = pd.Series(events["mentions"].array.take(posts["row"].to_numpy(np.int64)))
    # the post's only mention: its one id where it mentions exactly one person
    only = _per_distinct(mentioned, lambda v: v.str.split().map(lambda ids: ids[0] if len(ids) == 1 else ""))
    raw = _per_distinct(name, lambda v: v.str.fullmatch(_RAW_ID.pattern).astype(object)).astype(bool)
    by_mention = np.where(posts["person"].str.startswith("@").to_numpy(bool) & ~raw, only, "")
    # the humans who could be meant: those of the posts' incidents whose name is named, found
    # through the few distinct names, not by lower-casing every event's actor
    wanted = name[(by_mention == "") & (name != "").to_numpy(bool)].str.lower().unique()
    codes, actors = pd.factorize(events["actor"].fillna(""))
    named = pd.Index(actors).str.lower().isin(wanted)[codes] & events["is_human"].to_numpy(bool)
    named &= events["incident"].isin(posts["incident"].unique()).to_numpy(bool)
    humans = events.loc[named, ["incident", "actor", "actor_id", "source"]]
    humans = humans.assign(key=humans["actor"].str.lower(), slack=humans["source"] == "slack")
    humans = humans.sort_values("slack", ascending=False, kind="stable").drop_duplicates(["incident", "key"])
    looked = pd.DataFrame({"incident": posts["incident"].to_numpy(object), "key": name.str.lower().to_numpy(object)})
    by_name = looked.merge(humans[["incident", "key", "actor_id"]].astype(object), on=["incident", "key"], how="left")["actor_id"].fillna("")
    person_id = np.where(by_mention != "", by_mention, by_name.to_numpy(object))
    return posts.assign(person_id=pd.array(person_id, dtype="string").fillna(""))


def _echoes(posts: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each PagerDuty Slack app post matched to the log entry it echoes (its ``ref``), where
    the log has one of the same kind within :data:`ECHO_WINDOW`."""
    echo = posts[(posts["kind"] == "pagerduty").to_numpy(bool)]
    if not len(echo):
        return posts
    log = events.loc[(events["source"] == "pagerduty").to_numpy(bool, na_value=False), ["incident", "ts", "kind", "ref"]]
    if not len(log):
        return posts
    # a note echo may be either kind of log row: one candidate per kind it may echo
    count = echo["event"].map({e: len(k) for e, k in ECHOES.items()}).to_numpy(np.int64)
    nth = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    each = np.repeat(np.arange(len(echo)), count)
    kinds = np.array([list(k) + [""] * (2 - len(k)) for k in ECHOES.values()], dtype=object)
    kind = kinds[echo["event"].map({e: i for i, e in enumerate(ECHOES)}).to_numpy(np.int64)[each], nth]
    left = pd.DataFrame({"at": echo.index.to_numpy()[each], "incident": echo["incident"].to_numpy(object)[each], "ts": echo["ts"].array.take(each), "kind": kind})
    right = pd.DataFrame({"incident": log["incident"].to_numpy(object), "ts": log["ts"].array, "kind": log["kind"].astype(str).to_numpy(object), "log_ref": log["ref"].fillna("").to_numpy(object)})
    matched = pd.merge_asof(
        left.sort_values("ts", kind="stable"), right.sort_values("ts", kind="stable"), on="ts", by=["incident", "kind"], tolerance=ECHO_WINDOW, direction="nearest"
    )
    matched = matched[matched["log_ref"].notna()].drop_duplicates("at")
    out = posts.copy()
    out.loc[matched["at"].to_numpy(), "echo_of"] = matched["log_ref"].replace("", "(log entry)").to_numpy(object)
    return out


# --- what the posts are evidence of -------------------------------------------------------


def _evidence(posts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Milestone candidates and status-update signals of ``posts``."""
    parts = []
    kind, event = posts["kind"], posts["event"]
    label = posts["integration"] + " " + event
    # PagerDuty echoes stand in only where the log lacks the entry
    alone = posts[(kind == "pagerduty").to_numpy(bool) & (posts["echo_of"] == "").to_numpy(bool)]
    for name, milestones in PAGERDUTY_MILESTONES.items():
        hit = alone[alone["event"] == name]
        parts += [_rows(hit, m, "pagerduty", "Slack app " + name + " (no log entry)", last=name == "resolve") for m in milestones]
    declared = posts[(kind == "platform").to_numpy(bool) & (event == "declared").to_numpy(bool)]
    parts.append(_rows(declared, "declared", "platform", label[declared.index] + _severity(declared)))
    for source in ("platform", "statuspage"):
        changes = posts[(kind == source).to_numpy(bool) & event.isin(["status", "stage"]).to_numpy(bool) & (posts["stage"] != "").to_numpy(bool)]
        for stage, (_, milestones) in STAGES.items():
            hit = changes[changes["stage"] == stage]
            said = label[hit.index] + " → " + hit["status"]
            parts += [_rows(hit, m, source, said, last=m == "resolved") for m in milestones]
    alerts = posts[(kind == "alert").to_numpy(bool)]
    parts.append(_rows(alerts[alerts["event"] == "firing"], "detected", "alert", label[alerts[alerts["event"] == "firing"].index]))
    parts.append(_rows(alerts[alerts["event"] == "resolved"], "restored", "alert", label[alerts[alerts["event"] == "resolved"].index], last=True))
    evidence = _concat(parts, EVIDENCE_COLUMNS).astype({"row": "int64", "last": bool})
    updates = posts[((kind == "platform") & (event == "update") | (kind == "statuspage") & (event == "stage")).to_numpy(bool)]
    signals = pd.DataFrame(
        {
            "row": updates["row"].to_numpy(np.int64),
            "label": pd.array(["status_update"] * len(updates), dtype="string"),
            "source": pd.array(updates["kind"].to_numpy(object), dtype="string"),
            "rule": pd.array((updates["integration"] + " " + updates["event"]).to_numpy(object), dtype="string"),
        }
    ).drop_duplicates("row")
    return evidence.sort_values("row", kind="stable", ignore_index=True), signals.reset_index(drop=True)


def _severity(posts: pd.DataFrame) -> pd.Series:
    return (" (" + posts["severity"] + ")").where(posts["severity"] != "", "")


def _folded(names: pd.Series) -> pd.Series:
    """Status or role names as :func:`~pia.integrations.config.fold` compares them."""
    return names.str.lower().str.replace("_", " ", regex=False).str.split().str.join(" ")


def _rows(posts: pd.DataFrame, milestone: str, source: str, rule: object, *, last: bool = False) -> pd.DataFrame:
    rule = rule.to_numpy(object) if isinstance(rule, pd.Series) else rule
    return pd.DataFrame({"row": posts["row"].to_numpy(np.int64), "milestone": milestone, "source": source, "rule": rule, "last": last})


def _commanders(posts: pd.DataFrame, integrations: Sequence[Integration]) -> dict[str, str]:
    """The first person each incident's platform made incident lead / commander."""
    if not len(posts):
        return {}
    roles = pd.DataFrame([(i.name, r) for i in integrations for r in i.commander_roles], columns=["integration", "folded"])
    named = posts[(posts["event"] == "role").to_numpy(bool) & (posts["person_id"] != "").to_numpy(bool)]
    first = named.assign(folded=_folded(named["role"])).merge(roles, on=["integration", "folded"]).sort_values("row").drop_duplicates("incident")
    return dict(zip(first["incident"].astype(str), first["person_id"].astype(str), strict=True))


# --- data-quality notes ---------------------------------------------------------------------


def _silent_notes(events: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return _note_rows(events, rows, "integration", lambda actor: "a post by " + actor + " has no text, blocks or attachments: nothing read from it")


def _post_notes(posts: pd.DataFrame, events: pd.DataFrame, integrations: Sequence[Integration]) -> list[pd.DataFrame]:
    out = []
    changes = posts[posts["event"].isin(["status", "stage"]).to_numpy(bool) & (posts["status"] != "").to_numpy(bool)]
    unknown = changes[changes["stage"] == ""]
    out.append(
        _note_frame(unknown, events, "integration", unknown["integration"] + " status '" + unknown["status"] + "' is not a known status name (map it under [integrations." + unknown["integration"] + ".statuses] in pia.toml): no milestone read from it")
    )
    # a status going backwards: a stage before one already reached (reopening, or a mistake)
    known = changes[(changes["stage"] != "").to_numpy(bool) & (changes["stage"] != "cancelled").to_numpy(bool)].sort_values(["row"], kind="stable")
    order = known["stage"].map({stage: rank for stage, (rank, _) in STAGES.items()}).astype("int64")
    reached = order.groupby([known["incident"], known["integration"]]).cummax()
    before = known.groupby(["incident", "integration"])["status"].shift()
    back = known[(order < reached).to_numpy(bool)]
    out.append(_note_frame(back, events, "integration", back["integration"] + " status went back to '" + back["status"] + "' after '" + before[back.index].fillna("") + "'; the first time each stage was reached is used, the last resolve for resolved"))
    acting = posts[posts["event"].isin(ACTS).to_numpy(bool) & (posts["person"] != "").to_numpy(bool) & (posts["person_id"] == "").to_numpy(bool)]
    raw = acting["person"].str.fullmatch(_RAW_ID.pattern).to_numpy(bool)
    detail = np.where(
        raw,
        acting["integration"] + " names " + acting["person"].str.lstrip("@") + ", who is not in the workspace's user directory; the post stays the bot's",
        acting["integration"] + " names someone who is not among this incident's people (see the post); the post stays the bot's",
    )
    out.append(_note_frame(acting, events, "integration", pd.Series(detail, index=acting.index, dtype=object)))
    return out


def disagreements(events: pd.DataFrame, found: pd.DataFrame, posts: pd.DataFrame, margin: pd.Timedelta) -> pd.DataFrame:
    """Where people said the service was back (or the incident resolved) more than ``margin``
    before or after an incident platform's status said so: one note per incident and
    milestone, naming both times. ``found`` are the text signals of ``events``. Words of
    recovery before the first remediation (said, or a status that says a fix is under way)
    are not read as one, as in detection."""
    said = found[found["source"].isin(["rule", "marker"]).to_numpy(bool)]
    acts = said.loc[(said["label"] == "mitigation").to_numpy(bool), "row"].to_numpy(np.int64)
    fixing = posts[(posts["stage"] == "fixing").to_numpy(bool)] if len(posts) else posts
    starts = [pd.Series(events["ts"].array.take(acts), index=events["incident"].array.take(acts)), pd.Series(fixing["ts"].array, index=fixing["incident"].to_numpy(object))]
    starts = [s for s in starts if len(s)]
    since = pd.concat(starts).groupby(level=0).min() if starts else pd.Series(dtype="datetime64[ns, UTC]")
    parts = []
    for milestone, labels, stages in (("mitigated", ("mitigated", "restored"), ("mitigated", "monitoring")), ("resolved", ("resolved",), ("resolved", "closed"))):
        rows = np.sort(said.loc[said["label"].isin(labels).to_numpy(bool), "row"].to_numpy(np.int64))
        words = pd.DataFrame({"incident": events["incident"].array.take(rows), "said": events["ts"].array.take(rows)})
        if milestone == "mitigated":
            start = pd.to_datetime(words["incident"].map(since), utc=True)
            words = words[(start.isna() | (words["said"] >= start)).to_numpy(bool)]
        words = words.drop_duplicates("incident")
        bot = posts[(posts["kind"] == "platform").to_numpy(bool) & posts["stage"].isin(stages).to_numpy(bool)].drop_duplicates("incident")
        both = words.merge(bot[["incident", "ts", "row", "integration", "status"]].astype({"incident": object}), on="incident")
        both = both[(pd.to_datetime(both["said"], utc=True) - pd.to_datetime(both["ts"], utc=True)).abs() > margin]
        if not len(both):
            continue
        early = both["said"] < both["ts"]
        when = lambda s: s.dt.strftime("%H:%M")  # noqa: E731
        detail = np.where(
            early,
            "people said " + milestone + " at " + when(both["said"]) + ", but the " + both["integration"] + " status became '" + both["status"] + "' only at " + when(both["ts"]),
            "the " + both["integration"] + " status became '" + both["status"] + "' at " + when(both["ts"]) + ", but people said " + milestone + " only at " + when(both["said"]),
        )
        parts.append(
            pd.DataFrame(
                {
                    "incident": both["incident"].to_numpy(object),
                    "check": "disagreement",
                    "ts": both["ts"].to_numpy(),
                    "detail": detail + "; the status change is used (a platform's status outranks text)",
                    "ref": events["ref"].array.take(both["row"].to_numpy(np.int64)),
                }
            )
        )
    return _concat(parts, NOTE_COLUMNS)


def _note_rows(events: pd.DataFrame, rows: np.ndarray, check: str, detail) -> pd.DataFrame:
    actor = pd.Series(events["actor"].array.take(rows), dtype=object)
    return pd.DataFrame(
        {"incident": events["incident"].array.take(rows), "check": check, "ts": events["ts"].array.take(rows), "detail": detail(actor).to_numpy(object), "ref": events["ref"].array.take(rows)}
    )


def _note_frame(posts: pd.DataFrame, events: pd.DataFrame, check: str, detail: pd.Series) -> pd.DataFrame:
    rows = posts["row"].to_numpy(np.int64)
    return pd.DataFrame(
        {"incident": posts["incident"].to_numpy(object), "check": check, "ts": posts["ts"].to_numpy(), "detail": pd.Series(detail).to_numpy(object), "ref": events["ref"].array.take(rows)}
    )


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        return out.astype({"ts": "datetime64[ns, UTC]"}) if "ts" in columns else out
    return pd.concat(parts, ignore_index=True)[columns]
