"""Content hashes of snapshots, and the metrics of every incident computed once per snapshot.

Each incident's metrics row and responder rows are cached as Parquet in
``<data-dir>/.pia-cache/<incident>.parquet`` (beside the snapshots, outside them, so a cache
file never changes a snapshot's hash or its manifest). The cache key is the hash of the
snapshot's files, the rules config, and pia's version and code; a change to the snapshot
recomputes that incident and only that one. A row holds for the ``as_of`` it was measured at,
and a finished incident's row for any ``as_of`` after its last milestone became known, so a
batch that censors open incidents at the time it runs re-measures only those. Trends over
thousands of incidents then read one small file per incident instead of parsing every channel.

The cache holds titles, severities, services and names as the snapshots have them, secrets
unmasked (outputs mask them as they are made): like the snapshots, it is private. Its files
are readable by their owner only, and it ignores itself for git (``.gitignore``).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pia.errors import PiaError
from pia.snapshot import Incident, data_dir, list_incidents, open_incident, snapshot_files
from pia.times import TimeLike, as_utc

if TYPE_CHECKING:
    from pia.cluster import Cluster
    from pia.milestones.config import Config

CACHE_DIR = ".pia-cache"


def hash_files(paths: Iterable[Path], base: Path, digest: Any = None) -> Any:
    """Feed every file's relative path and bytes into ``digest`` (sha256 by default)."""
    digest = digest or hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        with path.open("rb") as handle:  # in chunks: memory stays flat whatever the file's size
            while chunk := handle.read(1024**2):
                digest.update(chunk)
        digest.update(b"\0")
    return digest


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

    code = [
        p
        for p in package.rglob("*")
        if p.suffix in (".py", ".toml") and p.is_file() and "__pycache__" not in p.parts
    ]
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
    as_of: TimeLike | None = None,
    progress: bool = False,
    cluster: Cluster | None = None,
) -> Measured:
    """The metrics of ``ids`` (default: every incident in the data dir): read from the cache
    where an incident's snapshot and the config are unchanged and the row holds at ``as_of``,
    computed otherwise (here, or in partitions on the workers of ``cluster``, merged into the
    one cache).
    One incident that fails becomes a line in ``failures``; the others are still measured."""
    from pia.metrics import typed_table
    from pia.milestones import load_config

    base = data_dir(root)
    as_of = as_utc(as_of)
    config = load_config(base)
    salt = config_hash(base)
    cache = base / CACHE_DIR
    old_rows, old_people = (
        _sound(_read(cache / "metrics.parquet"), config),
        _read(cache / "responders.parquet"),
    )
    known = (
        dict(
            zip(old_rows["incident"], old_rows["_key"].where(_holds(old_rows, as_of)), strict=True)
        )
        if len(old_rows)
        else {}
    )
    keys: dict[str, str] = {}
    stale, failures = [], []
    for incident_id in list(ids) if ids is not None else list_incidents(base):
        try:
            incident = open_incident(incident_id, base)
            keys[incident_id] = hashlib.sha256(
                (snapshot_hash(incident.path) + salt).encode()
            ).hexdigest()
        except PiaError as error:
            failures.append(str(error))
            continue
        if known.get(incident_id) != keys[incident_id]:
            stale.append(incident)
    parts = (
        _measure_on(cluster, base, stale, as_of, progress)
        if cluster is not None
        else [measure_part(stale, base, as_of, progress)]
    )
    fresh_rows, fresh_people = [], []
    done: set[str] = set()
    for rows, crew, unread in parts:
        failures += unread
        if len(rows):
            done |= set(rows["incident"])
            # measured after everything was known, the row is the one measured without as_of
            timeless = (
                (rows["status"] == "resolved") & (rows["_settled"] <= as_of)
                if as_of is not None
                else True
            )
            fresh_rows.append(
                rows.assign(
                    _key=rows["incident"].map(keys), _as_of=np.where(timeless, "", str(as_of))
                )
            )
            fresh_people.append(crew.assign(_key=crew["incident"].map(keys)))
    for incident in stale:
        if incident.id not in done:
            del keys[incident.id]
    table = _merge(old_rows, fresh_rows, keys)
    people = _merge(old_people, fresh_people, keys)
    if fresh_rows or len(table) != len(old_rows):
        _write(cache / "metrics.parquet", table)
        _write(cache / "responders.parquet", people)
    table = _as_asked(typed_table(table, config), keys)
    people = _as_asked(people, keys) if len(people) else people
    private = ["_key", "_settled", "_as_of"]
    return Measured(
        table.drop(columns=private, errors="ignore"),
        people.drop(columns="_key", errors="ignore"),
        failures,
        len(done),
        len(keys) - len(done),
    )


def _as_asked(frame: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    """The rows of the incidents in ``keys``, in the order of ``keys`` (the order asked), each
    incident's rows in their own order (as :func:`_merge` left them)."""
    order = {incident: i for i, incident in enumerate(keys)}
    return frame[frame["incident"].isin(keys)].sort_values(
        "incident", key=lambda s: s.map(order), kind="stable", ignore_index=True
    )


def _holds(rows: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.Series:
    """Which cached rows stand at ``as_of``: those measured at it, and those measured without
    one, where the incident was resolved and settled by then."""
    if "_as_of" not in rows or "_settled" not in rows:
        return pd.Series(False, index=rows.index)
    if as_of is None:
        return rows["_as_of"] == ""
    settled = pd.to_datetime(rows["_settled"], utc=True)
    timeless = (rows["_as_of"] == "") & (rows["status"] == "resolved") & (settled <= as_of)
    return (rows["_as_of"] == str(as_of)) | timeless


Part = tuple[pd.DataFrame, pd.DataFrame, list[str]]


def measure_part(
    incidents: Sequence[Incident],
    base: Path,
    as_of: pd.Timestamp | None = None,
    progress: bool = False,
) -> Part:
    """The metrics rows and responder rows of ``incidents`` (one partition, measured together),
    and a one-line message for each that could not be measured."""
    from pia.metrics import _known, measure_together, typed_table
    from pia.milestones import load_config
    from pia.milestones.detect import compile_rules
    from pia.people import rosters

    if not incidents:
        return pd.DataFrame(), pd.DataFrame(), []
    config = load_config(base)
    together, failed = measure_together(
        incidents, config, as_of=as_of, rules=compile_rules(config), progress=progress
    )
    failures = [str(error) for error in failed.values()]
    if not together.rows or together.detection is None:
        return pd.DataFrame(), pd.DataFrame(), failures
    rows = typed_table(pd.DataFrame(together.rows), config)
    found = together.detection.milestones
    settled = (
        _known(found).groupby(found["incident"].astype(str).to_numpy(object)).max()
        if len(found)
        else pd.Series(dtype="datetime64[ns, UTC]")
    )
    rows["_settled"] = pd.Series(
        settled.reindex(rows["incident"]).to_numpy(), index=rows.index, dtype="datetime64[ns, UTC]"
    )
    crew = rosters(
        together.events,
        together.directories,
        pulled_in=together.detection.escalations,
        pages=together.pages,
    )
    return rows, crew[[*crew.columns[1:], "incident"]], failures


#: incidents measured in one task on a cluster: enough to amortise the frames, small enough
#: that a lost worker costs little and every worker gets several
PARTITION = 200


def _measure_on(
    cluster: Cluster, base: Path, stale: list[Incident], as_of: pd.Timestamp | None, progress: bool
) -> list[Part]:
    """``stale`` measured in partitions on the workers of ``cluster``. Paths go to the workers
    absolute and come back in messages as the caller gave them."""
    if not stale:
        return []
    absolute = base.resolve()
    moved = [Incident(i.id, absolute / "incidents" / i.id, i.meta) for i in stale]
    size = max(1, min(PARTITION, -(-len(moved) // (4 * max(1, cluster.workers)))))
    chunks = [moved[n : n + size] for n in range(0, len(moved), size)]
    bar = _bar(len(moved), "metrics", progress)
    parts: dict[str, Part] = {}
    try:
        for chunk, part, error in cluster.as_finished(measure_part, chunks, absolute, as_of):
            if error:
                part = (pd.DataFrame(), pd.DataFrame(), [f"{i.id}: {error}" for i in chunk])
            rows, crew, unread = part
            parts[chunk[0].id] = (rows, crew, [as_given(line, absolute, base) for line in unread])
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return [
        parts[chunk[0].id] for chunk in chunks if chunk[0].id in parts
    ]  # in the order asked, as measured here


def as_given(message: str, absolute: Path, base: Path) -> str:
    """``message`` naming ``base`` the way the caller wrote it, not by its absolute path."""
    return message.replace(f"{absolute}/", f"{base}/") if absolute != base else message


def _bar(total: int, what: str, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="incident")


def _merge(old: pd.DataFrame, fresh: list[pd.DataFrame], keys: dict[str, str]) -> pd.DataFrame:
    """Cached rows still valid for ``keys`` and not measured again, plus the fresh ones, in no
    particular order of incidents (:func:`_as_asked` puts them in the order asked)."""
    parts = [p for p in fresh if len(p)]
    if len(old):
        again: pd.Series | list[str] = pd.concat(parts)["incident"] if parts else []
        parts.append(old[(old["incident"].map(keys) == old["_key"]) & ~old["incident"].isin(again)])
    parts = [p for p in parts if len(p)]
    return (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["incident", "_key"])
    )


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()
    except Exception:  # a torn or foreign cache file is just a miss
        return pd.DataFrame()


def _sound(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The cached rows that meet the metrics table's contract; the others are measured again
    (a whole column amiss: every row)."""
    from pia.contracts import metrics_contract

    if rows.empty:
        return rows
    failures = metrics_contract(rows, [d.name for d in config.durations]).failures(rows)
    if failures["position"].isna().any():
        return pd.DataFrame()
    return rows.drop(rows.index[failures["position"].unique().astype(int)]).reset_index(drop=True)


def _write(path: Path, frame: pd.DataFrame) -> None:
    import io

    from pia.snapshot import atomic_write

    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        ignore = path.parent / ".gitignore"
        if not ignore.exists():
            atomic_write(ignore, b"# pia's metrics cache: private, never shared\n*\n", mode=0o600)
        atomic_write(path, buffer.getvalue(), mode=0o600)
    except OSError:  # a data dir we may not write to: the cache is only a saving
        pass
