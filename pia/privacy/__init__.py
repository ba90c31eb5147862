"""Making reviews safe to share: secrets masked (on by default), names pseudonymised on request."""

from __future__ import annotations

import os

import pandas as pd

from pia.privacy.pseudonyms import Pseudonyms, for_incident, read_mapping
from pia.privacy.redact import Redactor, load_redactor

__all__ = ["Pseudonyms", "Redactor", "for_incident", "load_redactor", "read_mapping", "shareable_events"]


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
