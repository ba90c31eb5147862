"""Pseudonymised sharing: people's names replaced by stable role-or-alias labels.

The incident commander becomes ``IC``, every other person ``Responder 1``, ``Responder 2``, …
in the order they first acted, unless a mapping (``name = "alias"``) says otherwise. Every
form of a name is replaced: Slack display name, full name, first and last name on their own,
and the name PagerDuty shows. The mapping lives only in memory; no report carries it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from pia.errors import ConfigError
from pia.events.slack import Directory
from pia.privacy.redact import map_strings

#: a first or last name shorter than this is left alone on its own (too likely a common word)
MIN_NAME_PART = 4


@dataclass(frozen=True)
class Pseudonyms:
    """Name (any form, case-insensitive) → alias, and the pattern that finds them in text."""

    aliases: dict[str, str]

    @classmethod
    def build(
        cls,
        events: pd.DataFrame,
        names: Directory,
        *,
        commander: str = "",
        mapping: dict[str, str] | None = None,
    ) -> Pseudonyms:
        """Aliases for everyone in ``events`` and the Slack directory; ``commander`` (a Slack id
        or name) becomes ``IC``; ``mapping`` (name → alias) wins over the numbering."""
        forms: dict[str, set[str]] = {}  # person (full name where known) → every form of the name
        for uid in set(names.users) | set(names.full_names):
            if uid in names.bots:
                continue
            person = names.full_names.get(uid) or names.users[uid]
            forms.setdefault(person, set()).update(n for n in (names.users.get(uid), names.full_names.get(uid)) if n)
        humans = events.loc[events["is_human"], ["actor", "ts"]].sort_values("ts", kind="stable")
        by_form = {form.casefold(): person for person, found in forms.items() for form in found}
        order = list(dict.fromkeys(by_form.get(a.casefold(), a) for a in humans["actor"]))
        for person in order:
            forms.setdefault(person, {person})
        leader = by_form.get(names.users.get(commander, commander).casefold(), names.full_names.get(commander, commander))
        aliases: dict[str, str] = {}
        numbered = 0
        for person in [*order, *sorted(set(forms) - set(order))]:
            if mapping and person in mapping:
                alias = mapping[person]
            elif person == leader:
                alias = "IC"
            else:
                numbered += 1
                alias = f"Responder {numbered}"
            for form in forms[person] | {person}:
                aliases[form.casefold()] = alias
                for part in form.split() if " " in form else ():
                    if part.isalpha() and len(part) >= MIN_NAME_PART:
                        aliases.setdefault(part.casefold(), alias)
        return cls(aliases)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        names = sorted(self.aliases, key=len, reverse=True)  # longest first: "Priya Raman" before "Priya"
        return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w])", re.IGNORECASE)

    def text(self, column: pd.Series) -> pd.Series:
        if not self.aliases:
            return column
        return column.str.replace(self.pattern, lambda m: self.aliases[m.group(0).casefold()], regex=True)

    def value(self, value: Any) -> Any:
        """Names replaced in strings, and in strings inside lists and tables."""
        if not self.aliases:
            return value
        pattern = self.pattern
        return map_strings(value, lambda text: pattern.sub(lambda m: self.aliases[m.group(0).casefold()], text))

    def events(self, events: pd.DataFrame) -> pd.DataFrame:
        """Names replaced in ``actor`` and ``text``."""
        return events.assign(actor=self.text(events["actor"]), text=self.text(events["text"]))

    def directory(self, names: Directory) -> Directory:
        """The Slack directory with aliases for names (ids and time zones kept)."""
        alias = lambda n: self.aliases.get(n.casefold(), n)  # noqa: E731
        return replace(
            names,
            users={k: alias(v) for k, v in names.users.items()},
            full_names={k: alias(v) for k, v in names.full_names.items()},
        )


def read_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """A TOML file of ``"Real Name" = "Alias"`` lines."""
    from pia.snapshot import read_toml

    table = read_toml(Path(path))
    bad = [k for k, v in table.items() if not isinstance(v, str)]
    if bad:
        raise ConfigError(path, bad[0], 'must be "Real Name" = "Alias"')
    return table
