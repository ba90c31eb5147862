"""The normalised text the rules read: one form for every way of saying the same thing.

Lower case, Slack markup resolved (``<@U1|bob>`` → ``@bob``, ``<!subteam^S1|@db>`` → ``@db``),
typographic quotes straightened, URLs as ``<url>``, Slack's ``*bold*`` /
``_italic_`` / ``~strike~`` marks dropped, quoted lines (``> ...``, ``>>> ...``) dropped as
someone else's words, emoji (Unicode or ``:name:``) as ``:name:``,
contractions expanded ("didn't" → "do not", "it's" → "it be") and every word reduced to its
lemma by lemminflect ("has been resolved" → "have be resolve"), with punctuation kept as
tokens of its own so that clauses and questions still show. A rule written on this form
covers every tense, voice and aspect at once.

Work is done once per distinct message and once per distinct token, never per row: the
messages are split on Arrow, the vocabulary is normalised in Python (cached), and the
normal forms are put back together on Arrow.

    >>> normal_text(["The issue has been identified and a fix is being implemented."]).to_pylist()
    ['the issue have be identify and a fix be be implement .']
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: Contractions written without an apostrophe, as chat writes them ("dont", "thats").
BARE_CONTRACTIONS = {
    "dont": "do not",
    "didnt": "do not",
    "doesnt": "do not",
    "isnt": "be not",
    "wasnt": "be not",
    "arent": "be not",
    "werent": "be not",
    "cant": "can not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "wont": "will not",
    "hasnt": "have not",
    "havent": "have not",
    "hadnt": "have not",
    "aint": "be not",
    "thats": "that be",
    "whats": "what be",
    "theres": "there be",
    "im": "i be",
    "ive": "i have",
    "youre": "you be",
    "theyre": "they be",
    "itll": "it will",
    "cannot": "can not",
    "gonna": "go to",
    "wanna": "want to",
}
#: Words whose "'s" is "is" (or "has"); after any other word it is a possessive and dropped.
_IS_AFTER = frozenset(
    [
        "it",
        "that",
        "there",
        "here",
        "what",
        "who",
        "where",
        "how",
        "when",
        "why",
        "he",
        "she",
        "everything",
        "nothing",
        "something",
        "someone",
        "everyone",
        "this",
    ]
)
#: Words whose "'d" is "would" (or "had"); after any other word it is a past tense.
_WOULD_AFTER = frozenset(
    [
        "i",
        "you",
        "u",
        "we",
        "they",
        "he",
        "she",
        "it",
        "that",
        "who",
        "there",
        "what",
        "where",
        "how",
        "this",
    ]
)
_SUFFIXES = (
    ("n't", " not"),
    ("'re", " be"),
    ("'ve", " have"),
    ("'ll", " will"),
    ("'m", " be"),
    ("'d", " would"),
)
#: Words kept as written: modals, and the -ing forms whose aspect is the meaning ("is
#: recovering" is not "has recovered"; "is being implemented" is not "has been").
KEEP = frozenset(
    [
        "should",
        "could",
        "would",
        "might",
        "must",
        "will",
        "can",
        "may",
        "shall",
        "being",
        "recovering",
        "improving",
        "stabilizing",
        "stabilising",
        "returning",
        "normalizing",
        "normalising",
        "declining",
        "draining",  # "the queue is draining" is not "drained"
        "gone",
        "paging",
        "backing",  # "queue backing up" is not "back up"
        "during",  # a preposition the dictionary lacks, not a verb "dure"
    ]
)
_IRREGULAR_NOT = {"won't": "will not", "can't": "can not", "shan't": "shall not", "ain't": "be not"}
#: Marks stripped from a token's edges (markup, quotes, brackets); sentence punctuation is kept.
_EDGE = "*_~`\"'“”‘’()[]{}<>|"
_PUNCT = ".,;:!?"
_EMOJI_CODE = re.compile(r"^:[a-z0-9_+'\-]+:$")
_URL = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://|www\.)\S+$")
_WORD = re.compile(r"[a-z]")
#: An -ed or -ing form of letters (one hyphen allowed) that the dictionary may not know
_OOV_VERB = re.compile(r"[a-z]{2,}(?:-[a-z]+)?(?:ed|ing)")
#: Verbs of ops chat the dictionary lacks, or reads as another verb, and whose forms its rules
#: get wrong ("synced" is not "synce", "autoscaled" not "autoscal", "routing" not "rout")
_JARGON = {
    form: base
    for base in ("sync", "resync", "desync", "autoscale", "upscale", "downscale", "route")
    for form in (base + "s", base + "ed", base + "d", base + "ing", base.removesuffix("e") + "ing")
}


def normal_text(text: Any) -> pa.Array:
    """The normal form of each message of ``text`` (an Arrow, pandas or Python sequence of
    strings; nulls stay null), as an Arrow string array."""
    array = (
        text
        if isinstance(text, (pa.Array, pa.ChunkedArray))
        else pa.array(list(text) if not hasattr(text, "__array__") else text, type=pa.string())
    )
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.string())
    if not len(array):
        return array
    # once per distinct message
    distinct = pc.unique(array)
    where = pc.index_in(array, value_set=distinct)
    normal = _normal_distinct(distinct)
    return pc.take(normal, where)


#: Slack markup as the Slack reader resolves it, for text that did not come through it (a
#: PagerDuty note, a message written elsewhere): (pattern, RE2 rewrite) on lower-case text.
SLACK_MARKUP = (
    (r"<@[^<>|\s]+\|@?([^<>]+)>", r"@\1"),
    (r"<@([^<>|\s]+)>", r"@\1"),
    (r"<#[^<>|\s]+\|([^<>]+)>", r"#\1"),
    (r"<#([^<>|\s]+)>", r"#\1"),
    (r"<!subteam\^[^<>|\s]+\|@?([^<>]+)>", r"@\1"),
    (r"<!subteam\^([^<>|\s]+)>", r"@\1"),
    (r"<!date\^[^<>|]+\|([^<>]+)>", r"\1"),
    (r"<!([a-z]+)(?:\|[^<>]*)?>", r"@\1"),
    (r"<mailto:([^<>|\s]+)(?:\|[^<>]*)?>", r"\1"),
    (r"<([a-z][a-z0-9+.\-]*://[^<>|\s]+)\|([^<>]+)>", r"\2 \1"),
)


def _normal_distinct(messages: pa.Array) -> pa.Array:
    text = pc.utf8_lower(messages)
    for pattern, rewrite in SLACK_MARKUP:
        text = pc.replace_substring_regex(text, pattern, rewrite)
    # quoted lines are someone else's words ("> rolling back now" in a reply is no rollback);
    # ">>>" quotes the rest of the message; "> 50% failing" is a comparison, not a quote
    text = pc.replace_substring_regex(text, r"(?s)(?:^|\n)[ \t]*>>>.*", "")
    text = pc.replace_substring_regex(
        text, r"(?m)^[ \t]*>[ \t]*(?:[^\d\s.~<>=%$+-][^\n]*)?(?:\n|$)", ""
    )
    # one arrow token: "2.8s->1.1s" (a ">" on its own would be dropped as markup)
    text = pc.replace_substring_regex(text, r"[ \t]*(?:-+>|=+>|⇒|⟶|→)[ \t]*", " → ")
    text = pc.replace_substring(text, "’", "'")
    text = pc.replace_substring(text, "‘", "'")
    text = pc.replace_substring_regex(text, r"[ \t\r\f\v\x{a0}]*\n\s*", " \n ")
    text = pc.replace_substring_regex(text, r"[ \t\r\f\v\x{a0}]+", " ")
    tokens = pc.split_pattern(pc.utf8_trim_whitespace(text), " ")
    flat = pc.list_flatten(tokens)
    vocabulary = pc.unique(flat)
    forms = pa.array([normal_token(t) for t in vocabulary.to_pylist()], type=pa.string())
    mapped = pc.take(forms, pc.index_in(flat, value_set=vocabulary))
    offsets = tokens.offsets
    rebuilt = pa.ListArray.from_arrays(
        pc.subtract(offsets, offsets[0]), mapped, mask=pc.is_null(tokens)
    )
    joined = pc.binary_join(rebuilt, " ")
    # tokens that vanish (bare markup) leave double spaces
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(joined, r" {2,}", " "))


@lru_cache(maxsize=1 << 18)
def normal_token(token: str) -> str:
    """The normal form of one lower-case, whitespace-free token (possibly several words)."""
    if token == "\n" or not token:
        return token
    if _EMOJI_CODE.match(token):
        return token
    core = token.strip(_EDGE)
    tail = ""
    while core and core[-1] in _PUNCT + _EDGE:
        if core[-1] in _PUNCT and (not tail or tail[-1] != core[-1]):
            tail = core[-1] + tail
        core = core[:-1]
    core = core.strip(_EDGE)
    # a code at the start keeps its own punctuation: ":fire:," or "(:fire:)"
    if _EMOJI_CODE.match(core + ":") and tail.startswith(":"):
        core, tail = core + ":", tail[1:]
    head = "" if not core else _core(core)
    return " ".join(p for p in (head, " ".join(tail)) if p)


def _core(core: str) -> str:
    if _URL.match(core):
        return "<url>"
    if _EMOJI_CODE.match(core):
        return core
    if not core.isascii():
        emojied = _emoji_names(core)
        if emojied != core:
            return " ".join(normal_token(part) for part in emojied.split())
    if core in BARE_CONTRACTIONS:
        return BARE_CONTRACTIONS[core]
    if core in _IRREGULAR_NOT:
        return _IRREGULAR_NOT[core]
    if "'" in core:
        return _contraction(core)
    return lemma(core)


def _contraction(core: str) -> str:
    if core.endswith("'s"):
        base = core[:-2]
        if base == "let":
            return "let us"
        return lemma(base) + (" be" if base in _IS_AFTER else "") if base else ""
    if core.endswith("'d") and core[:-2] not in _WOULD_AFTER:
        return lemma(core[:-2])  # chat's past tense: "hup'd", "ok'd", "cc'd"
    for suffix, rest in _SUFFIXES:
        if core.endswith(suffix) and len(core) > len(suffix):
            return lemma(core[: -len(suffix)]) + rest
    return " ".join(lemma(part) for part in core.split("'") if part)


def _emoji_names(core: str) -> str:
    import emoji

    return emoji.demojize(core, language="alias", delimiters=(" :", ": ")).strip()


@lru_cache(maxsize=1 << 18)
def lemma(word: str) -> str:
    """The lemma of one lower-case word: a verb's base form ("implemented" → "implement",
    "was" → "be"), a noun's singular; a word that is a base form of its own ("bit", "left",
    "thought") stays itself unless it is an -ing or -ed form."""
    if word in KEEP or not _WORD.search(word):
        return word
    if word in _JARGON:
        return _JARGON[word]
    from lemminflect import getAllLemmas

    found = getAllLemmas(word)
    if not found:
        return _unknown_verb(word) if _OOV_VERB.fullmatch(word) else word
    verbs = found.get("VERB") or found.get("AUX")
    own = any(word in forms for pos, forms in found.items() if pos not in ("VERB", "AUX"))
    if verbs and (not own or word.endswith(("ing", "ed"))):
        return verbs[0]
    nouns = found.get("NOUN")
    if nouns and not own:
        return nouns[0]
    return word


def _unknown_verb(word: str) -> str:
    """The base of an -ed or -ing form the dictionary lacks ("remediated", "re-enabled"), by
    lemminflect's inflection rules, where adding the ending back gives the word; else the word
    ("oomkilled" would become "oomkil")."""
    from lemminflect import getAllLemmasOOV

    base = getAllLemmasOOV(word, upos="VERB")["VERB"][0]
    regular = (base + "ed", base + "d", base + "ing", base.removesuffix("e") + "ing")
    return base if word in regular else word


def unreadable(pattern: str) -> list[tuple[str, str]]:
    """The words ``pattern`` spells that the normalised text never holds, each with what the
    text has instead: a rule that spells "resolved" or "found" matches nothing unless it also
    spells "resolve" or "find". Escapes, character classes, group names and ``{placeholders}``
    are left out, and a plural's optional "s" ("customers?") is read as the singular."""
    plain = re.sub(r"\\[a-zA-Z]|\{[^}]*\}|\(\?P<\w+>", " ", pattern).lower()
    # a word that touches a character class ("[Rr]estarted") is not spelled out
    plain = re.sub(r"\[[^\]]*\]", "-", plain)
    plain = re.sub(r"([a-z])s\?", r"\1", plain)
    words = set(re.findall(r"(?<![\w'-])[a-z][a-z']*[a-z](?![\w'-])", plain))
    read = {word: normal_token(word) for word in sorted(words)}
    return [
        (word, form)
        for word, form in read.items()
        if form != word and form not in (plain if " " in form else words)
    ]
