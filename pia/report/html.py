"""Building report HTML where every outside string is escaped at the point it becomes HTML.

Slack and PagerDuty text is data, never markup: it goes through :func:`text` (escaped) and links
only through :func:`link` (http/https only, escaped attribute). ``IPython.display.Markdown`` is
never used for such text, since it passes raw HTML through.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

_SAFE_SCHEMES = ("https://", "http://")


def text(value: Any) -> str:
    """Escape any value for HTML text or attribute context; missing values become ''."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def link(url: Any, label: Any) -> str:
    """``<a>`` to ``url`` if it is an http(s) URL, else just the escaped label."""
    href = str(url or "")
    if not href.lower().startswith(_SAFE_SCHEMES):
        return text(label)
    return f'<a href="{text(href)}">{text(label)}</a>'


def table(
    frame: pd.DataFrame,
    columns: Iterable[str] | None = None,
    *,
    cells: Mapping[str, Callable[[pd.Series], str]] | None = None,
    numeric: Iterable[str] = (),
    empty: str = "Nothing to show.",
) -> str:
    """An HTML table of ``columns`` (default: all) of ``frame``; ``cells`` may give a column an
    HTML maker that receives the whole row, hidden columns included (it must escape what it
    uses). Everything else is escaped. Tables here are tens of rows, so rows are iterated."""
    if frame.empty:
        return f'<p class="note">{text(empty)}</p>'
    shown = list(frame.columns if columns is None else columns)
    cells = dict(cells or {})
    numeric = set(numeric)
    head = "".join(f'<th{" class=num" if c in numeric else ""}>{text(c)}</th>' for c in shown)
    rows = []
    for _, row in frame.iterrows():
        tds = []
        for column in shown:
            value = cells[column](row) if column in cells else text(row[column])
            tds.append(f'<td{" class=num" if column in numeric else ""}>{value}</td>')
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@dataclass
class Section:
    """A titled block of report HTML; a notebook cell shows it by returning it."""

    title: str
    body: str
    level: int = 2

    def _repr_html_(self) -> str:
        return f"<section><h{self.level}>{text(self.title)}</h{self.level}>{self.body}</section>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, str], dict[str, str]]:
        # a page title in the output's metadata lets the renderer name the page without parsing HTML
        return {"text/html": self._repr_html_()}, ({"pia-title": self.title} if self.level == 1 else {})
