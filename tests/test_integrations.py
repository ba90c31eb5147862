"""Bots in the incident channel as evidence: each integration's fixture (tests/fixtures/
integrations, formats and where they are documented in SOURCES.md) read through ``pia metrics``
and the report, precedence between them, the PagerDuty echo counted once, configuration in
pia.toml, and bad posts that give at worst no signal and a data-quality note."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pia.cli import main
from pia.events.blocks import bot_text
from pia.milestones import MILESTONES
from pia.milestones.detect import PRIORITY
from pia.report.review import Review

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "integrations"
#: the Slack day of every fixture
DAY = "2026-11-20"


def fixture(name: str) -> list[dict]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def at(clock: str) -> pd.Timestamp:
    return pd.Timestamp(f"{DAY}T{clock}Z")


def say(clock: str, user: str, text: str, seq: int = 0) -> dict:
    """A human message as Slack stores it."""
    seconds = int(at(clock).timestamp())
    return {"type": "message", "user": user, "text": text, "ts": f"{seconds}.{seq:06d}"}


def snapshot(root: Path, *messages: list[dict], log: list[tuple[str, str, str]] | None = None, toml: str = "", incident: str = "inc") -> Path:
    """A data dir with one incident whose channel holds ``messages`` (fixture posts and human
    messages) and, with ``log``, a PagerDuty log of ``(HH:MM:SS, type, agent name)``."""
    folder = root / "incidents" / incident
    (folder / "slack" / "inc-1").mkdir(parents=True)
    (folder / "incident.toml").write_text(f'id = "{incident}"\ntitle = "Checkout 502s"\n{toml}')
    (folder / "slack" / "users.json").write_text((FIXTURES / "users.json").read_text())
    (folder / "slack" / "channels.json").write_text(json.dumps([{"id": "C1", "name": "inc-1"}]))
    day = sorted((m for part in messages for m in part), key=lambda m: m["ts"])
    (folder / "slack" / "inc-1" / f"{DAY}.json").write_text(json.dumps(day))
    if log is not None:
        (folder / "pagerduty").mkdir()
        url = "https://acme.pagerduty.com/incidents/Q1CHK502XYZ"
        incident_json = {"id": "Q1CHK502XYZ", "type": "incident", "title": "Checkout 502 rate above 5%", "html_url": url, "created_at": f"{DAY}T{log[0][0]}Z", "status": "resolved"}
        (folder / "pagerduty" / "incident.json").write_text(json.dumps({"incident": incident_json}))
        entries = [
            {
                "id": f"R{i:04d}",
                "type": f"{kind}_log_entry",
                "summary": f"{kind.capitalize()}d by {agent}." if kind != "trigger" else "Triggered through the API.",
                "html_url": f"{url}/log_entries/R{i:04d}",
                "created_at": f"{DAY}T{clock}Z",
                "agent": {"id": f"P{agent[:3].upper()}", "type": "user_reference" if agent != "Datadog" else "generic_events_api_inbound_integration_reference", "summary": agent},
                "incident": {"id": "Q1CHK502XYZ", "type": "incident_reference"},
            }
            for i, (clock, kind, agent) in enumerate(log)
        ]
        (folder / "pagerduty" / "log_entries.json").write_text(json.dumps({"log_entries": entries}))
    return root


def explain(root: Path, capsys, incident: str = "inc") -> pd.DataFrame:
    """``pia metrics --explain`` as JSON: every milestone's candidates, best first."""
    assert main(["metrics", "--explain", incident, "--data-dir", str(root), "--format", "json"]) == 0
    return pd.DataFrame(json.loads(capsys.readouterr().out))


def chosen(candidates: pd.DataFrame) -> pd.DataFrame:
    """The milestone each candidate list settled on (rank 1), by milestone."""
    first = candidates[candidates["rank"] == 1].set_index("milestone")
    return first.assign(ts=pd.to_datetime(first["ts"], utc=True).dt.floor("s"))


def metrics_row(root: Path, capsys, incident: str = "inc") -> dict:
    assert main(["metrics", incident, "--data-dir", str(root), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)[0]


# --- the formats ------------------------------------------------------------------------------


def test_blocks_and_attachments_become_text_without_repeating_the_fallback():
    acknowledged = fixture("pagerduty_app")[1]
    text = bot_text(acknowledged)
    assert text.splitlines()[0] == "Acknowledged: #5120 Checkout 502 rate above 5%"
    assert "Acknowledged by Bo Li | Service: Checkout API | Urgency: High" in text
    field = bot_text(fixture("alerting")[1])
    assert "env: prod" in field and "Triggered: [P2]" in field
    assert bot_text({"blocks": "oops", "attachments": [1, None, {"fields": "x"}]}) == ""
    rich = fixture("bad_input")[-1]
    assert bot_text(rich) == "<@U2> shared an update"


# --- PagerDuty's Slack app ---------------------------------------------------------------------


def test_pagerduty_app_stands_in_for_a_missing_log(tmp_path, capsys):
    root = snapshot(tmp_path, fixture("pagerduty_app"))
    picked = chosen(explain(root, capsys))
    assert picked.loc["detected", "ts"] == at("14:02:10") and picked.loc["detected", "source"] == "pagerduty"
    assert picked.loc["acknowledged", "ts"] == at("14:04:30") and "Slack app acknowledge" in picked.loc["acknowledged", "rule"]
    assert picked.loc["engaged", "ts"] == at("14:04:30")
    assert picked.loc["resolved", "ts"] == at("14:41:05") and picked.loc["resolved", "source"] == "pagerduty"
    # the creation stands in for declared only below anything that declares it
    assert picked.loc["declared", "source"] == "pagerduty"
    row = metrics_row(root, capsys)
    assert row["time_to_acknowledge"] == 140 and row["time_to_resolve"] == 38 * 60 + 55


def test_an_echo_of_the_log_is_counted_once_as_the_log_entry(tmp_path, capsys):
    log = [("14:02:00", "trigger", "Datadog"), ("14:04:25", "acknowledge", "Bo Li"), ("14:08:58", "escalate", "Bo Li"), ("14:12:38", "annotate", "Bo Li"), ("14:41:00", "resolve", "Bo Li")]
    root = snapshot(tmp_path, fixture("pagerduty_app"), log=log)
    candidates = explain(root, capsys)
    picked = chosen(candidates)
    assert picked.loc["acknowledged", "ts"] == at("14:04:25") and picked.loc["acknowledged", "rule"] == "first acknowledge"
    assert picked.loc["resolved", "ts"] == at("14:41:00") and picked.loc["resolved", "rule"] == "last resolve"
    # no echo is a candidate of its own: the same event is not counted twice
    assert not candidates["rule"].str.contains("Slack app").any()
    from pia.integrations import read
    from pia.milestones.config import load_config
    from pia.snapshot import open_incident

    events = open_incident("inc", root).events()
    posts = read(events, load_config(root).integrations).posts
    assert (posts["echo_of"].str.contains("/log_entries/")).all() and len(posts) == 5
    # nor in the lists: the log's escalation once, Bo Li once (the log's acts, not the echoes')
    row = metrics_row(root, capsys)
    assert row["escalations"] == 1 and row["responders"] == 1
    assert Review.load("inc", data_dir=root).responders_table()["actions"].tolist() == [4]


def test_every_kind_of_echo_stands_in_for_a_missing_log(tmp_path, capsys):
    """No PagerDuty log at all: the trigger, acknowledge, escalation, note and resolve posts
    are the log entries, each read as the entry would be, and Bo Li (named in plain words,
    known only from the Slack directory) is the responder, not the bot."""
    root = snapshot(tmp_path, fixture("pagerduty_app"))
    candidates = explain(root, capsys)
    picked = chosen(candidates)
    # the note is Bo Li's words, read by the rules as a PagerDuty note is
    assert picked.loc["mitigation_started", "ts"] == at("14:12:40") and picked.loc["mitigation_started", "actor"] == "Bo Li"
    assert picked.loc["mitigation_started", "text"] == "rolling checkout back to v4.12.0"
    row = metrics_row(root, capsys)
    assert row["escalations"] == 1 and row["responders"] == 1 and row["messages"] == 0
    review = Review.load("inc", data_dir=root)
    escalated = review.detection.escalations
    assert list(escalated["to"]) == ["U3"] and escalated["ts"].iloc[0] == at("14:09:00")
    people = review.responders_table()
    assert list(people["person"]) == ["Bo Li"] and people["actions"].iloc[0] == 3  # acknowledge, note, resolve
    assert "PagerDuty" not in set(review.detection.responders["actor"])
    section = review.responders()._repr_html_()
    assert "Bo Li" in section and "PagerDuty" not in section


def test_echoes_stand_in_only_for_the_entries_the_log_lacks(tmp_path, capsys):
    """The log has the trigger, acknowledge and resolve but not the escalation or the note:
    those two echoes stand in, the other three are the log's, each counted once."""
    log = [("14:02:00", "trigger", "Datadog"), ("14:04:25", "acknowledge", "Bo Li"), ("14:41:00", "resolve", "Bo Li")]
    root = snapshot(tmp_path, fixture("pagerduty_app"), log=log)
    candidates = explain(root, capsys)
    picked = chosen(candidates)
    assert picked.loc["acknowledged", "rule"] == "first acknowledge" and picked.loc["resolved", "rule"] == "last resolve"
    assert set(candidates.loc[candidates["rule"].str.contains("Slack app"), "milestone"]) == set()
    assert picked.loc["mitigation_started", "ts"] == at("14:12:40")
    row = metrics_row(root, capsys)
    # Bo Li in the log and Bo Li through the app are one responder; one escalation, the echo's
    assert row["escalations"] == 1 and row["responders"] == 1
    assert row["time_to_acknowledge"] == 145 and row["time_to_resolve"] == 39 * 60
    people = Review.load("inc", data_dir=root).responders_table()
    assert list(people["person"]) == ["Bo Li"] and people["actions"].iloc[0] == 3  # log ack, note, log resolve


def test_the_logs_last_resolve_wins_over_an_earlier_echo(tmp_path, capsys):
    """The app's resolve at 14:41 is not in the log, whose last resolve is at 15:10: both are
    PagerDuty's word, and the last resolve is the incident's."""
    log = [("14:02:00", "trigger", "Datadog"), ("14:04:25", "acknowledge", "Bo Li"), ("15:10:00", "resolve", "Bo Li")]
    root = snapshot(tmp_path, fixture("pagerduty_app"), log=log)
    candidates = explain(root, capsys)
    picked = chosen(candidates)
    assert picked.loc["resolved", "ts"] == at("15:10:00") and picked.loc["resolved", "rule"] == "last resolve"
    assert metrics_row(root, capsys)["time_to_resolve"] == 68 * 60
    resolved = candidates[candidates["milestone"] == "resolved"]
    assert "Slack app resolve (no log entry)" in set(resolved["rule"])


def test_an_echo_far_from_its_log_entry_stands_in(tmp_path, capsys):
    """The log has the acknowledge 20 minutes away: a different event, so the echo counts."""
    log = [("14:02:00", "trigger", "Datadog"), ("14:24:30", "acknowledge", "Bo Li")]
    picked = chosen(explain(snapshot(tmp_path, fixture("pagerduty_app"), log=log), capsys))
    assert picked.loc["acknowledged", "ts"] == at("14:04:30") and picked.loc["acknowledged", "source"] == "pagerduty"


# --- incident platforms -----------------------------------------------------------------------

PLATFORMS = {
    # fixture: (declared, first hypothesis, mitigation started, mitigated, resolved)
    "incident_io": ("14:03:00", "14:11:30", "14:11:30", "14:27:45", "14:40:20"),
    "firehydrant": ("14:03:00", "14:11:30", None, "14:27:45", "14:40:20"),
    "rootly": ("14:03:00", None, None, "14:27:45", "14:40:20"),
}


@pytest.mark.parametrize("name", PLATFORMS)
def test_a_platform_bot_runs_the_channel(tmp_path, capsys, name):
    root = snapshot(tmp_path, fixture(name))
    picked = chosen(explain(root, capsys))
    declared, hypothesis, started, mitigated, resolved = PLATFORMS[name]
    assert picked.loc["declared", "ts"] == at(declared) and picked.loc["declared", "source"] == "platform"
    assert re.search(r"\(SEV\d\)$", picked.loc["declared", "rule"])
    for milestone, clock in (("first_hypothesis", hypothesis), ("mitigation_started", started), ("mitigated", mitigated), ("resolved", resolved)):
        if clock is None:
            assert milestone not in picked.index
        else:
            assert picked.loc[milestone, "ts"] == at(clock) and picked.loc[milestone, "source"] == "platform", milestone
    # the status changes are the acts of the person the bot names, not of the bot
    assert picked.loc["mitigated", "actor"] == "Bo Li" and picked.loc["declared", "actor"] == "Ana"
    review = Review.load("inc", data_dir=root)
    # the IC is the person the role assignment names; updates are theirs, not the bot's
    assert review.metrics.detection.commander.iloc[0] == "U2"
    updates = review.detection.status_updates
    assert len(updates) >= 1 and set(updates["actor"]) == {"Bo Li"} and set(updates["actor_id"]) == {"U2"}
    assert review.data_quality()._repr_html_().count("integration") == 0
    # nobody typed a word, yet Ana (who declared) and Bo Li (who ran it) responded; the bot did not
    assert list(review.responders_table()["person"]) == ["Ana Souza", "Bo Li"]
    assert review.metrics.row["responders"] == 2 and review.metrics.row["messages"] == 0
    assert metrics_row(root, capsys)["responders"] == 2


def test_platform_status_outranks_human_words_and_the_report_says_they_disagree(tmp_path, capsys):
    people = [say("14:05:00", "U1", "checkout is throwing 502s"), say("14:10:00", "U2", "rolled back, 502s are back to normal now", 1), say("14:12:00", "U2", "we're resolved, closing", 2)]
    root = snapshot(tmp_path, fixture("incident_io"), people)
    candidates = explain(root, capsys)
    picked = chosen(candidates)
    assert picked.loc["mitigated", "ts"] == at("14:27:45") and picked.loc["mitigated", "source"] == "platform"
    assert picked.loc["resolved", "ts"] == at("14:40:20") and picked.loc["resolved", "source"] == "platform"
    # the human words are still there, as runners-up
    assert ((candidates["milestone"] == "resolved") & (candidates["source"] == "rule")).any()
    lines = Review.load("inc", data_dir=root).quality_lines()
    said = [line for line in lines if "disagreement" in line and "people said" in line]
    assert any("people said resolved at 14:12" in line and "'Closed' only at 14:40" in line for line in said), lines
    assert any("people said mitigated at 14:10" in line and "'Monitoring' only at 14:27" in line for line in said), lines


# --- status page ------------------------------------------------------------------------------


def test_status_page_stages_are_updates_and_weaker_evidence(tmp_path, capsys):
    root = snapshot(tmp_path, fixture("statuspage"))
    picked = chosen(explain(root, capsys))
    assert picked.loc["first_hypothesis", "ts"] == at("14:13:00") and picked.loc["first_hypothesis", "source"] == "statuspage"
    assert picked.loc["mitigated", "ts"] == at("14:29:00") and picked.loc["resolved", "ts"] == at("14:42:00")
    assert metrics_row(root, capsys)["status_updates"] == 4
    # a platform's status outranks the status page
    both = snapshot(tmp_path / "both", fixture("statuspage"), fixture("incident_io"))
    picked = chosen(explain(both, capsys))
    assert picked.loc["mitigated", "source"] == "platform" and picked.loc["mitigated", "ts"] == at("14:27:45")
    assert picked.loc["first_hypothesis", "source"] == "platform"


# --- alerting ---------------------------------------------------------------------------------


def test_alerts_detect_and_show_impact_ended_but_never_resolve(tmp_path, capsys):
    root = snapshot(tmp_path, fixture("alerting"))
    picked = chosen(explain(root, capsys))
    assert picked.loc["detected", "ts"] == at("14:01:30") and picked.loc["detected", "source"] == "alert"
    assert picked.loc["detected", "rule"] == "alertmanager firing"
    # the last recovery is evidence the impact ended; nothing here resolves the incident
    assert picked.loc["restored", "ts"] == at("14:35:30") and picked.loc["restored", "source"] == "alert"
    assert "resolved" not in picked.index


def test_an_alert_is_the_weakest_evidence(tmp_path, capsys):
    people = [say("14:00:40", "U1", "checkout is throwing 502s"), say("14:20:00", "U2", "rolled back checkout; 502s back to normal", 1)]
    picked = chosen(explain(snapshot(tmp_path, fixture("alerting"), people), capsys))
    assert picked.loc["detected", "ts"] == at("14:00:40") and picked.loc["detected", "source"] == "rule"
    assert picked.loc["restored", "ts"] == at("14:20:00") and picked.loc["restored", "source"] == "rule"


def test_an_alert_before_anyone_spoke_detects(tmp_path, capsys):
    """At equal precedence the earlier evidence wins, whichever was offered first."""
    people = [say("14:05:00", "U1", "looking into the 502s")]
    root = snapshot(tmp_path, fixture("alerting"), people)
    candidates = explain(root, capsys)
    picked = chosen(candidates)
    assert picked.loc["detected", "ts"] == at("14:01:30") and picked.loc["detected", "source"] == "alert"
    # the alert's post is also the channel's first message: one candidate, as the alert
    detected = candidates[candidates["milestone"] == "detected"]
    assert detected[["source", "rule"]].values.tolist()[0] == ["alert", "alertmanager firing"]
    assert len(detected) == len(set(zip(detected["ts"], detected["text"]))) and "first message" not in set(detected["rule"])
    found = Review.load("inc", data_dir=root).detection.milestones.set_index("milestone")
    assert found.loc["detected", ["source", "rule"]].tolist() == ["alert", "alertmanager firing"]


def test_precedence_is_the_documented_order():
    assert len(set(PRIORITY.values())) == len(PRIORITY)  # a strict order: no two sources tie
    order = sorted((p, s) for s, p in PRIORITY.items() if s != "fallback")
    assert [s for _, s in order] == ["manual", "marker", "pagerduty", "platform", "statuspage", "rule", "alert"]
    doc = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text()
    assert "manual > marker > PagerDuty > incident-platform status change > status page > rule on human text > alerting bot" in doc


# --- bad input --------------------------------------------------------------------------------


def test_bad_posts_give_no_signal_and_a_note_never_a_crash(tmp_path, capsys):
    root = snapshot(tmp_path, fixture("bad_input"), [say("14:01:00", "U1", "checkout is throwing 502s")])
    picked = chosen(explain(root, capsys))
    assert picked.loc["detected", "source"] == "rule"  # the empty PagerDuty posts say nothing
    assert "mitigated" in picked.index and picked.loc["mitigated", "ts"] == at("14:07:00")  # the one known status
    lines = Review.load("inc", data_dir=root).quality_lines()
    text = "\n".join(lines)
    assert text.count("has no text, blocks or attachments") == 2
    assert "status 'Blocked' is not a known status name" in text
    assert "status went back to 'Investigating' after 'Monitoring'" in text
    assert "names U999, who is not in the workspace's user directory" in text
    row = metrics_row(root, capsys)
    assert row["incident"] == "inc" and row["responders"] == 2  # Ana and Bo Li; not U999, not the bots


def test_stand_ins_naming_nobody_known_give_notes_not_people(tmp_path, capsys):
    """PagerDuty's app names people the directory does not know, a note has no words and a
    block is of the wrong shape: the acknowledge still times the page, nobody unknown becomes
    a responder, the escalation is listed without a target, and the report says why."""
    def app(clock: str, text: str, **extra) -> dict:
        post = {"type": "message", "text": text, "ts": f"{int(at(clock).timestamp())}.000000", "user": "UPDAPP", "bot_id": "BPDAPP", "bot_profile": {"id": "BPDAPP", "name": "PagerDuty"}}
        return {**post, **extra}

    posts = [
        app("14:02:00", "Triggered | Service: Checkout API"),
        app("14:04:00", "Acknowledged by Zed Nobody | Service: Checkout API"),
        app("14:06:00", "Escalated to Q. Ghost | Level 2", blocks=[{"type": "section", "text": 7}, None, {"type": "context", "elements": "x"}]),
        app("14:08:00", "Zed Nobody added a note"),
        app("14:30:00", "Resolved by Zed Nobody"),
    ]
    root = snapshot(tmp_path, posts)
    picked = chosen(explain(root, capsys))
    assert picked.loc["acknowledged", "ts"] == at("14:04:00") and picked.loc["acknowledged", "actor"] == "PagerDuty"
    assert picked.loc["resolved", "ts"] == at("14:30:00")
    row = metrics_row(root, capsys)
    assert row["responders"] == 0 and row["escalations"] == 1 and row["time_to_acknowledge"] == 120
    review = Review.load("inc", data_dir=root)
    assert review.detection.escalations["to"].tolist() == [""]
    lines = [line for line in review.quality_lines() if "integration" in line]
    assert sum("names someone who is not among this incident's people" in line for line in lines) == 4, lines  # ack, escalate, note, resolve
    assert review.responders_table().empty


BOT_LINES = [
    "Triggered | Service: {x}", "Acknowledged by {p} | Service: {x}", "Escalated to {p} | Level 2", "{p} added a note: {x}", "Resolved by {p}",
    "Incident declared by {p}", "{p} is now *{x}*", "{p} updated the status from *{s}* to *{s}*", "{p} shared an update", "Milestone changed from *{s}* to *{s}* by {p}",
    "{s} - {x}", "[FIRING:1] {x}", "[RESOLVED] {x}", "Recovered: {x}", "*Severity:* {x}",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["PagerDuty", "incident.io", "FireHydrant", "Rootly", "Statuspage", "Alertmanager", "Datadog", "Someone's bot"]),
            st.lists(st.sampled_from(BOT_LINES), min_size=0, max_size=3),
            st.sampled_from(["@Bo Li", "Bo Li", "@U999", "", "@", "Zed *Nobody*", "@Bo Li.", "@U2 @U3"]),
            st.sampled_from(["Investigating", "Fixing", "Monitoring", "Closed", "Resolved", "Blocked", "", "Mitigated", "resolved"]),
            st.text(max_size=12),
            st.booleans(),
        ),
        max_size=12,
    ),
)
def test_any_bot_post_gives_evidence_or_nothing_never_an_error(posts):
    """Bot posts of every known integration in any order, with names nobody knows, unknown
    or backward statuses and empty text: detection runs, and only humans respond."""
    from pia.events.schema import conform
    from pia.milestones import detect_incident

    start = at("14:00:00")
    rows = [{"ts": start, "source": "slack", "kind": "message", "actor": "Bo Li", "actor_id": "U2", "is_human": True, "text": "checkout 502s", "mentions": ""}]
    for i, (bot, lines, person, status, words, logged) in enumerate(posts, 1):
        text = "\n".join(line.format(p=person, s=status, x=words) for line in lines)
        mentions = "U2" if person.startswith("@Bo") else "U2 U3" if person == "@U2 @U3" else ""
        rows.append({"ts": start + pd.Timedelta(minutes=i), "source": "slack", "kind": "bot", "actor": bot, "actor_id": "B" + bot[:3].upper(), "is_human": False, "text": text, "mentions": mentions})
        if logged:
            rows.append({"ts": start + pd.Timedelta(minutes=i), "source": "pagerduty", "kind": "acknowledge", "actor": "Bo Li", "actor_id": "PBO", "is_human": True, "text": "Acknowledged by Bo Li.", "mentions": ""})
    events = conform(pd.DataFrame([{**row, "incident": "inc", "ref": f"ref-{n}"} for n, row in enumerate(rows)]))
    found = detect_incident(events, {"id": "inc"})
    assert set(found.milestones["milestone"]) <= set(MILESTONES)
    assert set(found.responders["id"].dropna()) <= {"U2", "PBO"}
    assert not found.events["is_human"].to_numpy(bool)[(found.events["actor_id"].str.startswith("B")).to_numpy(bool)].any()
    assert set(found.notes["check"]) <= {"integration", "disagreement"}


def test_a_team_maps_its_own_bot_in_pia_toml(tmp_path, capsys):
    posts = [
        {"type": "message", "subtype": "bot_message", "username": "OpsBot", "bot_id": "BOPS", "text": "Incident state is now MITIGATING (set by <@U2>)", "ts": f"{int(at('14:20:00').timestamp())}.000001"},
        {"type": "message", "subtype": "bot_message", "username": "OpsBot", "bot_id": "BOPS", "text": "Incident state is now DONE (set by <@U2>)", "ts": f"{int(at('14:30:00').timestamp())}.000002"},
    ]
    root = snapshot(tmp_path, posts, [say("14:01:00", "U1", "checkout is throwing 502s")])
    (root / "pia.toml").write_text(
        "[integrations.opsbot]\nkind = \"platform\"\nbots = [\"BOPS\"]\n"
        "[integrations.opsbot.events]\nstatus = '(?i)state is now (?P<status>\\w+) \\(set by (?P<person>@[^)]+)\\)'\n"
        "[integrations.opsbot.statuses]\nmitigating = \"monitoring\"\ndone = \"resolved\"\n"
    )
    picked = chosen(explain(root, capsys))
    assert picked.loc["mitigated", "ts"] == at("14:20:00") and picked.loc["mitigated", "rule"] == "opsbot status → MITIGATING"
    assert picked.loc["resolved", "ts"] == at("14:30:00")
    # a pattern that does not compile is one line naming the file and key
    (root / "pia.toml").write_text("[integrations.opsbot]\nkind = \"platform\"\nbots = [\"BOPS\"]\n[integrations.opsbot.events]\nstatus = '(?P<status>'\n")
    assert main(["metrics", "inc", "--data-dir", str(root)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pia.toml" in err[0] and "integrations.opsbot.events.status" in err[0]


# --- the samples ------------------------------------------------------------------------------

PLATFORM_SAMPLE = "2026-10-06-payment-webhooks-signing-key"
DISAGREEING_SAMPLE = "2026-10-15-search-index-lag"


def test_a_sample_run_by_incident_io_with_the_pagerduty_app(samples):
    review = Review.load(PLATFORM_SAMPLE, data_dir=samples)
    found = review.detection.milestones.set_index("milestone")
    assert found.loc["declared", "source"] == "platform" and found.loc["mitigated", "source"] == "platform"
    # every PagerDuty app post echoes the log: the page's times are the log's, counted once
    assert (found.loc[["detected", "acknowledged", "resolved"], "source"] == "pagerduty").all()
    assert not review.detection.candidates["rule"].str.contains("Slack app").any()
    assert review.detection.commander.iloc[0] == "U06RB2TL5WX"  # incident.io's incident lead
    assert set(review.detection.status_updates["actor"]) == {"Hana Sato"}
    assert not any("integration" in line or "disagreement" in line for line in review.quality_lines())


def test_a_sample_where_words_and_status_disagree_says_so_in_the_report(samples):
    review = Review.load(DISAGREEING_SAMPLE, data_dir=samples)
    section = review.data_quality()._repr_html_()
    assert "people said mitigated at 14:36, but the firehydrant status became &#x27;Mitigated&#x27; only at 14:51" in section
    assert "people said resolved at 14:46, but the firehydrant status became &#x27;Resolved&#x27; only at 15:20" in section
