"""Formatting results for the terminal: tables, CSV and JSON.

Text from snapshots is hostile until shown otherwise: in CSV a value that a spreadsheet would
run as a formula gets a leading ``'`` (OWASP's advice) and every line break is quoted; on a
terminal control characters (ESC, BEL, ...) are shown as ``\x1b``, never sent raw.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import pandas as pd

from pia.times import human_duration

_TEXT_WIDTH = 90
#: C0 and C1 control characters and DEL: ESC starts terminal commands (retitle, clipboard)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: a cell starting with one of these is a formula (or starts one) in Excel, Calc and Sheets
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def terminal_text(value: object) -> str:
    """``value`` as text that is safe to print: control characters shown as ``\\x1b``."""
    return _CONTROL.sub(_escaped, str(value))


def terminal_column(column: pd.Series) -> pd.Series:
    """:func:`terminal_text` of a whole text column; missing values stay missing."""
    return column.astype("string").str.replace(_CONTROL, _escaped, regex=True)


def _escaped(found: re.Match[str]) -> str:
    return f"\\x{ord(found[0]):02x}"


def spreadsheet_safe(column: pd.Series) -> pd.Series:
    """A text column with every value a spreadsheet would read as a formula prefixed with
    ``'``, so it shows as text; missing values stay missing."""
    text = column.astype("string")
    risky = text.str.startswith(_FORMULA_START).fillna(False)
    return column.where(~risky, "'" + text)


def _for_table(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in out:
        column = out[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out[name] = column.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        elif pd.api.types.is_timedelta64_dtype(column):
            out[name] = column.map(human_duration)
        elif pd.api.types.is_string_dtype(column) or column.dtype == object:
            text = terminal_column(
                column.astype("string").fillna("").str.replace(r"\s+", " ", regex=True)
            )
            long = text.str.len() > _TEXT_WIDTH
            text = text.where(~long, text.str.slice(0, _TEXT_WIDTH - 1) + "…")
            # to_string right-aligns values; text reads better left-aligned
            width = max(int(text.str.len().max() or 0), len(str(name)))
            out[name] = text.str.pad(width, side="right")
    return out


def print_frame(
    frame: pd.DataFrame,
    fmt: str = "table",
    *,
    table_columns: Sequence[str] | None = None,
    out: TextIO | None = None,
    raw_csv: bool = False,
    width: int | None = None,
) -> list[str]:
    """Print ``frame`` as an aligned table (shortened text), CSV or JSON records (full text,
    ISO 8601 times). CSV values that would run as spreadsheet formulas start with ``'``
    unless ``raw_csv``; a line break inside a value is always quoted, so a value is one cell.
    A table wider than ``width`` leaves out columns from the right (the first two stay); the
    names of those left out are returned."""
    out = out or sys.stdout
    if fmt == "csv":
        if not raw_csv:
            frame = frame.assign(
                **{
                    str(name): spreadsheet_safe(frame[name])
                    for name in frame
                    if _is_text(frame[name])
                }
            )
        if _is_terminal(out):
            frame = frame.assign(
                **{
                    str(name): terminal_column(frame[name])
                    for name in frame
                    if _is_text(frame[name])
                }
            )
        # a bare CR ends a row for spreadsheets: with CR in the line terminator, csv quotes it
        frame.to_csv(
            out,
            index=False,
            date_format="%Y-%m-%dT%H:%M:%S.%fZ",
            lineterminator="\r\n",
            quoting=csv.QUOTE_MINIMAL,
        )
    elif fmt == "json":
        text = frame.to_json(
            orient="records", date_format="iso", date_unit="us", force_ascii=False, indent=1
        )
        # JSON escapes C0 already; DEL and C1 (0x9b is a terminal's CSI) are escaped too
        out.write(re.sub(r"[\x7f-\x9f]", lambda found: f"\\u{ord(found[0]):04x}", text))
        out.write("\n")
    else:
        shown = _for_table(frame[list(table_columns)] if table_columns else frame)
        if shown.empty:
            out.write("(no rows)\n")
            return []
        lines = [
            line.rstrip() for line in shown.to_string(index=False, justify="left").splitlines()
        ]
        left_out: list[str] = []
        while width and max(map(len, lines)) > width and shown.shape[1] > 2:
            left_out.insert(0, str(shown.columns[-1]))
            shown = shown.iloc[:, :-1]
            lines = [
                line.rstrip() for line in shown.to_string(index=False, justify="left").splitlines()
            ]
        out.write("".join(line + "\n" for line in lines))
        return left_out
    return []


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column) or column.dtype == object


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _one_line(value: str | float | None, width: int) -> str:
    """``value`` on one line (whitespace runs as one space), cut to ``width`` with an ellipsis."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    flat = terminal_text(" ".join(str(value).split()))
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def format_candidates(explanation: Any, *, width: int = 100) -> str:
    """The text ``pia metrics --explain`` prints: for each milestone of the incident, the
    candidate used (rank 1) and the runners-up, best first, each with its time (and the time of
    the message that stated it, where they differ), who, how it was found and its text on one
    line; then how to choose another. ``explanation`` is a :class:`pia.metrics.Explanation`.
    Times are UTC; they print without a date when every one falls on the same day."""
    frame = explanation.candidates
    width = max(width, 60)
    stamps = (
        pd.concat([frame["ts"], frame["evidence_ts"]]).dropna()
        if len(frame)
        else pd.Series(dtype="datetime64[ns, UTC]")
    )
    days = stamps.dt.strftime("%Y-%m-%d").unique() if len(stamps) else []
    clock = "%H:%M:%S" if len(days) == 1 else "%Y-%m-%d %H:%M:%S"
    lines = [f"{explanation.incident}: each milestone's candidates, best first (1 is the one used)"]
    lines.append(f"times in UTC, all on {days[0]}" if len(days) == 1 else "times in UTC")
    by_milestone = (
        {str(k): g for k, g in frame.groupby("milestone", sort=False)} if len(frame) else {}
    )
    examples: dict[str, pd.Timestamp] = {}
    for milestone in explanation.milestones:
        lines.append("")
        rows = by_milestone.get(milestone)
        manual = " (set in incident.toml)" if milestone in explanation.manual else ""
        lines.append(milestone.replace("_", " ") + manual)
        if rows is None or rows.empty:
            lines.append("   –  none found")
            continue
        for row in rows.itertuples():
            when = row.ts.strftime(clock)
            if pd.notna(row.evidence_ts) and row.evidence_ts != row.ts:
                when += f" (stated in a message at {row.evidence_ts.strftime(clock)})"
            how = (
                f"{row.source} · {row.rule}"
                if row.rule and row.rule != row.source
                else str(row.source)
            )
            who = _one_line(row.actor, 30)
            lines.append(f"  {row.rank:>2}  {when}  " + "  ".join(p for p in (who, how) if p))
            said = _one_line(row.text, width - 6)
            if said:
                lines.append(f"      {said}")
            if row.rank > 1 and not manual and row.ts != rows["ts"].iloc[0]:
                examples.setdefault(milestone, row.ts)
    lines.append("")
    lines.append(
        "A value in incident.toml [milestones] wins over anything detected; to use another"
    )
    # the example is a real runner-up, of the milestones reviewers most often move where it can
    name = next(
        (m for m in ("restored", "mitigated", "impact_start") if m in examples),
        next(iter(examples), None),
    )
    if name is not None:
        lines.append(
            f'candidate, write its time there, e.g. {name} = "{examples[name].strftime("%Y-%m-%dT%H:%M:%SZ")}"'
        )
    else:
        lines.append("candidate, write its time there (ISO 8601 with an offset).")
    return "\n".join(lines) + "\n"
