"""Pseudonymised sharing: people's names replaced by stable role-or-alias labels.

The incident commander becomes ``IC``, every other person ``Responder 1``, ``Responder 2``, …
in the order they first acted, unless a mapping (``name = "alias"``) says otherwise. Every
form of a name is replaced: Slack display name, full name and user name, first and last name
on their own, and the names PagerDuty shows (of people who acted, and of people it only
notified or assigned). The mapping lives only in memory; no report carries it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from pia.errors import ConfigError
from pia.events.slack import Directory
from pia.privacy.redact import arrow_text, map_strings

#: a first or last name shorter than this is left alone on its own (too likely a common word)
MIN_NAME_PART = 4
#: PagerDuty object types that name a person
_PERSON_TYPES = frozenset({"user", "user_reference"})


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
        mapping: Mapping[str, str] | None = None,
        handles: Mapping[str, str] | None = None,
        others: Iterable[str] = (),
    ) -> Pseudonyms:
        """Aliases for everyone in ``events``, the Slack directory and ``others`` (names
        PagerDuty shows); ``commander`` (a Slack or PagerDuty user id, or a name) becomes
        ``IC``; ``mapping`` (any form of a name → alias) wins over the numbering. ``handles``
        are Slack user names (``priya.raman``) by user id."""
        handles = handles or {}
        forms: dict[str, set[str]] = {}  # person (full name where known) → every form of the name
        for uid in set(names.users) | set(names.full_names) | set(handles):
            if uid in names.bots:
                continue
            person = names.full_names.get(uid) or names.users.get(uid) or handles[uid]
            found = (names.users.get(uid), names.full_names.get(uid), handles.get(uid))
            forms.setdefault(person, set()).update(n for n in found if n)
        by_form = {form.casefold(): person for person, found in forms.items() for form in found}
        humans = events.loc[events["is_human"], ["actor", "actor_id", "ts"]].sort_values(
            "ts", kind="stable"
        )
        order = list(dict.fromkeys(by_form.get(a.casefold(), a) for a in humans["actor"]))
        for person in [*order, *others]:
            if person and person.casefold() not in by_form:
                forms.setdefault(person, {person})
                by_form[person.casefold()] = person
        order = list(dict.fromkeys([*order, *(by_form[o.casefold()] for o in others if o)]))
        acted_as = dict(zip(humans["actor_id"], humans["actor"], strict=True))
        leader_name = names.users.get(commander) or acted_as.get(commander) or commander
        leader = by_form.get(leader_name.casefold(), names.full_names.get(commander, leader_name))
        chosen = {k.casefold(): v for k, v in (mapping or {}).items()}
        aliases: dict[str, str] = {}
        numbered = 0
        for person in [*order, *sorted(set(forms) - set(order))]:
            every = forms[person] | {person}
            alias = next(
                (chosen[f.casefold()] for f in sorted(every) if f.casefold() in chosen), None
            )
            if alias is None and person == leader:
                alias = "IC"
            elif alias is None:
                numbered += 1
                alias = f"Responder {numbered}"
            for form in every:
                aliases[form.casefold()] = alias
                for part in re.split(r"[\s._-]+", form):
                    if part != form and part.isalpha() and len(part) >= MIN_NAME_PART:
                        aliases.setdefault(part.casefold(), alias)
        return cls(aliases)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        names = sorted(
            self.aliases, key=len, reverse=True
        )  # longest first: "Priya Raman" before "Priya"
        return re.compile(
            r"(?<![\w])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w])", re.IGNORECASE
        )

    def _alias(self, match: re.Match[str]) -> str:
        return self.aliases[match.group(0).casefold()]

    def text(self, column: pd.Series) -> pd.Series:
        """Names replaced in a column of text. Arrow finds the rows holding any name first (a
        literal search per name, case-insensitive); only those go through the pattern."""
        if not self.aliases or column.empty:
            return column
        arrow = arrow_text(column)
        hit = np.zeros(len(column), dtype=bool)
        for name in self.aliases:
            hit |= pc.fill_null(pc.match_substring(arrow, name, ignore_case=True), False).to_numpy(
                zero_copy_only=False
            )
        rows = np.flatnonzero(hit)
        out = column.copy()
        if len(rows):
            out.iloc[rows] = (
                column.iloc[rows].str.replace(self.pattern, self._alias, regex=True).to_numpy()
            )
        return out

    def value(self, value: Any) -> Any:
        """Names replaced in strings, and in strings inside lists and tables."""
        if not self.aliases:
            return value
        pattern = self.pattern
        return map_strings(value, lambda text: pattern.sub(self._alias, text))

    def events(self, events: pd.DataFrame) -> pd.DataFrame:
        """Names replaced in ``actor`` and ``text``."""
        return events.assign(actor=self.text(events["actor"]), text=self.text(events["text"]))

    def directory(self, names: Directory) -> Directory:
        """The Slack directory with aliases for names (ids and time zones kept)."""

        def alias(name: str) -> str:
            return self.aliases.get(name.casefold(), name)

        return replace(
            names,
            users={k: alias(v) for k, v in names.users.items()},
            full_names={k: alias(v) for k, v in names.full_names.items()},
        )


def for_incident(
    incident: Any,
    events: pd.DataFrame,
    root: str | os.PathLike[str] | None,
    *,
    commander: str = "",
    mapping_file: str | os.PathLike[str] | None = None,
) -> Pseudonyms:
    """The aliases of one incident snapshot: its Slack directory and user names, the people
    its PagerDuty files name, ``[pseudonyms]`` of ``<root>/pia.toml`` and then ``mapping_file``
    (both ``"Real Name" = "Alias"``; the file wins)."""
    mapping: dict[str, str] = {}
    local = Path(root) / "pia.toml" if root is not None else None
    if local is not None and local.is_file():
        from pia.snapshot import read_toml

        mapping |= _checked(read_toml(local).get("pseudonyms", {}), f"{local}: [pseudonyms]")
    if mapping_file is not None:
        mapping |= read_mapping(mapping_file)
    return Pseudonyms.build(
        events,
        incident.directory(),
        commander=commander,
        mapping=mapping,
        handles=slack_handles(incident.slack_source),
        others=pagerduty_people(incident.pagerduty_dir),
    )


def slack_handles(source: str | os.PathLike[str] | None) -> dict[str, str]:
    """Slack user names (``priya.raman``) by user id, from an export's user lists."""
    if source is None:
        return {}
    from pia.snapshot import _USER_LISTS, Tree

    tree = Tree(source)
    try:
        users = [u for name in _USER_LISTS for u in (tree.json_or(name, []) or [])]
    finally:
        tree.close()
    return {
        u["id"]: u["name"].strip()
        for u in users
        if isinstance(u, dict)
        and isinstance(u.get("id"), str)
        and isinstance(u.get("name"), str)
        and u["name"].strip()
    }


def pagerduty_people(folder: str | os.PathLike[str] | None) -> list[str]:
    """Names of the people in a snapshot's PagerDuty files (users and user references:
    agents, notified and assigned users, note authors), in file order."""
    if folder is None:
        return []
    from pia.snapshot import snapshot_json

    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in _PERSON_TYPES:
                for key in ("summary", "name"):
                    if isinstance(node.get(key), str) and node[key].strip():
                        found.setdefault(node[key].strip())
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    for path in sorted(Path(folder).glob("*.json")):
        walk(snapshot_json(path, Path(folder).parent))  # the rule for every file of the snapshot
    return list(found)


def read_mapping(path: str | os.PathLike[str]) -> dict[str, str]:
    """A TOML file of ``"Real Name" = "Alias"`` lines."""
    from pia.snapshot import read_toml

    return _checked(read_toml(Path(path)), str(path))


def _checked(table: Any, origin: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(origin, "", 'must be a table of "Real Name" = "Alias"')
    bad = [k for k, v in table.items() if not isinstance(v, str)]
    if bad:
        raise ConfigError(origin, bad[0], 'must be "Real Name" = "Alias"')
    return table
