"""Merging per-source events into one timeline, and summarising it."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from pia.events.schema import conform, empty_events, validate


def merge(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate events frames into one, sorted by ``ts`` (ties keep source order), validated."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_events()
    if (
        len(frames) == 1
    ):  # as it is where it is already numbered 0..n-1: a copy of a big frame costs
        frame = frames[0]
        return validate(
            frame if frame.index.equals(pd.RangeIndex(len(frame))) else frame.reset_index(drop=True)
        )
    # categories differ between frames, so concat gives plain columns: conform once after
    merged = pd.concat(frames, ignore_index=True).sort_values(
        "ts", kind="stable", ignore_index=True
    )
    return validate(conform(merged))


def summarise(events: pd.DataFrame) -> dict[str, object]:
    """A few numbers that describe a timeline at a glance."""
    humans = events.loc[events["is_human"], "actor"]
    return {
        "events": len(events),
        "slack": int((events["source"] == "slack").sum()),
        "pagerduty": int((events["source"] == "pagerduty").sum()),
        "people": int(humans.nunique()),
        "first": events["ts"].min() if len(events) else None,
        "last": events["ts"].max() if len(events) else None,
        "span": (events["ts"].max() - events["ts"].min()) if len(events) else None,
    }
