"""Data-quality findings about an incident's timeline: what a reviewer should know before
trusting the numbers (edits, deletions, silences, sources that disagree, order problems)."""

from __future__ import annotations

import pandas as pd

#: a silence this long during an open incident is worth a note
SILENCE = pd.Timedelta(minutes=20)
#: Slack and PagerDuty disagreeing by more than this is worth a note
DISAGREEMENT = pd.Timedelta(minutes=10)

COLUMNS = ["check", "ts", "detail", "ref"]


def findings(events: pd.DataFrame, *, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per finding: ``check`` (edited, deleted, silence, disagreement, order), ``ts``,
    ``detail`` and the ``ref`` of the event concerned. ``until`` bounds the silence check (the
    end of the response, so quiet after resolution is not reported)."""
    parts = [
        _edits(events),
        _deletions(events),
        _silences(events, until),
        _disagreements(events),
        _order(events),
    ]
    found = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else None
    )
    if found is None:
        return pd.DataFrame(columns=COLUMNS).astype({"ts": "datetime64[ns, UTC]"})
    return found[COLUMNS].sort_values("ts", kind="stable", ignore_index=True)


def _edits(events: pd.DataFrame) -> pd.DataFrame:
    edited = events[events["edited"]]
    return pd.DataFrame(
        {
            "check": "edited",
            "ts": edited["ts"],
            "detail": "edited after posting by " + edited["actor"] + "; the latest text is used",
            "ref": edited["ref"],
        }
    )


def _deletions(events: pd.DataFrame) -> pd.DataFrame:
    gone = events[events["kind"] == "deleted"]
    return pd.DataFrame(
        {
            "check": "deleted",
            "ts": gone["ts"],
            "detail": "a message was deleted; its text is gone",
            "ref": gone["ref"],
        }
    )


def _silences(events: pd.DataFrame, until: pd.Timestamp | None) -> pd.DataFrame:
    spoken = events[events["is_human"] | (events["source"] == "pagerduty")]
    if until is not None:
        spoken = spoken[spoken["ts"] <= until]
    gaps = spoken["ts"].diff()
    long = gaps > SILENCE
    before = spoken["ts"].shift()[long]
    minutes = (gaps[long].dt.total_seconds() // 60).astype(int).astype(str)
    return pd.DataFrame(
        {
            "check": "silence",
            "ts": before,
            "detail": minutes + " minutes with no human message or log entry",
            "ref": spoken.loc[long, "ref"],
        }
    )


def _disagreements(events: pd.DataFrame) -> pd.DataFrame:
    slack = events[(events["source"] == "slack") & events["is_human"]]
    acks = events[events["kind"] == "acknowledge"]
    if slack.empty or acks.empty:
        return pd.DataFrame(columns=COLUMNS)
    first_message, first_ack = slack.iloc[0], acks.iloc[0]
    lag = first_message["ts"] - first_ack["ts"]
    if abs(lag) <= DISAGREEMENT:
        return pd.DataFrame(columns=COLUMNS)
    minutes = int(abs(lag).total_seconds() // 60)
    if lag > pd.Timedelta(0):
        detail = (
            f"PagerDuty was acknowledged {minutes} minutes before the first human message in Slack"
        )
        row = first_ack
    else:
        detail = f"Slack was active {minutes} minutes before PagerDuty was acknowledged"
        row = first_message
    return pd.DataFrame(
        [{"check": "disagreement", "ts": row["ts"], "detail": detail, "ref": row["ref"]}]
    )


def _order(events: pd.DataFrame) -> pd.DataFrame:
    """Thread replies stamped before their parent (clock skew or a broken export)."""
    replies = events[(events["kind"] == "reply") & (events["thread"] != "")]
    if replies.empty:
        return pd.DataFrame(columns=COLUMNS)
    parent_ts = pd.to_datetime(
        pd.to_numeric(replies["thread"], errors="coerce"), unit="s", utc=True
    )
    early = replies[replies["ts"] < parent_ts.to_numpy()]
    return pd.DataFrame(
        {
            "check": "order",
            "ts": early["ts"],
            "detail": "a thread reply is older than its parent message",
            "ref": early["ref"],
        }
    )


def milestone_findings(
    milestones: pd.DataFrame, events: pd.DataFrame, *, commander_named: bool
) -> pd.DataFrame:
    """Findings about the milestones themselves, each naming the ``milestones`` it affects (so a
    report can show it next to the numbers built on them): response milestones that come after
    PagerDuty resolved the incident, ``declared`` taken from the same PagerDuty event as
    ``detected`` (time to declare is then 0 s by construction), and an IC inferred from the
    first poster where ``commander_named`` is false (``milestones`` is ``commander`` then).
    ``short`` says it in a few words, for beside a number."""
    from pia.milestones.config import RESPONSE  # at call time: pia.milestones imports this module

    found = milestones.dropna(subset=["ts"]).set_index("milestone")
    rows = []
    resolves = events[(events["source"] == "pagerduty") & (events["kind"] == "resolve")]
    if len(resolves):
        resolve = resolves.iloc[0]
        late = found[found.index.isin(RESPONSE) & (found["ts"] > resolve["ts"])].sort_values("ts")
        if len(late):
            how = "resolved" if resolve["is_human"] else "auto-resolved"
            wait = _minutes(late["ts"].iloc[0] - resolve["ts"])
            names = ", ".join(late.index.str.replace("_", " "))
            detail = f"{names} come{'s' if len(late) == 1 else ''} {wait} after PagerDuty {how} the incident; they time the follow-up, not the response"
            short = f"after PagerDuty {how} at {resolve['ts']:%H:%M:%S}: times the follow-up, not the response"
            rows.append(
                {
                    "check": "after PagerDuty resolve",
                    "ts": resolve["ts"],
                    "detail": detail,
                    "short": short,
                    "ref": resolve["ref"],
                    "milestones": ",".join(late.index),
                }
            )
    if {"declared", "detected"} <= set(found.index):
        declared, detected = found.loc["declared"], found.loc["detected"]
        if (
            declared["source"] == "pagerduty"
            and declared["ref"]
            and declared["ref"] == detected["ref"]
        ):
            detail = "declared is the PagerDuty trigger, the same event as detected, so time to declare is 0 s by construction; a declaration in Slack, or declared in incident.toml [milestones], would time it"
            short = "declared is the PagerDuty trigger, so 0 s by construction"
            rows.append(
                {
                    "check": "declared is the trigger",
                    "ts": declared["ts"],
                    "detail": detail,
                    "short": short,
                    "ref": declared["ref"],
                    "milestones": "declared",
                }
            )
    if not commander_named:
        spoke = events[
            events["is_human"]
            & (events["source"] == "slack")
            & events["kind"].isin(["message", "reply"])
        ]
        if len(spoke):
            first = spoke.iloc[0]
            detail = f"IC inferred from the first poster ({first['actor']}); set `commander` in incident.toml"
            rows.append(
                {
                    "check": "IC inferred",
                    "ts": first["ts"],
                    "detail": detail,
                    "short": detail,
                    "ref": first["ref"],
                    "milestones": "commander",
                }
            )
    return pd.DataFrame(rows, columns=[*COLUMNS, "short", "milestones"]).astype(
        {"ts": "datetime64[ns, UTC]"}
    )


def _minutes(gap: pd.Timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
