"""Live fetch: Slack and PagerDuty APIs into an incident snapshot (the layout of README.md,
"The incident snapshot").

Two entry points, both callable from a notebook with the names the CLI uses:

- :func:`fetch_incident` fetches the channels and PagerDuty incidents an incident names (in its
  ``incident.toml`` or as arguments) over a window and writes ``slack/``, ``pagerduty/`` and
  ``fetch.json``;
- :func:`discover` lists the PagerDuty incidents of a window (optionally of some services),
  finds each one's Slack channel by a name pattern or a link in its notes or description, and
  fetches one snapshot per incident.

Everything is fetched into memory first and written in one swap of the incident folder
(:func:`pia.snapshot.staged_folder`): a fetch that fails part-way leaves the previous snapshot
exactly as it was, and its message says what was not fetched. Fetching again replaces the
messages of the window; messages outside it stay, and no message is stored twice.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pia.errors import BadValue, ConfigError, FetchError, PiaError
from pia.events.slack import table_of
from pia.snapshot import (
    data_dir,
    dump_json,
    list_incidents,
    read_json,
    read_toml,
    safe_id,
    safe_name,
    staged_folder,
    toml_string,
    write_manifest,
)
from pia.sources import credentials
from pia.sources.credentials import CredentialError
from pia.sources.pagerduty_api import IncidentPull, PagerDutySettings, PagerDutySource
from pia.sources.slack_api import ChannelPull, SlackSettings, SlackSource, slack_ts, user_ids

#: Default margin around a PagerDuty incident's lifetime when no window is given.
DEFAULT_MARGIN = pd.Timedelta(hours=1)
#: Snapshot id of a discovered incident: fields ``date`` (UTC, YYYY-MM-DD), ``number``, ``id``.
DEFAULT_ID_PATTERN = "{date}-pd-{number}"
_KEEP_FETCH_RECORDS = 20
_CHANNEL_LINKS = (
    re.compile(r"https?://[\w.-]*slack\.com/archives/([CG][A-Z0-9]{6,})"),
    re.compile(r"slack://channel\?[^\s>\"']*?\bid=([CG][A-Z0-9]{6,})"),
    re.compile(r"<#([CG][A-Z0-9]{6,})(?:\|[^>]*)?>"),
)


# --- connections ----------------------------------------------------------------------------


class Connections:
    """The Slack and PagerDuty sources of a fetch, made on first use from the environment's
    tokens (:mod:`pia.sources.credentials`), so a PagerDuty-only fetch needs no Slack token.

    Pass ready-made sources (``slack=``, ``pagerduty=``) to reuse clients or to point them at a
    test server.
    """

    def __init__(
        self,
        slack_settings: SlackSettings | None = None,
        pagerduty_settings: PagerDutySettings | None = None,
        *,
        slack: SlackSource | None = None,
        pagerduty: PagerDutySource | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.slack_settings = slack_settings or SlackSettings(
            base_url=credentials.slack_base_url(environ=environ)
        )
        self.pagerduty_settings = pagerduty_settings or PagerDutySettings(
            base_url=credentials.pagerduty_base_url(environ=environ),
            verify=credentials.pagerduty_tls(environ),
        )
        self._slack = slack
        self._pagerduty = pagerduty
        self._environ = environ

    @classmethod
    def from_options(
        cls,
        *,
        slack_base_url: str | None = None,
        pagerduty_base_url: str | None = None,
        slack_rate: float | None = None,
        workers: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Connections:
        """Connections as the CLI options describe them (base URLs fall back to the env vars)."""
        slack = SlackSettings(base_url=credentials.slack_base_url(slack_base_url, environ))
        if slack_rate is not None:
            slack = slack.with_rate(slack_rate)
        if workers is not None:
            slack = replace(slack, workers=max(1, workers))
        pagerduty = PagerDutySettings(
            base_url=credentials.pagerduty_base_url(pagerduty_base_url, environ),
            verify=credentials.pagerduty_tls(environ),
        )
        return cls(slack, pagerduty, environ=environ)

    @property
    def slack(self) -> SlackSource:
        if self._slack is None:
            self._slack = SlackSource.connect(
                credentials.slack_token(self._environ), self.slack_settings
            )
        return self._slack

    @property
    def pagerduty(self) -> PagerDutySource:
        if self._pagerduty is None:
            self._pagerduty = PagerDutySource.connect(
                credentials.pagerduty_token(self._environ), self.pagerduty_settings
            )
        return self._pagerduty

    def requests(self) -> dict[str, int]:
        """API requests made so far by each source that was used."""
        out = {}
        if self._slack is not None:
            out["slack"] = self._slack.requests
        if self._pagerduty is not None:
            out["pagerduty"] = self._pagerduty.requests
        return out


# --- the window -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The time span fetched from Slack; None at either end means open (the whole history)."""

    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None

    def slack_bounds(self) -> tuple[str | None, str | None]:
        return (
            slack_ts(self.since) if self.since is not None else None,
            slack_ts(self.until) if self.until is not None else None,
        )

    def as_dict(self) -> dict[str, str | None]:
        return {"since": _iso(self.since), "until": _iso(self.until)}


def parse_margin(value: str | pd.Timedelta | None) -> pd.Timedelta:
    """A margin such as ``1h``, ``30min`` or ``2d`` (None: the default of one hour)."""
    if value is None:
        return DEFAULT_MARGIN
    try:
        margin = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise BadValue("margin", value, "is not a duration (e.g. 1h, 30min, 2d)") from None
    if pd.isna(margin) or margin < pd.Timedelta(0):
        raise BadValue("margin", value, "must be a duration of zero or more")
    return margin


def incident_window(
    incidents: Sequence[Mapping[str, Any]],
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    margin: pd.Timedelta = DEFAULT_MARGIN,
) -> Window:
    """The Slack window: ``since``/``until`` where given, else from the PagerDuty incidents'
    creation to their resolution, widened by ``margin``; an incident still open leaves the end
    open. Without incidents and without bounds the window is the channel's whole history."""
    if incidents:
        created = [_time(i.get("created_at")) for i in incidents]
        ends = [_resolved(i) for i in incidents]
        starts = [c for c in created if c is not None]
        if since is None and starts:
            since = min(starts) - margin
        if until is None and ends and all(e is not None for e in ends):
            until = max(e for e in ends if e is not None) + margin
    return Window(since, until)


def _resolved(incident: Mapping[str, Any]) -> pd.Timestamp | None:
    resolved = _time(incident.get("resolved_at"))
    if resolved is None and incident.get("status") == "resolved":
        resolved = _time(incident.get("last_status_change_at"))
    return resolved


def _time(value: Any) -> pd.Timestamp | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        return None
    return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")


def _iso(stamp: pd.Timestamp | None) -> str | None:
    return (
        None if stamp is None else stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
    )


# --- results --------------------------------------------------------------------------------


@dataclass
class FetchResult:
    """What one fetch wrote: the snapshot's folder and counts per source."""

    incident: str
    path: Path
    window: Window
    slack: list[dict[str, Any]] = field(default_factory=list)
    pagerduty: list[dict[str, Any]] = field(default_factory=list)
    users: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line: ``fetched ID: #chan 120 messages (4 threads), PagerDuty P1 (31 log entries)``."""
        parts = [
            f"#{c['channel']} {c['messages']} messages ({c['threads']} threads)" for c in self.slack
        ] + [
            f"PagerDuty {p['incident']} ({p['log_entries']} log entries, {p['notes']} notes, {p['alerts']} alerts)"
            for p in self.pagerduty
        ]
        line = f"fetched {self.incident}: {', '.join(parts)} -> {self.path}"
        return line + "".join(f"; {note}" for note in self.notes)


@dataclass
class Discovery:
    """A discovery run: the incidents listed, the snapshots written, and what failed."""

    listed: int
    results: list[FetchResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        rows = [
            {
                "incident": r.incident,
                "channels": " ".join(c["channel"] for c in r.slack),
                "messages": sum(c["messages"] for c in r.slack),
                "pagerduty": " ".join(p["incident"] for p in r.pagerduty),
                "log_entries": sum(p["log_entries"] for p in r.pagerduty),
            }
            for r in self.results
        ]
        return pd.DataFrame(rows)


# --- fetching one incident ------------------------------------------------------------------


def fetch_incident(
    incident: str,
    *,
    root: str | os.PathLike[str] | None = None,
    slack_channels: Sequence[str] = (),
    pagerduty_incidents: Sequence[str] = (),
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    margin: pd.Timedelta = DEFAULT_MARGIN,
    connections: Connections | None = None,
) -> FetchResult:
    """Fetch an incident's Slack channels and PagerDuty incidents into its snapshot.

    The channels and incidents are the arguments, else ``slack_channels`` and
    ``pagerduty_incidents`` of ``incident.toml``; arguments for a snapshot that does not exist
    yet create it (and its ``incident.toml``). The Slack window is ``since``..``until``, else
    the PagerDuty incidents' lifetime widened by ``margin``, else the whole channel.

    Raises :class:`~pia.errors.FetchError` (nothing written, the message names what was not
    fetched), :class:`~pia.sources.credentials.CredentialError` for a missing or refused token,
    :class:`~pia.errors.ConfigError` for a bad ``incident.toml``.

    Example::

        fetch_incident("2026-11-20-login-outage", slack_channels=["inc-4211"],
                       pagerduty_incidents=["Q2K5Z8LYF1XPTA"])
    """
    return _fetch(
        incident,
        root=root,
        slack_channels=slack_channels,
        pagerduty_incidents=pagerduty_incidents,
        since=since,
        until=until,
        margin=margin,
        connections=connections or Connections(),
    )


def _fetch(
    incident: str,
    *,
    root: str | os.PathLike[str] | None,
    slack_channels: Sequence[str | Mapping[str, Any]],
    pagerduty_incidents: Sequence[str],
    since: pd.Timestamp | None,
    until: pd.Timestamp | None,
    margin: pd.Timedelta,
    connections: Connections,
    pulled: Mapping[str, IncidentPull] | None = None,
    title: str = "",
    notes: Sequence[str] = (),
) -> FetchResult:
    base = snapshot_path(incident, root)
    toml = base / "incident.toml"
    meta = read_toml(toml) if toml.exists() else {}
    channels = list(slack_channels) or _names(meta, "slack_channels", toml)
    pd_ids = list(pagerduty_incidents) or _names(meta, "pagerduty_incidents", toml)
    if not channels and not pd_ids:
        where = (
            "its incident.toml names none"
            if toml.exists()
            else "there is no snapshot by that id yet"
        )
        raise PiaError(
            f"nothing to fetch for {incident}: {where}; name a channel (slack_channels) or a PagerDuty "
            "incident (pagerduty_incidents)",
            parameters=("slack_channels", "pagerduty_incidents"),
        )
    # Make the clients first: a missing token fails here, before anything is fetched.
    if pd_ids and not all(i in (pulled or {}) for i in pd_ids):
        _ = connections.pagerduty
    if channels:
        _ = connections.slack
    before = connections.requests()
    wanted = [f"PagerDuty {i}" for i in pd_ids] + [f"#{_label(c)}" for c in channels]
    done: list[str] = []
    try:
        pd_pulls = []
        for pd_id in pd_ids:
            pd_pulls.append((pulled or {}).get(pd_id) or connections.pagerduty.pull(pd_id))
            done.append(f"PagerDuty {pd_id}")
        window = incident_window([p.incident for p in pd_pulls], since, until, margin)
        oldest, latest = window.slack_bounds()
        slack_pulls: list[ChannelPull] = []
        for channel in channels:
            slack_pulls.append(connections.slack.pull(channel, oldest, latest))
            done.append(f"#{_label(channel)}")
        users = (
            connections.slack.users(user_ids(m for p in slack_pulls for m in p.messages))
            if slack_pulls
            else []
        )
    except FetchError as error:
        missing = [w for w in wanted if w not in done]
        problem = f"{error.problem}; {incident} left unchanged (not fetched: {', '.join(missing) or 'users'})"
        raise type(error)(error.service, problem, status=error.status) from None
    after = connections.requests()
    requests = {k: v - before.get(k, 0) for k, v in after.items()}
    result = FetchResult(
        incident,
        base,
        window,
        slack=[_slack_summary(p) for p in slack_pulls],
        pagerduty=[_pagerduty_summary(p) for p in pd_pulls],
        users=len(users),
        requests=requests,
        notes=list(notes),
    )
    for pull in pd_pulls:
        if pull.truncated:
            result.notes.append(
                f"PagerDuty {pull.id} has more than 10,000 log entries; only the first were listed"
            )
    additions = {
        "title": title
        or (pd_pulls[0].incident.get("title", "") if pd_pulls and not toml.exists() else ""),
        "slack_channels": [p.name for p in slack_pulls],
        "pagerduty_incidents": [p.id for p in pd_pulls],
    }
    write_snapshot(base, incident, slack_pulls, users, pd_pulls, result, additions)
    return result


def snapshot_path(incident: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<data-dir>/incidents/<incident>``, refusing ids that would leave that folder."""
    return data_dir(root) / "incidents" / safe_id(incident, "incident id")


def _names(meta: Mapping[str, Any], key: str, toml: Path) -> list[str]:
    value = meta.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(toml, key, "must be a list of strings")
    return list(value)


def _label(channel: str | Mapping[str, Any]) -> str:
    if isinstance(channel, Mapping):
        return str(channel.get("name") or channel.get("id"))
    return channel.lstrip("#")


def _slack_summary(pull: ChannelPull) -> dict[str, Any]:
    return {
        "channel": pull.name,
        "id": pull.channel.get("id"),
        "oldest": pull.oldest,
        "latest": pull.latest,
        "messages": len(pull.messages),
        "threads": pull.threads,
        "replies": pull.replies,
        "threads_gone": pull.threads_gone,
    }


def _pagerduty_summary(pull: IncidentPull) -> dict[str, Any]:
    return {
        "incident": pull.id,
        "log_entries": len(pull.log_entries),
        "notes": len(pull.notes),
        "alerts": len(pull.alerts),
        "truncated": pull.truncated,
    }


# --- writing --------------------------------------------------------------------------------


def write_snapshot(
    base: Path,
    incident: str,
    slack_pulls: Sequence[ChannelPull],
    users: Sequence[Mapping[str, Any]],
    pd_pulls: Sequence[IncidentPull],
    result: FetchResult,
    additions: Mapping[str, Any],
) -> None:
    """Write what was fetched into the snapshot at ``base`` in one atomic folder swap."""
    with staged_folder(base) as stage:
        if base.is_dir():
            shutil.copytree(base, stage, dirs_exist_ok=True)
            shutil.copystat(base, stage)
        else:
            os.chmod(stage, 0o755)
        if slack_pulls:
            _write_slack(stage / "slack", slack_pulls, users)
        if pd_pulls:
            _write_pagerduty(stage / "pagerduty", pd_pulls)
        _update_toml(stage / "incident.toml", incident, additions)
        _record(stage / "fetch.json", result)
        write_manifest(stage)


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump_json(payload))


def _load_list(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    found = read_json(path)
    return [x for x in found if isinstance(x, dict)] if isinstance(found, list) else []


def _write_slack(
    folder: Path, pulls: Sequence[ChannelPull], users: Sequence[Mapping[str, Any]]
) -> None:
    channels = _load_list(folder / "channels.json")
    known_users = {str(u.get("id")): u for u in _load_list(folder / "users.json")}
    for pull in pulls:
        channels = [c for c in channels if c.get("id") != pull.channel.get("id")] + [pull.channel]
        target = folder / safe_name(pull.name, "channel name")
        kept = [m for m in _channel_messages(target) if not _in_window(m, pull.oldest, pull.latest)]
        by_ts = {str(m["ts"]): m for m in kept}
        by_ts.update({str(m["ts"]): m for m in pull.messages})
        days: dict[str, list[dict[str, Any]]] = {}
        for ts in sorted(by_ts, key=_ts_key):
            days.setdefault(_utc_day(ts), []).append(by_ts[ts])
        if target.exists():
            shutil.rmtree(target)
        for day, messages in days.items():
            _write_json(target / f"{day}.json", messages)
    known_users.update({str(u["id"]): dict(u) for u in users})
    _write_json(folder / "users.json", sorted(known_users.values(), key=lambda u: str(u.get("id"))))
    _write_json(
        folder / "channels.json", sorted(channels, key=lambda c: str(c.get("name") or c.get("id")))
    )


def _channel_messages(folder: Path) -> list[dict[str, Any]]:
    """The messages already stored for a channel (every day file), each with a string ts."""
    if not folder.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for day in sorted(folder.glob("*.json")):
        out.extend(m for m in _load_list(day) if isinstance(m.get("ts"), str))
    return out


def _in_window(message: Mapping[str, Any], oldest: str | None, latest: str | None) -> bool:
    """Whether a fetch of ``oldest``..``latest`` covers this message: a top-level message by
    its own ts, a reply by its thread's parent (replies come with the parent's thread)."""
    ts, thread = str(message["ts"]), message.get("thread_ts")
    anchor = _ts_key(thread if isinstance(thread, str) and thread else ts)
    if oldest is not None and anchor < _ts_key(oldest):
        return False
    return latest is None or anchor <= _ts_key(latest)


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    try:
        return int(seconds), int((micros + "000000")[:6])
    except ValueError:
        return (0, 0)


def _utc_day(ts: str) -> str:
    return datetime.fromtimestamp(_ts_key(ts)[0], tz=UTC).strftime("%Y-%m-%d")


def _write_pagerduty(folder: Path, pulls: Sequence[IncidentPull]) -> None:
    def merged(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        by_id = {str(i.get("id")): i for i in items}
        return sorted(
            by_id.values(), key=lambda i: (str(i.get("created_at") or ""), str(i.get("id")))
        )

    if folder.exists():
        shutil.rmtree(folder)
    _write_json(folder / "incident.json", {"incident": pulls[0].incident})
    _write_json(
        folder / "log_entries.json",
        {"log_entries": merged(e for p in pulls for e in p.log_entries)},
    )
    _write_json(folder / "notes.json", {"notes": merged(n for p in pulls for n in p.notes)})
    _write_json(folder / "alerts.json", {"alerts": merged(a for p in pulls for a in p.alerts)})
    if len(pulls) > 1:  # the layout has one incident.json; the others are kept beside it
        _write_json(folder / "incidents.json", {"incidents": [p.incident for p in pulls]})


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_string(v) for v in value) + "]"
    return toml_string(value)


def _update_toml(path: Path, incident: str, additions: Mapping[str, Any]) -> None:
    """Create ``incident.toml``, or add the keys it lacks; keys it has are never changed."""
    lines = (
        path.read_text(encoding="utf-8").splitlines()
        if path.exists()
        else [f"id = {_toml_value(incident)}"]
    )
    meta = read_toml(path) if path.exists() else {"id": incident}
    new = [
        f"{key} = {_toml_value(value)}"
        for key, value in additions.items()
        if value and key not in meta
    ]
    if not new:
        if not path.exists():
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    # top-level keys must come before the first [table]
    first_table = next(
        (i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines)
    )
    lines[first_table:first_table] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _record(path: Path, result: FetchResult) -> None:
    """Append this fetch to ``fetch.json``: when, which window, what, how many requests."""
    from pia import __version__

    previous = read_json(path) if path.exists() else {}
    history = previous.get("fetches", []) if isinstance(previous, dict) else []
    record = {
        "fetched_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": f"pia {__version__}",
        "window": result.window.as_dict(),
        "slack": result.slack,
        "users": result.users,
        "pagerduty": result.pagerduty,
        "requests": result.requests,
    }
    _write_json(path, {"fetches": [*history, record][-_KEEP_FETCH_RECORDS:]})


# --- discovery ------------------------------------------------------------------------------


def discover(
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    root: str | os.PathLike[str] | None = None,
    services: Sequence[str] = (),
    channel_pattern: str | None = None,
    id_pattern: str = DEFAULT_ID_PATTERN,
    margin: pd.Timedelta = DEFAULT_MARGIN,
    connections: Connections | None = None,
    progress: bool = True,
) -> Discovery:
    """One snapshot per PagerDuty incident created in ``since``..``until``.

    Each incident's Slack channel is the one named by ``channel_pattern`` (fields ``number``,
    ``id``, ``date``; e.g. ``inc-{number}``), else the first Slack channel linked in the
    incident's description, notes or log entries; with none found the snapshot is
    PagerDuty-only. A snapshot that already lists the PagerDuty incident in its
    ``incident.toml`` is refreshed in place; others are named by ``id_pattern``.

    One incident's failure is recorded and the run goes on; a missing or refused token
    (:class:`~pia.sources.credentials.CredentialError`) stops it.

    Example::

        discover(pd.Timestamp("2026-11-01T00:00Z"), pd.Timestamp("2026-12-01T00:00Z"),
                 services=["PSVC123"], channel_pattern="inc-{number}")
    """
    from tqdm import tqdm

    connections = connections or Connections()
    if until <= since:
        raise PiaError("until must be after since", parameters=("since", "until"))
    listed = connections.pagerduty.incidents(since.to_pydatetime(), until.to_pydatetime(), services)
    known = snapshots_by_pagerduty_id(root)
    run = Discovery(len(listed))
    for item in tqdm(listed, desc="incidents", unit="incident", disable=None if progress else True):
        pd_id = str(item["id"])
        snapshot = known.get(pd_id) or _snapshot_id(id_pattern, item)
        try:
            pull = connections.pagerduty.pull(pd_id)
            channel, notes = incident_channel(
                pull,
                channel_pattern,
                connections.slack if _wants_slack(pull, channel_pattern) else None,
            )
            run.results.append(
                _fetch(
                    snapshot,
                    root=root,
                    slack_channels=[channel] if channel else [],
                    pagerduty_incidents=[pd_id],
                    since=None,
                    until=None,
                    margin=margin,
                    connections=connections,
                    pulled={pd_id: pull},
                    title=str(pull.incident.get("title") or ""),
                    notes=notes,
                )
            )
        except CredentialError:
            raise
        except PiaError as error:
            run.failures.append((snapshot, str(error)))
    return run


def _wants_slack(pull: IncidentPull, pattern: str | None) -> bool:
    return bool(pattern) or bool(linked_channels(pull))


def _snapshot_id(pattern: str, incident: Mapping[str, Any], parameter: str = "id_pattern") -> str:
    created = _time(incident.get("created_at"))
    fields = {
        "date": created.strftime("%Y-%m-%d") if created is not None else "undated",
        "number": incident.get("incident_number") or incident.get("id"),
        "id": incident.get("id"),
    }
    try:
        return pattern.format(**fields)
    except (KeyError, IndexError, ValueError) as error:
        raise BadValue(
            parameter, pattern, f"has an unknown field {error} (fields: date, number, id)"
        ) from None


def snapshots_by_pagerduty_id(root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """``{PagerDuty incident id: snapshot id}`` from every ``incident.toml`` in the data dir."""
    out: dict[str, str] = {}
    for snapshot in list_incidents(root):
        toml = data_dir(root) / "incidents" / snapshot / "incident.toml"
        if not toml.exists():
            continue
        try:
            meta = read_toml(toml)
        except ConfigError:
            continue
        for pd_id in meta.get("pagerduty_incidents") or ():
            out.setdefault(str(pd_id), snapshot)
    return out


def linked_channels(pull: IncidentPull) -> list[str]:
    """Slack channel ids linked from an incident: its description and title, its notes, and
    log entries made from Slack; in that order, each once."""
    texts = [str(pull.incident.get(k) or "") for k in ("description", "title", "summary")]
    texts += [str(n.get("content") or "") for n in pull.notes]
    found: list[str] = []
    for text in texts:
        for pattern in _CHANNEL_LINKS:
            found.extend(pattern.findall(text))
    for entry in pull.log_entries:
        channel = table_of(entry.get("channel"))
        if channel.get("type") == "slack":
            found.append(str(table_of(channel.get("channel")).get("id") or ""))
    return [c for c in dict.fromkeys(found) if c]


def incident_channel(
    pull: IncidentPull, pattern: str | None, slack: SlackSource | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """The Slack channel of a PagerDuty incident (by ``pattern``, else by a link), and notes
    for the report line when one was looked for and not found."""
    notes: list[str] = []
    if slack is None:
        return None, notes
    if pattern:
        name = _snapshot_id(pattern, pull.incident, "channel_pattern").lower().lstrip("#")
        found = slack.find_channel(name)
        if found is not None:
            return found, notes
        notes.append(f"no channel #{name}")
    for channel_id in linked_channels(pull):
        try:
            found = slack.find_channel(channel_id)
        except FetchError as error:
            if isinstance(error, CredentialError):
                raise
            found = None
        if found is not None:
            return found, notes
        notes.append(f"linked channel {channel_id} not visible to the app")
    if not notes:
        notes.append("no Slack channel found")
    return None, notes
