"""The detection config: packaged ``rules.toml`` plus an optional ``pia.toml`` in the data dir.

Everything is checked when loaded, so a bad pattern or an unknown milestone is one
:class:`~pia.errors.ConfigError` naming the file and key, before any incident is read.
Nothing is read at import time; :func:`load_config` is called by whoever needs a config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pia.errors import ConfigError
from pia.integrations import config as integration_config
from pia.integrations.config import Integration

#: Milestones in their usual order (the order of the table in docs/metrics.md, "Milestones").
#: how a duration's starting point reads in a column header or a legend
MILESTONE_WORDS = {
    "impact_start": "impact start",
    "detected": "detection",
    "acknowledged": "acknowledgement",
    "engaged": "engagement",
}
MILESTONES: tuple[str, ...] = (
    "impact_start",
    "detected",
    "acknowledged",
    "engaged",
    "declared",
    "first_hypothesis",
    "working_hypothesis",
    "mitigation_started",
    "mitigated",
    "restored",
    "resolved",
)
#: the milestones of the response itself: one that comes after PagerDuty resolved the page
#: times a follow-up, not the response
RESPONSE = MILESTONES[MILESTONES.index("acknowledged") : MILESTONES.index("mitigated") + 1]

#: Labels a rule, marker or reaction can give a message.
LABELS: tuple[str, ...] = (
    "hypothesis",
    "dropped",
    "declared",
    "mitigation",
    "mitigated",
    "restored",
    "resolved",
    "status_update",
    "escalation",
    "directive",
)

#: The milestone each label is first evidence of.
LABEL_MILESTONE: dict[str, str] = {
    "hypothesis": "first_hypothesis",
    "declared": "declared",
    "mitigation": "mitigation_started",
    "mitigated": "mitigated",
    "restored": "restored",
    "resolved": "resolved",
}

SCOPES = ("message", "clause", "after", "before")
NUMBERS = ("falling", "rising")
#: ``{label}`` in a veto pattern stands for that label's rules combined.
PLACEHOLDER = re.compile(r"\{(" + "|".join(LABELS) + r")\}")
#: ``{name}`` in any pattern stands for the ``[fragments]`` entry of that name.
FRAGMENT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PACKAGED = "rules.toml"


@dataclass(frozen=True)
class Rule:
    """A named regular expression. A rule with ``vetoes`` cancels those labels (within
    ``scope``) instead of giving its own ``label``. A rule with ``spares`` (veto rules' names)
    lifts those vetoes where it stands right before the cue of a label they cancel: "i'll"
    before "restart the consumer" is an act announced, whatever "will" says of plans. A rule
    with ``numbers`` ("falling" or "rising") holds only where the message's first "A → B"
    pair of numbers moves that way."""

    name: str
    label: str
    pattern: str
    vetoes: tuple[str, ...] = ()
    scope: str = "message"
    numbers: str = ""
    spares: tuple[str, ...] = ()

    @property
    def is_veto(self) -> bool:
        return bool(self.vetoes)

    @property
    def gives_label(self) -> bool:
        return not (self.vetoes or self.spares)


@dataclass(frozen=True)
class Duration:
    """A named pair of milestones: from the first of ``start`` that is present, to ``end``."""

    name: str
    start: tuple[str, ...]
    end: str

    @property
    def since(self) -> str:
        """Where it is counted from, in words: ``from impact start, else detection``."""
        return "from " + ", else ".join(
            MILESTONE_WORDS.get(m, m.replace("_", " ")) for m in self.start
        )


@dataclass(frozen=True)
class Config:
    """The rules: text rules, markers, reaction markers, durations, status-update cadence,
    working hours and the bots read as evidence, merged from the packaged
    ``pia/milestones/rules.toml`` and the data dir's ``pia.toml`` by :func:`load_config`.

    Attributes
    ----------
    rules : tuple of Rule
        Named regular expressions, each giving a ``label`` (or vetoing others).
    durations : tuple of Duration
        Named pairs of milestones: ``name``, ``start`` (the first present wins), ``end``.
    cadence_minutes : float
        The target wait between stakeholder updates.
    sources : tuple of str
        The files merged, packaged first: the last one wins.

    Examples
    --------
    >>> import pia
    >>> config = pia.load_config()
    >>> config.cadence_minutes, [d.name for d in config.durations][:3]
    (30.0, ['time_to_detect', 'time_to_acknowledge', 'time_to_engage'])
    """

    rules: tuple[Rule, ...]
    markers: dict[str, str]
    reactions: dict[str, str]
    durations: tuple[Duration, ...]
    fragments: dict[str, str] = field(default_factory=dict)
    cadence_minutes: float = 30.0
    work_start: int = 8
    work_end: int = 18
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    zone: str = "UTC"
    sources: tuple[str, ...] = field(default=(), compare=False)
    #: the bots whose posts are read as evidence (packaged, then ``[integrations.NAME]``)
    integrations: tuple[Integration, ...] = ()

    def positive(self, label: str) -> tuple[Rule, ...]:
        """The rules that give ``label``, in file order."""
        return tuple(r for r in self.rules if r.label == label and r.gives_label)

    def spares(self, veto: str) -> tuple[Rule, ...]:
        """The rules that lift the veto rule named ``veto``."""
        return tuple(r for r in self.rules if veto in r.spares)

    def vetoes(self, label: str) -> tuple[Rule, ...]:
        """The veto rules that cancel ``label``."""
        return tuple(r for r in self.rules if label in r.vetoes)

    def combined(self, label: str) -> str:
        """The rules giving ``label`` as one alternation (no inline flags), fragments expanded."""
        return "|".join(f"(?:{self.pattern(r)})" for r in self.positive(label))

    def pattern(self, rule: Rule) -> str:
        """``rule``'s pattern with each ``{fragment}`` replaced by its text."""
        return self.fragment(rule.pattern)

    def fragment(self, pattern: str) -> str:
        """``pattern`` with each ``{fragment}`` (not ``{label}``) replaced by its text."""
        known = self.fragments
        return FRAGMENT.sub(
            lambda m: f"(?:{known[m.group(1)]})" if m.group(1) in known else m.group(0), pattern
        )

    def expand(self, pattern: str) -> str:
        """``pattern`` with each ``{label}`` replaced by that label's combined rules and each
        ``{fragment}`` by its text."""
        return self.fragment(PLACEHOLDER.sub(lambda m: f"(?:{self.combined(m.group(1))})", pattern))


def load_config(data_dir: str | os.PathLike[str] | None = None) -> Config:
    """The rules, durations and cadences: the packaged ones, overridden by
    ``<data_dir>/pia.toml`` where there is one.

    A ``[rules.NAME]`` table of ``pia.toml`` with a known NAME changes that rule
    (``enabled = false`` switches it off), an unknown NAME adds one; ``[durations]``,
    ``[status_updates]``, ``[markers]`` and the other tables replace the packaged entries of
    the same name.

    Parameters
    ----------
    data_dir : str or PathLike, optional
        The data dir whose ``pia.toml`` is read; the packaged config alone where None.

    Returns
    -------
    Config
        The merged rules; ``Config.sources`` lists the files read.

    Raises
    ------
    ConfigError
        A pattern that does not compile, an unknown label, scope or milestone, or a value of
        the wrong type (the message names the file and the key).

    Examples
    --------
    >>> import pia
    >>> config = pia.load_config(pia.data_dir())
    >>> config.sources
    ('pia/milestones/rules.toml', 'pia/integrations/integrations.toml')
    >>> next(d for d in config.durations if d.name == "time_to_restore")
    Duration(name='time_to_restore', start=('impact_start', 'detected'), end='restored')
    """
    packaged = resources.files("pia.milestones").joinpath(PACKAGED)
    layers: list[tuple[str, dict[str, Any]]] = [
        (f"pia/milestones/{PACKAGED}", _parse(packaged.read_bytes(), PACKAGED)),
        integration_config.packaged_layer(),
    ]
    local = None
    if data_dir is not None and (path := Path(data_dir) / "pia.toml").is_file():
        local = (str(path), _parse(path.read_bytes(), str(path)))
        layers.append(local)
    config = build_config(layers)
    if local:  # its types are checked by now
        _check_spelling(*local)
    return config


def _check_spelling(path: str, table: dict[str, Any]) -> None:
    """A ``pia.toml`` pattern that spells a word the rules never see ("resolved", which they
    read as "resolve") is an error, not a rule that silently matches nothing."""
    from pia.milestones.normalise import unreadable

    patterns = {f"rules.{k}.pattern": v.get("pattern") for k, v in table.get("rules", {}).items()}
    patterns |= {f"fragments.{k}": v for k, v in table.get("fragments", {}).items()}
    for key, pattern in patterns.items():
        if isinstance(pattern, str) and (words := unreadable(pattern)):
            shown = ", ".join(f'"{word}" (spell "{form}")' for word, form in words)
            raise ConfigError(path, key, f"rules read lemmas, so these words never match: {shown}")


def build_config(layers: list[tuple[str, dict[str, Any]]]) -> Config:
    """Merge decoded TOML layers (``(path, table)``, later wins) into a checked :class:`Config`."""
    rules: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    markers: dict[str, str] = {}
    reactions: dict[str, str] = {}
    fragments: dict[str, str] = {}
    durations: dict[str, tuple[str, Any]] = {}
    bots: dict[str, dict[str, Any]] = {}
    bot_origin: dict[str, str] = {}
    zone, cadence, work = "UTC", 30.0, {"start": 8, "end": 18, "days": list(DAYS[:5])}
    for path, table in layers:
        # [secrets] and [pseudonyms] belong to pia.privacy, which reads them itself
        known = {
            "rules",
            "fragments",
            "markers",
            "reactions",
            "durations",
            "status_updates",
            "stated_times",
            "working_hours",
            "integrations",
            "secrets",
            "pseudonyms",
        }
        for key in table:
            if key not in known:
                raise ConfigError(path, key, f"unknown table (known: {', '.join(sorted(known))})")
        for name, spec in _table(path, "rules", table.get("rules", {})).items():
            if not isinstance(spec, dict):
                raise ConfigError(path, f"rules.{name}", "must be a table with label and pattern")
            rules[name] = {**rules.get(name, {}), **spec}
            origin[name] = path
        for key, text in _table(path, "fragments", table.get("fragments", {})).items():
            if (
                not isinstance(text, str)
                or not FRAGMENT.fullmatch("{" + key + "}")
                or key in LABELS
            ):
                raise ConfigError(
                    path, f"fragments.{key}", "must be a pattern named in lower case, not a label"
                )
            fragments[key] = text
        for key, label in _table(path, "markers", table.get("markers", {})).items():
            markers[key.strip().lower()] = _label(path, f"markers.{key}", label)
        for key, label in _table(path, "reactions", table.get("reactions", {})).items():
            reactions[key.strip(":").lower()] = _label(path, f"reactions.{key}", label)
        for name, spec in _table(path, "durations", table.get("durations", {})).items():
            durations[name] = (path, spec)
        status = _table(path, "status_updates", table.get("status_updates", {}))
        if "cadence_minutes" in status:
            cadence = _number(path, "status_updates.cadence_minutes", status["cadence_minutes"])
        clock = _table(path, "stated_times", table.get("stated_times", {}))
        if set(clock) - {"zone"}:
            raise ConfigError(
                path, "stated_times", f"unknown keys {sorted(set(clock) - {'zone'})} (known: zone)"
            )
        if "zone" in clock:
            zone = _zone(path, "stated_times.zone", clock["zone"])
        hours = _table(path, "working_hours", table.get("working_hours", {}))
        work.update(hours)
        integration_config.merge(bots, bot_origin, path, table.get("integrations", {}))
    for name, spec in rules.items():
        if "pattern" not in spec and not spec.get("enabled", True):
            raise ConfigError(
                origin[name],
                f"rules.{name}",
                f"no rule of that name to switch off (known: {', '.join(sorted(rules))})",
            )
    compiled = tuple(
        _rule(origin[name], name, spec) for name, spec in rules.items() if spec.get("enabled", True)
    )
    vetoing = {rule.name for rule in compiled if rule.is_veto}
    for rule in compiled:
        for name in rule.spares:
            if name not in vetoing:
                raise ConfigError(
                    origin[rule.name], f"rules.{rule.name}.spares", f"{name!r} is no veto rule"
                )
    spans = tuple(_duration(path, name, spec) for name, (path, spec) in durations.items() if spec)
    start, end, days = _hours(layers[-1][0], work)
    sources = tuple(p for p, _ in layers)
    config = Config(
        compiled,
        markers,
        reactions,
        spans,
        fragments,
        cadence,
        start,
        end,
        days,
        zone,
        sources,
        integration_config.build(bots, bot_origin),
    )
    for rule in compiled:
        key = f"rules.{rule.name}.pattern"
        for label in PLACEHOLDER.findall(rule.pattern):
            if not config.positive(label) or label in rule.vetoes:
                raise ConfigError(
                    origin[rule.name],
                    key,
                    f"{{{label}}} names a label with no rules of its own to stand for",
                )
        unknown = [
            n for n in FRAGMENT.findall(rule.pattern) if n not in fragments and n not in LABELS
        ]
        if unknown:
            raise ConfigError(
                origin[rule.name],
                key,
                f"{{{unknown[0]}}} names no fragment (known: {', '.join(sorted(fragments))})",
            )
        try:
            re.compile(config.expand(rule.pattern) if rule.is_veto else config.pattern(rule))
        except re.error as error:
            raise ConfigError(
                origin[rule.name],
                key,
                f"is not a valid regular expression once its fragments are filled in: {error}",
            ) from None
    return config


def _parse(data: bytes, path: str) -> dict[str, Any]:
    from pia.snapshot import read_toml

    return read_toml(path, data)


def _table(path: str, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(path, key, "must be a table")
    return value


def _label(path: str, key: str, value: Any) -> str:
    if value not in LABELS:
        raise ConfigError(path, key, f"unknown label {value!r} (known: {', '.join(LABELS)})")
    return str(value)


def _number(path: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(path, key, f"must be a positive number, not {value!r}")
    return float(value)


def _zone(path: str, key: str, value: Any) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(str(value))
    except (ValueError, KeyError, OSError):
        raise ConfigError(
            path, key, f"{value!r} is not a time zone name (e.g. UTC, Europe/Berlin)"
        ) from None
    return str(value)


def _rule(path: str, name: str, spec: dict[str, Any]) -> Rule:
    key = f"rules.{name}"
    known = ("label", "pattern", "vetoes", "spares", "scope", "numbers", "enabled")
    unknown = set(spec) - set(known)
    if unknown:
        raise ConfigError(path, key, f"unknown keys {sorted(unknown)} (known: {', '.join(known)})")
    pattern = spec.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(path, f"{key}.pattern", "is missing or empty")
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise ConfigError(
            path, f"{key}.pattern", f"is not a valid regular expression: {error}"
        ) from None
    if compiled.groups:
        # Capturing groups would shadow the rule-name groups of the combined pattern.
        raise ConfigError(path, f"{key}.pattern", "has a capturing group; use (?:...) instead")
    vetoes = spec.get("vetoes", [])
    if not isinstance(vetoes, list) or not all(isinstance(v, str) for v in vetoes):
        raise ConfigError(path, f"{key}.vetoes", "must be a list of labels")
    for label in vetoes:
        _label(path, f"{key}.vetoes", label)
    spares = spec.get("spares", [])
    if (
        not isinstance(spares, list)
        or not all(isinstance(v, str) for v in spares)
        or (spares and vetoes)
    ):
        raise ConfigError(
            path, f"{key}.spares", "must be a list of veto rules' names, on a rule without vetoes"
        )
    given = spec.get("label")
    label = str(given or name) if vetoes or spares else _label(path, f"{key}.label", given)
    scope = spec.get("scope", "message")
    if scope not in SCOPES:
        raise ConfigError(
            path, f"{key}.scope", f"unknown scope {scope!r} (known: {', '.join(SCOPES)})"
        )
    numbers = spec.get("numbers", "")
    if numbers and (numbers not in NUMBERS or vetoes or spares):
        raise ConfigError(
            path,
            f"{key}.numbers",
            f"must be one of {', '.join(NUMBERS)}, on a rule that gives a label"
            if vetoes or spares
            else f"unknown direction {numbers!r} (known: {', '.join(NUMBERS)})",
        )
    return Rule(name, label, pattern, tuple(vetoes), scope, numbers, tuple(spares))


def _duration(path: str, name: str, spec: Any) -> Duration:
    key = f"durations.{name}"
    if isinstance(spec, list) and len(spec) == 2:
        spec = {"from": spec[0], "to": spec[1]}
    if not isinstance(spec, dict) or set(spec) != {"from", "to"}:
        raise ConfigError(path, key, 'must be { from = "milestone", to = "milestone" }')
    start = spec["from"] if isinstance(spec["from"], list) else [spec["from"]]
    for milestone in [*start, spec["to"]]:
        if milestone not in MILESTONES:
            raise ConfigError(
                path, key, f"unknown milestone {milestone!r} (known: {', '.join(MILESTONES)})"
            )
    if not start:
        raise ConfigError(path, f"{key}.from", "names no milestone")
    return Duration(name, tuple(start), spec["to"])


def _hours(path: str, work: dict[str, Any]) -> tuple[int, int, tuple[int, ...]]:
    unknown = set(work) - {"start", "end", "days"}
    if unknown:
        raise ConfigError(
            path, "working_hours", f"unknown keys {sorted(unknown)} (known: start, end, days)"
        )
    start, end = work["start"], work["end"]
    for key, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 24:
            raise ConfigError(path, f"working_hours.{key}", f"must be an hour 0-24, not {value!r}")
    if start >= end:
        raise ConfigError(path, "working_hours", f"start {start} is not before end {end}")
    days = work["days"]
    if not isinstance(days, list) or any(str(d).lower()[:3] not in DAYS for d in days):
        raise ConfigError(
            path, "working_hours.days", f"must be a list of day names ({', '.join(DAYS)})"
        )
    return start, end, tuple(sorted({DAYS.index(str(d).lower()[:3]) for d in days}))
