"""Numbers that move: "queue 14k → 9k", "p99 2.8s -> 900ms", "success rate 62% -> 97%", "queue
40k (was 90k)".

A rule with ``numbers = "falling"`` (or ``"rising"``) holds only where the message's first
"A → B" pair of amounts goes down (or up). The pairs are read on Arrow, once per distinct
message the rule's pattern matched.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: The first "A → B" of a normalised message (every arrow is "→" there): two amounts, each a
#: number with an optional unit ("14k", "2.8s", "35%", "1,200"), not a clock time or a date
#: ("21:38 to 21:49", "04-25 to 04-26")
_AMOUNT = r"(?P<{0}>\d[\d,]*(?:\.\d+)?) ?(?P<{0}_unit>ms|min|[kmbsh%])?"
_START, _END = r"(?:^|[^\d:.,/\-])", r"(?:[^\d:.,/\-]|[.,](?:\D|$)|$)"
_BEFORE, _AFTER = _AMOUNT.format("before"), _AMOUNT.format("after")
_PAIR = rf"{_START}{_BEFORE} ?(?:→|to|down to|up to) ~?{_AFTER}{_END}"
#: ... or said the other way round: "queue 40k (was 90k)", "backlog 12k, down from 80k"
_BACK = r"(?: now)?(?: ,| ;)? (?:be|down from|up from|from|vs) ~?"
_PAIR_BACK = rf"{_START}{_AFTER}{_BACK}{_BEFORE}{_END}"


def _fields(pairs: pa.StructArray) -> dict[str, pa.Array]:
    """The fields of ``pairs`` by name, null where a message has no pair."""
    return dict(zip((f.name for f in pairs.type), pairs.flatten(), strict=True))


def moves(text: pa.Array, direction: str) -> np.ndarray:
    """Which of ``text`` have a first "A → B" pair that goes ``direction`` ("falling":
    B below A, "rising": B above A); a message without one does neither."""
    forward, back = (pc.extract_regex(text, pattern) for pattern in (_PAIR, _PAIR_BACK))
    said, said_back = _fields(forward), _fields(back)
    # the pair said forward where there is one, else the one said back; null: neither
    parts = {name: pc.if_else(pc.is_valid(forward), said[name], said_back[name]) for name in said}
    # what each unit multiplies its number by ("" is no unit)
    scale = {
        "": 1.0,
        "%": 1.0,
        "k": 1e3,
        "m": 1e6,
        "b": 1e9,
        "ms": 1e-3,
        "s": 1.0,
        "min": 60.0,
        "h": 3600.0,
    }
    units, factors = pa.array(list(scale)), np.array(list(scale.values()))

    def amount(number: str) -> np.ndarray:
        value = pc.cast(pc.replace_substring(parts[number], ",", ""), pa.float64())
        unit = pc.index_in(parts[f"{number}_unit"], value_set=units).fill_null(0)
        return value.to_numpy(zero_copy_only=False) * factors[unit.to_numpy()]

    before, after = amount("before"), amount("after")
    with np.errstate(invalid="ignore"):
        return after < before if direction == "falling" else after > before
