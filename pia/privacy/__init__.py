"""Making reviews safe to share: secrets masked (on by default), names pseudonymised on request."""

from __future__ import annotations

import os

import pandas as pd

from pia.privacy.pseudonyms import Pseudonyms, read_mapping
from pia.privacy.redact import Redactor, load_redactor

__all__ = ["Pseudonyms", "Redactor", "load_redactor", "read_mapping", "shareable_events"]


def shareable_events(
    incident: object,
    root: str | os.PathLike[str] | None,
    *,
    redact: bool = True,
    pseudonymise: bool = False,
    pseudonyms: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """An incident's events as they may leave the machine: secrets masked (unless ``redact``
    is false) and, on request, names replaced (the commander of ``incident.toml`` is ``IC``)."""
    from pia.privacy import scrub

    events = incident.events()  # type: ignore[attr-defined]
    redactor = load_redactor(root) if redact else None
    aliases = None
    if pseudonymise or pseudonyms is not None:
        mapping = read_mapping(pseudonyms) if pseudonyms is not None else None
        commander = str(incident.meta.get("commander", ""))  # type: ignore[attr-defined]
        aliases = Pseudonyms.build(events, incident.directory(), commander=commander, mapping=mapping)  # type: ignore[attr-defined]
    return scrub.frame(events, redactor, aliases) if redactor or aliases else events
