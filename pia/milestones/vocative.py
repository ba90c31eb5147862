"""Someone called by name: "zoe revert it" asks Zoe as "@zoe revert it" would.

A message that opens with the first name of someone in the incident (one of its speakers),
then a verb's base form or a question word, is read with an "@" before the name, so the rules
for asks see it; so is "someone check the LB", a call on whoever reads it. "zoe reverted it"
is news and "zoe is on it" a statement; a speaker's own name calls no one. IRC's "mdz: looks
like the push filled /srv" or "mdz: restarted apache" tells Mdz something and asks nothing: the
colon after the name is read as a comma, so the rules that take "nick: check ..." for an ask do
not see one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pia.milestones.normalise import lemma

#: What may come before the name: "ok, zoe ...", "Agree. bruno ..."
_OPENER = r"^[^\w@]*(?:(?:ok|okay|agree|yes|right)\W+)?"
_VOCATIVE = (
    _OPENER
    + r"(?P<name>[A-Za-z][A-Za-z'-]*)(?P<mark>\W*)\s+(?P<next>[A-Za-z']+)(?:\s+(?P<then>[A-Za-z']+))?"
)
_NAME_FIRST = f"({_OPENER})([A-Za-z])"
_NAME_COLON = f"^({_OPENER}[A-Za-z][A-Za-z'-]*)\\s*:"
#: Calls on whoever reads them: "someone check the LB" ("someone checked" is news)
_ANYONE = frozenset(["someone", "somebody"])
#: Words that open a question or a plea to the one named ("mdz: what version?", "zoe please ...")
_ASKING = frozenset(
    ["what", "how", "where", "why", "when", "who", "which", "any", "eta", "please", "pls", "plz"]
)
#: Words after a noun that would make the "verb" before them its subject ("mirror is full")
_SUBJECT_OF = frozenset(["is", "are", "was", "were", "has", "have", "had", "looks", "seems"])
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
    calls among them read with an "@" before the name and the remarks to someone ("mdz:
    restarted it") with a comma after it: those rows point to new messages appended to
    ``distinct``."""
    if not len(distinct):
        return distinct, which
    name, asks = _opening(distinct)  # once per distinct message
    at = np.flatnonzero(name[which] != None)  # noqa: E711
    called = name[which[at]]
    anyone = np.isin(called, list(_ANYONE))
    reached = anyone.copy()  # whoever reads it; a name, only its bearer
    reached[~anyone] = _callee(events, rows, rows[at[~anyone]], called[~anyone]) >= 0
    at = at[reached]
    if not len(at):
        return distinct, which
    said = distinct.take(which[at])
    as_call = pc.replace_substring_regex(said, _NAME_FIRST, r"\1@\2")
    as_remark = pc.replace_substring_regex(said, _NAME_COLON, r"\1,")
    which = which.copy()
    read = pc.if_else(pa.array(asks[which[at]]), as_call, as_remark)
    which[at] = len(distinct) + np.arange(len(at))
    return pa.concat_arrays([distinct, read]), which


def addressees(events: pd.DataFrame, rows: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """The ``actor_id`` of the person each message at positions ``rows`` of ``events`` calls
    by first name, one of those who said something at positions ``speech`` (None where it
    calls no one)."""
    out = np.full(len(rows), None, dtype=object)
    if not len(rows):
        return out
    name, _ = _opening(_strings(events["text"].array[rows]))  # "zoe: restarted, can you check?"
    at = np.flatnonzero(name != None)  # noqa: E711
    callee = _callee(events, speech, rows[at], name[at])
    ids = np.asarray(events["actor_id"].array, dtype=object)
    out[at[callee >= 0]] = ids[callee[callee >= 0]]
    return out


def _opening(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The first name each of ``text`` opens with, lower case, where what follows either asks (a
    verb's base form, a question word) or, after a colon, tells (None elsewhere); and whether it
    asks. Without a colon the name must be no common word ("will check it"); "will: ..." is
    addressed to Will all the same."""
    name, mark, after, then = pc.extract_regex(text, _VOCATIVE).flatten()
    colon = pc.fill_null(pc.match_substring(mark, ":"), False)
    colon = colon.to_numpy(zero_copy_only=False)
    name, after, then = (
        pc.utf8_lower(a).to_numpy(zero_copy_only=False) for a in (name, after, then)
    )
    could = (name != None) & (colon | ~np.isin(name, list(_NOT_NAMES)))  # noqa: E711
    words = pd.Series(after[could])
    asks = np.zeros(len(name), bool)
    asks[could] = words.map({w: _asking(w) for w in words.unique()}).to_numpy(bool)
    asks &= ~np.isin(then, list(_SUBJECT_OF))
    name[~(asks | colon)] = None
    return name, asks


def _asking(word: str) -> bool:
    """Whether ``word`` after a name asks something of them: a question word, or a verb's base
    form ("revert", not "reverted" or "it")."""
    from lemminflect import getAllLemmas

    if word in _ASKING:
        return True
    verbs = getAllLemmas(word).get("VERB", ())
    return word not in _NOT_IMPERATIVE and lemma(word) == word and word in verbs


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
