"""The on-disk incident snapshot: finding incidents, reading their files, writing atomically.

This is the outer layer that opens paths; it hands decoded payloads to the pure readers in
:mod:`pia.events`. Layout (README.md, "The incident snapshot")::

    <data-dir>/incidents/<incident-id>/
      incident.toml
      slack/users.json, channels.json, <channel>/<YYYY-MM-DD>.json   (or slack.zip, same inside)
      pagerduty/incident.json, log_entries.json, notes.json?, alerts.json?
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import tempfile
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from pia.errors import ConfigError, InputError, PiaError, UnknownIncident
from pia.events import pagerduty, slack
from pia.events.schema import conform
from pia.events.timeline import merge, summarise

DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
#: limits for reading an export, checked before anything is decompressed: the declared size of
#: a whole zip, of one file (a day file is kilobytes, a users.json a few megabytes), how far a
#: large zip member may expand, and how much one export may give in total to one command
MAX_EXPORT_BYTES = 4 * 1024**3
MAX_MEMBER_BYTES = 200 * 1024**2
MAX_RATIO = 100
MAX_READ_BYTES = 1024**3
#: the largest file a snapshot may hold (its data files are JSON of kilobytes to megabytes)
MAX_FILE_BYTES = MAX_MEMBER_BYTES
#: an incident id: it names a folder, a report file and a link in the index, so only letters,
#: digits, ``.``, ``_`` and ``-``, starting with a letter or digit
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SAFE_ID_RULE = (
    "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 128 characters"
)
#: compression methods the standard library reads (stored, deflate, bzip2, lzma)
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
MANIFEST = "manifest.json"
#: files a manifest does not cover: itself, and the log of fetches (it changes on every fetch)
_UNLISTED = {MANIFEST, "fetch.json"}
_CHANNEL_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
_USER_LISTS = ("users.json", "org_users.json")


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The data dir, the folder that holds ``incidents/`` (and maybe ``pia.toml``).

    Parameters
    ----------
    path : str or PathLike, optional
        The data dir; where None, ``$PIA_DATA_DIR``, else the nearest ``data/`` holding
        ``incidents/`` in the working folder or above it (as git finds its repository, so a
        notebook opened in ``notebooks/`` or ``reports/`` finds the project's data), else
        ``./data``.

    Returns
    -------
    Path
        The folder, as given or relative to the working folder; it may not exist.

    Examples
    --------
    >>> import pia
    >>> (pia.data_dir() / "incidents").is_dir()
    True
    """
    if path is not None:
        return Path(path)
    if os.environ.get("PIA_DATA_DIR"):
        return Path(os.environ["PIA_DATA_DIR"])
    here = Path.cwd()
    for depth, folder in enumerate([here, *here.parents]):
        if (folder / "data" / "incidents").is_dir():
            return Path(*[".."] * depth, "data") if depth else Path("data")
    return Path("data")


def list_incidents(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Ids of every incident snapshot in the data dir, sorted.

    Parameters
    ----------
    root : str or PathLike, optional
        The data dir (see :func:`data_dir`).

    Returns
    -------
    list of str
        The folder names under ``incidents/`` (none where there is no such folder).

    Examples
    --------
    >>> import pia
    >>> pia.list_incidents()[:2]
    ['2026-01-17-batch-disk-full', '2026-02-10-file-upload-failures']
    """
    base = data_dir(root) / "incidents"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def _whole(message: str) -> str:
    """json's message without its dangling "at" (the place says where): "Unterminated string
    starting at" reads as "Unterminated string starting here"."""
    return f"{message.removesuffix(' at')} here" if message.endswith(" at") else message


def read_json(path: str | os.PathLike[str], data: bytes | None = None) -> Any:
    """Decode a JSON file; malformed JSON is an :class:`InputError` with its line and column."""
    try:
        raw = Path(path).read_bytes() if data is None else data
        return json.loads(raw.decode("utf-8-sig"))  # a byte-order mark is not an error
    except RecursionError:
        raise InputError(path, "", "JSON nested too deeply to read") from None
    except json.JSONDecodeError as error:
        raise InputError(
            path,
            f"line {error.lineno} column {error.colno}",
            f"malformed JSON: {_whole(error.msg)}",
        ) from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"byte {error.start}", "not UTF-8 text") from None
    except OSError as error:
        raise InputError(path, "", error.strerror or str(error)) from None


def read_toml(path: str | os.PathLike[str], data: bytes | None = None) -> dict[str, Any]:
    """Decode a TOML file (or its ``data``); a syntax error is a :class:`ConfigError` with its
    line and column."""
    try:
        raw = Path(path).read_bytes() if data is None else data
        return tomllib.loads(raw.decode("utf-8-sig"))
    except RecursionError:
        raise ConfigError(path, "", "TOML nested too deeply to read") from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        place = (
            message[message.find("(") + 1 : message.rfind(")")].removeprefix("at ")
            if "(" in message
            else ""
        )
        raise ConfigError(path, place, f"malformed TOML: {message.split(' (')[0]}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(path, f"byte {error.start}", "not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(path, "", error.strerror or str(error)) from None


class Tree:
    """A Slack export read the same way whether it is a folder or a zip file.

    Names are POSIX paths relative to the export's root; a zip whose members all sit in one
    top folder (as when a folder is zipped) is read from inside that folder.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        within: Path | None = None,
        what: str = "export folder",
    ) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._read = 0
        if self.path.is_dir():
            self._names = _folder_members(self.path, within or self.path, what)
            self._prefix = ""
        elif zipfile.is_zipfile(self.path):
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError, ValueError) as error:
                raise InputError(self.path, "", f"a damaged zip file ({error})") from None
            try:
                _check_archive(self._zip, self.path)
            except InputError:
                self._zip.close()
                raise
            members = [n for n in self._zip.namelist() if n.endswith(".json")]
            self._prefix = _common_root(members)
            self._names = sorted(n[len(self._prefix) :] for n in members)
        elif self.path.exists():
            raise InputError(self.path, "", "not a folder or a zip file")
        else:
            raise InputError(self.path, "", "no such file or folder")

    def names(self) -> list[str]:
        return self._names

    def where(self, name: str) -> str:
        """The path to show in messages for member ``name``."""
        return f"{self.path}/{name}" if self._zip is None else f"{self.path}:{self._prefix}{name}"

    def json(self, name: str) -> Any:
        """The decoded JSON of member ``name``; a member too large, or one the zip cannot give
        back intact (damaged, encrypted), is an :class:`InputError` naming it."""
        if self._zip is None:
            path = self.path / name
            self._budget(name, path.stat().st_size if path.is_file() else 0)
            return read_json(path)
        member = self._prefix + name
        self._budget(name, self._zip.getinfo(member).file_size)
        try:
            data = self._zip.read(member)  # never more than the size checked above
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise InputError(
                self.where(name), "", f"cannot be read from the zip, it is damaged ({error})"
            ) from None
        return read_json(self.where(name), data)

    def _budget(self, name: str, size: int) -> None:
        if size > MAX_MEMBER_BYTES:
            raise InputError(
                self.where(name),
                "",
                f"{size:,} bytes, more than the {MAX_MEMBER_BYTES:,} a file of an export may have",
            )
        self._read += size
        if self._read > MAX_READ_BYTES:
            raise InputError(
                self.path,
                "",
                f"more than {MAX_READ_BYTES:,} bytes to read: narrow the export (one channel, the incident's days)",
            )

    def json_or(self, name: str, default: Any) -> Any:
        return self.json(name) if name in self._names else default

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _check_archive(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse a zip whose members leave the export (``..``, absolute paths) or would expand far
    beyond any real export (a zip bomb), before anything is extracted."""
    total = 0
    for info in archive.infolist():
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise InputError(path, info.filename, "unsafe path in the archive (outside the export)")
        if info.flag_bits & 0x1:
            raise InputError(path, info.filename, "encrypted: export again without a password")
        if info.compress_type not in _METHODS:
            raise InputError(
                path,
                info.filename,
                f"compressed with method {info.compress_type}, which cannot be read: zip it again with plain deflate",
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_MEMBER_BYTES or (
            ratio > MAX_RATIO and info.file_size > 10 * 1024**2
        ):
            raise InputError(
                path,
                info.filename,
                f"expands to {info.file_size:,} bytes ({ratio:.0f}x): refusing a likely zip bomb",
            )
        total += info.file_size
    if total > MAX_EXPORT_BYTES:
        raise InputError(path, "", f"expands to {total:,} bytes, more than an export should")


def _folder_members(root: Path, within: Path, what: str) -> list[str]:
    """The JSON files of an export folder, as names relative to it; a link that leads out of
    ``within`` is refused, so an export cannot make pia read files elsewhere."""
    return sorted(
        path.relative_to(root).as_posix() for path in files_inside(root, within, what, "*.json")
    )


def files_inside(
    root: Path, within: Path, what: str = "snapshot", pattern: str = "*"
) -> Iterator[Path]:
    """Each file under ``root`` matching ``pattern`` that is inside ``within`` (see
    :func:`inside`), a link leading out an :class:`InputError`. rglob does not descend into
    linked folders, so only a file that is itself a link needs resolving (a thousand small
    snapshots are tens of thousands of paths)."""
    real_within = within.resolve()
    plain = root.resolve().is_relative_to(real_within)
    for path in root.rglob(pattern):
        if plain and not path.is_symlink():
            if path.is_file():
                yield path
        elif inside(path, within, what) is not None:
            yield path


def inside(path: Path, folder: Path, what: str = "snapshot") -> Path | None:
    """The real file ``path`` leads to, if it is a file inside ``folder`` (None for a dangling
    link, a loop of links or a folder). A link that leads out of ``folder`` is an
    :class:`InputError`: a snapshot or an export cannot make pia read files elsewhere."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(folder.resolve()):
        raise InputError(path, "", f"a link out of the {what}: copy the file in instead")
    return real if real.is_file() else None


def snapshot_files(folder: Path) -> list[Path]:
    """Every file of a snapshot (not hidden ones: staging folders, caches), each checked by
    the rule for every file pia reads from it: inside the snapshot and at most
    :data:`MAX_FILE_BYTES`."""
    found = []
    for path in sorted(files_inside(folder, folder)):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        _check_size(path, path.stat().st_size)
        found.append(path)
    return found


def _check_size(path: Path, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise InputError(
            path,
            "",
            f"{size:,} bytes, more than the {MAX_FILE_BYTES:,} a snapshot file may have: remove it or move it out of the snapshot",
        )


def snapshot_json(path: Path, folder: Path) -> Any:
    """A JSON file of the snapshot at ``folder``, read by the rule for every snapshot file."""
    real = inside(path, folder)
    if real is not None:
        _check_size(path, real.stat().st_size)
    return read_json(path)


def safe_name(name: str, what: str, origin: str | os.PathLike[str] = "") -> str:
    """``name`` if it can be a folder name inside the snapshot, else an error: no path
    separators, not ``.``/``..`` or hidden, no control characters."""
    if (
        not name
        or len(name) > 200
        or "/" in name
        or "\\" in name
        or name.startswith(".")
        or any(ord(c) < 32 for c in name)
    ):
        raise InputError(
            origin or name,
            what,
            f"{name!r} cannot be a folder name (no slashes, not hidden, at most 200 characters)",
        )
    return name


def safe_id(incident: str, what: str) -> str:
    """``incident`` if it can name an incident (:data:`SAFE_ID`), else an error."""
    if not SAFE_ID.fullmatch(incident):
        shown = _shortened(incident)
        raise InputError(
            shown, what, f"{shown!r} cannot be a folder name for an incident ({SAFE_ID_RULE})"
        )
    return incident


def _shortened(text: str, width: int = 80) -> str:
    return text[:width] + ("…" if len(text) > width else "")


def _common_root(names: list[str]) -> str:
    tops = {PurePosixPath(n).parts[0] for n in names if "/" in n}
    if len(tops) == 1 and all("/" in n for n in names):
        return tops.pop() + "/"
    return ""


def export_directory(tree: Tree) -> slack.Directory:
    """Users and channels of an export (plain or Enterprise Grid)."""
    users: list[Any] = []
    for name in _USER_LISTS:
        found = tree.json_or(name, [])
        if not isinstance(found, list):
            raise InputError(tree.where(name), "", "expected a JSON list of users")
        users.extend(found)
    channels: list[Any] = []
    for name in _CHANNEL_LISTS:
        found = tree.json_or(name, [])
        if not isinstance(found, list):
            raise InputError(tree.where(name), "", "expected a JSON list of channels")
        channels.extend(found)
    return slack.directory(users, channels, origin=tree.where("users.json"))


def channel_days(tree: Tree, channel: str) -> list[str]:
    """Names of a channel's day files in ``tree``, in date order."""
    return [
        n
        for n in tree.names()
        if n.startswith(channel + "/") and DAY_FILE.match(n[len(channel) + 1 :])
    ]


def slack_events(tree: Tree, incident: str, names: slack.Directory | None = None) -> pd.DataFrame:
    """Every channel folder of a snapshot's Slack export, as events."""
    found = slack.Messages()
    add_slack(found, tree, incident, names)
    events = found.events()
    found.raise_first()
    return merge([events])


def add_slack(
    found: slack.Messages, tree: Tree, incident: str, names: slack.Directory | None = None
) -> None:
    """Add every channel folder of a snapshot's Slack export to ``found``."""
    names = names or export_directory(tree)
    ids = {name: cid for cid, name in names.channels.items()}
    for channel in sorted({n.split("/", 1)[0] for n in tree.names() if "/" in n}):
        days = channel_days(tree, channel)
        if days:
            found.channel(
                incident=incident,
                channel=channel,
                channel_id=ids.get(channel, channel),
                names=names,
            )
            for day in days:
                found.day_file(tree.where(day), tree.json(day))


@contextmanager
def acyclic() -> Iterator[None]:
    """Python's cycle collector paused while snapshot files are read and made into frames:
    decoded JSON is hundreds of thousands of containers with no cycles among them, which each
    full collection would walk again (with everything imported), a tenth of reading a big
    channel; what the readers leave is freed by reference counting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_events(
    incidents: Sequence[Incident], on_read: Callable[[], Any] | None = None
) -> tuple[pd.DataFrame, dict[str, PiaError], dict[str, slack.Directory]]:
    """The events of many incidents in one frame of the contract's columns (by incident, in the
    order given, then by time: each incident's rows are its timeline), read file by file but made into frames once for all; the error of each incident
    that could not be read (it has no rows; the others are not affected); and each one's Slack
    directory. ``on_read`` is called after each incident's files are read."""
    found, entries = slack.Messages(), pagerduty.Entries()
    failures: dict[str, PiaError] = {}
    directories: dict[str, slack.Directory] = {}
    paged: list[pd.DataFrame] = []
    for incident in incidents:
        try:
            directories[incident.id] = incident.add_events(found, entries, paged)
        except PiaError as error:
            failures[incident.id] = error
            found.discard(incident.id, error)
        if on_read is not None:
            on_read()
    said = found.events()
    failures.update((i, error) for i, (_, error) in found.failures.items())
    logged, unread = entries.events()
    failures.update(unread)
    frames = [f for f in (said, logged, *paged) if len(f)]
    if len(frames) == 1 and not failures:
        said = frames[0]
    elif frames:
        events = pd.concat(frames, ignore_index=True)
        order = {incident.id: n for n, incident in enumerate(incidents)}
        position = events["incident"].map(order).to_numpy()
        keep = ~events["incident"].isin(list(failures)).to_numpy()
        rows = np.flatnonzero(keep)[np.lexsort((events["ts"].array.asi8[keep], position[keep]))]
        said = conform(events.take(rows))
    return said, {i.id: failures[i.id] for i in incidents if i.id in failures}, directories


@dataclass
class Incident:
    """An incident snapshot on disk: its id, folder and ``incident.toml``.

    Made by :func:`open_incident`; reading the files waits until :meth:`events` is called.

    Parameters
    ----------
    id : str
        The incident id, the folder's name.
    path : Path
        The folder ``<data dir>/incidents/<id>``.
    meta : dict
        ``incident.toml`` as a dict (title, severity, services, manual milestones, review).

    Examples
    --------
    >>> import pia
    >>> incident = pia.open_incident("2026-11-20-login-outage")
    >>> incident.meta["severity"], incident.path.name
    ('SEV1', '2026-11-20-login-outage')
    """

    id: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def slack_source(self) -> Path | None:
        for candidate in (self.path / "slack", self.path / "slack.zip"):
            if candidate.exists():
                return candidate
        return None

    @property
    def pagerduty_dir(self) -> Path | None:
        folder = self.path / "pagerduty"
        return folder if folder.is_dir() else None

    def pagerduty_incident(self) -> dict[str, Any] | None:
        """The summary of ``pagerduty/incident.json``, or None where there is none."""
        folder = self.pagerduty_dir
        if folder is None or not (folder / "incident.json").exists():
            return None
        return pagerduty.incident_summary(
            self._json(folder / "incident.json"), str(folder / "incident.json")
        )

    def directory(self) -> slack.Directory:
        """Names of the Slack users and channels in the snapshot (empty without Slack)."""
        if self.slack_source is None:
            return slack.Directory()
        tree = self._tree(self.slack_source)
        try:
            return export_directory(tree)
        finally:
            tree.close()

    def events(self) -> pd.DataFrame:
        """The merged timeline of this snapshot: Slack and PagerDuty, one row per thing that
        happened, sorted by time and checked against the contract in :mod:`pia.events.schema`.

        Returns
        -------
        DataFrame
            ``incident``, ``ts`` (UTC), ``source``, ``kind``, ``actor``, ``actor_id``,
            ``is_human``, ``text``, ``ref``, ``thread``, ``channel``, ``edited``,
            ``reactions``, ``mentions``; text as written, secrets included (a
            :class:`~pia.Review` masks them).

        Raises
        ------
        InputError
            A file of the snapshot is malformed (the message names it and the place).

        Examples
        --------
        >>> import pia
        >>> events = pia.open_incident("2026-11-20-login-outage").events()
        >>> events["source"].value_counts().to_dict()
        {'slack': 73, 'pagerduty': 13}
        """
        found, entries = slack.Messages(), pagerduty.Entries()
        paged: list[pd.DataFrame] = []
        with acyclic():
            self.add_events(found, entries, paged)
            said = found.events()
        found.raise_first()
        logged, unread = entries.events()
        if unread:
            raise next(iter(unread.values()))
        return merge([said, logged, *paged])

    def add_events(
        self, found: slack.Messages, entries: pagerduty.Entries, paged: list[pd.DataFrame]
    ) -> slack.Directory:
        """Add this snapshot's Slack messages to ``found`` and its PagerDuty log entries and
        alerts to ``entries`` (or, where it has notes to set against the log, its PagerDuty
        events to ``paged``); return its Slack directory."""
        names = slack.Directory()
        source = self.slack_source
        if source is None and self.pagerduty_dir is None:
            raise InputError(
                self.path, "", "no snapshot here: expected slack/ (or slack.zip) or pagerduty/"
            )
        if source is not None:
            tree = self._tree(source)
            try:
                names = export_directory(tree)
                add_slack(found, tree, self.id, names)
            finally:
                tree.close()
        folder = self.pagerduty_dir
        if folder is not None and (folder / "notes.json").exists():
            paged.append(self._pagerduty_events(folder))
        elif folder is not None:
            url, log = self._pagerduty_log(folder)
            rows = pagerduty.log_entry_rows(self._json(log), origin=str(log), incident_url=url)
            alerts = folder / "alerts.json"
            more = (
                pagerduty.alert_rows(self._json(alerts), origin=str(alerts), incident_url=url)
                if alerts.exists()
                else []
            )
            entries.add(self.id, str(log), rows)
            entries.add(self.id, str(alerts), more)
        return names

    def _tree(self, source: Path) -> Tree:
        if not source.is_dir():  # slack.zip
            real = inside(source, self.path)
            if real is not None:
                _check_size(source, real.stat().st_size)
        return Tree(source, within=self.path, what="snapshot")

    def _json(self, path: Path) -> Any:
        return snapshot_json(path, self.path)

    def _pagerduty_log(self, folder: Path) -> tuple[str, Path]:
        """The incident's PagerDuty link and its log of entries (which must be there)."""
        summary = self.pagerduty_incident()
        log = folder / "log_entries.json"
        if not log.exists():
            raise InputError(log, "", "missing: a PagerDuty snapshot needs log_entries.json")
        return (summary["html_url"] if summary else ""), log

    def _pagerduty_events(self, folder: Path) -> pd.DataFrame:
        url, log = self._pagerduty_log(folder)
        frames = [
            pagerduty.log_entries_to_events(
                self._json(log), incident=self.id, origin=str(log), incident_url=url
            )
        ]
        if (folder / "notes.json").exists():
            notes = pagerduty.notes_to_events(
                self._json(folder / "notes.json"),
                incident=self.id,
                origin=str(folder / "notes.json"),
                incident_url=url,
            )
            frames.append(_notes_not_in_log(notes, frames[0]))
        if (folder / "alerts.json").exists():
            frames.append(
                pagerduty.alerts_to_events(
                    self._json(folder / "alerts.json"),
                    incident=self.id,
                    origin=str(folder / "alerts.json"),
                    incident_url=url,
                )
            )
        return merge(frames)


def _notes_not_in_log(notes: pd.DataFrame, log: pd.DataFrame) -> pd.DataFrame:
    """Notes that the log's ``annotate`` entries do not already show (same second, same author)."""
    annotated = log.loc[log["kind"] == "annotate", ["ts", "actor_id"]]
    key = notes["ts"].dt.floor("s").astype(str) + notes["actor_id"]
    seen = annotated["ts"].dt.floor("s").astype(str) + annotated["actor_id"]
    return notes[~key.isin(seen)]


def open_incident(incident: str, root: str | os.PathLike[str] | None = None) -> Incident:
    """The snapshot of one incident: the first step of the pipeline.

    Parameters
    ----------
    incident : str
        The incident id, the folder's name under ``<data dir>/incidents/``.
    root : str or PathLike, optional
        The data dir (see :func:`data_dir`).

    Returns
    -------
    Incident
        Its id, folder and ``incident.toml``; :meth:`Incident.events` reads the timeline.

    Raises
    ------
    UnknownIncident
        No snapshot by that id; the message lists the known ones.
    ConfigError
        ``incident.toml`` is malformed or names another id.

    Examples
    --------
    >>> import pia
    >>> incident = pia.open_incident("2026-11-20-login-outage")
    >>> incident.meta["title"]
    'Login 5xx: auth DB connection pool exhausted after deploy'
    """
    base = data_dir(root)
    path = base / "incidents" / incident
    if not SAFE_ID.fullmatch(incident):
        if incident in list_incidents(base):  # a folder is there, under a name pia cannot use
            raise InputError(
                path,
                "",
                f"{_shortened(incident)!r} is not a safe incident id ({SAFE_ID_RULE}): rename the folder",
            )
        raise UnknownIncident(_shortened(incident), base, list_incidents(base))
    if not path.is_dir():
        raise UnknownIncident(incident, base, list_incidents(base))
    toml = path / "incident.toml"
    if toml.exists() or toml.is_symlink():
        inside(toml, path)
    meta = read_toml(toml) if toml.exists() else {}
    if meta.get("id", incident) != incident:
        raise ConfigError(toml, "id", f"is {meta['id']!r} but the folder is {incident!r}")
    return Incident(incident, path, {"id": incident, **meta})


def summary_table(
    root: str | os.PathLike[str] | None, ids: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """One row per incident (title, severity, event counts, first and last event), and a
    one-line message for each incident that could not be read; one bad snapshot does not stop
    the others."""
    rows, failures = [], []
    for incident_id in ids:
        try:
            incident = open_incident(incident_id, root)
            stats = summarise(incident.events())
        except PiaError as error:
            failures.append(str(error))
            continue
        rows.append(
            {
                "incident": incident_id,
                "title": incident.meta.get("title", ""),
                "severity": incident.meta.get("severity", ""),
                **stats,
            }
        )
    return pd.DataFrame(rows), failures


# --- writing -------------------------------------------------------------------------------


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder and a rename, so readers
    see the old file or the new one, never half of one (and a link planted at ``path`` is
    replaced, never written through). ``mode``: shared by default."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; reports and snapshots are meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def toml_string(value: object) -> str:
    """``value`` as a TOML basic string (any text, emoji and control characters included)."""
    text = (
        str(value).encode("utf-8", "replace").decode("utf-8")
    )  # a lone surrogate has no TOML form
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def dump_json(payload: Any) -> bytes:
    return (json.dumps(payload, indent=1, ensure_ascii=False) + "\n").encode()


@contextmanager
def staged_folder(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder beside ``final`` and swap it in whole when the block succeeds.

    If the block raises, ``final`` is left exactly as it was and the staging folder is removed.
    """
    target = Path(final)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(stage, target)
    shutil.rmtree(old, ignore_errors=True)


def write_payloads(folder: Path, files: Mapping[str, Any]) -> None:
    """Write ``{relative path: JSON payload}`` under ``folder``."""
    for name, payload in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dump_json(payload))


def file_digests(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every data file of a snapshot (not hidden ones, the manifest, or the
    fetch log)."""
    import hashlib

    found = {}
    for path in snapshot_files(folder):
        relative = path.relative_to(folder)
        if relative.as_posix() in _UNLISTED:
            continue
        with path.open("rb") as handle:  # in chunks: a snapshot file may be large
            digest = hashlib.file_digest(handle, "sha256")
        found[relative.as_posix()] = {"sha256": digest.hexdigest(), "size": path.stat().st_size}
    return found


def write_manifest(folder: str | os.PathLike[str]) -> Path:
    """Record the hash and size of every file of the snapshot in ``manifest.json``."""
    target = Path(folder) / MANIFEST
    atomic_write(target, dump_json({"files": file_digests(Path(folder))}))
    return target
