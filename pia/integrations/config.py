"""What each integration's bot looks like and how its posts are read: the packaged
``integrations.toml``, overridden per data dir by ``[integrations.NAME]`` in ``pia.toml``.

    [integrations.incident_io]
    kind = "platform"                       # pagerduty, platform, statuspage or alert
    bots = ["incident.io", "B04INCIDENT"]   # the bot's display name or its bot / user id
    [integrations.incident_io.events]       # event -> pattern (Python re, read on the post's text)
    status = 'Status changed from \\*?(?P<old>[^*\\n]+?)\\*? to \\*?(?P<status>[^*\\n]+?)\\*?$'
    [integrations.incident_io.statuses]     # the tool's own status names -> a known stage
    fixing = "fixing"

Named groups carry what an event says: ``person`` (who did it), ``status`` and ``old``,
``severity``, ``role``, ``note`` (the words of a PagerDuty note). Everything is checked when loaded (:class:`~pia.errors.ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pia.errors import ConfigError

#: The kinds of integration and the events each can report.
EVENTS: dict[str, tuple[str, ...]] = {
    "pagerduty": ("trigger", "acknowledge", "escalate", "resolve", "note"),
    "platform": ("declared", "status", "role", "update"),
    "statuspage": ("stage",),
    "alert": ("firing", "resolved"),
}

#: Known stages of an incident, in the order a response moves through them, and the
#: milestones a status change to each is evidence of. Tools' own names map onto these.
STAGES: dict[str, tuple[int, tuple[str, ...]]] = {
    "triage": (0, ()),
    "investigating": (1, ()),
    "identified": (2, ("first_hypothesis",)),
    "fixing": (2, ("first_hypothesis", "mitigation_started")),
    "mitigated": (3, ("mitigated",)),
    "monitoring": (3, ("mitigated",)),
    "resolved": (4, ("resolved",)),
    "closed": (4, ("resolved",)),
    "postmortem": (5, ()),
    "cancelled": (6, ()),
}

GROUPS = ("person", "status", "old", "severity", "role", "note")
PACKAGED = "integrations.toml"


@dataclass(frozen=True)
class Integration:
    """One integration: its bot's names and ids, the pattern of each event, its status names
    and the role names that make someone the incident commander."""

    name: str
    kind: str
    bots: tuple[str, ...]
    events: dict[str, str]
    statuses: dict[str, str] = field(default_factory=dict)
    commander_roles: tuple[str, ...] = ()


def packaged_layer() -> tuple[str, dict[str, Any]]:
    """The packaged integrations as a config layer ``(path, table)``."""
    from importlib import resources

    from pia.snapshot import read_toml

    data = resources.files("pia.integrations").joinpath(PACKAGED).read_bytes()
    return f"pia/integrations/{PACKAGED}", read_toml(PACKAGED, data)


def merge(merged: dict[str, dict[str, Any]], origin: dict[str, str], path: str, table: Any) -> None:
    """Fold one layer's ``[integrations]`` table into ``merged`` (a later layer wins key by
    key; its ``events`` and ``statuses`` add to the earlier ones')."""
    if not isinstance(table, dict):
        raise ConfigError(path, "integrations", "must be a table of [integrations.NAME] tables")
    for name, spec in table.items():
        key = f"integrations.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(path, key, "must be a table with kind, bots and events")
        unknown = set(spec) - {"kind", "bots", "events", "statuses", "commander_roles", "enabled"}
        if unknown:
            raise ConfigError(
                path,
                key,
                f"unknown keys {sorted(unknown)} (known: kind, bots, events, statuses, commander_roles, enabled)",
            )
        old = merged.get(name, {})
        new = {**old, **spec}
        for nested in ("events", "statuses"):
            if nested in spec:
                if not isinstance(spec[nested], dict):
                    raise ConfigError(path, f"{key}.{nested}", "must be a table")
                new[nested] = {**old.get(nested, {}), **spec[nested]}
        merged[name] = new
        origin[name] = path


def build(merged: dict[str, dict[str, Any]], origin: dict[str, str]) -> tuple[Integration, ...]:
    """The checked integrations of a merged table (those switched off with ``enabled = false``
    left out)."""
    out = []
    for name, spec in merged.items():
        if spec.get("enabled", True) is False:
            continue
        out.append(_integration(origin[name], name, spec))
    return tuple(out)


def _integration(path: str, name: str, spec: dict[str, Any]) -> Integration:
    key = f"integrations.{name}"
    kind = spec.get("kind")
    if kind not in EVENTS:
        raise ConfigError(
            path, f"{key}.kind", f"unknown kind {kind!r} (known: {', '.join(EVENTS)})"
        )
    bots = spec.get("bots")
    if (
        not isinstance(bots, list)
        or not bots
        or not all(isinstance(b, str) and b.strip() for b in bots)
    ):
        raise ConfigError(path, f"{key}.bots", "must be a list of the bot's names or ids")
    events = spec.get("events") or {}
    for event, pattern in events.items():
        where = f"{key}.events.{event}"
        if event not in EVENTS[kind]:
            raise ConfigError(
                path,
                where,
                f"unknown event for a {kind} integration (known: {', '.join(EVENTS[kind])})",
            )
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(path, where, "must be a non-empty pattern")
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise ConfigError(path, where, f"is not a valid regular expression: {error}") from None
        odd = set(compiled.groupindex) - set(GROUPS)
        if odd:
            raise ConfigError(
                path, where, f"unknown named groups {sorted(odd)} (known: {', '.join(GROUPS)})"
            )
        if compiled.groups != len(compiled.groupindex):
            raise ConfigError(
                path, where, "has an unnamed capturing group; use (?:...) or a named group"
            )
    if kind in ("platform", "statuspage") and not events.get(
        "status" if kind == "platform" else "stage", ""
    ).count("(?P<status>"):
        raise ConfigError(
            path,
            f"{key}.events",
            f"a {kind} integration needs a {'status' if kind == 'platform' else 'stage'} pattern with a (?P<status>...) group",
        )
    statuses = {}
    for raw, stage in (spec.get("statuses") or {}).items():
        if stage not in STAGES:
            raise ConfigError(
                path,
                f"{key}.statuses.{raw}",
                f"unknown stage {stage!r} (known: {', '.join(STAGES)})",
            )
        statuses[fold(raw)] = str(stage)
    roles = spec.get("commander_roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ConfigError(path, f"{key}.commander_roles", "must be a list of role names")
    return Integration(
        name,
        str(kind),
        tuple(b.strip() for b in bots),
        dict(events),
        statuses,
        tuple(fold(r) for r in roles),
    )


def fold(name: str) -> str:
    """A status or role name as compared: lower case, spaces collapsed."""
    return " ".join(str(name).lower().replace("_", " ").split())
