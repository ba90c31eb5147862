"""Content hashes of snapshots, and the metrics of every incident computed once per snapshot.

Each incident's metrics row and responder rows are cached as Parquet in
``<data-dir>/.pia-cache/<incident>.parquet`` (beside the snapshots, outside them, so a cache
file never changes a snapshot's hash or its manifest). The cache key is the hash of the
snapshot's files, the rules config, pia's version and code, and ``as_of``; a change to the
snapshot recomputes that incident and only that one. Trends over thousands of incidents then read one small file per
incident instead of parsing every channel.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from pia.errors import PiaError
from pia.snapshot import data_dir, list_incidents, open_incident

CACHE_DIR = ".pia-cache"


def hash_files(paths: Iterable[Path], base: Path, digest: Any = None) -> Any:
    """Feed every file's relative path and bytes into ``digest`` (sha256 by default)."""
    digest = digest or hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest


def snapshot_files(folder: Path) -> list[Path]:
    """The files of a snapshot, without hidden ones (staging folders, caches)."""
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def snapshot_hash(folder: Path) -> str:
    """sha256 over a snapshot's files (names and contents)."""
    return hash_files(snapshot_files(folder), folder).hexdigest()


@functools.cache
def code_hash() -> str:
    """sha256 over pia's version, its code and packaged rules, read once per process: a cache
    written before a change of detection, a new milestone or a new duration is never read as
    current, even where the version is the same."""
    return package_hash(Path(str(resources.files("pia"))))


def package_hash(package: Path) -> str:
    """sha256 over pia's version and the ``.py`` and ``.toml`` files of ``package``."""
    from pia import __version__

    code = [p for p in package.rglob("*") if p.suffix in (".py", ".toml") and p.is_file() and "__pycache__" not in p.parts]
    return hash_files(code, package, hashlib.sha256(__version__.encode())).hexdigest()


def config_hash(root: Path) -> str:
    """sha256 over what the analysis depends on besides the snapshot: pia's code
    (:func:`code_hash`) and the data dir's ``pia.toml``."""
    digest = hashlib.sha256(code_hash().encode())
    local = root / "pia.toml"
    if local.exists():
        digest.update(local.read_bytes())
    return digest.hexdigest()


@dataclass
class Measured:
    """The metrics table, the responders of every incident, and what could not be measured."""

    table: pd.DataFrame
    responders: pd.DataFrame
    failures: list[str] = field(default_factory=list)
    computed: int = 0
    cached: int = 0


def measure_all(
    root: str | os.PathLike[str] | None = None,
    ids: Sequence[str] | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    progress: bool = False,
) -> Measured:
    """The metrics of ``ids`` (default: every incident in the data dir): read from the cache
    where an incident's snapshot, the config and ``as_of`` are unchanged, computed otherwise.
    One incident that fails becomes a line in ``failures``; the others are still measured."""
    from pia.metrics import measure_incidents, typed_table
    from pia.milestones import load_config
    from pia.milestones.detect import compile_rules
    from pia.people import rosters

    base = data_dir(root)
    config = load_config(base)
    salt = config_hash(base) + str(as_of)
    cache = base / CACHE_DIR
    old_rows, old_people = _read(cache / "metrics.parquet"), _read(cache / "responders.parquet")
    known = dict(zip(old_rows["incident"], old_rows["_key"])) if len(old_rows) else {}
    keys: dict[str, str] = {}
    stale, failures = [], []
    for incident_id in list(ids) if ids is not None else list_incidents(base):
        try:
            incident = open_incident(incident_id, base)
            keys[incident_id] = hashlib.sha256((snapshot_hash(incident.path) + salt).encode()).hexdigest()
        except PiaError as error:
            failures.append(str(error))
            continue
        if known.get(incident_id) != keys[incident_id]:
            stale.append(incident)
    fresh_rows, fresh_people = [], []
    measured, unread = measure_incidents(stale, config, as_of=as_of, rules=compile_rules(config), progress=progress) if stale else ({}, [])
    failures += unread
    done = [i for i in stale if i.id in measured]
    for incident in stale:
        if incident.id not in measured:
            del keys[incident.id]
    if done:
        rows = pd.DataFrame([measured[i.id].row for i in done])
        fresh_rows.append(typed_table(rows, config).assign(_key=rows["incident"].map(keys)))
        crew = rosters(
            pd.concat([measured[i.id].events for i in done], ignore_index=True),
            {i.id: i.directory() for i in done},
            pulled_in=pd.concat([measured[i.id].detection.escalations for i in done], ignore_index=True),
            pages=pd.concat([measured[i.id].pages for i in done], ignore_index=True),
        )
        fresh_people.append(crew[[*crew.columns[1:], "incident"]].assign(_key=crew["incident"].map(keys)))
    computed = len(done)
    table = _merge(old_rows, fresh_rows, keys)
    people = _merge(old_people, fresh_people, keys)
    if fresh_rows or len(table) != len(old_rows):
        _write(cache / "metrics.parquet", table)
        _write(cache / "responders.parquet", people)
    table = typed_table(table, config)
    order = {incident: i for i, incident in enumerate(keys)}
    table = table[table["incident"].isin(keys)].sort_values("incident", key=lambda s: s.map(order), ignore_index=True)
    people = people[people["incident"].isin(keys)].reset_index(drop=True) if len(people) else people
    return Measured(table.drop(columns="_key"), people.drop(columns="_key", errors="ignore"), failures, computed, len(keys) - computed)


def _merge(old: pd.DataFrame, fresh: list[pd.DataFrame], keys: dict[str, str]) -> pd.DataFrame:
    """Cached rows still valid for ``keys``, plus the fresh ones."""
    if len(old):
        old = old[old["incident"].map(keys) == old["_key"]]
    parts = [p for p in [old, *fresh] if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["incident", "_key"])


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()
    except Exception:  # a torn or foreign cache file is just a miss
        return pd.DataFrame()


def _write(path: Path, frame: pd.DataFrame) -> None:
    import io

    from pia.snapshot import atomic_write

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    try:
        atomic_write(path, buffer.getvalue())
    except OSError:  # a data dir we may not write to: the cache is only a saving
        pass
