"""Escaping for the Markdown postmortem draft.

Slack and PagerDuty text must read literally in any Markdown renderer: no emphasis, links,
headings, tables broken by a ``|``, and no raw HTML (a ``<script>`` is shown, not run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jinja2
import pandas as pd

# CommonMark lets a backslash make any ASCII punctuation literal. Text lands mid-line (in a
# table cell or after a bullet), so these are the characters that can start markup there:
# emphasis, code, links and images, raw HTML, entities, table cells, strikethrough.
_SPECIAL = re.compile(r"([\\`*_\[\]<>!|&~])")
#: what starts a block where a value starts a line (a paragraph, a list item): a heading, a
#: list item, a setext underline, an ordered list's number
_BLOCK_START = re.compile(r"^(?:([#+=-])|(\d+)([.)]))")
#: characters a link destination keeps as they are; anything else is percent-encoded
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


def md(value: Any) -> str:
    """``value`` as literal Markdown text on one line (line breaks, CR included, become
    spaces), safe in a table cell, a list item or at the start of a paragraph."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    flat = re.sub(r"\s+", " ", str(value)).strip()
    return _BLOCK_START.sub(
        lambda found: f"\\{found[1]}" if found[1] else f"{found[2]}\\{found[3]}",
        _SPECIAL.sub(r"\\\1", flat),
    )


class Link(str):
    """Markdown already built from escaped parts; the draft renderer writes it as is."""


def md_link(url: Any, label: Any) -> Link:
    """A Markdown link for an http(s) URL, else the escaped label alone. The destination is
    percent-encoded: no line break (CR or LF), space, ``<``, ``>`` or backslash can end it."""
    href = str(url or "")
    if not re.match(r"https?://", href, re.IGNORECASE):
        return Link(md(label))
    return Link(f"[{md(label)}](<{quote(href, safe=_URL_SAFE)}>)")


def md_said(value: Any, ref: Any) -> Link:
    """What someone said, escaped, with a short link to where it was said (as the HTML report
    shows it): the text reads as text, not as one long link."""
    from pia.report.html import source_name

    href = str(ref or "")
    if not re.match(r"https?://", href, re.IGNORECASE):
        return Link(md(value))
    return Link(f"{md(value)} ({md_link(href, source_name(href))})")


@dataclass
class Draft:
    """The postmortem draft: shows as Markdown in a notebook and is written as ``.md``."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def _finalize(value: Any) -> str:
    """Every ``{{ value }}`` of the draft template is escaped, except pre-built links."""
    return value if isinstance(value, Link) else md(value)


def render_draft(context: dict[str, Any]) -> Draft:
    """Fill ``templates/postmortem.md.j2`` with ``context``; every value is escaped."""
    from pia.report.render import TEMPLATES

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["placeholder"] = _placeholder
    return Draft(env.get_template("postmortem.md.j2").render(**context))


def _placeholder(key: str) -> Link:
    return Link(f"*Not written yet: add `{key}` under `[review]` in incident.toml.*")
