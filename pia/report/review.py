"""The incident review: everything the report notebook shows, one method per section.

``Review.load`` reads the snapshot once and runs the analysis. Each section method returns a
small object that renders itself (HTML in which every outside string is escaped, charts as
embedded PNG), so a notebook cell is one call. The ``*_table`` methods give the same content as
plain DataFrames, which the Markdown postmortem draft (:meth:`Review.postmortem`) reuses.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from pia.errors import PiaError
from pia.events.slack import Directory
from pia.metrics import IncidentMetrics, measure_incident, records
from pia.milestones import MILESTONES, Detection, load_config
from pia.people import full_names, roster
from pia.privacy import scrub
from pia.privacy.pseudonyms import for_incident
from pia.privacy.redact import load_redactor
from pia.quality import findings, milestone_findings
from pia.report.html import Section, link, said, table, text
from pia.report.markdown import Draft, md_link, md_said, render_draft
from pia.snapshot import Incident, open_incident
from pia.snapshot import data_dir as resolve_data_dir
from pia.times import TimeLike, as_utc, human_duration

#: The review text keys of ``incident.toml [review]``, with their headings, in report order.
REVIEW_FIELDS = {
    "summary": "Summary",
    "impact": "Impact",
    "detection": "Detection",
    "trigger": "Trigger",
    "root_cause": "Root cause",
    "resolution": "Resolution",
    "went_well": "What went well",
    "went_wrong": "What went wrong",
    "got_lucky": "Where we got lucky",
}

#: How a censored value (an open incident's, cut at as_of) is written: "≥ 1h 17m".
CENSORED = "≥ "

#: Section headings in report order; the browser test checks each one is on the page.
SECTIONS = (
    "Durations",
    "Timeline",
    "Key events",
    "Responders",
    "Hypotheses",
    "Communication",
    "IC directives",
    "Review",
    "Action items",
    "Data quality",
)


def _zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise PiaError(
            f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin or UTC)"
        ) from None
    return tz


def _note(message: str) -> str:
    return f'<p class="note">{text(message)}</p>'


def _caveat(detail: str, before: str = "") -> str:
    """A data-quality finding beside the value it affects, after ``before``; '' where there is none."""
    return f'{before}<span class="caveat">⚠ {text(detail)}</span>' if detail else ""


def _placeholder(key: str, where: str = "[review]") -> str:
    return f"Not written yet: add {key} under {where} in incident.toml."


@dataclass
class Review:
    """One incident's review, ready to show: what the review notebook and its HTML report are
    made of.

    Made by :meth:`load`. Each section method (``header``, ``durations``, ``timeline``,
    ``key_events``, ``responders``, ``hypotheses``, ``communication``, ``directives``,
    ``review_text``, ``action_items``, ``data_quality``) returns the HTML the report shows;
    the ``*_table`` methods give the same content as DataFrames, and :meth:`postmortem` the
    Markdown draft. Everything shown has secrets masked (and names replaced where asked).

    Attributes
    ----------
    incident : Incident
        The snapshot, its ``incident.toml`` masked.
    events : DataFrame
        The timeline, masked.
    metrics : IncidentMetrics
        Detection, durations, pages and the metrics row, masked.
    as_of : Timestamp or None
        Where an open incident's durations are censored.
    tz : str
        The display zone.
    cadence_minutes : float
        The target wait between stakeholder updates.

    Examples
    --------
    >>> import pia
    >>> review = pia.Review.load("2026-11-20-login-outage", tz="Europe/Berlin")
    >>> review.facts()["start"], review.facts()["duration"]
    ('2026-11-20 15:02:00', '1h 22m')
    >>> review.hypotheses_table().query("outcome == 'led to the fix'")["time"].tolist()
    ['15:39:02']
    """

    incident: Incident
    events: pd.DataFrame
    metrics: IncidentMetrics
    as_of: pd.Timestamp | None
    tz: str
    cadence_minutes: float
    directory: Directory

    @classmethod
    def load(
        cls,
        incident_id: str,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        as_of: TimeLike | None = None,
        tz: str = "UTC",
        redact: bool = True,
        pseudonymise: bool = False,
        pseudonyms: str | os.PathLike[str] | None = None,
    ) -> Review:
        """Read and analyse one incident, then mask what will be shown.

        Detection runs on the original text (with the data dir's ``pia.toml``); only what is
        shown is changed.

        Parameters
        ----------
        incident_id : str
            The incident.
        data_dir : str or PathLike, optional
            The data dir (see :func:`pia.data_dir`).
        as_of : str or Timestamp, optional
            ISO 8601 with an offset: where an open incident's durations are censored. Without
            it, an open incident is censored at its last recorded event, so the same snapshot
            always gives the same report.
        tz : str
            The display zone (an IANA name).
        redact : bool
            Mask secrets pasted into the channel (tokens, keys, passwords).
        pseudonymise : bool
            Replace people's names by ``IC``, ``Responder 1``, …
        pseudonyms : str or PathLike, optional
            A TOML file of ``"Real Name" = "Alias"`` (implies ``pseudonymise``).

        Returns
        -------
        Review

        Raises
        ------
        UnknownIncident
            No snapshot by that id.
        InputError
            A file of the snapshot, ``pia.toml`` or the pseudonyms file is malformed.
        PiaError
            An unknown time zone or a bad ``as_of``.

        Examples
        --------
        >>> import pia
        >>> review = pia.Review.load("2026-11-24-search-latency", as_of="2026-11-24T12:00:00Z")
        >>> review.status, str(review.as_of)
        ('open', '2026-11-24 12:00:00+00:00')
        """
        root = resolve_data_dir(data_dir)
        tz = _zone(tz)
        stamp = as_utc(as_of)
        config = load_config(root)
        incident = open_incident(incident_id, root)
        measured = measure_incident(incident, config, as_of=stamp)
        if stamp is None and measured.row.get("status") == "open" and len(measured.events):
            stamp = measured.events["ts"].max()
            measured = measure_incident(incident, config, as_of=stamp)
        cadence = float(incident.meta.get("status_update_minutes") or config.cadence_minutes)
        names = incident.directory()
        redactor = load_redactor(root) if redact else None
        aliases = None
        if pseudonymise or pseudonyms is not None:
            commander = (
                str(measured.detection.commander.iloc[0])
                if len(measured.detection.commander)
                else ""
            )
            aliases = for_incident(
                incident, measured.events, root, commander=commander, mapping_file=pseudonyms
            )
            names = aliases.directory(names)
        if redactor is not None:
            names = scrub.directory(names, redactor)
        if redactor is not None or aliases is not None:
            measured = scrub.result(measured, redactor, aliases)
            incident = replace(incident, meta=scrub.meta(incident.meta, redactor, aliases))
        return cls(incident, measured.events, measured, stamp, tz, cadence, names)

    # --- helpers ---------------------------------------------------------------------------

    @property
    def detection(self) -> Detection:
        return self.metrics.detection

    def at(self, milestone: str) -> pd.Timestamp | None:
        return self.detection.at(milestone)

    def local(self, ts: Any) -> str:
        """A UTC time in the display zone, ``YYYY-MM-DD HH:MM:SS`` ('' when missing)."""
        if ts is None or pd.isna(ts):
            return ""
        return pd.Timestamp(ts).tz_convert(self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def clock(self, ts: Any) -> str:
        """A time in the display zone as ``HH:MM:SS`` on the day of detection (the header gives
        the date), with its date on any other day."""
        shown, start = self.local(ts), self.local(self.at("detected"))
        return shown[11:] if shown and start and shown[:10] == start[:10] else shown

    def stated(self, ts: Any, evidence_ts: Any) -> str:
        """``stated in a message at 15:10:12`` where a milestone's time (``ts``) was stated in
        a message posted at another time (``evidence_ts``); '' where they are the same. The
        date is given only where it differs from the milestone's."""
        if (
            ts is None
            or evidence_ts is None
            or pd.isna(ts)
            or pd.isna(evidence_ts)
            or ts == evidence_ts
        ):
            return ""
        when, posted = self.local(ts), self.local(evidence_ts)
        return f"stated in a message at {posted[11:] if posted[:10] == when[:10] else posted}"

    def since_detection(self, ts: Any) -> str:
        """``T+hh:mm`` from detection (``T-hh:mm`` before it), whole minutes toward zero as
        durations are written: 3m 12s before detection is ``T-00:03``."""
        start = self.at("detected")
        if ts is None or pd.isna(ts) or start is None:
            return ""
        seconds = int((pd.Timestamp(ts) - start).total_seconds())
        hours, mins = divmod(abs(seconds) // 60, 60)
        return f"T{'-' if seconds < 0 else '+'}{hours:02d}:{mins:02d}"

    @property
    def status(self) -> str:
        return str(self.metrics.row.get("status", "open"))

    @property
    def commander(self) -> str:
        ids = self.detection.commander
        who = str(ids.iloc[0]) if len(ids) else str(self.incident.meta.get("commander") or "")
        if who in self.directory.full_names:
            return self.directory.full_names[who]
        if who in self.directory.users:
            return self.directory.users[who]
        acted = self.events.loc[self.events["actor_id"] == who, "actor"]  # a PagerDuty user id
        return str(acted.iloc[0]) if len(acted) else who

    def person(self, names: pd.Series) -> pd.Series:
        """People by the one name the report uses for them everywhere: the full name where the
        Slack directory knows it ("Priya" is "Priya Raman"), as the responders table does."""
        return full_names(names.fillna("").astype("string"), self.directory)

    def with_names(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (the events, the hypotheses, ...) with its ``actor`` column in the one name
        the report uses per person (see :meth:`person`), as the timeline chart draws them."""
        return frame.assign(actor=self.person(frame["actor"]))

    @functools.cached_property
    def caveats(self) -> pd.DataFrame:
        """Data-quality findings about the milestones (see :func:`pia.quality.milestone_findings`),
        each with the ``milestones`` it affects, shown next to the numbers built on them."""
        events = self.with_names(self.events)
        return milestone_findings(
            self.detection.milestones,
            events,
            commander_named=bool(self.incident.meta.get("commander")),
        )

    def caveat(self, *milestones: str) -> str:
        """The findings that affect any of ``milestones``, as one line ('' where none)."""
        hit = (
            self.caveats["milestones"]
            .str.split(",")
            .map(lambda names: bool(set(names) & set(milestones)))
        )
        return "; ".join(self.caveats.loc[hit.astype(bool), "short"])

    @property
    def title(self) -> str:
        return str(self.incident.meta.get("title") or self.incident.id)

    def facts(self) -> dict[str, str]:
        """The header's facts as plain text."""
        meta = self.incident.meta
        start = self.at("impact_start") or self.at("detected")
        end = self.at("resolved") if self.status == "resolved" else None
        if start is not None and end is not None:
            duration = human_duration(end - start)
        elif start is not None and self.as_of is not None:
            duration = f"{CENSORED}{human_duration(self.as_of - start)} (still open at {self.local(self.as_of)})"
        else:
            duration = "–"
        return {
            "id": self.incident.id,
            "severity": str(meta.get("severity", "")),
            "services": ", ".join(str(s) for s in meta.get("services", []) or []),
            "status": self.status,
            "start": self.local(start),
            "end": self.local(end),
            "duration": duration,
            "commander": self.commander,
            "tz": self.tz,
        }

    # --- tables: the content, as DataFrames ------------------------------------------------

    def durations_table(self) -> pd.DataFrame:
        """Each duration's value and status, and its two ends as ``milestone time``."""
        frame = self.metrics.durations.frame
        at = self.detection.milestones.set_index("milestone")["ts"]

        def end(name: str) -> str:
            label = name.replace("_", " ")
            return (
                f"{label} {self.local(at[name])[11:]}"
                if name in at.index
                else f"{label}: not found"
            )

        return pd.DataFrame(
            {
                "name": frame["duration"].str.replace("_", " "),
                "value": frame["value"]
                .map(human_duration)
                .mask(frame["status"] == "censored", lambda v: CENSORED + v),
                "status": frame["status"],
                "start": frame["start_milestone"].map(end),
                "end": frame["end_milestone"].map(end),
                "note": [
                    self.caveat(a, b)
                    for a, b in zip(frame["start_milestone"], frame["end_milestone"], strict=True)
                ],
            }
        )

    def censored_note(self) -> str:
        """What ``≥`` means on this page."""
        when = f" at {self.local(self.as_of)}" if self.as_of is not None else ""
        return f"{CENSORED.strip()}: the incident is still open; the value is censored{when} (as_of), so the real duration is at least this long."

    def milestones_table(self) -> pd.DataFrame:
        """Each milestone found: when, how it was found (source and rule) and its evidence."""
        found = self.detection.milestones.dropna(subset=["ts"])
        posted = found["evidence_ts"] if "evidence_ts" in found else found["ts"]
        return pd.DataFrame(
            {
                "milestone": found["milestone"].str.replace("_", " "),
                "time": found["ts"].map(self.local),
                "stated": [self.stated(t, e) for t, e in zip(found["ts"], posted, strict=True)],
                "T": found["ts"].map(self.since_detection),
                "found by": found["source"].astype(str)
                + " · "
                + found["rule"].fillna("").astype(str),
                "evidence": found["text"].fillna(""),
                "ref": found["ref"].fillna(""),
                "key": found["milestone"].astype(str),
            }
        )

    def candidates_table(self) -> pd.DataFrame:
        """Each milestone's runners-up, best first (the winner is in :meth:`milestones_table`):
        when (and when stated), who, how it was found and the text. A reviewer who prefers one
        writes its time into ``incident.toml [milestones]``, which wins."""
        found = self.detection.candidates
        columns = ["key", "milestone", "rank", "time", "stated", "who", "found by", "text", "ref"]
        if found.empty:
            return pd.DataFrame(columns=columns)
        found = found[found["rank"] > 1]
        return pd.DataFrame(
            {
                "key": found["milestone"].astype(str),
                "milestone": found["milestone"].astype(str).str.replace("_", " "),
                "rank": found["rank"].astype(int),
                "time": found["ts"].map(self.local),
                "stated": [
                    self.stated(t, e)
                    for t, e in zip(found["ts"], found["evidence_ts"], strict=True)
                ],
                "who": self.person(found["actor"]),
                "found by": found["source"].astype(str)
                + " · "
                + found["rule"].fillna("").astype(str),
                "text": found["text"].fillna("").astype(str),
                "ref": found["ref"].fillna("").astype(str),
            },
            columns=columns,
        ).reset_index(drop=True)

    def key_events_table(self) -> pd.DataFrame:
        """The story in time order, one row per evidence message naming every milestone and
        event it marks: milestones, hypotheses and pivots, what was ruled out, mitigations that
        did not help and the one that worked, escalations and status updates."""
        d = self.detection
        marks = d.milestones.dropna(subset=["ts"])
        posted = marks["evidence_ts"].fillna(marks["ts"]) if "evidence_ts" in marks else marks["ts"]
        stated = pd.Series(
            [self.stated(t, e) for t, e in zip(marks["ts"], posted, strict=True)],
            index=marks.index,
            dtype=object,
        )
        # a milestone stated in a message ("normal since 14:53") sits at the message, with its own time
        named = marks["milestone"].str.replace("_", " ") + [
            f" at {self.local(t)[11:]}" if s else ""
            for t, s in zip(marks["ts"], stated, strict=True)
        ]
        said = self._said()
        parts = [
            marks.assign(ts=posted, what=named),
            d.hypotheses.assign(
                what=d.hypotheses["pivot"].map({True: "pivot", False: "hypothesis"})
            ),
            said[said["label"] == "dropped"].assign(what="ruled out"),
            self._mitigations(said),
            d.escalations.assign(what="escalation"),
            d.status_updates.assign(what="status update"),
        ]
        columns = ["ts", "what", "actor", "text", "ref"]
        rows = pd.concat(
            [p.reindex(columns=columns).astype(object) for p in parts if len(p)], ignore_index=True
        )
        rows = rows.dropna(subset=["ts"]).sort_values("ts", kind="stable")
        # one row per message: a manual milestone (no message) keeps a row of its own
        rows["key"] = (
            rows["ref"]
            .fillna("")
            .where(rows["ref"].fillna("") != "", "row:" + rows.index.astype(str))
        )
        grouped = rows.groupby("key", sort=False).agg(
            ts=("ts", "min"),
            what=("what", _marks),
            actor=("actor", "first"),
            text=("text", "first"),
            ref=("ref", "first"),
        )
        grouped = grouped.sort_values("ts", kind="stable")
        # milestones carry their evidence's ref; the event behind it says who
        who = self.events.drop_duplicates("ref").set_index("ref")["actor"]
        actor = grouped["actor"].fillna(grouped["ref"].map(who))
        return pd.DataFrame(
            {
                "time": grouped["ts"].map(self.clock),
                "T": grouped["ts"].map(self.since_detection),
                "what": grouped["what"],
                "who": self.person(actor.astype("string")),
                "evidence": grouped["text"].fillna(""),
                "ref": grouped["ref"].fillna(""),
            }
        ).reset_index(drop=True)

    def _said(self) -> pd.DataFrame:
        """The text-rule signals of this incident with the message each came from."""
        found = self.detection.signals
        if found.empty:
            return pd.DataFrame(columns=["ts", "actor", "text", "ref", "label", "row"])
        picked = self.events.iloc[found["row"].to_numpy()]
        return pd.DataFrame(
            {
                "ts": picked["ts"].to_numpy(),
                "actor": picked["actor"].to_numpy(),
                "text": picked["text"].to_numpy(),
                "ref": picked["ref"].to_numpy(),
                "label": found["label"].to_numpy(),
                "row": found["row"].to_numpy(),
            }
        )

    def _mitigations(self, said: pd.DataFrame) -> pd.DataFrame:
        """Remedies announced that did not help (the last one before something was ruled out,
        while the cause was still unknown) and the one that worked (the first after the
        hypothesis that led to the fix). Messages that state a hypothesis or update stakeholders
        are not remedies here, though they may name one."""
        other = said.loc[said["label"].isin(["hypothesis", "status_update"]), "row"]
        remedies = said[(said["label"] == "mitigation") & ~said["row"].isin(other)].sort_values(
            "ts"
        )
        started, fixed = self.at("mitigation_started"), self.at("working_hypothesis")
        if remedies.empty or started is None:
            return remedies.iloc[:0]
        until = fixed or self.at("mitigated") or self.at("restored")
        drops = said.loc[(said["label"] == "dropped") & (said["ts"] > started), "ts"]
        if until is not None:
            drops = drops[drops < until]
        tried = remedies[remedies["ts"] >= started]
        last_before = np.searchsorted(tried["ts"].to_numpy(), drops.to_numpy(), side="left") - 1
        failed = tried.iloc[np.unique(last_before[last_before >= 0])]
        parts = [failed.assign(what="mitigation did not help")]
        if fixed is not None:
            end = self.at("mitigated") or self.at("restored") or self.at("resolved")
            worked = remedies[
                (remedies["ts"] > fixed) & ((remedies["ts"] <= end) if end is not None else True)
            ].head(1)
            parts.append(worked.assign(what="mitigation that worked"))
        return pd.concat(parts, ignore_index=True)

    def responders_table(self) -> pd.DataFrame:
        people = roster(
            self.events,
            self.directory,
            pulled_in=self.detection.escalations,
            pages=self.metrics.pages,
        )
        return people.assign(**{c: people[c].map(self.local) for c in ("joined", "first", "last")})

    def hypotheses_table(self) -> pd.DataFrame:
        hyps = self.detection.hypotheses
        fixed = self.at("working_hypothesis") or self.at("mitigated") or self.at("restored")
        outcome: pd.Series | list[str] = hypothesis_outcomes(hyps, fixed) if len(hyps) else []
        return hyps.assign(
            time=hyps["ts"].map(self.clock),
            T=hyps["ts"].map(self.since_detection),
            outcome=outcome,
            actor=self.person(hyps["actor"]),
        )

    def updates_table(self) -> pd.DataFrame:
        """Status updates with the wait before each (the first from detection)."""
        updates = self.detection.status_updates
        gaps = updates["ts"].diff()
        start = self.at("detected")
        if len(updates) and start is not None:
            gaps.iloc[0] = updates["ts"].iloc[0] - start
        late = gaps > pd.Timedelta(minutes=self.cadence_minutes)
        return updates.assign(
            time=updates["ts"].map(self.clock),
            actor=self.person(updates["actor"]),
            gap=gaps,
            wait=gaps.map(human_duration),
            late=late,
        )

    def directives_table(self) -> pd.DataFrame:
        asks = self.detection.directives
        answer = asks["answer_time"].map(human_duration).where(asks["answered"], "no reply")
        return asks.assign(
            time=asks["ts"].map(self.clock),
            answer=answer,
            actor=self.person(asks["actor"]),
            to_name=self.person(asks["to_name"]),
        )

    def quality_lines(self) -> list[str]:
        """Every data-quality finding as one line of text."""
        lines = []
        missing = [m for m in MILESTONES if m != "impact_start" and self.at(m) is None]
        if missing:
            suffix = " (the incident is still open)" if self.status == "open" else ""
            lines.append(
                "Missing milestones: " + ", ".join(m.replace("_", " ") for m in missing) + suffix
            )
        lines += list(self.metrics.durations.warnings)
        lines += [f"{r.check}: {r.detail}" for r in self.caveats.itertuples()]
        found = findings(self.events, until=self.at("resolved") or self.as_of)
        lines += [f"{self.local(r.ts)} {r.check}: {r.detail}" for r in found.itertuples()]
        lines += [
            f"{self.local(r.ts)} {r.check}: {r.detail}" for r in self.detection.notes.itertuples()
        ]
        return lines

    # --- sections: HTML --------------------------------------------------------------------

    def header(self) -> Section:
        """Title, id, severity, services, status, start and end, total duration, IC."""
        f = self.facts()
        rows = [
            ("Incident", text(f["id"])),
            ("Severity", text(f["severity"]) or '<span class="placeholder">not set</span>'),
            ("Services", text(f["services"]) or "–"),
            ("Status", f'<span class="badge {text(f["status"])}">{text(f["status"])}</span>'),
            ("Start", text(f["start"]) or "–"),
            ("End", text(f["end"]) or "–"),
            ("Duration", text(f["duration"])),
            (
                "Incident commander",
                (text(f["commander"]) or '<span class="placeholder">unknown</span>')
                + _caveat(self.caveat("commander"), " "),
            ),
            ("Time zone", text(f["tz"])),
        ]
        paged = self.incident.pagerduty_incident()
        if paged:
            rows.append(
                ("PagerDuty", link(paged["html_url"], f"#{paged['number'] or paged['id']}"))
            )
        grid = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
        return Section(self.title, f'<dl class="meta">{grid}</dl>', level=1)

    def durations(self) -> Section:
        """Every duration, censored and missing values marked, then every milestone with the
        message or log entry that set it."""
        rows = self.durations_table()
        if rows.empty:
            return Section("Durations", _note("No durations are configured."))

        def value(row: pd.Series) -> str:
            if row["status"] == "censored":
                return f'<span class="flag-censored" title="{text(self.censored_note())}">{text(row["value"])}</span>'
            if row["value"] == "–":
                return f'<span class="flag-missing">{text(row["status"])}</span>'
            return text(row["value"])

        shown = ["name", "value", "start", "end"] + (["note"] if rows["note"].any() else [])
        body = table(
            rows,
            shown,
            cells={"value": value, "note": lambda r: _caveat(r["note"])},
            numeric=["value"],
            headers={"name": "duration", "start": "from", "end": "to", "note": "data quality"},
        )
        notes = [self.censored_note()] if (rows["status"] == "censored").any() else []
        notes += (
            ["Missing: the milestone never happened or was not found."]
            if (rows["status"] == "missing").any()
            else []
        )
        body += "".join(_note(n) for n in notes)
        body += "<h3>Milestones and their evidence</h3>"
        found = self.milestones_table()
        others = dict(iter(self.candidates_table().groupby("key", sort=False)))

        def when(row: pd.Series) -> str:
            note = f'<br><span class="stated">{text(row["stated"])}</span>' if row["stated"] else ""
            return text(row["time"]) + note

        def evidence(row: pd.Series) -> str:
            shown = (
                said(row["evidence"], row["ref"])
                if row["evidence"]
                else '<span class="note">set in incident.toml</span>'
            )
            return shown + _runners_up(others.get(row["key"]), day=row["time"][:10])

        body += table(
            found,
            ["milestone", "time", "T", "found by", "evidence"],
            cells={"time": when, "evidence": evidence},
            numeric=["T"],
            empty="No milestone was found.",
        )
        if len(found):
            body += _note(
                "Times stated in a message (\"normal since 14:53\") are the milestone's time; the message's own time is given "
                "below it. Other candidates: the runners-up of each milestone, best first. A value in incident.toml "
                "[milestones] wins over anything detected: write a runner-up's time there to use it."
            )
        return Section("Durations", body)

    def timeline(self) -> Section:
        """Lanes per responder, milestones as lines, the impact window shaded."""
        from pia.report import charts  # matplotlib only where a chart is drawn

        chart = charts.timeline_chart(
            self.with_names(self.events),
            self.detection.milestones,
            tz=self.tz,
            hypotheses=self.with_names(self.detection.hypotheses),
        )
        return Section("Timeline", chart._repr_html_() if chart else _note("No events to chart."))

    def key_events(self) -> Section:
        """Key events in local time and as T+hh:mm from detection."""
        rows = self.key_events_table()
        body = table(
            rows,
            ["time", "T", "what", "who", "evidence"],
            cells={"evidence": lambda r: said(r["evidence"], r["ref"])},
            numeric=["T"],
            one_line=["time", "who"],
            empty="No key events were found.",
        )
        return Section("Key events", body)

    def responders(self) -> Section:
        """Who joined when and how (paged, pulled in, volunteered), messages each, first and
        last activity, off-hours pages."""
        body = table(
            self.responders_table(),
            numeric=["messages", "actions", "pages", "off_hours_pages"],
            empty="No human responded in the data.",
            headers={
                "how": "came in",
                "first": "first act",
                "last": "last act",
                "off_hours_pages": "off-hours pages",
            },
        )
        return Section("Responders", body)

    def hypotheses(self) -> Section:
        """Each hypothesis: who, when, and what became of it."""
        rows = self.hypotheses_table()
        if rows.empty:
            return Section("Hypotheses", _note("No stated hypothesis was found."))
        pivots = int(rows["pivot"].sum())
        summary = f"<p>{len(rows)} hypotheses, {pivots} pivot{'' if pivots == 1 else 's'}.</p>"
        body = table(
            rows,
            ["time", "T", "actor", "hypothesis", "outcome"],
            headers={"actor": "who"},
            cells={"hypothesis": lambda r: said(r["text"], r["ref"])},
            numeric=["T"],
            one_line=["time", "actor"],
        )
        return Section("Hypotheses", summary + body)

    def communication(self) -> Section:
        """Stakeholder updates and the gaps between them against the target cadence."""
        rows = self.updates_table()
        body = f"<p>{text(self.communication_summary(rows))}</p>"
        if rows.empty:
            return Section("Communication", body)
        body += table(
            rows.assign(on_time=rows["late"].map({True: "late", False: "on time"})),
            ["time", "actor", "wait", "on_time", "update"],
            headers={"actor": "who", "wait": "waited", "on_time": "cadence"},
            numeric=["wait"],
            one_line=["time", "actor"],
            cells={"update": lambda r: said(r["text"], r["ref"])},
        )
        from pia.report import charts

        chart = charts.cadence_chart(rows, target_minutes=self.cadence_minutes, tz=self.tz)
        body += chart._repr_html_() if chart else ""
        return Section("Communication", body)

    def communication_summary(self, rows: pd.DataFrame) -> str:
        target = f"target: one every {self.cadence_minutes:g} minutes"
        if rows.empty:
            return f"No stakeholder update was found ({target})."
        return f"{len(rows)} updates; {target}; {int(rows['late'].sum())} came late."

    def directives(self) -> Section:
        """The IC's directives and how fast each was answered."""
        rows = self.directives_table()
        if rows.empty:
            return Section("IC directives", _note("No directive from the IC was found."))
        answered = rows[rows["answered"]]
        median = human_duration(answered["answer_time"].median()) if len(answered) else "–"
        summary = f"<p>{len(rows)} directives, {len(answered)} answered; median answer time {text(median)}.</p>"
        body = table(
            rows,
            ["time", "actor", "to_name", "directive", "answer"],
            headers={"actor": "from", "to_name": "to"},
            one_line=["time", "actor", "to_name"],
            cells={
                "directive": lambda r: said(r["text"], r["ref"]),
                "answer": lambda r: (
                    link(r["answer_ref"], r["answer"]) if r["answered"] else text(r["answer"])
                ),
            },
        )
        return Section("IC directives", summary + body)

    def review_text(self) -> Section:
        """The prose of ``incident.toml [review]``, with placeholders where it is empty."""
        review = self.incident.meta.get("review") or {}
        blocks = []
        for key, heading in REVIEW_FIELDS.items():
            value = review.get(key)
            if isinstance(value, list) and value:
                body = "<ul>" + "".join(f"<li>{text(v)}</li>" for v in value) + "</ul>"
            elif value and not isinstance(value, list):
                body = f'<p class="text">{text(value)}</p>'
            else:
                body = f'<p class="placeholder">{text(_placeholder(key))}</p>'
            blocks.append(f"<h3>{text(heading)}</h3>{body}")
        return Section("Review", "".join(blocks))

    def action_items(self) -> Section:
        """Action items with owner, type and link."""
        items = self.action_items_table()
        if items.empty:
            return Section(
                "Action items", f'<p class="placeholder">{text(_placeholder("action_items"))}</p>'
            )
        return Section(
            "Action items",
            table(
                items,
                ["title", "owner", "type"],
                cells={"title": lambda r: link(r["url"], r["title"])},
            ),
        )

    def action_items_table(self) -> pd.DataFrame:
        items = (self.incident.meta.get("review") or {}).get("action_items") or []
        rows = [i if isinstance(i, dict) else {"title": i} for i in items]
        return pd.DataFrame(rows).reindex(columns=["title", "owner", "type", "url"]).fillna("")

    def data_quality(self) -> Section:
        """Missing milestones, edits and deletions, long silences, Slack and PagerDuty
        disagreeing, events and milestones out of order."""
        lines = self.quality_lines()
        if not lines:
            return Section("Data quality", _note("No data-quality problems found."))
        return Section(
            "Data quality", "<ul>" + "".join(f"<li>{text(line)}</li>" for line in lines) + "</ul>"
        )

    # --- the Markdown draft ----------------------------------------------------------------

    def postmortem(self) -> Draft:
        """The postmortem draft (Markdown, for a wiki) with the same content as the report."""
        durations = self.durations_table()
        hyps = self.hypotheses_table()
        updates = self.updates_table()
        asks = self.directives_table()
        context = {
            "title": self.title,
            **self.facts(),
            "commander_note": self.caveat("commander"),
            "review": {
                key: (self.incident.meta.get("review") or {}).get(key) for key in REVIEW_FIELDS
            },
            "durations": [
                dict(r, value=r["status"] if r["value"] == "–" else r["value"])
                for r in records(durations)
            ],
            "censored_note": self.censored_note()
            if (durations["status"] == "censored").any()
            else "",
            "milestones": [
                dict(
                    r,
                    time=r["time"] + (f" ({r['stated']})" if r["stated"] else ""),
                    evidence=md_said(r["evidence"], r["ref"])
                    if r["evidence"]
                    else "set in incident.toml",
                )
                for r in records(self.milestones_table())
            ],
            "runners_up": [
                {
                    "milestone": name,
                    "candidates": [
                        dict(
                            r,
                            time=r["time"] + (f" ({r['stated']})" if r["stated"] else ""),
                            text=md_said(r["text"], r["ref"]),
                        )
                        for r in records(rows)
                    ],
                }
                for name, rows in self.candidates_table().groupby("milestone", sort=False)
            ],
            "key_events": [
                dict(r, evidence=md_said(r["evidence"], r["ref"]))
                for r in records(self.key_events_table())
            ],
            "responders": records(self.responders_table()),
            "hypotheses": [dict(r, text=md_said(r["text"], r["ref"])) for r in records(hyps)],
            "communication": self.communication_summary(updates),
            "updates": [dict(r, text=md_said(r["text"], r["ref"])) for r in records(updates)],
            "directives": [
                {"time": r["time"], "to": r["to_name"], "text": r["text"], "answer": r["answer"]}
                for r in records(asks)
            ],
            "action_items": [
                dict(r, title=md_link(r["url"], r["title"]))
                for r in records(self.action_items_table())
            ],
            "quality": self.quality_lines(),
        }
        return render_draft(context)


#: labels that a more specific one on the same message makes redundant
_IMPLIED = {"hypothesis": ("first hypothesis", "working hypothesis", "pivot")}


def _marks(labels: pd.Series) -> str:
    """The labels of one message as one cell: each once, in time order, none that a more
    specific one implies."""
    unique = list(dict.fromkeys(labels))
    return ", ".join(
        u
        for u in unique
        if not any(i in unique or any(x.startswith(i) for x in unique) for i in _IMPLIED.get(u, ()))
    )


def _runners_up(rows: pd.DataFrame | None, *, day: str = "") -> str:
    """A milestone's runners-up as a ``<details>`` list (closed on screen, open in print),
    every outside string escaped; '' where there are none. Times on ``day`` (the winner's
    date) show without their date."""
    if rows is None or rows.empty:
        return ""
    items = []
    for _, r in rows.iterrows():
        when = text(r["time"][11:] if r["time"][:10] == day else r["time"])
        if r["stated"]:
            when += f' <span class="stated">({text(r["stated"])})</span>'
        who = f" · {text(r['who'])}" if r["who"] else ""
        message = f"<br>{said(r['text'], r['ref'])}" if r["text"] else ""
        items.append(
            f'<li value="{int(r["rank"])}">{when}{who} · <span class="rule">{text(r["found by"])}</span>{message}</li>'
        )
    count = len(items)
    label = f"{count} other candidate{'' if count == 1 else 's'}"
    return (
        f'<details class="candidates"><summary>{label}</summary><ol>{"".join(items)}</ol></details>'
    )


def hypothesis_outcomes(hypotheses: pd.DataFrame, fixed: pd.Timestamp | None) -> pd.Series:
    """What became of each hypothesis: ``dropped`` when the next one was a pivot, ``led to the
    fix`` for the last one stated at or before ``fixed`` (the working hypothesis, else the
    mitigation), ``superseded`` or ``open`` otherwise."""
    next_is_pivot = hypotheses["pivot"].shift(-1, fill_value=False).astype(bool)
    fate = pd.Series("superseded", index=hypotheses.index).mask(next_is_pivot, "dropped")
    if fixed is not None:
        before = hypotheses.index[hypotheses["ts"] <= fixed]
        if len(before):
            fate[before[-1]] = "led to the fix"
    if fate.iloc[-1] == "superseded":
        fate.iloc[-1] = "open"
    return fate
