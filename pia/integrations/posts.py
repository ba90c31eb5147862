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
lacks the entry, the echo stands in for it: :meth:`Readings.credited` gives it the log entry's
kind, so it is read as the entry would be (a note's words by the rules, an escalation in the
list of escalations, an acknowledge as an act of the person).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pia.events.slack import Directory
from pia.integrations.config import GROUPS, STAGES, Integration

#: An echo within this of a log entry of the same kind is that entry.
ECHO_WINDOW = pd.Timedelta(minutes=2)
#: PagerDuty Slack app events and the log entry kinds they echo.
ECHOES = {
    "trigger": ("trigger",),
    "acknowledge": ("acknowledge",),
    "escalate": ("escalate",),
    "resolve": ("resolve",),
    "note": ("annotate", "note"),
}
#: Events whose ``person`` is a responder acting (a trigger's "by" is usually a service, and
#: an escalation names whom it went to, not who acted).
ACTS = ("acknowledge", "resolve", "note", "declared", "status", "role", "update")
#: Events that name a person the directory should know.
NAMING = (*ACTS, "escalate")
#: The log entry kind a PagerDuty Slack app post stands in for where the log lacks it.
STAND_IN = {
    "trigger": "trigger",
    "acknowledge": "acknowledge",
    "escalate": "escalate",
    "resolve": "resolve",
    "note": "annotate",
}
#: The kind of a bot post credited to the person it names (an incident platform's post).
RELAYED = "relayed"
#: What a PagerDuty echo standing in for the log is evidence of.
PAGERDUTY_MILESTONES = {
    "trigger": ("detected", "declared"),
    "acknowledge": ("acknowledged", "engaged"),
    "resolve": ("resolved",),
}
_SEVERITY = r"(?i)\bseverity\b\W*(?P<severity>[A-Za-z]*\s?\d+|critical|major|minor|high|low)"
_RAW_ID = re.compile(r"^@?[UW][A-Z0-9]{2,}$")
POST_COLUMNS = [
    "row",
    "incident",
    "ts",
    "integration",
    "kind",
    "event",
    "person",
    "person_id",
    "status",
    "old",
    "stage",
    "role",
    "severity",
    "note",
    "echo_of",
]
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

    def credited(self, events: pd.DataFrame) -> pd.DataFrame:
        """``events`` as the people behind the bots acted: a post that names a known person
        acting (an acknowledge, a status change, an update, ...) becomes that person's act
        (``actor``, ``actor_id``, ``is_human``; kind ``relayed`` for a platform's post), and a
        PagerDuty Slack app post the log lacks becomes the log entry it stands in for (its
        kind; a note's words as its text; an escalation's person as its ``mentions``). An
        echo of an entry the log has stays the bot's: the entry is the act, counted once."""
        posts = self.posts
        if not len(posts):
            return events
        pagerduty = (posts["kind"] == "pagerduty").to_numpy(bool)
        stand_in = pagerduty & (posts["echo_of"] == "").to_numpy(bool)
        acted = (
            posts["event"].isin(ACTS).to_numpy(bool)
            & (posts["person_id"] != "").to_numpy(bool)
            & (~pagerduty | stand_in)
        )
        changed = posts[stand_in | acted].assign(
            stand_in=stand_in[stand_in | acted], acted=acted[stand_in | acted]
        )
        if not len(changed):
            return events
        # one change per post: a stand-in's kind before a relayed act, the first act's person
        changed = changed.sort_values(
            ["row", "stand_in", "acted"], ascending=[True, False, False], kind="stable"
        )
        main = changed.drop_duplicates("row")
        rows = main["row"].to_numpy(np.int64)
        actor = changed[changed["acted"].to_numpy(bool)].drop_duplicates("row").set_index("row")
        who = actor.reindex(rows)
        human = who["person_id"].notna().to_numpy(bool)
        kind = np.where(
            main["stand_in"].to_numpy(bool), main["event"].map(STAND_IN).to_numpy(object), RELAYED
        )
        out = events.copy(deep=False)
        out["kind"] = _put(out["kind"], rows, kind)
        out["is_human"] = _put(out["is_human"], rows[human], True)
        out["actor"] = _put(
            out["actor"],
            rows[human],
            _per_distinct(who["person"], lambda v: v.str.lstrip("@"))[human],
        )
        out["actor_id"] = _put(
            out["actor_id"], rows[human], who["person_id"].to_numpy(object)[human]
        )
        note = main[
            (main["stand_in"] & (main["event"] == "note") & (main["note"] != "")).to_numpy(bool)
        ]
        out["text"] = _put(
            out["text"], note["row"].to_numpy(np.int64), note["note"].to_numpy(object)
        )
        escalated = main[
            (main["stand_in"] & (main["event"] == "escalate") & (main["person_id"] != "")).to_numpy(
                bool
            )
        ]
        out["mentions"] = _put(
            out["mentions"],
            escalated["row"].to_numpy(np.int64),
            escalated["person_id"].to_numpy(object),
        )
        return out


def _put(column: pd.Series, rows: np.ndarray, values: object) -> pd.Series:
    """``column`` with ``values`` at positions ``rows`` (a copy; the same where none)."""
    if not len(rows):
        return column
    if isinstance(column.dtype, pd.CategoricalDtype):
        new = pd.unique(np.asarray(values, dtype=object).ravel())
        column = column.cat.add_categories([v for v in new if v not in column.cat.categories])
    array = column.array.copy()
    array[rows] = values
    return pd.Series(array, index=column.index, name=column.name)


def read(
    events: pd.DataFrame,
    integrations: Sequence[Integration],
    directories: Mapping[str, Directory] | None = None,
) -> Readings:
    """The posts of ``integrations``' bots in ``events`` (one or many incidents), read.
    ``directories`` (incident -> its Slack directory) name the people a bot names who did
    nothing else in the incident."""
    posts, silent = _posts(events, integrations)
    if len(posts):
        posts = _stages(posts, integrations)
        # echoes first: an echo of the log is the log's act, so its person need not be found
        posts = _echoes(posts, events)
        posts = _people(posts, events, directories or {})
    notes = [
        _silent_notes(events, silent),
        *(_post_notes(posts, events, integrations) if len(posts) else []),
    ]
    evidence, signals = _evidence(posts)
    return Readings(
        posts, evidence, signals, _commanders(posts, integrations), _concat(notes, NOTE_COLUMNS)
    )


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
    return hit, {
        f.name: found.field(f.name).to_numpy(zero_copy_only=False)
        for f in found.type
        if f.name in GROUPS
    }


def _posts(
    events: pd.DataFrame, integrations: Sequence[Integration]
) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per (bot post, event it reports); also the positions of the integrations'
    posts that have no text at all (nothing in text, blocks or attachments)."""
    bots = np.flatnonzero(
        ~events["is_human"].to_numpy(bool)
        & (events["source"] == "slack").to_numpy(bool, na_value=False)
        & (events["kind"] != "deleted").to_numpy(bool, na_value=False)
    )
    if not len(bots):  # the common case: nobody's bot posted
        return pd.DataFrame(columns=POST_COLUMNS), np.zeros(0, np.int64)
    # who posted, compared on the few distinct names and ids rather than on every post
    names, name_of = pd.factorize(pd.Series(events["actor"].array.take(bots)).fillna(""))
    ids, id_of = pd.factorize(pd.Series(events["actor_id"].array.take(bots)).fillna(""))
    lower = pd.Index(name_of).str.lower()
    owner = np.full(len(bots), -1, dtype=np.int64)
    for n, integration in enumerate(integrations):
        mine = (
            lower.isin([b.lower() for b in integration.bots])[names]
            | pd.Index(id_of).isin(integration.bots)[ids]
        )
        owner[mine & (owner < 0)] = n
    bots, owner = bots[owner >= 0], owner[owner >= 0]
    # each distinct post is read once (a bot repeats itself); its reading goes to every copy
    which, distinct = pd.factorize(pd.Series(events["text"].array.take(bots)).fillna(""))
    text = pa.array(np.asarray(distinct, dtype=object), type=pa.string())
    empty = pc.equal(pc.utf8_trim_whitespace(text), "").to_numpy(zero_copy_only=False)
    silent = [bots[empty[which]]]
    owner_sorted = np.argsort(owner, kind="stable")
    parts: list[dict[str, np.ndarray]] = []
    for n, integration in enumerate(integrations):
        at = owner_sorted[
            np.searchsorted(owner[owner_sorted], n) : np.searchsorted(
                owner[owner_sorted], n, "right"
            )
        ]
        if not len(at):
            continue
        # this integration's distinct texts, and each post's place among them
        own, mine = np.unique(which[at], return_inverse=True)
        said = text.take(pa.array(own))
        for event, pattern in integration.events.items():
            hit, groups = _extract(said, pattern)
            if not hit.any():
                continue
            if event == "declared":
                groups["severity"] = _severities(said.filter(pa.array(hit)))
            # each group's value on every distinct text (hits only), then on every post
            position = np.cumsum(hit) - 1
            post = np.flatnonzero(hit[mine])
            part = {
                g: groups[g][position[mine[post]]]
                if g in groups
                else np.full(len(post), "", dtype=object)
                for g in GROUPS
            }
            constant = {"integration": integration.name, "kind": integration.kind, "event": event}
            parts.append(
                {
                    **part,
                    "row": bots[at[post]],
                    **{k: np.full(len(post), v, dtype=object) for k, v in constant.items()},
                }
            )
    silent_rows = np.sort(np.concatenate(silent))
    if not parts:
        return pd.DataFrame(columns=POST_COLUMNS), silent_rows
    columns = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    order = np.lexsort((pd.factorize(columns["event"], sort=True)[0], columns["row"]))
    posts = pd.DataFrame({c: v[order] for c, v in columns.items()})
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
    return (
        fn(pd.Series(uniques, dtype=object)).to_numpy(object)[codes]
        if len(uniques)
        else np.full(len(values), "", dtype=object)
    )


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
        return pd.Series(
            [known.get(k, "") for k in zip(pair[0], _folded(pair[1]), strict=True)], dtype=object
        )

    return posts.assign(stage=_per_distinct(key, stage))


def _people(
    posts: pd.DataFrame, events: pd.DataFrame, directories: Mapping[str, Directory]
) -> pd.DataFrame:
    """Each named person's id: the only person the post mentions (``<@U…>``), else a human of
    the incident with that name (Slack first, then PagerDuty), else the one user of the
    incident's Slack directory with that display or full name (someone who acted only
    through the bot)."""
    # an echo of an entry the log has is the log's act: whom it names is the log's to say
    named = posts[(posts["person"] != "").to_numpy(bool) & (posts["echo_of"] == "").to_numpy(bool)]
    person_id = np.full(len(posts), "", dtype=object)
    if len(named):
        person_id[posts.index.get_indexer(named.index)] = _person_ids(named, events, directories)
    return posts.assign(person_id=person_id)


def _person_ids(
    posts: pd.DataFrame, events: pd.DataFrame, directories: Mapping[str, Directory]
) -> np.ndarray:
    """The id of the person each of ``posts`` names, '' where none is found (see :func:`_people`)."""
    # every string operation runs on the distinct names (a bot names the same few people)
    name = pd.Series(
        _per_distinct(posts["person"], lambda v: v.str.lstrip("@").str.strip()), index=posts.index
    )
    mentioned = pd.Series(events["mentions"].array.take(posts["row"].to_numpy(np.int64)))
    # the post's only mention: its one id where it mentions exactly one person
    only = _per_distinct(
        mentioned, lambda v: v.str.split().map(lambda ids: ids[0] if len(ids) == 1 else "")
    )
    raw = _per_distinct(name, lambda v: v.str.fullmatch(_RAW_ID.pattern).astype(object)).astype(
        bool
    )
    at = _per_distinct(posts["person"], lambda v: v.str.startswith("@").astype(object)).astype(bool)
    person_id = np.where(at & ~raw, only, "").astype(object)
    looked = pd.DataFrame(
        {
            "incident": posts["incident"].to_numpy(object),
            "key": _per_distinct(name, lambda v: v.str.lower()),
        }
    )
    unknown = person_id == ""
    if unknown.any():
        person_id[unknown] = _among_humans(looked[unknown], events)
        unknown = person_id == ""
    if unknown.any() and directories:
        person_id[unknown] = _in_directory(looked[unknown], directories)
    return person_id


def _among_humans(looked: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    """The id of a human of the same incident with each ``(incident, key)``'s name (Slack
    first, then PagerDuty); '' where none. Found through the few distinct names of the
    humans, not by lower-casing every event's actor."""
    human = np.flatnonzero(events["is_human"].to_numpy(bool))
    codes, actors = pd.factorize(pd.Series(events["actor"].array.take(human)).fillna(""))
    human = human[pd.Index(actors).str.lower().isin(looked["key"].unique())[codes]]
    humans = pd.DataFrame(
        {c: events[c].array.take(human) for c in ("incident", "actor", "actor_id", "source")}
    )
    humans = humans.assign(key=humans["actor"].str.lower(), slack=humans["source"] == "slack")
    humans = humans.sort_values("slack", ascending=False, kind="stable").drop_duplicates(
        ["incident", "key"]
    )
    return (
        looked.merge(
            humans[["incident", "key", "actor_id"]].astype(object),
            on=["incident", "key"],
            how="left",
        )["actor_id"]
        .fillna("")
        .to_numpy(object)
    )


def _in_directory(looked: pd.DataFrame, directories: Mapping[str, Directory]) -> np.ndarray:
    """The user id of each ``(incident, key)`` (a lower-cased name) in that incident's
    directory, by display name or full name; '' where no user or several have it."""
    known = []
    for incident in pd.unique(looked["incident"]):  # incidents, not posts
        folder = directories.get(str(incident))
        if folder is None:
            continue
        for names in (folder.users, folder.full_names):
            known += [(incident, str(name).lower(), user) for user, name in names.items()]
    users = pd.DataFrame(known, columns=["incident", "key", "user"]).drop_duplicates()
    users = users[~users.duplicated(["incident", "key"], keep=False)]
    return (
        looked.merge(users, on=["incident", "key"], how="left")["user"].fillna("").to_numpy(object)
    )


def _echoes(posts: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Each PagerDuty Slack app post matched to the log entry it echoes (its ``ref``), where
    the log has one of the same kind within :data:`ECHO_WINDOW`."""
    echo = posts[(posts["kind"] == "pagerduty").to_numpy(bool)]
    if not len(echo):
        return posts
    kinds = sorted({k for ks in ECHOES.values() for k in ks})
    at = np.flatnonzero(
        (events["source"] == "pagerduty").to_numpy(bool, na_value=False)
        & events["kind"].isin(kinds).to_numpy(bool)
    )
    # only the entries of the incidents that have echoes, found by looking each one up among
    # those few incidents rather than hashing them all together
    names = pd.Index(pd.unique(echo["incident"].to_numpy(object)))
    log_incident = names.get_indexer(events["incident"].array.take(at))
    at, log_incident = at[log_incident >= 0], log_incident[log_incident >= 0]
    if not len(at):
        return posts
    log = pd.DataFrame({c: events[c].array.take(at) for c in ("ts", "kind", "ref")})
    # a note echo may be either kind of log row: one candidate per kind it may echo; incident
    # and kind as one integer key (merge_asof groups integers far faster than strings)
    kind_code = {k: i for i, k in enumerate(kinds)}
    echoed = np.array(
        [[kind_code[k] for k in ks] + [-1] * (2 - len(ks)) for ks in ECHOES.values()],
        dtype=np.int64,
    )
    count = (echoed >= 0).sum(axis=1)[
        echo["event"].map({e: i for i, e in enumerate(ECHOES)}).to_numpy(np.int64)
    ]
    nth = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    each = np.repeat(np.arange(len(echo)), count)
    kind = echoed[
        echo["event"].map({e: i for i, e in enumerate(ECHOES)}).to_numpy(np.int64)[each], nth
    ]
    log_kind = log["kind"].map(kind_code).to_numpy(np.int64)
    incident = np.r_[names.get_indexer(echo["incident"].to_numpy(object))[each], log_incident]
    key = incident.astype(np.int64) * len(kind_code) + np.r_[kind, log_kind]
    left = pd.DataFrame(
        {
            "at": echo.index.to_numpy()[each],
            "key": key[: len(each)],
            "ts": echo["ts"].array.take(each),
        }
    )
    right = pd.DataFrame(
        {
            "key": key[len(each) :],
            "ts": log["ts"].array,
            "log_ref": log["ref"].fillna("").to_numpy(object),
        }
    )
    matched = pd.merge_asof(
        left.sort_values("ts", kind="stable"),
        right.sort_values("ts", kind="stable"),
        on="ts",
        by="key",
        tolerance=ECHO_WINDOW,
        direction="nearest",
    )
    matched = matched[matched["log_ref"].notna()].drop_duplicates("at")
    out = posts.copy()
    out.loc[matched["at"].to_numpy(), "echo_of"] = (
        matched["log_ref"].replace("", "(log entry)").to_numpy(object)
    )
    return out


# --- what the posts are evidence of -------------------------------------------------------


def _evidence(posts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Milestone candidates and status-update signals of ``posts``, worked out once per
    distinct kind of post (integration, event, stage, status, severity) and spread to every
    post of that kind: a channel's bots say the same few things many times."""
    if not len(posts):
        none = np.zeros(0, dtype=object)
        return _concat([], EVIDENCE_COLUMNS).astype({"row": "int64", "last": bool}), _signal_frame(
            np.zeros(0, np.int64), none, none
        )
    # PagerDuty echoes stand in only where the log lacks the entry
    alone = (posts["kind"] == "pagerduty").to_numpy(bool) & (posts["echo_of"] == "").to_numpy(bool)
    fields = (
        posts[["integration", "kind", "event", "stage", "status", "severity"]]
        .astype(object)
        .assign(alone=alone)
    )
    combined = np.zeros(len(posts), dtype=np.int64)
    for column in fields:
        codes, uniques = pd.factorize(fields[column])
        # kept dense (codes below the number of posts), so no product of columns overflows
        combined = np.unique(combined * (len(uniques) + 1) + codes, return_inverse=True)[1].reshape(
            -1
        )
    _, first, code = np.unique(combined, return_index=True, return_inverse=True)
    kinds = [
        _what(*combo) for combo in fields.iloc[first].itertuples(index=False)
    ]  # distinct kinds, not posts
    # every post's evidence rows: its kind's, spread by position (no merge on strings)
    table = [(c, *e) for c, (evidence, _) in enumerate(kinds) for e in evidence]
    owner = np.array([t[0] for t in table], dtype=np.int64)
    count = np.bincount(owner, minlength=len(kinds))[code]
    start = np.searchsorted(owner, code)
    pick = np.repeat(start - np.r_[0, np.cumsum(count)[:-1]], count) + np.arange(count.sum())
    rows = posts["row"].to_numpy(np.int64)
    columns = list(zip(*table, strict=True)) if table else [(), (), (), (), ()]
    evidence = pd.DataFrame(
        {
            "row": np.repeat(rows, count),
            **{
                name: np.asarray(values, dtype=object)[pick]
                for name, values in zip(["milestone", "source", "rule"], columns[1:4], strict=True)
            },
            "last": np.asarray(columns[4], dtype=bool)[pick],
        }
    )[EVIDENCE_COLUMNS].astype({"row": "int64", "last": bool})
    # status updates: each kind's (source, rule), spread to its posts
    update = np.array([u is not None for _, u in kinds])[code]
    source = np.array([u[0] if u else "" for _, u in kinds], dtype=object)[code[update]]
    rule = np.array([u[1] if u else "" for _, u in kinds], dtype=object)[code[update]]
    return evidence.sort_values("row", kind="stable", ignore_index=True), _signal_frame(
        rows[update], source, rule
    )


def _what(
    integration: str, kind: str, event: str, stage: str, status: str, severity: str, alone: bool
) -> tuple[list[tuple[str, str, str, bool]], tuple[str, str] | None]:
    """What one kind of post is evidence of, as ``(milestone, source, rule, last)`` rows, and
    the ``(source, rule)`` of it as a status update (None where it is none)."""
    label = f"{integration} {event}"
    if kind == "pagerduty":
        milestones = PAGERDUTY_MILESTONES.get(event, ()) if alone else ()
        return [
            (m, "pagerduty", f"Slack app {event} (no log entry)", event == "resolve")
            for m in milestones
        ], None
    if kind == "platform" and event == "declared":
        return [
            ("declared", "platform", label + (f" ({severity})" if severity else ""), False)
        ], None
    if kind == "platform" and event == "update":
        return [], (kind, label)
    if kind in ("platform", "statuspage") and event in ("status", "stage"):
        changed = [
            (m, kind, f"{label} → {status}", m == "resolved")
            for m in (STAGES[stage][1] if stage else ())
        ]
        return changed, (kind, label) if kind == "statuspage" else None
    if kind == "alert":
        return [
            ("detected", "alert", label, False)
            if event == "firing"
            else ("restored", "alert", label, True)
        ], None
    return [], None


def _signal_frame(rows: np.ndarray, source: np.ndarray, rule: np.ndarray) -> pd.DataFrame:
    """Status updates as signal rows (one per post)."""
    frame = pd.DataFrame(
        {
            "row": rows.astype(np.int64),
            "label": pd.array(np.full(len(rows), "status_update", dtype=object), dtype="string"),
            "source": pd.array(source, dtype="string"),
            "rule": pd.array(rule, dtype="string"),
        }
    )
    return frame.drop_duplicates("row").reset_index(drop=True)


def _folded(names: pd.Series) -> pd.Series:
    """Status or role names as :func:`~pia.integrations.config.fold` compares them."""
    return names.str.lower().str.replace("_", " ", regex=False).str.split().str.join(" ")


def _commanders(posts: pd.DataFrame, integrations: Sequence[Integration]) -> dict[str, str]:
    """The first person each incident's platform made incident lead / commander."""
    if not len(posts):
        return {}
    roles = pd.DataFrame(
        [(i.name, r) for i in integrations for r in i.commander_roles],
        columns=["integration", "folded"],
    )
    named = posts[
        (posts["event"] == "role").to_numpy(bool) & (posts["person_id"] != "").to_numpy(bool)
    ]
    first = (
        named.assign(folded=_folded(named["role"]))
        .merge(roles, on=["integration", "folded"])
        .sort_values("row")
        .drop_duplicates("incident")
    )
    return dict(zip(first["incident"].astype(str), first["person_id"].astype(str), strict=True))


# --- data-quality notes ---------------------------------------------------------------------


def _silent_notes(events: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return _note_rows(
        events,
        rows,
        "integration",
        lambda actor: (
            "a post by " + actor + " has no text, blocks or attachments: nothing read from it"
        ),
    )


def _post_notes(
    posts: pd.DataFrame, events: pd.DataFrame, integrations: Sequence[Integration]
) -> list[pd.DataFrame]:
    out = []
    changes = posts[
        posts["event"].isin(["status", "stage"]).to_numpy(bool)
        & (posts["status"] != "").to_numpy(bool)
    ]
    unknown = changes[changes["stage"] == ""]
    out.append(
        _note_frame(
            unknown,
            events,
            "integration",
            unknown["integration"]
            + " status '"
            + unknown["status"]
            + "' is not a known status name (map it under [integrations."
            + unknown["integration"]
            + ".statuses] in pia.toml): no milestone read from it",
        )
    )
    # a status going backwards: a stage before one already reached (reopening, or a mistake)
    known = changes[
        (changes["stage"] != "").to_numpy(bool) & (changes["stage"] != "cancelled").to_numpy(bool)
    ].sort_values(["row"], kind="stable")
    order = known["stage"].map({stage: rank for stage, (rank, _) in STAGES.items()}).astype("int64")
    reached = order.groupby([known["incident"], known["integration"]]).cummax()
    before = known.groupby(["incident", "integration"])["status"].shift()
    back = known[(order < reached).to_numpy(bool)]
    out.append(
        _note_frame(
            back,
            events,
            "integration",
            back["integration"]
            + " status went back to '"
            + back["status"]
            + "' after '"
            + before[back.index].fillna("")
            + "'; the first time each stage was reached is used, the last resolve for resolved",
        )
    )
    # whom an echo of the log names is the log's to say
    acting = posts[
        posts["event"].isin(NAMING).to_numpy(bool)
        & (posts["person"] != "").to_numpy(bool)
        & (posts["person_id"] == "").to_numpy(bool)
        & (posts["echo_of"] == "").to_numpy(bool)
    ]
    raw = acting["person"].str.fullmatch(_RAW_ID.pattern).to_numpy(bool)
    detail = np.where(
        raw,
        acting["integration"]
        + " names "
        + acting["person"].str.lstrip("@")
        + ", who is not in the workspace's user directory; the post stays the bot's",
        acting["integration"]
        + " names someone who is not among this incident's people (see the post); the post stays the bot's",
    )
    out.append(
        _note_frame(
            acting, events, "integration", pd.Series(detail, index=acting.index, dtype=object)
        )
    )
    return out


def disagreements(
    events: pd.DataFrame,
    found: pd.DataFrame,
    posts: pd.DataFrame,
    margin: pd.Timedelta,
    incident_codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Where people said the service was back (or the incident resolved) more than ``margin``
    before or after an incident platform's status said so: one note per incident and
    milestone, naming both times. ``found`` are the text signals of ``events``. Words of
    recovery before the first remediation (said, or a status that says a fix is under way)
    are not read as one, as in detection. ``incident_codes`` is the events' incident column
    factorised (:class:`pia.milestones.detect.Incidents`), where the caller has it."""
    #: milestone: the labels of people's words, the platform stages that say it
    compared = {
        "mitigated": (("mitigated", "restored"), ("mitigated", "monitoring")),
        "resolved": (("resolved",), ("resolved", "closed")),
    }
    platform = posts[(posts["kind"] == "platform").to_numpy(bool)] if len(posts) else posts
    if (
        not len(platform)
        or not platform["stage"].isin([s for _, stages in compared.values() for s in stages]).any()
    ):
        return _concat([], NOTE_COLUMNS)  # the common case: no platform status to compare with
    # only the words of the incidents a platform's status speaks for, found on the few labels
    wanted = found[
        found["label"].isin(["mitigation", "mitigated", "restored", "resolved"]).to_numpy(bool)
    ]
    wanted = wanted[wanted["source"].isin(["rule", "marker"]).to_numpy(bool)]
    said = pd.DataFrame(
        {"row": wanted["row"].to_numpy(np.int64), "label": wanted["label"].to_numpy(object)}
    )
    said = said.assign(
        incident=events["incident"].array.take(said["row"].to_numpy()),
        ts=events["ts"].array.take(said["row"].to_numpy()),
    )
    code = pd.factorize(events["incident"])[0] if incident_codes is None else incident_codes
    said = said[np.isin(code[said["row"].to_numpy()], code[platform["row"].to_numpy(np.int64)])]
    said = said.iloc[np.argsort(said["row"].to_numpy(), kind="stable")]
    # words of recovery count from the first remediation: said, or a status of a fix under way
    fixing = platform[(platform["stage"] == "fixing").to_numpy(bool)]
    starts = [
        p
        for p in (
            said.loc[(said["label"] == "mitigation").to_numpy(bool), ["incident", "ts"]],
            fixing[["incident", "ts"]].astype({"incident": object}),
        )
        if len(p)
    ]
    since = (
        pd.concat(starts).groupby("incident")["ts"].min()
        if starts
        else pd.Series(dtype="datetime64[ns, UTC]")
    )
    parts = []
    for milestone, (labels, stages) in compared.items():
        words = said.loc[
            said["label"].isin(labels).to_numpy(bool), ["incident", "ts", "row"]
        ].rename(columns={"ts": "said", "row": "said_row"})
        if milestone == "mitigated":
            start = words["incident"].map(since)
            words = words[(start.isna() | (words["said"] >= start)).to_numpy(bool)]
        words = words.drop_duplicates("incident")
        bot = platform[platform["stage"].isin(stages).to_numpy(bool)].drop_duplicates("incident")
        both = words.merge(
            bot[["incident", "ts", "row", "integration", "status"]].astype({"incident": object}),
            on="incident",
        )
        both = both[(both["said"] - both["ts"]).abs() > margin]
        if not len(both):
            continue
        # each wording built only for the notes it is for
        early = (both["said"] < both["ts"]).to_numpy(bool)
        said_at, status_at = both["said"].dt.strftime("%H:%M"), both["ts"].dt.strftime("%H:%M")
        status = both["integration"] + " status became '" + both["status"] + "'"
        detail = np.empty(len(both), dtype=object)
        detail[early] = (
            "people said "
            + milestone
            + " at "
            + said_at
            + ", but the "
            + status
            + " only at "
            + status_at
        )[early].to_numpy(object)
        detail[~early] = (
            "the "
            + status
            + " at "
            + status_at
            + ", but people said "
            + milestone
            + " only at "
            + said_at
        )[~early].to_numpy(object)
        parts.append(
            pd.DataFrame(
                {
                    "incident": both["incident"].to_numpy(object),
                    "check": "disagreement",
                    "ts": both["ts"].to_numpy(),
                    "detail": detail
                    + "; the status change is used (a platform's status outranks text)",
                    "ref": events["ref"].array.take(both["row"].to_numpy(np.int64)),
                }
            )
        )
    return _concat(parts, NOTE_COLUMNS)


def _note_rows(events: pd.DataFrame, rows: np.ndarray, check: str, detail) -> pd.DataFrame:
    actor = pd.Series(events["actor"].array.take(rows), dtype=object)
    return pd.DataFrame(
        {
            "incident": events["incident"].array.take(rows),
            "check": check,
            "ts": events["ts"].array.take(rows),
            "detail": detail(actor).to_numpy(object),
            "ref": events["ref"].array.take(rows),
        }
    )


def _note_frame(
    posts: pd.DataFrame, events: pd.DataFrame, check: str, detail: pd.Series
) -> pd.DataFrame:
    rows = posts["row"].to_numpy(np.int64)
    return pd.DataFrame(
        {
            "incident": posts["incident"].to_numpy(object),
            "check": check,
            "ts": posts["ts"].to_numpy(),
            "detail": pd.Series(detail).to_numpy(object),
            "ref": events["ref"].array.take(rows),
        }
    )


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        return out.astype({"ts": "datetime64[ns, UTC]"}) if "ts" in columns else out
    return pd.concat(parts, ignore_index=True)[columns]
