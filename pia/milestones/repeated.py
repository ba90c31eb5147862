"""Repeated events, not just firsts: hypotheses and pivots, escalations, status updates and
IC directives with the reply that answered them.

Each function takes the events DataFrame and its :func:`~pia.milestones.detect.signals` and
returns one row per occurrence, for any number of incidents at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pia.milestones.detect import ACT_KINDS, Incidents, objects
from pia.milestones.vocative import addressees

#: Kinds a reply to a directive can be: the addressee speaking in Slack.
REPLY_KINDS = ("message", "reply")
_EVENT_COLUMNS = ["incident", "ts", "actor", "actor_id", "text", "ref"]


def _labelled(events: pd.DataFrame, found: pd.DataFrame, label: str) -> pd.DataFrame:
    rows = found.loc[objects(found["label"]) == label, ["row", "source", "rule"]].sort_values("row")
    picked = _take(events, rows["row"].to_numpy(), _EVENT_COLUMNS)
    return picked.assign(
        row=rows["row"].to_numpy(), source=rows["source"].to_numpy(), rule=rows["rule"].to_numpy()
    )


def _take(events: pd.DataFrame, rows: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """``columns`` of ``events`` at positions ``rows``, without copying the other columns."""
    return pd.DataFrame({c: events[c].array.take(rows) for c in columns})


def _speech(events: pd.DataFrame) -> np.ndarray:
    """Positions of what humans said in Slack."""
    return np.flatnonzero(
        events["is_human"].to_numpy(bool) & events["kind"].isin(REPLY_KINDS).to_numpy()
    )


def hypotheses(
    events: pd.DataFrame,
    found: pd.DataFrame,
    until: pd.Series | None = None,
    incidents: Incidents | None = None,
) -> pd.DataFrame:
    """Every stated hypothesis, with ``pivot`` true where one was dropped since the previous
    hypothesis ("ruled out", "red herring", "didn't help", ...) and this one replaces it.

    ``until`` (incident -> time) ends each incident's response: where hypotheses came before
    it, a cause stated at or after it (the status update that says the service is back and
    why, a recap) explains the incident rather than guessing at it, and is not listed.
    ``incidents`` is :meth:`~pia.milestones.detect.Incidents.of` ``events``, where the caller
    has it."""
    incidents = incidents or Incidents.of(events)
    hyps = _labelled(events, found, "hypothesis")
    if until is not None and len(hyps):
        code = incidents.codes[hyps["row"].to_numpy(np.int64)]
        end = pd.DatetimeIndex(until.reindex(incidents.names)).asi8[code]
        late = (hyps["ts"].array.asi8 >= end) & (end != pd.NaT.value)
        guessed = np.bincount(code[~late], minlength=len(incidents.names)) > 0
        hyps = hyps[~(late & guessed[code])].reset_index(drop=True)
    drops = _labelled(events, found, "dropped")[["incident", "row"]].rename(
        columns={"row": "drop_row"}
    )
    if hyps.empty:
        return hyps.assign(pivot=pd.Series(dtype=bool)).drop(columns="row")
    previous = hyps["row"].groupby(incidents.codes[hyps["row"].to_numpy(np.int64)]).shift()
    if drops.empty:
        last_drop = pd.Series(np.nan, index=hyps.index)
    else:
        # the last drop at or before each hypothesis (a message may drop one and state the next)
        joined = pd.merge_asof(
            hyps[["incident", "row"]].astype({"row": "int64"}),
            drops.assign(
                drop_row=drops["drop_row"].astype("int64"), row=drops["drop_row"].astype("int64")
            ),
            on="row",
            by="incident",
            direction="backward",
        )
        last_drop = joined["drop_row"]
    pivot = previous.notna() & (last_drop > previous).fillna(False)
    return hyps.assign(pivot=pivot.to_numpy(bool)).drop(columns="row")


def escalations(events: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """Every escalation and responder pulled in: PagerDuty ``escalate`` and ``assign`` entries
    (except the assignment made when the incident was triggered), PagerDuty's Slack app
    posts standing in for missing entries, and Slack asks to join."""
    kind = events["kind"]
    # only the log, or a Slack app post standing in for it, has these kinds
    rows = np.flatnonzero(kind.isin(["escalate", "assign", "reassign"]).to_numpy())
    triggers = np.flatnonzero((kind == "trigger").to_numpy(bool, na_value=False))
    first_trigger = (
        events["ts"].iloc[triggers].groupby(events["incident"].iloc[triggers], sort=False).min()
    )
    at_trigger = events["ts"].iloc[rows].reset_index(drop=True) == events["incident"].iloc[
        rows
    ].map(first_trigger).reset_index(drop=True)
    rows = rows[~at_trigger.fillna(False).to_numpy(bool)]
    paged = _take(events, rows, [*_EVENT_COLUMNS, "kind", "mentions"]).assign(
        source="pagerduty", rule=lambda f: f["kind"].astype(str)
    )
    asked = _labelled(events, found, "escalation")
    asked = asked.assign(
        kind="message", mentions=events["mentions"].array.take(asked["row"].to_numpy())
    ).drop(columns="row")
    parts = [p for p in (paged, asked) if len(p)] or [paged]  # an empty part would blur the dtypes
    out = pd.concat(parts, ignore_index=True).sort_values(["incident", "ts"], kind="stable")
    return out.rename(columns={"mentions": "to"})[
        [*_EVENT_COLUMNS, "source", "rule", "to"]
    ].reset_index(drop=True)


def status_updates(
    events: pd.DataFrame, found: pd.DataFrame, incidents: Incidents | None = None
) -> pd.DataFrame:
    """Every stakeholder status update, with ``gap``: the time since the previous one.
    ``incidents`` is :meth:`~pia.milestones.detect.Incidents.of` ``events``, where the caller
    has it."""
    incidents = incidents or Incidents.of(events)
    updates = _labelled(events, found, "status_update")
    gap = updates["ts"].groupby(incidents.codes[updates["row"].to_numpy(np.int64)]).diff()
    return updates.assign(gap=gap).drop(columns="row")


def commanders(
    events: pd.DataFrame, named: Mapping[str, str] | None = None, incidents: Incidents | None = None
) -> pd.Series:
    """The IC of each incident: ``named[incident]`` (incident.toml's ``commander``, a Slack
    user id) where given, else the first human who posted in Slack. ``incidents`` is
    :meth:`~pia.milestones.detect.Incidents.of` ``events``, where the caller has it."""
    incidents = incidents or Incidents.of(events)
    speech = _speech(events)
    code, first = np.unique(incidents.codes[speech], return_index=True)
    values = pd.array(np.full(len(incidents.names), None, dtype=object), dtype="string")
    values[code] = events["actor_id"].array.take(speech[first])
    out = pd.Series(values, index=incidents.names.to_numpy(object), dtype="string")
    named = {i: c for i, c in (named or {}).items() if c}
    if named:
        # one placement for all (a bot may name the IC of thousands of incidents in a batch)
        given = pd.Series(named, dtype="string")
        at = out.index.get_indexer(given.index)
        values = out.array.copy()
        values[at[at >= 0]] = given.array[at >= 0]
        out = pd.Series(values, index=out.index, dtype="string")
    return out


def directives(
    events: pd.DataFrame,
    found: pd.DataFrame,
    commander: pd.Series,
    incidents: Incidents | None = None,
) -> pd.DataFrame:
    """Every IC directive ("@x, please ...", "@x, can you ...": an ask by the IC that mentions
    someone, or calls them by first name: "zoe revert it"), one row per addressee, paired
    with the addressee's first message after it.

    Columns: the directive's ``incident, ts, actor, text, ref``, ``to`` (Slack user id),
    ``to_name``, ``answered``, ``answer_ts``, ``answer_ref``, ``answer_text`` and
    ``answer_time`` (a timedelta; NaT when unanswered). ``incidents`` is
    :meth:`~pia.milestones.detect.Incidents.of` ``events``, where the caller has it.
    """
    incidents = incidents or Incidents.of(events)
    asks = _labelled(events, found, "directive")
    rows = asks["row"].to_numpy(np.int64)
    code = incidents.codes[rows]
    ic = objects(commander.reindex(incidents.names)).copy()
    ic[pd.isna(ic)] = None  # no IC: no one's directives
    mentions = objects(events["mentions"])[rows]
    mentions = np.where(pd.isna(mentions), "", mentions)
    # "zoe revert it": the one called by first name, where no one is mentioned
    speech = _speech(events)
    by_ic = objects(asks["actor_id"]) == ic[code]
    unnamed = np.flatnonzero(by_ic & (mentions == ""))
    called = addressees(events, rows[unnamed], speech)
    named = called != None  # noqa: E711
    mentions[unnamed[named]] = called[named]
    by_ic &= mentions != ""
    # one row per addressee, each distinct list of mentions split once
    which, lists = pd.factorize(mentions[by_ic])
    words = [m.split() for m in lists]
    length = np.fromiter(map(len, words), np.int64, len(words))
    count = length[which]
    each = np.flatnonzero(by_ic)[np.repeat(np.arange(len(which)), count)]
    nth = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    to = np.asarray([w for split in words for w in split], dtype=object)[
        np.repeat((np.cumsum(length) - length)[which], count) + nth
    ]
    other = to != objects(asks["actor_id"])[each]
    each, to = each[other], to[other]
    one = (
        asks.drop(columns="row")
        .iloc[each]
        .assign(to=pd.array(to, dtype=events["actor_id"].dtype))
        .reset_index(drop=True)
    )
    # the addressees' names (their first post's); only their speech can answer
    addressed = pd.Index(pd.unique(to))
    person = addressed.get_indexer(objects(events["actor_id"]))
    theirs = np.flatnonzero(person >= 0)
    first = theirs[np.unique(person[theirs], return_index=True)[1]]
    names = pd.Series(events["actor"].array.take(first), index=addressed[person[first]])
    one = one.assign(to_name=one["to"].map(names).fillna(one["to"]).astype("string"))
    speech = speech[person[speech] >= 0]
    replies = _take(events, speech, ["ts", "ref", "text"]).rename(
        columns={"ts": "answer_ts", "ref": "answer_ref", "text": "answer_text"}
    )
    # a reply answers its author's directives in its incident: one integer key for the pair
    span = len(addressed) + 1
    one["pair"] = code[each].astype(np.int64) * span + addressed.get_indexer(to)
    replies["pair"] = incidents.codes[speech].astype(np.int64) * span + person[speech]
    one = one.sort_values("ts", kind="stable").reset_index(drop=True)
    if one.empty:
        empty = pd.Series(dtype="string")
        paired = one.assign(
            answer_ts=pd.Series(dtype="datetime64[ns, UTC]"), answer_ref=empty, answer_text=empty
        )
    else:
        paired = pd.merge_asof(
            one,
            replies.assign(key=replies["answer_ts"]).sort_values("key", kind="stable"),
            left_on="ts",
            right_on="key",
            by="pair",
            direction="forward",
            allow_exact_matches=False,
        ).drop(columns="key")
    answered = paired["answer_ts"].notna()
    out = paired.assign(
        answered=answered.to_numpy(bool), answer_time=paired["answer_ts"] - paired["ts"]
    )
    cols = [
        "incident",
        "ts",
        "actor",
        "text",
        "ref",
        "source",
        "rule",
        "to",
        "to_name",
        "answered",
        "answer_ts",
        "answer_time",
        "answer_ref",
        "answer_text",
    ]
    return out[cols].sort_values(["incident", "ts"], kind="stable").reset_index(drop=True)


def responders(
    events: pd.DataFrame,
    people: Mapping[str, Mapping[str, str]] | None = None,
    incidents: Incidents | None = None,
) -> pd.DataFrame:
    """The humans who spoke or acted, one row per person per incident, with their first act,
    how many acts and ``id`` (the Slack user id where the person has one).

    A PagerDuty user is the same person as a Slack user when ``people[incident]`` maps the
    PagerDuty id to the Slack id (``[people]`` in incident.toml), else when the Slack name's words
    begin the PagerDuty name's words ("Sofia L" and "Sofia Lindqvist") and only one Slack
    user in the incident fits. ``incidents`` is :meth:`~pia.milestones.detect.Incidents.of`
    ``events``, where the caller has it.
    """
    incidents = incidents or Incidents.of(events)
    rows = np.flatnonzero(
        events["is_human"].to_numpy(bool) & events["kind"].isin(ACT_KINDS).to_numpy()
    )
    acts = pd.DataFrame(
        {c: events[c].array.take(rows) for c in ("incident", "ts", "source", "actor", "actor_id")}
    )
    incident = incidents.codes[rows]
    person, found = pd.factorize(acts["actor_id"], use_na_sentinel=False)
    ids = list(found)
    # each (incident, person) once, Slack and PagerDuty apart, at their first act
    pair = incident.astype(np.int64) * (len(ids) + 1) + person
    in_slack = (acts["source"] == "slack").to_numpy(bool)
    slack, paged = _firsts(pair, in_slack), _firsts(pair, ~in_slack)
    target = _same_as(
        objects(acts["actor"]),
        incident,
        incidents.names.to_numpy(object),
        person,
        ids,
        slack,
        paged,
        people or {},
    )
    key = np.asarray(person)
    if (target >= 0).any():
        at = pd.Index(pair[paged[target >= 0]]).get_indexer(pair)
        key = np.where(at >= 0, target[target >= 0][at], person)
    # one row per (incident, id), in order of first appearance (ids that are NA drop out)
    known = np.asarray(ids, dtype=object)
    valid = (
        np.flatnonzero((incident >= 0) & ~pd.isna(known)[key])
        if len(known)
        else np.flatnonzero(incident >= 0)
    )
    group = incident[valid].astype(np.int64) * (len(known) + 1) + key[valid]
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    order = np.lexsort((_nat_last(acts["ts"])[valid], inverse))
    earliest = (
        order[np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1].astype(np.int64)]
        if len(order)
        else order
    )
    seen = np.argsort(first, kind="stable")
    out = pd.DataFrame(
        {
            "incident": acts["incident"].array.take(valid[first[seen]]),
            # no acts at all: an empty float column, as pandas gives an empty list
            "id": known[key[valid[first[seen]]]] if len(acts) else np.array([], dtype=float),
            "first": acts["ts"].array.take(valid[earliest[seen]]),
            "acts": np.bincount(inverse, minlength=len(seen))[seen].astype(np.int64),
        }
    )
    names = acts.iloc[np.unique(person, return_index=True)[1]].set_index("actor_id")["actor"]
    out["actor"] = out["id"].map(names)
    rank = np.empty(len(incidents.names), dtype=np.int64)
    rank[np.argsort(incidents.names.to_numpy(object), kind="stable")] = np.arange(
        len(incidents.names)
    )
    at = np.lexsort((_nat_last(out["first"]), rank[incident[valid[first[seen]]]]))
    return out[["incident", "id", "actor", "first", "acts"]].take(at).reset_index(drop=True)


def _nat_last(stamps: pd.Series) -> np.ndarray:
    """Times as int64 nanoseconds, NaT after every time (as sorting puts it)."""
    return np.where(stamps.isna().to_numpy(), np.iinfo(np.int64).max, stamps.array.asi8)


def _firsts(pair: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The first row of each ``pair`` among the rows where ``mask`` holds, in row order."""
    rows = np.flatnonzero(mask)
    return np.sort(rows[np.unique(pair[rows], return_index=True)[1]])


def _same_as(
    actor: np.ndarray,
    incident: np.ndarray,
    names: np.ndarray,
    person: np.ndarray,
    ids: list,
    slack: np.ndarray,
    paged: np.ndarray,
    people: Mapping[str, Mapping[str, str]],
) -> np.ndarray:
    """For each PagerDuty person (at their first act, ``paged``), the index in ``ids`` of the
    Slack user they are, or -1: the entry of their incident (``names[incident]``) in
    ``people``, else the one Slack user of the same incident whose name fits. Ids that
    ``people`` names and ``ids`` lacks are appended."""
    target = np.full(len(paged), -1, dtype=np.int64)
    code = {value: i for i, value in enumerate(ids)}
    guesses: list[int] = []
    for j, (p, i) in enumerate(
        zip(person[paged], incident[paged], strict=True)
    ):  # people, not events: a handful per incident
        known = people.get(names[i], {}) if people else {}
        if ids[p] in known:
            slack_id = known[ids[p]]
            if slack_id not in code:
                code[slack_id] = len(ids)
                ids.append(slack_id)
            target[j] = code[slack_id]
        else:
            guesses.append(j)
    guess = np.asarray(guesses, dtype=np.int64)
    if not len(guess) or not len(slack):
        return target
    # every (PagerDuty person, Slack user of the same incident) pair
    slack = slack[np.argsort(incident[slack], kind="stable")]
    lo = np.searchsorted(incident[slack], incident[paged[guess]], "left")
    count = np.searchsorted(incident[slack], incident[paged[guess]], "right") - lo
    owner = np.repeat(np.arange(len(guess)), count)
    other = slack[
        np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo, count)
    ]
    named = list(zip(actor[other], actor[paged[guess][owner]], strict=True))
    fits = {pair: _name_fits(*pair) for pair in set(named)}
    fit = np.fromiter((fits[pair] for pair in named), bool, len(named))
    alone = np.bincount(owner[fit], minlength=len(guess)) == 1
    match = np.full(len(guess), -1, dtype=np.int64)
    match[owner[fit]] = person[other[fit]]
    target[guess[alone]] = match[alone]
    return target


def _name_fits(short: str, full: str) -> bool:
    """Whether each word of ``short`` begins the matching word of ``full`` (case-blind)."""
    a, b = short.casefold().replace("(", " ").split(), full.casefold().split()
    a = [w for w in a if not w.endswith(")")]
    return bool(a) and len(a) <= len(b) and all(y.startswith(x) for x, y in zip(a, b, strict=False))
