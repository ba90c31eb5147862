"""Building report HTML where every outside string is escaped at the point it becomes HTML.

Slack and PagerDuty text is data, never markup: it goes through :func:`text` (escaped) and links
only through :func:`link` (http/https only, escaped attribute). ``IPython.display.Markdown`` is
never used for such text, since it passes raw HTML through.
"""

from __future__ import annotations

import html
import re
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
    headers: Mapping[str, str] | None = None,
    one_line: Iterable[str] = (),
) -> str:
    """An HTML table of ``columns`` (default: all) of ``frame``; ``cells`` may give a column an
    HTML maker that receives the whole row, hidden columns included (it must escape what it
    uses). Everything else is escaped. A column's heading is ``headers[column]``, else its name
    in words (``off_hours_pages`` → ``off hours pages``); ``one_line`` columns (names, times)
    do not wrap. Tables here are tens of rows, so rows are iterated. Wide tables scroll inside
    their box rather than widen the page."""
    if frame.empty:
        return f'<p class="note">{text(empty)}</p>'
    shown = list(frame.columns if columns is None else columns)
    cells = dict(cells or {})
    names = dict(headers or {})
    kinds = dict.fromkeys(numeric, "num") | {
        c: "one-line" for c in one_line if c not in set(numeric)
    }
    attrs = {c: f" class={kinds[c]}" if c in kinds else "" for c in shown}
    head = "".join(f"<th{attrs[c]}>{text(names.get(c, c.replace('_', ' ')))}</th>" for c in shown)
    rows = []
    for _, row in frame.iterrows():
        tds = []
        for column in shown:
            value = cells[column](row) if column in cells else text(row[column])
            tds.append(f"<td{attrs[column]}>{value}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


# Slack's formatting, matched in text that is already escaped (so nothing here can open a tag
# of its own): code first (nothing inside code is formatted), then links, then the rest.
_CODE = re.compile(r"```(.+?)```|`([^`\n]+)`", re.S)
_SLACK_LINK = re.compile(r"&lt;(https?://[^|\s]+?)\|(.+?)&gt;|&lt;(https?://[^\s]+?)&gt;")
_URL = re.compile(
    r"https?://(?:(?!&lt;|&gt;|&quot;|&#x27;)[^\s<>\"'])+?(?=[.,;:!?)]*(?:\s|$|&lt;|&gt;|&quot;|&#x27;))"
)
_EMPHASIS = [
    (re.compile(r"(?<![A-Za-z0-9*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![A-Za-z0-9*])"), "strong"),
    (re.compile(r"(?<![A-Za-z0-9_])_(?=\S)([^_\n]+?)(?<=\S)_(?![A-Za-z0-9_])"), "em"),
    (re.compile(r"(?<![A-Za-z0-9~])~(?=\S)([^~\n]+?)(?<=\S)~(?![A-Za-z0-9~])"), "del"),
]
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_SOURCE_NAMES = (("slack.com", "Slack"), ("pagerduty.com", "PagerDuty"))


def slack(value: Any) -> str:
    """Slack text as HTML: every character escaped first, then Slack's formatting rendered from
    the escaped text: ``*bold*``, ``_italic_``, ``~strike~``, ```code```, links (``<url|text>``
    and bare http(s) URLs, shown by their host) and ``:emoji:`` names as the emoji (names the
    ``emoji`` library does not know, a workspace's own, stay as text)."""
    escaped = text(value).replace("\x00", "")  # NUL marks kept links below
    if not escaped:
        return ""
    parts, last = [], 0
    for match in _CODE.finditer(escaped):
        parts.append(_inline(escaped[last : match.start()]))
        parts.append(f"<code>{match.group(1) or match.group(2)}</code>")
        last = match.end()
    parts.append(_inline(escaped[last:]))
    return "".join(parts)


def _inline(escaped: str) -> str:
    links: list[str] = []

    def keep(html_link: str) -> str:
        links.append(html_link)
        return f"\x00{len(links) - 1}\x00"

    def slack_link(match: re.Match[str]) -> str:
        url = match.group(1) or match.group(3)
        return keep(f'<a href="{url}">{match.group(2) or _short(url)}</a>')

    out = _SLACK_LINK.sub(slack_link, escaped)
    out = _URL.sub(
        lambda m: keep(f'<a href="{m.group(0)}" title="{m.group(0)}">{_short(m.group(0))}</a>'), out
    )
    for pattern, tag in _EMPHASIS:
        out = pattern.sub(rf"<{tag}>\1</{tag}>", out)
    out = _EMOJI.sub(_emoji, out)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], out)


def _short(url: str) -> str:
    """A URL as its host, with ``/…`` where it has a path: readable in a sentence."""
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    return host + ("/…" if path.strip("/") else "")


def _emoji(match: re.Match[str]) -> str:
    import emoji

    shown = emoji.emojize(match.group(0), language="alias")
    return match.group(0) if shown == match.group(0) else shown


def source_name(url: str) -> str:
    """``Slack``, ``PagerDuty`` or ``source``: what a link back to the original points at."""
    return next((name for host, name in _SOURCE_NAMES if host in url.lower()), "source")


def said(value: Any, ref: Any) -> str:
    """What someone said (Slack formatting rendered, escaped) and a small link to where it was
    said: the text reads as text, not as one long link."""
    body = slack(value)
    href = str(ref or "")
    if not href.lower().startswith(_SAFE_SCHEMES):
        return body
    return f'{body} <a class="source" href="{text(href)}">{source_name(href)}</a>'


@dataclass
class Section:
    """A titled block of report HTML; a notebook cell shows it by returning it."""

    title: str
    body: str
    level: int = 2

    def _repr_html_(self) -> str:
        return f"<section><h{self.level}>{text(self.title)}</h{self.level}>{self.body}</section>"

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        # a page title in the output's metadata lets the renderer name the page without parsing HTML
        return {"text/html": self._repr_html_()}, (
            {"pia-title": self.title} if self.level == 1 else {}
        )
