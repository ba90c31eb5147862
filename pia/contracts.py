"""The contracts of the milestones, durations and metrics tables, checked where a table comes
back from outside pia's own code: the metrics cache, a metrics table given to ``pia trends
--table``, a milestones frame handed to :func:`pia.metrics.durations`.

Each contract declares its columns' kinds once (as :mod:`pia.events.schema` does for events)
and its row checks; :meth:`Contract.check` runs them all and raises one
:class:`ContractError` listing every failure, each failing row by its position (0 is the
first row), the way pandera's lazy validation collects its failure cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pia.errors import PiaError
from pia.milestones.config import MILESTONES

#: what a column's dtype must be, by kind
KINDS: dict[str, Callable[[pd.Series], bool]] = {
    "string": lambda s: (
        pd.api.types.is_string_dtype(s.dtype)
        or s.dtype == object
        or isinstance(s.dtype, pd.CategoricalDtype)
    ),
    "time": lambda s: isinstance(s.dtype, pd.DatetimeTZDtype) and str(s.dtype.tz) == "UTC",
    "duration": lambda s: pd.api.types.is_timedelta64_dtype(s.dtype),
    "flag": lambda s: pd.api.types.is_bool_dtype(s.dtype),
    "count": lambda s: pd.api.types.is_integer_dtype(s.dtype),
}
KIND_NAMES = {
    "string": "text",
    "time": "datetime64[ns, UTC]",
    "duration": "timedelta64",
    "flag": "bool",
    "count": "an integer dtype",
}

#: a row check: the rows (a boolean mask over the frame) that break it
RowCheck = Callable[[pd.DataFrame], pd.Series]


class ContractError(PiaError):
    """A table that breaks its contract. ``failures`` holds one row per failure (``position``
    of the row, or NA for a whole column; ``column``; ``problem``), every one found, not the
    first only; the message groups them by problem with every position."""

    def __init__(self, table: str, failures: pd.DataFrame, origin: str = "") -> None:
        self.table = table
        self.failures = failures
        self.origin = origin
        groups = []
        for (column, problem), rows in failures.groupby(
            ["column", "problem"], sort=False, dropna=False
        ):
            positions = rows["position"].dropna().astype(int).tolist()
            where = (
                f" at position{'s' if len(positions) > 1 else ''} {', '.join(map(str, positions))}"
                if positions
                else ""
            )
            groups.append(f"{column}: {problem}{where}")
        head = f"{origin}: " if origin else ""
        super().__init__(f"{head}not a {table} table: " + "; ".join(groups))


@dataclass(frozen=True)
class Contract:
    """A table's columns by kind (``required`` must be present, ``optional`` may be), the
    columns that may not be empty, and row checks (name of the column they are about, what
    the problem is, the rows that have it)."""

    name: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    rows: tuple[tuple[str, str, RowCheck], ...] = ()

    def failures(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Every failure of ``frame``: ``position`` (NA for a whole column), ``column``,
        ``problem``."""
        found: list[pd.DataFrame] = []

        def add(column: str, problem: str, mask: np.ndarray | None = None) -> None:
            positions = (
                np.flatnonzero(np.asarray(mask, dtype=bool)) if mask is not None else [pd.NA]
            )
            if len(positions):
                found.append(
                    pd.DataFrame(
                        {
                            "position": pd.array(positions, dtype="Int64"),
                            "column": column,
                            "problem": problem,
                        }
                    )
                )

        usable = set()
        for name, kind in {**self.optional, **self.required}.items():
            if name not in frame:
                if name in self.required:
                    add(name, "missing")
            elif not KINDS[kind](frame[name]):
                add(name, f"is {frame[name].dtype}, not {KIND_NAMES[kind]}")
            else:
                usable.add(name)
        for name in self.not_null:
            if name in usable:
                add(name, "empty", frame[name].isna().to_numpy())
        for column, problem, check in self.rows:
            needed = column.split("+")
            if all(c in usable for c in needed):
                add(needed[0], problem, check(frame).fillna(False).to_numpy(bool))
        if not found:
            return pd.DataFrame(
                {"position": pd.array([], dtype="Int64"), "column": [], "problem": []}
            )
        return pd.concat(found, ignore_index=True)

    def check(self, frame: pd.DataFrame, origin: str = "") -> pd.DataFrame:
        """``frame`` unchanged if it meets the contract, else :class:`ContractError` listing
        every failure."""
        failures = self.failures(frame)
        if len(failures):
            raise ContractError(self.name, failures, origin)
        return frame


def _one_of(column: str, allowed: Iterable[str]) -> tuple[str, str, RowCheck]:
    allowed = tuple(allowed)
    return (
        column,
        f"not one of {', '.join(allowed)}",
        lambda f: f[column].notna() & ~f[column].astype(str).isin(allowed),
    )


def _negative(column: str) -> tuple[str, str, RowCheck]:
    return column, "negative", lambda f: f[column] < pd.Timedelta(0)


MILESTONES_CONTRACT = Contract(
    "milestones",
    required={
        "incident": "string",
        "milestone": "string",
        "ts": "time",
        "source": "string",
        "ref": "string",
    },
    optional={"rule": "string", "text": "string", "evidence_ts": "time"},
    not_null=("incident", "milestone", "ts"),
    rows=(
        _one_of("milestone", MILESTONES),
        (
            "evidence_ts+ts",
            "before the milestone's own time (ts)",
            lambda f: f["evidence_ts"] < f["ts"],
        ),
    ),
)

DURATION_STATUSES = ("observed", "censored", "open", "missing", "no start", "out of order")

DURATIONS_CONTRACT = Contract(
    "durations",
    required={
        "incident": "string",
        "duration": "string",
        "start_milestone": "string",
        "end_milestone": "string",
        "start": "time",
        "end": "time",
        "value": "duration",
        "observed": "flag",
        "status": "string",
    },
    optional=dict.fromkeys(("start_source", "start_ref", "end_source", "end_ref"), "string"),
    not_null=("incident", "duration", "status"),
    rows=(
        _one_of("status", DURATION_STATUSES),
        _negative("value"),
        (
            "observed+status",
            "true where the status is not 'observed'",
            lambda f: f["observed"] & (f["status"] != "observed"),
        ),
        ("value+observed", "empty where observed", lambda f: f["value"].isna() & f["observed"]),
    ),
)


def metrics_contract(frame: pd.DataFrame, durations: Iterable[str] = ()) -> Contract:
    """The contract of a metrics table (one row per incident): ``durations`` (the configured
    ones) and every column of ``frame`` with an ``_observed`` twin are timedeltas, each with
    its ``<name>_observed`` flag, never empty where observed; milestone times are UTC."""
    flagged = [
        c.removesuffix("_observed") for c in map(str, frame.columns) if c.endswith("_observed")
    ]
    names = list(dict.fromkeys([*durations, *flagged]))
    spans = [n for n in names if n in frame or f"{n}_observed" in frame]
    required = {
        "incident": "string",
        "detected": "time",
        "severity": "string",
        "services": "string",
        "status": "string",
    }
    required |= dict.fromkeys(spans, "duration") | {f"{n}_observed": "flag" for n in spans}
    optional = {
        "title": "string",
        "date": "string",
        "warnings": "string",
        "longest_update_gap": "duration",
        "median_answer_time": "duration",
    }
    optional |= {m: "time" for m in MILESTONES if m != "detected"}
    counts = (
        "responders",
        "messages",
        "hypotheses",
        "pivots",
        "escalations",
        "status_updates",
        "late_updates",
        "directives",
        "directives_answered",
        "pages",
        "off_hours_pages",
        "pages_unknown_zone",
    )
    optional |= dict.fromkeys(counts, "count")
    rows = [
        _one_of("status", ("open", "resolved")),
        ("incident", "the same incident on another row", _repeated),
    ]
    for name in spans:
        rows += [_negative(name), *_flag_checks(name)]
    rows += [_below_zero(c) for c in counts]
    return Contract("metrics", required, optional, ("incident",), tuple(rows))


def _repeated(frame: pd.DataFrame) -> pd.Series:
    return frame["incident"].duplicated(keep=False)


def _below_zero(column: str) -> tuple[str, str, RowCheck]:
    return column, "negative", lambda f: f[column] < 0


def _flag_checks(name: str) -> list[tuple[str, str, RowCheck]]:
    """A duration's value and its ``_observed`` flag agree: an observed value is there, and a
    resolved incident has nothing left to censor."""
    flag = f"{name}_observed"
    return [
        (f"{name}+{flag}", "empty where observed", lambda f: f[name].isna() & f[flag]),
        (
            f"{flag}+status+{name}",
            "false (censored) in a resolved incident",
            lambda f: (f["status"] == "resolved") & f[name].notna() & ~f[flag],
        ),
    ]
