"""Someone called by name: "zoe revert it" asks Zoe as "@zoe revert it" would.

A message that opens with the first name of someone in the incident (one of its speakers),
then a verb's base form, is read with an "@" before the name, so the rules for asks see it.
"zoe reverted it" is news and "zoe is on it" a statement; a speaker's own name calls no one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pia.milestones.normalise import lemma

#: What may come before the name: "ok, zoe ...", "Agree. bruno ..."
_OPENER = r"^[^\w@]*(?:(?:ok|okay|agree|yes|right)\W+)?"
_VOCATIVE = _OPENER + r"(?P<name>[A-Za-z][A-Za-z'-]*)\W*\s+(?P<next>[A-Za-z]+)"
_NAME_FIRST = f"({_OPENER})([A-Za-z])"
#: First words that are words before they are anyone's name
_NOT_NAMES = frozenset(
    [
        "we",
        "you",
        "it",
        "so",
        "ok",
        "the",
        "an",
        "this",
        "that",
        "all",
        "no",
        "yes",
        "my",
        "me",
        "he",
        "she",
        "they",
        "us",
        "our",
        "ops",
        "db",
        "api",
        "can",
        "will",
        "just",
        "now",
        "then",
    ]
)
#: Base forms that follow a name without asking anything of them ("sam is on it")
_NOT_IMPERATIVE = frozenset(
    [
        "is",
        "was",
        "has",
        "had",
        "does",
        "did",
        "said",
        "says",
        "thinks",
        "can",
        "will",
        "should",
        "would",
        "could",
        "might",
        "may",
        "must",
        "and",
        "or",
        "here",
        "too",
        "also",
    ]
)


def addressed(
    events: pd.DataFrame, rows: np.ndarray, distinct: pa.Array, which: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """The messages said at positions ``rows`` of ``events``, as ``distinct[which]``, with the
    calls among them read with an "@" before the name: those rows point to new messages
    appended to ``distinct``."""
    if not len(distinct):
        return distinct, which
    name = _opening(distinct)  # once per distinct message
    at = np.flatnonzero(name[which] != None)  # noqa: E711
    at = at[_callee(events, rows, rows[at], name[which[at]]) >= 0]
    if not len(at):
        return distinct, which
    named = pc.replace_substring_regex(distinct.take(which[at]), _NAME_FIRST, r"\1@\2")
    which = which.copy()
    which[at] = len(distinct) + np.arange(len(at))
    return pa.concat_arrays([distinct, named]), which


def addressees(events: pd.DataFrame, rows: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """The ``actor_id`` of the person each message at positions ``rows`` of ``events`` calls
    by first name, one of those who said something at positions ``speech`` (None where it
    calls no one)."""
    out = np.full(len(rows), None, dtype=object)
    if not len(rows):
        return out
    name = _opening(_strings(events["text"].array[rows]))
    at = np.flatnonzero(name != None)  # noqa: E711
    callee = _callee(events, speech, rows[at], name[at])
    ids = np.asarray(events["actor_id"].array, dtype=object)
    out[at[callee >= 0]] = ids[callee[callee >= 0]]
    return out


def _opening(text: pa.Array) -> np.ndarray:
    """The first name each of ``text`` opens with, lower case, where what follows is a verb's
    base form and the name is no common word; None elsewhere."""
    opening = pc.extract_regex(text, _VOCATIVE).flatten()
    name, after = (pc.utf8_lower(a).to_numpy(zero_copy_only=False) for a in opening)
    could = (name != None) & ~np.isin(name, list(_NOT_NAMES))  # noqa: E711
    verbs = pd.Series(after[could])
    base = verbs.map({w: lemma(w) == w and w not in _NOT_IMPERATIVE for w in verbs.unique()})
    could[could] = base.to_numpy(bool)
    name[~could] = None
    return name


def _callee(
    events: pd.DataFrame, speech: np.ndarray, at: np.ndarray, name: np.ndarray
) -> np.ndarray:
    """For the messages at positions ``at`` of ``events``, each opening with a first name in
    ``name``, the position of the first message in ``speech`` (positions of what people said)
    by someone else of that first name in the same incident; -1 where there is none."""
    found = np.full(len(at), -1, dtype=np.int64)
    if not len(at):
        return found
    everyone = np.concatenate([speech, at])
    # each speaker's first name as a code, once per distinct speaker (-1: none)
    actor, actors = pd.factorize(np.asarray(events["actor"].array[everyone], object))
    firsts = pc.extract_regex(pc.utf8_lower(_strings(actors)), r"^(?P<first>[a-z][a-z'-]+)")
    firsts = firsts.flatten()[0]
    names = pc.unique(firsts.drop_null())
    called = pc.index_in(pa.array(name, pa.string()), value_set=names).fill_null(-1).to_numpy()
    if not (called >= 0).any():
        return found
    first = pc.index_in(firsts, value_set=names).fill_null(-1).to_numpy()
    speaker = np.append(first, -1)[actor]
    code = pd.factorize(np.asarray(events["incident"].array[everyone], object))[0].astype(np.int64)
    said, asked = slice(0, len(speech)), slice(len(speech), None)
    # (incident, first name) as one integer: the first message of each such speaker
    heard = speaker[said] >= 0
    people, first_at = np.unique(
        (code[said] * len(names) + speaker[said])[heard], return_index=True
    )
    if not len(people):
        return found
    wanted = code[asked] * len(names) + called
    hit = np.minimum(np.searchsorted(people, wanted), len(people) - 1)
    ok = (called >= 0) & (called != speaker[asked]) & (people[hit] == wanted)
    found[ok] = speech[heard][first_at[hit[ok]]]
    return found


def _strings(values: object) -> pa.Array:
    return pa.array(np.asarray(values, object), pa.string(), from_pandas=True)
