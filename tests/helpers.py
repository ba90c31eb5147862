"""Builders the test modules share: small hand-made timelines, a well-formed snapshot, and a
time limit for inputs that could hang."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from corpus.cases import MESSAGE
from pia.events.schema import conform

T0 = pd.Timestamp("2026-11-20T14:00:00Z")
MACHINE = {"bot", "trigger", "notify", "alert"}


def timeline(*rows: tuple, incident: str = "inc") -> pd.DataFrame:
    """Events from ``(minute, source, kind, actor, text[, extra columns])`` tuples."""
    out = []
    for i, (minute, source, kind, actor, text, *extra) in enumerate(rows):
        out.append(
            {
                "incident": incident,
                "ts": T0 + pd.Timedelta(minutes=minute),
                "source": source,
                "kind": kind,
                "actor": actor,
                "actor_id": actor.upper(),
                "is_human": kind not in MACHINE,
                "text": text,
                "ref": f"ref-{i}",
                **(extra[0] if extra else {}),
            }
        )
    return conform(pd.DataFrame(out))


def say(minute: float, actor: str, text: str, **extra: str) -> tuple:
    return (minute, "slack", "message", actor, text, extra)


def login() -> pd.DataFrame:
    """The login outage as a timeline: paged, a wrong guess dropped, a pivot, a fix."""
    return timeline(
        (0, "pagerduty", "trigger", "Datadog", "Triggered: login 5xx"),
        (0.1, "pagerduty", "notify", "Login API", "Notified Priya by SMS.", {"mentions": "PPRIYA"}),
        (1, "pagerduty", "acknowledge", "Priya", "Acknowledged by Priya."),
        say(2, "ic", "opening this, I'm IC"),
        say(3, "ic", "@Priya can you give me impact?", mentions="PRIYA"),
        say(4, "priya", "~38% of logins failing"),
        say(5, "priya", "declared SEV1 in PagerDuty"),
        say(6, "ic", "what's your current hypothesis?"),
        say(7, "priya", "I think it's the auth deploy"),
        say(8, "priya", "rolling back auth now"),
        say(15, "priya", "Rollback complete, but errors persist"),
        say(16, "ic", "ok it's not the deploy, dropping that theory"),
        say(20, "priya", "I think the pool is exhausted, that's our 503s"),
        say(21, "ic", "@Sofia can you join us?", mentions="SOFIA"),
        say(26, "sofia", "here"),
        say(30, "sofia", "reverting the pool size config, rolling restart"),
        say(40, "priya", "5xx dropping fast"),
        say(50, "priya", "5xx back to baseline for 10 min"),
        say(51, "ic", "status update: login recovered"),
        (60, "pagerduty", "resolve", "Priya", "Resolved by Priya."),
    )


def good_snapshot(root: Path) -> Path:
    """A small snapshot every reader accepts, at ``<root>/data/incidents/inc``."""
    folder = root / "data" / "incidents" / "inc"
    files = {
        "incident.toml": 'id = "inc"\ntitle = "corpus"\n',
        "slack/users.json": json.dumps([{"id": "U1", "name": "ana", "real_name": "Ana"}]),
        "slack/channels.json": json.dumps([{"id": "C1", "name": "inc-1"}]),
        "slack/inc-1/2026-03-14.json": json.dumps([MESSAGE]),
        "pagerduty/log_entries.json": json.dumps({"log_entries": [{"id": "R1", "type": "trigger_log_entry", "created_at": "2026-03-14T14:04:00Z"}]}),
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise TimeoutError in the block after ``seconds`` (SIGALRM, main thread only)."""
    def hang(signum, frame):
        raise TimeoutError(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
