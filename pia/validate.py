"""Checking a snapshot before trusting it: its files against the manifest, its data against the
events contract, and the data-quality findings, each with a level a script can act on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pia.errors import PiaError
from pia.events import schema
from pia.snapshot import MANIFEST, Incident, file_digests, open_incident, read_json

#: levels, in order; the exit code of ``pia validate`` is that of the worst finding
LEVELS = {"note": 0, "warning": 1, "error": 2}
_WARNINGS = {"order", "disagreement"}


@dataclass
class Validation:
    """The findings of one incident: ``(level, what)`` pairs."""

    incident: str
    findings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def level(self) -> int:
        return max((LEVELS[level] for level, _ in self.findings), default=0)

    def add(self, level: str, what: str) -> None:
        self.findings.append((level, what))


def check_manifest(folder: Path, result: Validation) -> None:
    """Files missing, changed or added since the manifest was written (and, manifest or not,
    every file by the rule for snapshot files: inside the snapshot, not too large)."""
    try:
        found = file_digests(folder)
    except PiaError as error:
        result.add("error", str(error))
        return
    path = folder / MANIFEST
    if not path.exists():
        result.add(
            "warning", "no manifest.json: the files cannot be checked (fetch or import writes one)"
        )
        return
    try:
        listed = read_json(path)
    except PiaError as error:  # reported like any other finding, and the data still checked
        result.add("error", str(error))
        return
    files = listed.get("files") if isinstance(listed, dict) else None
    if not isinstance(files, dict):
        result.add("error", f"{path}: expected an object with a 'files' table")
        return
    for name in sorted(set(files) - set(found)):
        result.add("error", f"{name}: listed in the manifest but missing")
    for name in sorted(set(files) & set(found)):
        entry = files[name] if isinstance(files[name], dict) else {}
        if (
            entry.get("sha256") != found[name]["sha256"]
            or entry.get("size", found[name]["size"]) != found[name]["size"]
        ):
            result.add("error", f"{name}: changed since the manifest was written")
    for name in sorted(set(found) - set(files)):
        result.add("warning", f"{name}: not in the manifest (added later)")


def check_data(incident: Incident, result: Validation) -> None:
    """The events (read and checked against the schema) and their data-quality findings."""
    from pia.quality import findings

    try:
        events = schema.validate(incident.events())  # events() validates too; this says so here
    except PiaError as error:
        result.add("error", str(error))
        return
    duplicates = events.duplicated(["source", "channel", "ts", "kind", "actor_id", "text"]).sum()
    if duplicates:
        result.add("warning", f"{duplicates} events appear twice")
    found = findings(events)
    for ts, check, detail in zip(found["ts"], found["check"], found["detail"], strict=True):
        level = "warning" if check in _WARNINGS else "note"
        result.add(level, f"{pd.Timestamp(ts):%Y-%m-%d %H:%M:%S} {check}: {detail}")
    result.add(
        "note",
        f"{len(events)} events, {events['ts'].min():%Y-%m-%d %H:%M} to {events['ts'].max():%Y-%m-%d %H:%M} UTC"
        if len(events)
        else "no events",
    )


def validate(incident_id: str, root: str | os.PathLike[str] | None = None) -> Validation:
    """Every check of one incident's snapshot."""
    result = Validation(incident_id)
    try:
        incident = open_incident(incident_id, root)
    except PiaError as error:
        result.add("error", str(error))
        return result
    check_manifest(incident.path, result)
    check_data(incident, result)
    return result
