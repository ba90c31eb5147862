"""Who responded: one row per person across Slack and PagerDuty, with how they came in.

A person's Slack and PagerDuty identities are joined by full name (Slack's ``real_name`` is
how PagerDuty shows a user), so "Priya" in the channel and "Priya Raman" in the log are one
responder, shown by full name, the same in every incident.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pia.events.slack import Directory

#: What a person does: speech, PagerDuty actions, and a bot's post of their act (``relayed``).
ACTS = (
    "message",
    "reply",
    "acknowledge",
    "assign",
    "escalate",
    "annotate",
    "resolve",
    "note",
    "reassign",
    "snooze",
    "relayed",
)
COLUMNS = [
    "person",
    "joined",
    "how",
    "first",
    "last",
    "messages",
    "actions",
    "pages",
    "off_hours_pages",
]
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
    incidents = pd.unique(events["incident"].astype(object))
    return rosters(events, dict.fromkeys(incidents, names), pulled_in=pulled_in, pages=pages)[
        COLUMNS
    ]


def rosters(
    events: pd.DataFrame,
    names: Mapping[str, Directory],
    *,
    pulled_in: pd.DataFrame | None = None,
    pages: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`roster` of many incidents at once, each with its own Slack directory
    (``names[incident]``): one row per (incident, person), incidents in the order of
    ``events``, each incident's people by first activity."""
    full = _lookup({i: _by_full_name(d) for i, d in names.items()})
    person = _person(full, events["incident"], events["actor"].str.casefold()).fillna(
        events["actor"]
    )
    # incident as plain objects, as in the lookups, so the (incident, person) keys align
    events = events.assign(incident=events["incident"].astype(object), person=person)
    acts = events[(events["is_human"] & events["kind"].astype(str).isin(ACTS)).to_numpy(bool)]
    if acts.empty:
        return pd.DataFrame(columns=["incident", *COLUMNS])
    speech = acts["kind"].astype(str).isin(["message", "reply"])
    keys = ["incident", "person"]
    grouped = acts.assign(speech=speech, action=~speech).groupby(keys, sort=False)
    out = grouped.agg(
        first=("ts", "min"),
        last=("ts", "max"),
        messages=("speech", "sum"),
        actions=("action", "sum"),
    )

    joins = events[(events["kind"] == "join").to_numpy(bool)].groupby(keys)["ts"].min()
    out["joined"] = (
        joins.reindex(out.index)
        .fillna(out["first"])
        .where(lambda j: j <= out["first"], out["first"])
    )

    page_rows = _pages_by_person(pages, full)
    by_page = page_rows.groupby(keys)
    first_page = by_page["ts"].min().reindex(out.index)
    out["pages"] = by_page.size().reindex(out.index).fillna(0).astype(int)
    off = (
        page_rows.assign(off=page_rows["off_hours"].fillna(False).astype(bool))
        .groupby(keys)["off"]
        .sum()
    )
    out["off_hours_pages"] = off.reindex(out.index).fillna(0).astype(int)

    asked = _asked_by_person(pulled_in, names).reindex(out.index)
    how = pd.Series("volunteered", index=out.index)
    how = how.mask(asked.notna() & (asked <= out["first"]), "pulled in")
    how = how.mask(first_page.notna() & (first_page <= out["first"]), "paged")
    out["how"] = how
    out = out.reset_index()
    rank = {incident: i for i, incident in enumerate(pd.unique(events["incident"]))}
    out = out.assign(_rank=out["incident"].map(rank)).sort_values(
        ["_rank", "first"], kind="stable", ignore_index=True
    )
    return out[["incident", *COLUMNS]].astype({"person": "string"})


def full_names(actors: pd.Series, names: Directory) -> pd.Series:
    """Each actor by full name where the Slack directory knows it ("Priya" is "Priya Raman"),
    so a person is one name in every table and chart."""
    return actors.str.casefold().map(_by_full_name(names)).astype("string").fillna(actors)


def _by_full_name(names: Directory) -> dict[str, str]:
    by_full = {full.casefold(): full for full in names.full_names.values()}
    return by_full | {
        names.users[uid].casefold(): full
        for uid, full in names.full_names.items()
        if uid in names.users
    }


def _lookup(tables: Mapping[str, Mapping[str, str]]) -> pd.Series:
    """Per-incident name tables as one Series indexed by (incident, key)."""
    pairs = {
        (incident, key): value for incident, table in tables.items() for key, value in table.items()
    }
    index = (
        pd.MultiIndex.from_tuples(list(pairs), names=["incident", "key"])
        if pairs
        else pd.MultiIndex.from_arrays([[], []], names=["incident", "key"])
    )
    return pd.Series(list(pairs.values()), index=index, dtype="string")


def _person(lookup: pd.Series, incident: pd.Series, key: pd.Series) -> pd.Series:
    """``lookup`` of each (incident, key) pair, aligned with ``key``; NA where it has none."""
    wanted = pd.MultiIndex.from_arrays(
        [incident.astype(object).to_numpy(), key.astype(object).to_numpy()]
    )
    return pd.Series(lookup.reindex(wanted).to_numpy(), index=key.index, dtype="string")


def _pages_by_person(pages: pd.DataFrame | None, full: pd.Series) -> pd.DataFrame:
    if pages is None or pages.empty:
        return pd.DataFrame(
            {
                "incident": pd.Series(dtype=object),
                "person": pd.Series(dtype="string"),
                "ts": pd.Series(dtype="datetime64[ns, UTC]"),
                "off_hours": pd.Series(dtype="boolean"),
            }
        )
    name = pages["text"].str.extract(_NOTIFIED)["name"].astype("string")
    person = _person(full, pages["incident"], name.str.casefold()).fillna(name)
    return pages.assign(incident=pages["incident"].astype(object), person=person).dropna(
        subset=["person"]
    )[["incident", "person", "ts", "off_hours"]]


def _asked_by_person(pulled_in: pd.DataFrame | None, names: Mapping[str, Directory]) -> pd.Series:
    if pulled_in is None or pulled_in.empty:
        return pd.Series(dtype="datetime64[ns, UTC]")
    ids = pulled_in.assign(to=pulled_in["to"].fillna("").str.split()).explode("to")
    ids = ids[ids["to"].notna() & (ids["to"] != "")]
    full = _lookup({i: dict(d.full_names) for i, d in names.items()})
    short = _lookup({i: dict(d.users) for i, d in names.items()})
    person = _person(full, ids["incident"], ids["to"]).fillna(
        _person(short, ids["incident"], ids["to"])
    )
    return (
        ids.assign(incident=ids["incident"].astype(object), person=person)
        .dropna(subset=["person"])
        .groupby(["incident", "person"])["ts"]
        .min()
    )
