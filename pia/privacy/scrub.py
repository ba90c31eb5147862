"""Applying redaction and pseudonyms to everything a report shows, in one place."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace
from typing import Any

import pandas as pd

from pia.privacy.pseudonyms import Pseudonyms
from pia.privacy.redact import Redactor

#: columns holding text from Slack or PagerDuty (secrets and names may hide in them)
TEXT_COLUMNS = ("text", "answer_text")
#: columns holding links (a URL can carry a password)
LINK_COLUMNS = ("ref", "answer_ref", "start_ref", "end_ref")
#: columns holding people's names
NAME_COLUMNS = ("actor", "to_name", "person")


def frame(data: pd.DataFrame, redactor: Redactor | None, pseudonyms: Pseudonyms | None) -> pd.DataFrame:
    """``data`` with secrets masked in its text and link columns and names replaced."""
    out = data.copy()
    for column in TEXT_COLUMNS + LINK_COLUMNS + NAME_COLUMNS:
        if column not in out or out.empty:
            continue
        values = out[column].astype("string")
        if redactor is not None and column not in NAME_COLUMNS:
            values = redactor.text(values)
        if pseudonyms is not None and column not in LINK_COLUMNS:
            values = pseudonyms.text(values)
        if out[column].dtype == object:  # missing values keep their kind (None, NaN)
            out[column] = values.astype(object).where(values.notna(), out[column])
        else:
            out[column] = values.astype(out[column].dtype)
    return out


def result(obj: Any, redactor: Redactor | None, pseudonyms: Pseudonyms | None) -> Any:
    """Every DataFrame field of a result object (and of the result objects inside it, and the
    frames its lazy fields build) scrubbed."""
    changes = {}
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


def meta(table: dict[str, Any], redactor: Redactor | None, pseudonyms: Pseudonyms | None) -> dict[str, Any]:
    """``incident.toml``'s title and review text scrubbed (ids and times kept)."""
    out = dict(table)
    for key in ("title", "review"):
        if key in out:
            value = redactor.value(out[key]) if redactor else out[key]
            out[key] = pseudonyms.value(value) if pseudonyms else value
    return out
