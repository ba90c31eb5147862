"""The readable text of a bot message's Block Kit blocks and legacy attachments.

Slack sends an app's message as ``text`` (the notification fallback) plus ``blocks`` and/or
``attachments`` that carry the detail: a status field, the person who acted, the stage of a
status-page update. Integration readers need that detail, so a bot message's text is its
``text`` followed by every line of its blocks and attachments the text does not already say.
Pure: takes one decoded message; anything of the wrong shape is skipped, never an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text_of(value: Any) -> str:
    """A text object (``{"type": "mrkdwn", "text": ...}``) or a plain string as a string."""
    if isinstance(value, Mapping):
        value = value.get("text")
    return value.strip() if isinstance(value, str) else ""


def _rich(elements: Any) -> str:
    """A rich_text element list as Slack markup (a user becomes ``<@U…>`` so the reader
    resolves its name and records the mention)."""
    out = []
    for element in _listed(elements):
        if not isinstance(element, Mapping):
            continue
        kind = element.get("type")
        if kind in (
            "rich_text_section",
            "rich_text_preformatted",
            "rich_text_quote",
            "rich_text_list",
        ):
            out.append(_rich(element.get("elements")))
        elif kind == "text" and isinstance(element.get("text"), str):
            out.append(element["text"])
        elif kind == "user" and isinstance(element.get("user_id"), str):
            out.append(f"<@{element['user_id']}>")
        elif kind == "link":
            out.append(str(element.get("text") or element.get("url") or ""))
        elif kind == "emoji" and isinstance(element.get("name"), str):
            out.append(f":{element['name']}:")
    return "".join(out)


def block_lines(blocks: Any) -> Iterator[str]:
    """Each line of text in Block Kit ``blocks`` (section, header, context, rich_text)."""
    for block in _listed(blocks):
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind in ("section", "header"):
            yield _text_of(block.get("text"))
            for field in _listed(block.get("fields")):
                yield _text_of(field)
        elif kind == "context":
            yield " ".join(t for t in (_text_of(e) for e in _listed(block.get("elements"))) if t)
        elif kind == "rich_text":
            yield _rich(block.get("elements"))


def attachment_lines(attachments: Any) -> Iterator[str]:
    """Each line of legacy ``attachments``: pretext, title, text, fields as ``Title: value``
    and any blocks inside; the fallback only where the attachment has nothing else."""
    for attachment in _listed(attachments):
        if not isinstance(attachment, Mapping):
            continue
        lines = [_text_of(attachment.get(key)) for key in ("pretext", "title", "text")]
        for field in _listed(attachment.get("fields")):
            if isinstance(field, Mapping):
                title, value = _text_of(field.get("title")), _text_of(field.get("value"))
                lines.append(f"{title}: {value}" if title and value else title or value)
        lines += list(block_lines(attachment.get("blocks")))
        if not any(lines):
            lines.append(_text_of(attachment.get("fallback")))
        yield from lines


def bot_text(message: Mapping[str, Any]) -> str:
    """``message``'s ``text`` and then each line of its blocks and attachments that the text
    does not already contain."""
    given = message.get("text")
    text = given if isinstance(given, str) else ""
    lines = [text] if text else []
    seen = text
    for line in (
        *block_lines(message.get("blocks")),
        *attachment_lines(message.get("attachments")),
    ):
        if line and line not in seen:
            lines.append(line)
            seen += "\n" + line
    return "\n".join(lines)
