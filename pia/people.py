"""Who responded: one row per person across Slack and PagerDuty, with how they came in.

A person's Slack and PagerDuty identities are joined by full name (Slack's ``real_name`` is
how PagerDuty shows a user), so "Priya" in the channel and "Priya Raman" in the log are one
responder, shown by full name, the same in every incident.
"""

from __future__ import annotations

import pandas as pd

from pia.events.slack import Directory

ACTS = ("message", "reply", "acknowledge", "assign", "escalate", "annotate", "resolve", "note", "reassign", "snooze")
COLUMNS = ["person", "joined", "how", "first", "last", "messages", "actions", "pages", "off_hours_pages"]
_NOTIFIED = r"^Notified (?P<name>.+?) (?:by|via)\b"


def roster(
    events: pd.DataFrame,
    names: Directory,
    *,
    pulled_in: pd.DataFrame | None = None,
    pages: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per human who spoke or acted: when they joined (channel join, else first act),
    ``how`` (``paged`` if PagerDuty notified them before their first act, ``pulled in`` if
    someone asked them in, else ``volunteered``), first and last activity, messages, other
    actions, pages and off-hours pages.

    ``pulled_in`` is the escalations frame (``ts`` and ``to``: space-separated ids);
    ``pages`` the notify entries with ``off_hours`` (see :func:`pia.metrics.off_hours_pages`).
    """
    by_full = _by_full_name(names)
    person = full_names(events["actor"], names)
    acts = events[events["is_human"] & events["kind"].astype(str).isin(ACTS)].assign(person=person)
    if acts.empty:
        return pd.DataFrame(columns=COLUMNS)
    speech = acts["kind"].astype(str).isin(["message", "reply"])
    grouped = acts.assign(speech=speech, action=~speech).groupby("person", sort=False)
    out = grouped.agg(first=("ts", "min"), last=("ts", "max"), messages=("speech", "sum"), actions=("action", "sum"))

    joins = events[events["kind"] == "join"].assign(person=person).groupby("person")["ts"].min()
    out["joined"] = joins.reindex(out.index).fillna(out["first"]).where(lambda j: j <= out["first"], out["first"])

    page_rows = _pages_by_person(pages, by_full)
    first_page = page_rows.groupby("person")["ts"].min().reindex(out.index)
    out["pages"] = page_rows.groupby("person").size().reindex(out.index).fillna(0).astype(int)
    off = page_rows.assign(off=page_rows["off_hours"].fillna(False).astype(bool)).groupby("person")["off"].sum()
    out["off_hours_pages"] = off.reindex(out.index).fillna(0).astype(int)

    asked = _asked_by_person(pulled_in, names).reindex(out.index)
    how = pd.Series("volunteered", index=out.index)
    how = how.mask(asked.notna() & (asked <= out["first"]), "pulled in")
    how = how.mask(first_page.notna() & (first_page <= out["first"]), "paged")
    out["how"] = how
    out = out.reset_index().sort_values("first", kind="stable", ignore_index=True)
    return out[COLUMNS]


def full_names(actors: pd.Series, names: Directory) -> pd.Series:
    """Each actor by full name where the Slack directory knows it ("Priya" is "Priya Raman"),
    so a person is one name in every table and chart."""
    return actors.str.casefold().map(_by_full_name(names)).astype("string").fillna(actors)


def _by_full_name(names: Directory) -> dict[str, str]:
    by_full = {full.casefold(): full for full in names.full_names.values()}
    return by_full | {names.users[uid].casefold(): full for uid, full in names.full_names.items() if uid in names.users}


def _pages_by_person(pages: pd.DataFrame | None, by_full: dict[str, str]) -> pd.DataFrame:
    if pages is None or pages.empty:
        return pd.DataFrame({"person": pd.Series(dtype="string"), "ts": pd.Series(dtype="datetime64[ns, UTC]"), "off_hours": pd.Series(dtype="boolean")})
    name = pages["text"].str.extract(_NOTIFIED)["name"].astype("string")
    person = name.str.casefold().map(by_full).astype("string").fillna(name)
    return pages.assign(person=person).dropna(subset=["person"])[["person", "ts", "off_hours"]]


def _asked_by_person(pulled_in: pd.DataFrame | None, names: Directory) -> pd.Series:
    if pulled_in is None or pulled_in.empty:
        return pd.Series(dtype="datetime64[ns, UTC]")
    ids = pulled_in.assign(to=pulled_in["to"].fillna("").str.split()).explode("to")
    ids = ids[ids["to"].notna() & (ids["to"] != "")]
    person = ids["to"].map(names.full_names).astype("string").fillna(ids["to"].map(names.users).astype("string"))
    return ids.assign(person=person).dropna(subset=["person"]).groupby("person")["ts"].min()
