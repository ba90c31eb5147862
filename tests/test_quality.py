"""Data-quality findings on small hand-built timelines."""

from __future__ import annotations

import pandas as pd

from pia.events.schema import conform
from pia.quality import findings


def timeline(*rows: dict) -> pd.DataFrame:
    base = {"incident": "t", "source": "slack", "kind": "message", "actor": "Ana", "actor_id": "U1", "is_human": True, "text": "x", "ref": "r"}
    frame = pd.DataFrame([{**base, **row, "ts": pd.Timestamp(row["ts"], tz="UTC")} for row in rows])
    return conform(frame.sort_values("ts"))


def test_clean_timeline_has_no_findings():
    events = timeline({"ts": "2026-03-14 14:00"}, {"ts": "2026-03-14 14:05"})
    assert findings(events).empty


def test_edits_deletions_and_silences():
    events = timeline(
        {"ts": "2026-03-14 14:00", "edited": True},
        {"ts": "2026-03-14 14:01", "kind": "deleted", "text": ""},
        {"ts": "2026-03-14 14:45", "ref": "late"},
    )
    found = findings(events)
    assert list(found["check"]) == ["edited", "deleted", "silence"]
    assert found.iloc[2]["detail"].startswith("44 minutes") and found.iloc[2]["ref"] == "late"
    assert findings(events, until=pd.Timestamp("2026-03-14 14:30", tz="UTC"))["check"].tolist() == ["edited", "deleted"]


def test_pagerduty_ack_long_before_slack():
    events = timeline(
        {"ts": "2026-03-14 14:00", "source": "pagerduty", "kind": "acknowledge", "ref": "ack"},
        {"ts": "2026-03-14 14:18"},
    )
    found = findings(events)
    assert found["check"].tolist() == ["disagreement"]
    assert "acknowledged 18 minutes before" in found.iloc[0]["detail"]


def test_reply_older_than_parent():
    events = timeline({"ts": "2026-03-14 14:00", "kind": "reply", "thread": "1773497400.000100"})
    assert findings(events)["check"].tolist() == ["order"]
