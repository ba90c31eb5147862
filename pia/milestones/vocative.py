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
    # what could be a call, once per distinct message: a first word that is no common word,
    # then a verb's base form
    opening = pc.extract_regex(distinct, _VOCATIVE).flatten()
    name, after = (pc.utf8_lower(a).to_numpy(zero_copy_only=False) for a in opening)
    could = (name != None) & ~np.isin(name, list(_NOT_NAMES))  # noqa: E711
    verbs = pd.Series(after[could])
    base = verbs.map({w: lemma(w) == w and w not in _NOT_IMPERATIVE for w in verbs.unique()})
    could[could] = base.to_numpy(bool)
    at = np.flatnonzero(could[which])
    if not len(at):
        return distinct, which
    # each speaker's first name as a code, once per distinct speaker (-1: none)
    actor = pc.dictionary_encode(pc.utf8_lower(_strings(events["actor"].array[rows])))
    firsts = pc.extract_regex(actor.dictionary, r"^(?P<first>[a-z][a-z'-]+)").flatten()[0]
    names = pc.unique(firsts.drop_null())
    first = pc.index_in(firsts, value_set=names).fill_null(-1).to_numpy()
    speaker = np.append(first, -1)[actor.indices.fill_null(-1).to_numpy()]
    called = pc.index_in(pa.array(name[which[at]], pa.string()), value_set=names)
    called = called.fill_null(-1).to_numpy()
    keep = (called >= 0) & (called != speaker[at])
    at, called = at[keep], called[keep]
    if not len(at):
        return distinct, which
    # someone of that first name speaks in the same incident
    incident = pc.dictionary_encode(_strings(events["incident"].array[rows])).indices.to_numpy()
    people = np.unique((incident * len(names) + speaker)[speaker >= 0])
    at = at[np.isin(incident[at] * len(names) + called, people)]
    named = pc.replace_substring_regex(distinct.take(which[at]), _NAME_FIRST, r"\1@\2")
    which = which.copy()
    which[at] = len(distinct) + np.arange(len(at))
    return pa.concat_arrays([distinct, named]), which


def _strings(values: object) -> pa.Array:
    return pa.array(np.asarray(values, object), pa.string(), from_pandas=True)
