"""The events DataFrame: one row per thing that happened in an incident.

The contract is declared once here (:data:`COLUMNS`) and checked at the boundary by
:func:`validate`, which lists every problem at once instead of stopping at the first.
Time is timezone-aware UTC throughout; conversion to a display zone happens only in reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pia.errors import PiaError

#: column -> dtype, each described in README.md ("The timeline"). The last four carry what the
#: readers know and the detectors need.
COLUMNS: dict[str, str] = {
    "incident": "string",
    "ts": "datetime64[ns, UTC]",
    "source": "category",
    "kind": "category",
    "actor": "string",
    "actor_id": "string",
    "is_human": "bool",
    "text": "string",
    "ref": "string",
    "thread": "string",
    "channel": "string",
    "edited": "bool",
    "reactions": "string",
    "mentions": "string",
}

SOURCES = ("slack", "pagerduty", "manual")
_NOT_NULL = ("incident", "ts", "source", "kind")


class SchemaError(PiaError):
    """An events DataFrame that breaks the contract; ``problems`` lists every breach."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("events do not match the schema: " + "; ".join(problems))


def empty_events() -> pd.DataFrame:
    """An events DataFrame with no rows and the contract's columns and dtypes."""
    return conform(pd.DataFrame({name: [] for name in COLUMNS}))


def utc_ns(stamp: pd.Timestamp) -> pd.Timestamp:
    """A time with an offset as the timeline holds it: UTC, in nanoseconds. Raises ValueError
    (saying so) for one outside the years a nanosecond column can hold."""
    try:
        return stamp.tz_convert("UTC").as_unit("ns")
    except pd.errors.OutOfBoundsDatetime:
        raise ValueError("outside the years 1678-2261 that timelines can hold") from None


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast ``frame`` to the contract's dtypes and column order; missing text columns are ''.

    Built in one go, and a column already of its dtype (without missing text) is taken as it
    is: readers call this on every small frame they make, so its cost is per call, not per row."""
    n = len(frame)
    columns = {}
    for name, dtype in COLUMNS.items():
        if name not in frame:
            columns[name] = (
                np.zeros(n, dtype=bool)
                if dtype == "bool"
                else pd.array(np.full(n, "", dtype=object), dtype="string")
            )
            continue
        column = frame[name]
        if dtype == "string":
            if not (isinstance(column.dtype, pd.StringDtype) and not column.hasnans):
                column = column.fillna("").astype("string")
        elif dtype == "bool":
            if column.dtype != bool:
                column = column.where(column.notna(), False).astype("bool")
        elif dtype == "category":
            if not (
                isinstance(column.dtype, pd.CategoricalDtype)
                and isinstance(column.cat.categories.dtype, pd.StringDtype)
            ):
                column = column.astype("string").astype("category")
        elif str(column.dtype) != dtype:
            column = pd.to_datetime(column, utc=True).astype(
                pd.DatetimeTZDtype("ns", "UTC")
            )  # ts, the one time
        columns[name] = column.array
    return pd.DataFrame(columns, index=pd.RangeIndex(n), copy=True)


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` unchanged if it meets the contract, else raise :class:`SchemaError`.

    Checks every column's presence and dtype, nulls where none are allowed, the ``source``
    values and the order by ``ts``, and reports all breaches together.
    """
    problems = []
    for name, dtype in COLUMNS.items():
        if name not in frame:
            problems.append(f"column {name!r} is missing")
        elif str(frame[name].dtype) != dtype and not (
            dtype == "string" and isinstance(frame[name].dtype, pd.StringDtype)
        ):
            problems.append(f"column {name!r} is {frame[name].dtype}, not {dtype}")
    extra = [name for name in frame if name not in COLUMNS]
    if extra:
        problems.append(f"unexpected columns {extra}")
    problems += [
        f"column {name!r} has {int(frame[name].isna().sum())} null values"
        for name in _NOT_NULL
        if name in frame and frame[name].isna().any()
    ]
    if "source" in frame:
        unknown = set(frame["source"].dropna().astype(str)) - set(SOURCES)
        if unknown:
            problems.append(f"unknown sources {sorted(unknown)}")
    if "ts" in frame and not frame["ts"].is_monotonic_increasing:
        problems.append("rows are not sorted by ts")
    if problems:
        raise SchemaError(problems)
    return frame
