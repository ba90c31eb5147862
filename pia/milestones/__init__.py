"""Events to milestones: the moments that matter, each with its evidence, and the repeated
events of the response (hypotheses, pivots, escalations, status updates, directives).

Pure: takes an events DataFrame and an ``incident.toml`` dict, reads no files except the
packaged rules (and ``pia.toml`` when :func:`load_config` is given a data dir).

    >>> found = detect_incident(incident.events(), incident.meta)      # doctest: +SKIP
    >>> found.milestones                                                # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pia import integrations
from pia.events.slack import Directory
from pia.milestones import repeated
from pia.milestones.config import LABELS, MILESTONES, Config, Duration, Rule, load_config
from pia.milestones.detect import (
    Incidents,
    RuleSet,
    compile_rules,
    default_rules,
    manual_milestones,
    milestones,
    signals,
)
from pia.quality import DISAGREEMENT

__all__ = [
    "LABELS",
    "MILESTONES",
    "Config",
    "Detection",
    "Duration",
    "Rule",
    "RuleSet",
    "compile_rules",
    "detect_incident",
    "detect_incidents",
    "load_config",
    "manual_milestones",
    "milestones",
    "signals",
]


#: Candidates kept per milestone: the winner and the runners-up a reviewer may prefer.
RUNNERS_UP = 5


@dataclass
class Detection:
    """Milestones and repeated events of one incident (or several), as DataFrames.

    Made by :func:`detect_incident`; shows itself as tables in a notebook.

    Attributes
    ----------
    milestones : DataFrame
        One row per milestone found: ``milestone``, ``ts``, ``evidence_ts`` (when the message
        that set it was posted), ``source`` and ``rule`` (how it was found), ``ref``, ``text``.
    signals : DataFrame
        Each text rule or bot post that matched: the event's ``row``, ``label``, ``source``
        and ``rule``.
    hypotheses, escalations, status_updates, directives : DataFrame
        The repeated events of the response, one row each (``pivot`` marks a hypothesis that
        replaced a dropped one; ``gap`` is the wait before a status update; ``answered`` and
        ``answer_time`` say how a directive was answered).
    responders : DataFrame
        Who took part, and how they came in.
    commander : Series
        The incident commander's id per incident.
    notes : DataFrame
        Data-quality findings about the bots' posts.
    candidates : DataFrame
        Each milestone's winner (``rank`` 1) and runners-up, best first.

    Examples
    --------
    >>> import pia
    >>> incident = pia.open_incident("2026-11-20-login-outage")
    >>> found = pia.detect_incident(incident.events(), incident.meta)
    >>> found.at("restored")
    Timestamp('2026-11-20 14:53:00+0000', tz='UTC')
    >>> len(found.hypotheses), len(found.pivots)
    (5, 2)
    """

    milestones: pd.DataFrame
    signals: pd.DataFrame
    hypotheses: pd.DataFrame
    escalations: pd.DataFrame
    status_updates: pd.DataFrame
    directives: pd.DataFrame
    responders: pd.DataFrame
    commander: pd.Series = field(default_factory=lambda: pd.Series(dtype="string"))
    #: data-quality findings of the bots' posts (incident, check, ts, detail, ref)
    notes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=integrations.NOTE_COLUMNS)
    )
    #: the timeline as detection read it: bot posts credited to the people they name
    #: (:meth:`pia.integrations.Readings.credited`)
    events: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: The candidates as built, or a function that builds them when first asked for.
    _candidates: pd.DataFrame | Callable[[], pd.DataFrame] = field(
        default_factory=pd.DataFrame, repr=False
    )

    @property
    def candidates(self) -> pd.DataFrame:
        """Each milestone's candidates, best first: the one used (rank 1), then the runners-up
        a reviewer may prefer (time, evidence time, source, rule, who, ref and text)."""
        if callable(self._candidates):
            self._candidates = self._candidates()
        return self._candidates

    @property
    def pivots(self) -> pd.DataFrame:
        """The hypotheses that replaced a dropped one."""
        return self.hypotheses[self.hypotheses["pivot"]].reset_index(drop=True)

    def at(self, milestone: str, incident: str | None = None) -> pd.Timestamp | None:
        """The time of ``milestone`` (of ``incident``, or of the only incident), or None."""
        rows = self.milestones[self.milestones["milestone"] == milestone]
        if incident is not None:
            rows = rows[rows["incident"] == incident]
        return rows["ts"].iloc[0] if len(rows) else None

    def _repr_html_(self) -> str:
        parts = [
            _html_table(
                "Milestones", self.milestones, ["milestone", "ts", "source", "rule", "text"]
            )
        ]
        for title, frame, cols in (
            ("Hypotheses", self.hypotheses, ["ts", "actor", "pivot", "text"]),
            ("Escalations", self.escalations, ["ts", "source", "actor", "text"]),
            ("Status updates", self.status_updates, ["ts", "actor", "gap", "text"]),
            ("Directives", self.directives, ["ts", "to_name", "answered", "answer_time", "text"]),
        ):
            if len(frame):
                parts.append(_html_table(title, frame, cols))
        return "\n".join(parts)


def _html_table(title: str, frame: pd.DataFrame, columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns) + "</tr>"
        for _, row in frame[columns].iterrows()
    )
    return f"<h4>{html.escape(title)} ({len(frame)})</h4><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, pd.Timedelta):
        from pia.times import human_duration

        return human_duration(value)
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def _response_end(milestones: pd.DataFrame) -> pd.Series:
    """Each incident's end of response: when the message that showed the service back (or the
    resolve standing in for it) was posted."""
    back = milestones[(milestones["milestone"] == "restored").to_numpy(bool)]
    return pd.Series(
        back["evidence_ts"].array,
        index=back["incident"].to_numpy(object),
        dtype="datetime64[ns, UTC]",
    )


def _people(meta: Mapping[str, Any]) -> dict[str, str]:
    """PagerDuty user id -> Slack user id from incident.toml's ``[people]``."""
    table = meta.get("people") or {}
    if not isinstance(table, Mapping):
        return {}
    pairs = {
        k: (v if isinstance(v, str) else v.get("slack", ""))
        for k, v in table.items()
        if isinstance(v, (str, Mapping))
    }
    return {k: str(v) for k, v in pairs.items() if v}


def detect_incident(
    events: pd.DataFrame,
    meta: Mapping[str, Any] | None = None,
    config: Config | RuleSet | None = None,
    *,
    origin: str = "incident.toml",
) -> Detection:
    """Milestones and repeated events of one incident's timeline: the pipeline's third step.

    Pure: reads nothing but the packaged rules (where ``config`` is None).

    Parameters
    ----------
    events : DataFrame
        One incident's timeline, as :meth:`pia.Incident.events` gives it.
    meta : mapping, optional
        The ``incident.toml`` dict (``Incident.meta``): its ``[milestones]`` win over anything
        detected and its ``commander`` (a Slack user id) is the IC whose directives are tracked.
    config : Config or RuleSet, optional
        The rules (:func:`load_config`, which reads the data dir's ``pia.toml``); the
        packaged ones where None.
    origin : str
        The name of ``incident.toml`` in error messages.

    Returns
    -------
    Detection
        The milestones, each with its evidence and runners-up, and the hypotheses, pivots,
        escalations, status updates and directives.

    Raises
    ------
    ConfigError
        A manual milestone of ``meta`` is not a time with an offset, or names no milestone.

    Examples
    --------
    >>> import pia
    >>> incident = pia.open_incident("2026-11-20-login-outage")
    >>> found = pia.detect_incident(incident.events(), incident.meta, pia.load_config(pia.data_dir()))
    >>> found.milestones.set_index("milestone").loc["detected", ["ts", "source"]].tolist()
    [Timestamp('2026-11-20 14:05:12+0000', tz='UTC'), 'pagerduty']
    """
    meta = dict(meta or {})
    if "id" not in meta and len(events):
        meta["id"] = str(events["incident"].iloc[0])
    return detect_incidents(
        events, {str(meta.get("id", "")): meta}, config, origins={str(meta.get("id", "")): origin}
    )


def detect_incidents(
    events: pd.DataFrame,
    metas: Mapping[str, Mapping[str, Any]],
    config: Config | RuleSet | None = None,
    *,
    origins: Mapping[str, str] | None = None,
    directories: Mapping[str, Directory] | None = None,
) -> Detection:
    """Milestones and repeated events of many incidents at once, in one pass over all their
    events: what :func:`detect_incident` gives for each, faster.

    Parameters
    ----------
    events : DataFrame
        The incidents' timelines, concatenated (their ``incident`` column tells them apart).
    metas : mapping of str to mapping
        Each incident's ``incident.toml`` dict, by id.
    config : Config or RuleSet, optional
        The rules; the packaged ones where None.
    origins : mapping of str to str, optional
        Each ``incident.toml``'s name, by id, for error messages.
    directories : mapping of str to Directory, optional
        Each incident's Slack directory, to know the people a bot names who did nothing else.

    Returns
    -------
    Detection
        One for all of them: every frame has an ``incident`` column.

    Raises
    ------
    ConfigError
        A manual milestone of one of ``metas`` cannot be used.

    Examples
    --------
    >>> import pandas as pd, pia
    >>> incidents = [pia.open_incident(i) for i in pia.list_incidents()[:2]]
    >>> events = pd.concat([i.events() for i in incidents], ignore_index=True)
    >>> found = pia.detect_incidents(events, {i.id: i.meta for i in incidents})
    >>> found.milestones.groupby("incident").size().tolist()
    [11, 10]
    """
    rules = (
        config
        if isinstance(config, RuleSet)
        else compile_rules(config)
        if config
        else default_rules()
    )
    bots = integrations.read(events, rules.config.integrations, directories)
    # a bot's post is the act of the person it names, and a PagerDuty Slack app post the log
    # lacks is that log entry: read so everywhere, in the evidence as in the lists
    credited = bots.credited(events)
    said = signals(credited, rules)
    found = (
        pd.concat([said, bots.signals], ignore_index=True).sort_values(
            "row", kind="stable", ignore_index=True
        )
        if len(bots.signals)
        else said
    )
    manual = [
        manual_milestones({**meta, "id": i}, (origins or {}).get(i, "incident.toml"))
        for i, meta in metas.items()
        if meta.get("milestones")
    ]
    manual = [m for m in manual if len(m)]
    # incident.toml names the IC; else the platform's role assignment; else the first to speak
    named = {
        **bots.commanders,
        **{i: str(meta["commander"]) for i, meta in metas.items() if meta.get("commander")},
    }
    # every step groups by incident: the ids are hashed once, here
    incidents = Incidents.of(events)
    ic = repeated.commanders(events, named, incidents)
    picked = milestones(
        credited,
        found,
        pd.concat(manual, ignore_index=True) if manual else None,
        zone=rules.config.zone,
        runners_up=RUNNERS_UP,
        integrated=bots.evidence,
        incidents=incidents,
    )
    assert isinstance(picked, tuple)  # with runners-up asked for, the candidates come too
    table, candidates = picked
    disagreements = [
        n
        for n in (
            bots.notes,
            integrations.disagreements(events, said, bots.posts, DISAGREEMENT, incidents.codes),
        )
        if len(n)
    ]
    notes = pd.concat(disagreements, ignore_index=True) if disagreements else bots.notes
    return Detection(
        milestones=table,
        _candidates=candidates,
        signals=found,
        hypotheses=repeated.hypotheses(credited, found, _response_end(table), incidents),
        escalations=repeated.escalations(credited, found),
        status_updates=repeated.status_updates(credited, found, incidents),
        directives=repeated.directives(events, found, ic, incidents),
        responders=repeated.responders(
            credited, {i: _people(meta) for i, meta in metas.items()}, incidents
        ),
        events=credited,
        commander=ic,
        notes=notes.sort_values(["incident", "ts"], kind="stable", ignore_index=True),
    )
