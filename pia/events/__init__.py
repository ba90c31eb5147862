"""Payloads to the events DataFrame (pure: no files, no network)."""

from pia.events.schema import COLUMNS, SchemaError, empty_events, validate
from pia.events.timeline import merge, summarise

__all__ = ["COLUMNS", "SchemaError", "empty_events", "merge", "summarise", "validate"]
