"""Carve one channel out of a Slack workspace export (folder or zip) into an incident snapshot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from pia.errors import InputError
from pia.events.slack import parse_ts
from pia.snapshot import (
    Tree,
    atomic_write,
    channel_days,
    data_dir,
    read_json,
    safe_id,
    safe_name,
    staged_folder,
    toml_string,
    write_manifest,
    write_payloads,
)


def _find_channel(tree: Tree, channel: str) -> tuple[str, dict[str, Any]]:
    """The folder name and channels.json entry of ``channel`` (a name or an id)."""
    wanted = channel.lstrip("#")
    entries: list[dict[str, Any]] = []
    for name in ("channels.json", "groups.json", "mpims.json", "dms.json"):
        found = tree.json_or(name, [])
        if isinstance(found, list):
            entries.extend(c for c in found if isinstance(c, dict))
    for entry in entries:
        if wanted in (entry.get("name"), entry.get("id")):
            folder = str(entry.get("name") or entry.get("id"))
            return folder, entry
    if channel_days(tree, wanted):
        return wanted, {"id": wanted, "name": wanted}
    known = sorted(str(e.get("name") or e.get("id")) for e in entries)
    raise InputError(
        tree.path,
        "",
        f"no channel {channel!r} in the export (channels: {', '.join(known) or 'none'})",
    )


def _window(
    messages: list[Any], since: pd.Timestamp | None, until: pd.Timestamp | None
) -> list[Any]:
    if since is None and until is None:
        return messages
    stamps = pd.Series(
        [m.get("ts") if isinstance(m, dict) else None for m in messages], dtype="object"
    )
    ok = stamps.map(lambda v: isinstance(v, str))
    when = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[ns, UTC]")
    when[ok] = parse_ts(stamps[ok].astype("string"))
    keep = ok.copy()
    if since is not None:
        keep &= when >= since
    if until is not None:
        keep &= when <= until
    return [m for m, k in zip(messages, keep, strict=True) if k]


def import_slack_export(
    export: str | os.PathLike[str],
    *,
    channel: str,
    incident: str,
    root: str | os.PathLike[str] | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
) -> Path:
    """Copy ``channel``'s day files (within ``since``..``until``) from a workspace export into
    ``<data-dir>/incidents/<incident>/slack/``, with the users and channel they need.

    Other channels already in the snapshot are kept; this channel's days are replaced whole.
    The snapshot's ``slack/`` folder is swapped in atomically. Returns the incident folder.
    """
    tree = Tree(export)
    try:
        folder, entry = _find_channel(tree, channel)
        days = {}
        for day in channel_days(tree, folder):
            payload = tree.json(day)
            if not isinstance(payload, list):
                raise InputError(tree.where(day), "", "a day file must be a JSON list of messages")
            kept = _window(payload, since, until)
            if kept:
                days[day] = kept
        users = [u for name in ("users.json", "org_users.json") for u in tree.json_or(name, [])]
    finally:
        tree.close()
    base = data_dir(root) / "incidents" / safe_id(incident, "incident id")
    safe_name(folder, "channel name", tree.path)
    existing = base / "slack"
    with staged_folder(existing) as stage:
        if existing.is_dir():
            shutil.copytree(existing, stage, dirs_exist_ok=True)
            shutil.rmtree(stage / folder, ignore_errors=True)
        channels = [c for c in _load(stage / "channels.json") if c.get("id") != entry.get("id")]
        merged_users = {u.get("id"): u for u in _load(stage / "users.json")}
        merged_users.update({u.get("id"): u for u in users if isinstance(u, dict)})
        write_payloads(
            stage,
            {
                "users.json": list(merged_users.values()),
                "channels.json": [*channels, entry],
                **days,
            },
        )
    toml = base / "incident.toml"
    if not toml.exists():
        atomic_write(
            toml,
            f"id = {toml_string(incident)}\nslack_channels = [{toml_string(folder)}]\n".encode(),
        )
    write_manifest(base)
    return base


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    found = read_json(path)
    return [x for x in found if isinstance(x, dict)] if isinstance(found, list) else []
