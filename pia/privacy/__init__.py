"""Making reviews safe to share: secrets masked (on by default), names pseudonymised on request."""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd

from pia.privacy.pseudonyms import Pseudonyms, for_incident, read_mapping
from pia.privacy.redact import Redactor, load_redactor

__all__ = [
    "Pseudonyms",
    "Redactor",
    "for_incident",
    "load_redactor",
    "read_mapping",
    "shareable_events",
    "title_mask",
]


def title_mask(
    root: str | os.PathLike[str] | None, *, redact: bool = True, pseudonymise: bool = False
) -> Callable[[str], str] | None:
    """How an incident's title from ``incident.toml`` may be shown outside its report: with
    secrets masked (unless ``redact`` is false), or not at all (None) when names are
    pseudonymised, since a title's names can only be replaced where the incident's people are
    read, in its report."""
    if pseudonymise:
        return None
    return load_redactor(root).value if redact else str


def shareable_events(
    incident: object,
    root: str | os.PathLike[str] | None,
    *,
    redact: bool = True,
    pseudonymise: bool = False,
    pseudonyms: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """An incident's events as they may leave the machine: secrets masked (unless ``redact``
    is false) and, on request, names replaced with the same aliases as the incident's review
    (its commander is ``IC``)."""
    from pia.milestones.repeated import commanders
    from pia.privacy import scrub

    events = incident.events()  # type: ignore[attr-defined]
    redactor = load_redactor(root) if redact else None
    aliases = None
    if pseudonymise or pseudonyms is not None:
        named = {incident.id: str(incident.meta.get("commander") or "")}  # type: ignore[attr-defined]
        ic = commanders(events, named)
        commander = str(ic.iloc[0]) if len(ic) and pd.notna(ic.iloc[0]) else ""
        aliases = for_incident(incident, events, root, commander=commander, mapping_file=pseudonyms)
    return scrub.frame(events, redactor, aliases) if redactor or aliases else events
