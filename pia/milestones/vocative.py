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
_OPENER = r"^\W*(?:(?:ok|okay|agree|yes|right)\W+)?"
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


def addressed(events: pd.DataFrame, rows: np.ndarray, text: pa.Array) -> pa.Array:
    """``text`` (said at positions ``rows`` of ``events``) with an "@" before the name where
    a message calls someone in its incident by their first name and goes on with a verb's
    base form."""
    if not len(text):
        return text
    opening = pc.extract_regex(text, _VOCATIVE).flatten()
    name, after = (pc.utf8_lower(a).to_numpy(zero_copy_only=False) for a in opening)
    actor = pc.utf8_lower(
        pa.array(np.asarray(events["actor"].array[rows], object), pa.string(), from_pandas=True)
    )
    speaker = pc.extract_regex(actor, r"^(?P<first>[a-z][a-z'-]+)").flatten()[0]
    speaker = speaker.to_numpy(zero_copy_only=False)
    incident = events["incident"].to_numpy()[rows]
    people = pd.MultiIndex.from_arrays([incident, speaker])[speaker != None].unique()  # noqa: E711
    called = pd.MultiIndex.from_arrays([incident, name]).isin(people)
    called &= (name != speaker) & ~np.isin(name, list(_NOT_NAMES))
    at = np.flatnonzero(called)
    if len(at):
        verbs = pd.Series(after[at])
        base = verbs.map({w: lemma(w) == w and w not in _NOT_IMPERATIVE for w in verbs.unique()})
        at = at[base.to_numpy(bool)]
    if not len(at):
        return text
    marked = np.zeros(len(text), dtype=bool)
    marked[at] = True
    named = pc.replace_substring_regex(text.take(at), _NAME_FIRST, r"\1@\2")
    return pc.replace_with_mask(text, pa.array(marked), named)
