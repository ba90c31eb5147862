"""Applying redaction and pseudonyms to everything a report shows, in one place."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

import pandas as pd

from pia.privacy.pseudonyms import Pseudonyms
from pia.privacy.redact import Redactor

#: columns holding text from Slack or PagerDuty, where names are replaced inside the text
TEXT_COLUMNS = ("text", "answer_text")
#: columns holding links (names are never replaced in them)
LINK_COLUMNS = ("ref", "answer_ref", "start_ref", "end_ref")
#: columns holding people's names
NAME_COLUMNS = ("actor", "to_name", "person")


def frame(
    data: pd.DataFrame, redactor: Redactor | None, pseudonyms: Pseudonyms | None
) -> pd.DataFrame:
    """``data`` with secrets masked in every text column (a display name, a severity or a
    service can hold one as well as a message) and names replaced."""
    out = data.copy()
    if out.empty:
        return out
    for column in out.columns:
        kind = out[column].dtype
        if not (pd.api.types.is_object_dtype(kind) or isinstance(kind, pd.StringDtype)):
            continue
        values = out[column].astype("string")
        if pseudonyms is not None and column in NAME_COLUMNS:  # a whole name first, then its parts
            values = pseudonyms.text(values)
        if redactor is not None:
            values = redactor.text(values)
        if pseudonyms is not None and column in TEXT_COLUMNS:
            values = pseudonyms.text(values)
        if pd.api.types.is_object_dtype(kind):  # missing values keep their kind (None, NaN)
            out[column] = values.astype(object).where(values.notna(), out[column])
        else:
            out[column] = values.astype(kind)
    return out


def result(obj: Any, redactor: Redactor | None, pseudonyms: Pseudonyms | None) -> Any:
    """Every DataFrame field of a result object (and of the result objects inside it, and the
    frames its lazy fields build) scrubbed."""
    changes: dict[str, Any] = {}
    for spec in fields(obj):
        value = getattr(obj, spec.name)
        if isinstance(value, pd.DataFrame):
            changes[spec.name] = frame(value, redactor, pseudonyms)
        elif callable(value) and not isinstance(value, type):
            # a frame built when first asked for (a detection's candidates) is scrubbed as built
            changes[spec.name] = lambda build=value: frame(build(), redactor, pseudonyms)
        elif is_dataclass(value) and not isinstance(value, type):
            changes[spec.name] = result(value, redactor, pseudonyms)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            changes[spec.name] = [_text(v, redactor, pseudonyms) for v in value]
    return replace(obj, **changes)


def _text(value: str, redactor: Redactor | None, pseudonyms: Pseudonyms | None) -> str:
    value = redactor.value(value) if redactor else value
    return pseudonyms.value(value) if pseudonyms else value


def meta(
    table: dict[str, Any], redactor: Redactor | None, pseudonyms: Pseudonyms | None
) -> dict[str, Any]:
    """``incident.toml`` with secrets masked in every string but the id (title, severity,
    services, review, ...) and names replaced in the title and review text."""
    out = dict(table)
    for key, value in table.items():
        if key == "id":
            continue
        value = redactor.value(value) if redactor else value
        out[key] = pseudonyms.value(value) if pseudonyms and key in ("title", "review") else value
    return out


def directory(names: Any, redactor: Redactor) -> Any:
    """A Slack :class:`~pia.events.slack.Directory` with secrets masked in its names."""
    return replace(
        names,
        **{
            key: redactor.value(dict(getattr(names, key)))
            for key in ("users", "channels", "full_names")
        },
    )
