"""Masking secrets that responders paste into incident channels.

The patterns are a packaged list (``secrets.toml`` beside this module), changed or extended by
``[secrets]`` in the data dir's ``pia.toml``. They run over a whole text column at once. Python's
``re`` is slow on a million messages, so a pattern may name a ``cue``: a plain expression (RE2,
run by Arrow over the column in one pass) that any match contains; only the rows with the cue
go through the pattern.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pia.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    name: str
    label: str
    pattern: re.Pattern[str]
    #: RE2 expression that every match of ``pattern`` contains (None: try every row)
    cue: str | None = None

    @property
    def mask(self) -> str:
        keep = r"\g<keep>" if "keep" in self.pattern.groupindex else ""
        return f"{keep}[redacted: {self.label}]"


@dataclass(frozen=True)
class Redactor:
    """Compiled secret patterns; :meth:`text` masks a column, :meth:`value` one string."""

    secrets: tuple[Secret, ...]

    def text(self, column: pd.Series) -> pd.Series:
        """``column`` with every secret masked; missing values stay missing, the dtype stays."""
        out = column.astype("string")
        arrow = arrow_text(out)
        for secret in self.secrets:
            if secret.cue is None:
                out = out.str.replace(secret.pattern, secret.mask, regex=True)
                continue
            # the cue is looked for in the original text: masks only remove what a cue names
            rows = np.flatnonzero(pc.fill_null(pc.match_substring_regex(arrow, secret.cue), False).to_numpy(zero_copy_only=False))
            if len(rows):
                out.iloc[rows] = out.iloc[rows].str.replace(secret.pattern, secret.mask, regex=True).to_numpy()
        if isinstance(column.dtype, pd.StringDtype):
            return out.astype(column.dtype)
        return out.astype(object).where(column.notna(), column)

    def value(self, value: Any) -> Any:
        """Mask strings, and strings inside lists and tables (incident.toml's review)."""

        def mask(text: str) -> str:
            for secret in self.secrets:
                text = secret.pattern.sub(secret.mask, text)
            return text

        return map_strings(value, mask)

    def events(self, events: pd.DataFrame) -> pd.DataFrame:
        """``events`` with secrets masked in ``text`` (and ``ref``, where a URL carries one)."""
        return events.assign(text=self.text(events["text"]), ref=self.text(events["ref"]))


def arrow_text(column: pd.Series) -> pa.Array:
    """A text column as an Arrow string array, to look for cues in. Arrow takes UTF-8 only:
    where a lone surrogate (from a JSON escape) is in the way, it is looked at as ``?``."""
    values = column.astype("string").to_numpy(dtype=object, na_value=None)
    try:
        return pa.array(values, type=pa.string())
    except UnicodeEncodeError:
        fixed = [v if v is None else v.encode("utf-8", "replace").decode("utf-8") for v in values]
        return pa.array(fixed, type=pa.string())


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to every string in it, inside lists and tables too."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [map_strings(v, change) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, change) for k, v in value.items()}
    return value


def _entries(table: Any, origin: str) -> dict[str, dict[str, Any]]:
    if not isinstance(table, dict):
        raise ConfigError(origin, "secrets", "must be a table of [secrets.NAME] entries")
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise ConfigError(origin, f"secrets.{name}", "must be a table with pattern and label")
    return table


def load_redactor(data_dir: str | os.PathLike[str] | None = None) -> Redactor:
    """The packaged secret patterns, changed or extended by ``[secrets]`` in ``<data_dir>/pia.toml``.

    A pattern that does not compile is a :class:`ConfigError` naming the file and entry."""
    packaged = resources.files("pia.privacy").joinpath("secrets.toml")
    merged: dict[str, tuple[str, dict[str, Any]]] = {
        name: ("pia/privacy/secrets.toml", spec) for name, spec in tomllib.loads(packaged.read_text())["secrets"].items()
    }
    local = Path(data_dir) / "pia.toml" if data_dir is not None else None
    if local is not None and local.is_file():
        from pia.snapshot import read_toml

        for name, spec in _entries(read_toml(local).get("secrets", {}), str(local)).items():
            base = merged.get(name, ("", {}))[1]
            if "pattern" in spec and "cue" not in spec:  # the packaged cue may not fit a new pattern
                base = {k: v for k, v in base.items() if k != "cue"}
            merged[name] = (str(local), {**base, **spec})
    secrets = []
    for name, (origin, spec) in merged.items():
        if not spec.get("enabled", True):
            continue
        try:
            pattern = re.compile(str(spec["pattern"]))
        except (KeyError, re.error) as error:
            raise ConfigError(origin, f"secrets.{name}.pattern", f"not a valid regular expression: {error}") from None
        cue = str(spec["cue"]) if spec.get("cue") else None
        if cue is not None:
            try:
                pc.match_substring_regex(pa.array([""]), cue)
            except pa.ArrowInvalid as error:
                raise ConfigError(origin, f"secrets.{name}.cue", f"not a valid RE2 expression: {error}") from None
        secrets.append(Secret(name, str(spec.get("label", name)), pattern, cue))
    return Redactor(tuple(secrets))
