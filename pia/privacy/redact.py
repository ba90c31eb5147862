"""Masking secrets that responders paste into incident channels.

The patterns are a packaged list (``secrets.toml`` beside this module), changed or extended by
``[secrets]`` in the data dir's ``pia.toml``. They are RE2 expressions, run by Arrow over a whole
text column at once: RE2 takes time linear in the text, so no message (hostile or not) can make
masking hang, as a backtracking engine can. A pattern may name a ``cue``, a plain expression
that any match contains; only the rows with the cue go through the pattern.
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

from pia.errors import ConfigError, PiaError

#: a surrogate that no UTF-8 can hold (from a JSON escape); Arrow takes UTF-8 only
_SURROGATE = re.compile("([\ud800-\udfff])")


@dataclass(frozen=True)
class Secret:
    name: str
    label: str
    #: RE2 expression; groups named ``keep`` and ``after`` stay around the mask
    pattern: str
    #: RE2 expression that every match of ``pattern`` contains (None: try every row)
    cue: str | None = None
    #: numbers of the ``keep`` and ``after`` groups (0: none)
    keep: int = 0
    after: int = 0

    @property
    def mask(self) -> str:
        """The RE2 rewrite that replaces a match."""
        label = self.label.replace("\\", "\\\\")
        return (
            (f"\\{self.keep}" if self.keep else "")
            + f"[redacted: {label}]"
            + (f"\\{self.after}" if self.after else "")
        )

    def sub(self, text: pa.Array) -> pa.Array:
        return pc.replace_substring_regex(text, self.pattern, self.mask)


@dataclass(frozen=True)
class Redactor:
    """Compiled secret patterns; :meth:`text` masks a column, :meth:`value` one string."""

    secrets: tuple[Secret, ...]

    def text(self, column: pd.Series) -> pd.Series:
        """``column`` with every secret masked; missing values stay missing, the dtype stays."""
        values = column.astype("string").to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]  # pandas-stubs leave None out of na_value; pandas takes it
        odd = np.zeros(len(values), dtype=bool)
        try:
            text = pa.array(values, type=pa.string())
        except UnicodeEncodeError:  # rows with a lone surrogate are masked around it, below
            odd = np.array(
                [v is not None and _SURROGATE.search(v) is not None for v in values], dtype=bool
            )
            text = pa.array(np.where(odd, None, values), type=pa.string())
        for secret in self.secrets:
            if secret.cue is None:
                text = secret.sub(text)
                continue
            # the cue is looked for before this pattern's masks; masks only remove what a cue names
            hits = pc.fill_null(pc.match_substring_regex(text, secret.cue), False)
            if pc.any(hits).as_py():
                text = pc.replace_with_mask(text, hits, secret.sub(text.filter(hits)))
        masked = text.to_numpy(zero_copy_only=False).astype(object)
        for row in np.flatnonzero(odd):
            masked[row] = self._around_surrogates(values[row])
        out = pd.Series(masked, index=column.index, dtype="string")
        if isinstance(column.dtype, pd.StringDtype):
            return out.astype(column.dtype)
        return out.astype(object).where(column.notna(), column)

    def _around_surrogates(self, value: str) -> str:
        parts = _SURROGATE.split(value)
        pieces = pd.Series(parts[::2], dtype="string")
        parts[::2] = self.text(pieces).tolist()
        return "".join(parts)

    def value(self, value: Any) -> Any:
        """Mask strings, and strings inside lists and tables (incident.toml's review)."""
        return map_strings(
            value, lambda text: str(self.text(pd.Series([text], dtype="string")).iloc[0])
        )

    def events(self, events: pd.DataFrame) -> pd.DataFrame:
        """``events`` with secrets masked in ``text`` (and ``ref``, where a URL carries one)."""
        return events.assign(text=self.text(events["text"]), ref=self.text(events["ref"]))


def arrow_text(column: pd.Series) -> pa.Array:
    """A text column as an Arrow string array, to look for cues in. Arrow takes UTF-8 only:
    where a lone surrogate (from a JSON escape) is in the way, it is looked at as ``?``."""
    values = column.astype("string").to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]  # pandas-stubs leave None out of na_value; pandas takes it
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
        name: ("pia/privacy/secrets.toml", spec)
        for name, spec in tomllib.loads(packaged.read_text())["secrets"].items()
    }
    local = Path(data_dir) / "pia.toml" if data_dir is not None else None
    if local is not None and local.is_file():
        from pia.snapshot import read_toml

        for name, spec in _entries(read_toml(local).get("secrets", {}), str(local)).items():
            base = merged.get(name, ("", {}))[1]
            if (
                "pattern" in spec and "cue" not in spec
            ):  # the packaged cue may not fit a new pattern
                base = {k: v for k, v in base.items() if k != "cue"}
            merged[name] = (str(local), {**base, **spec})
    secrets = []
    for name, (origin, spec) in merged.items():
        if not spec.get("enabled", True):
            continue
        if "pattern" not in spec:
            raise ConfigError(
                origin,
                f"secrets.{name}.pattern",
                "is missing: a regular expression (RE2) is needed",
            )
        pattern = str(spec["pattern"])
        cue = str(spec["cue"]) if spec.get("cue") else None
        for key, expression in (("pattern", pattern), ("cue", cue)):
            if expression is not None:
                _check_re2(expression, origin, f"secrets.{name}.{key}")
        groups = _group_numbers(pattern)
        secrets.append(
            Secret(
                name,
                str(spec.get("label", name)),
                pattern,
                cue,
                groups.get("keep", 0),
                groups.get("after", 0),
            )
        )
    return Redactor(tuple(secrets))


def mask_text(text: str, data_dir: str | os.PathLike[str] | None = None) -> str:
    """``text`` (an error message, a traceback) with the data dir's secrets masked; where the
    data dir's ``pia.toml`` is itself what is wrong, the packaged patterns still mask it."""
    try:
        redactor = load_redactor(data_dir)
    except PiaError:
        redactor = load_redactor()
    return str(redactor.value(text))


def _check_re2(expression: str, origin: str, key: str) -> None:
    try:
        pc.match_substring_regex(pa.array([""]), expression)
    except pa.ArrowInvalid as error:
        problem = str(error).removeprefix("Invalid regular expression: ")
        what = (
            "RE2 expression"
            if key.endswith(".cue")
            else "regular expression (RE2: no lookarounds or backreferences)"
        )
        raise ConfigError(origin, key, f"not a valid {what}: {problem}") from None


def _group_numbers(pattern: str) -> dict[str, int]:
    """Numbers of a pattern's named groups, counted as RE2 counts them (capturing groups by
    their opening parenthesis). Python's parser only reads the pattern here, it never runs it."""
    try:
        return dict(re.compile(pattern).groupindex)
    except re.error:  # RE2 syntax Python does not read: number the groups by hand
        names = re.findall(r"\((?!\?)|\(\?P<(\w+)>", re.sub(r"\\.|\[(?:\\.|[^\]])*\]", "", pattern))
        return {name: i for i, name in enumerate(names, 1) if name}
