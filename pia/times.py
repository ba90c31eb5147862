"""Times and durations as pia reads and writes them: a time given by a caller (``as_of``,
``since``, ``until``) normalised to one type, and durations in words.

Every time inside pia is a timezone-aware :class:`pandas.Timestamp` in UTC, in nanoseconds, as
the timelines hold them. :func:`as_utc` is the one place a caller's value (ISO 8601 text, a
``datetime`` or a ``Timestamp``) becomes one; the public functions that take a time call it
first, and everything past them takes the ``Timestamp`` only.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from pia.errors import BadValue
from pia.events.schema import utc_ns

#: what a caller may pass where pia takes a time; normalised by :func:`as_utc`
TimeLike = str | datetime | pd.Timestamp


def as_utc(value: TimeLike | None, parameter: str = "as_of") -> pd.Timestamp | None:
    """``value`` (ISO 8601 text with an offset, an aware ``datetime`` or ``Timestamp``) as a
    UTC ``Timestamp``; None stays None. A value without an offset, or not a time, raises
    :class:`~pia.errors.BadValue` naming ``parameter``.

        >>> as_utc("2026-03-14T15:00:00+01:00")
        Timestamp('2026-03-14 14:00:00+0000', tz='UTC')
    """
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise BadValue(
            parameter, value, "is not an ISO 8601 time (e.g. 2026-03-14T14:00:00Z)"
        ) from None
    if pd.isna(stamp):
        raise BadValue(parameter, value, "is not a time")
    if stamp.tzinfo is None:
        raise BadValue(parameter, value, "has no UTC offset (add Z or +00:00)")
    try:
        return utc_ns(stamp)
    except ValueError as error:
        raise BadValue(parameter, value, f"is {error}") from None


def iso(stamp: pd.Timestamp) -> str:
    """``2026-03-14T14:00:00Z``: a UTC time as text for places that take text only (notebook
    parameters)."""
    return stamp.isoformat().replace("+00:00", "Z")


def human_duration(value: object) -> str:
    """A duration as the reports write it: ``1h 05m``, ``7m 03s``, ``2d 3h 00m``.

    Parameters
    ----------
    value : Timedelta, float or None
        A timedelta, or a number of seconds.

    Returns
    -------
    str
        Whole units toward zero, the two largest; ``–`` for a missing value (None, NaT, NaN).

    Examples
    --------
    >>> import pandas as pd, pia
    >>> pia.human_duration(pd.Timedelta(minutes=65)), pia.human_duration(423), pia.human_duration(None)
    ('1h 05m', '7m 03s', '–')
    """
    if isinstance(value, timedelta):
        total = value.total_seconds()
    elif isinstance(value, int | float | np.integer | np.floating):
        total = float(value)
    else:
        return "–"
    if math.isnan(total):
        return "–"
    seconds = int(total)
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"
