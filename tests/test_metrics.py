"""Durations (observed, censored, missing, out of order), per-incident counts, off-hours pages,
the metrics table and ``pia metrics``."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pia.cli import main
from pia.events.schema import conform
from pia.metrics import durations, legend, measure_incident, measure_incidents, measure_together, metrics_table, off_hours_pages
from pia.milestones import detect_incident, detect_incidents
from pia.milestones.config import MILESTONES, load_config
from pia.people import roster, rosters
from pia.snapshot import list_incidents, open_incident

from conftest import DATA, FAKE_TOKEN, RUNNERS_UP, write_incident
from helpers import T0, login, say, timeline


def minute(m: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=m)


def span(result, name: str) -> pd.Series:
    return result.frame.set_index("duration").loc[name]


def test_observed_durations_carry_their_evidence() -> None:
    found = detect_incident(login(), {"id": "inc", "milestones": {"impact_start": "2026-11-20T13:57:00Z"}})
    result = durations(found.milestones)
    restore = span(result, "time_to_restore")
    # "5xx back to baseline for 10 min" at minute 50 states the restore at minute 40
    assert restore["value"] == pd.Timedelta(minutes=43) and restore["observed"]
    assert (restore["start_milestone"], restore["start_source"]) == ("impact_start", "manual")
    restored = found.milestones.set_index("milestone").loc["restored"]
    assert restore["end_ref"] == restored["ref"] and restored["evidence_ts"] == minute(50)
    assert span(result, "time_to_acknowledge")["value"] == pd.Timedelta(minutes=1)
    assert not result.warnings


def open_incident_events() -> pd.DataFrame:
    return timeline(
        (0, "pagerduty", "trigger", "Datadog", "Triggered"),
        (2, "pagerduty", "acknowledge", "Ann", "Acknowledged by Ann."),
        say(5, "ann", "restarting the indexer"),
    )


def test_without_durations_configured_the_frame_is_empty_with_its_columns_and_types() -> None:
    from pia.metrics import DURATION_COLUMNS

    none = dataclasses.replace(load_config(), durations=())
    result = durations(detect_incident(login()).milestones, none)
    assert result.frame.empty and list(result.frame.columns) == DURATION_COLUMNS
    assert {str(result.frame[c].dtype) for c in ("start", "end")} == {"datetime64[ns, UTC]"}


def test_a_duration_of_nothing_is_observed_not_out_of_order() -> None:
    found = detect_incident(login(), {"id": "inc", "milestones": {"impact_start": f"{T0:%Y-%m-%dT%H:%M:%SZ}"}})
    result = durations(found.milestones)
    detect = span(result, "time_to_detect")  # detected by the first message, the moment the impact started
    assert detect["value"] == pd.Timedelta(0) and detect["status"] == "observed" and not result.warnings


def test_open_incident_is_censored_at_as_of() -> None:
    found = detect_incident(open_incident_events())
    result = durations(found.milestones, as_of=minute(90))
    resolve = span(result, "time_to_resolve")
    assert resolve["value"] == pd.Timedelta(minutes=90)
    assert not resolve["observed"] and resolve["status"] == "censored"
    assert span(result, "time_to_acknowledge")["status"] == "observed"
    # no impact start: the restore counts from detection, its second choice
    assert (span(result, "time_to_restore")["start_milestone"], span(result, "time_to_restore")["value"]) == ("detected", pd.Timedelta(minutes=90))
    at_detection = span(durations(found.milestones, as_of=minute(0)), "time_to_resolve")  # censored the moment it began
    assert at_detection["value"] == pd.Timedelta(0) and at_detection["status"] == "censored"


def test_open_incident_without_as_of_is_not_timed_against_the_clock() -> None:
    result = durations(detect_incident(open_incident_events()).milestones)
    resolve = span(result, "time_to_resolve")
    assert pd.isna(resolve["value"]) and resolve["status"] == "open"


def test_as_of_before_a_milestone_treats_it_as_not_yet() -> None:
    found = detect_incident(login())
    result = durations(found.milestones, as_of=minute(45))
    # restored is stated as 14:40 in a message of 14:50: at 14:45 nobody had said so yet
    assert found.milestones.set_index("milestone").loc["restored", "ts"] == minute(40)
    assert span(result, "time_to_restore")["status"] == "censored"
    assert span(result, "time_to_restore")["value"] == pd.Timedelta(minutes=45)
    assert span(result, "time_to_mitigate")["status"] == "observed"


def test_a_milestone_posted_at_the_as_of_itself_is_known() -> None:
    found = detect_incident(login())
    at_the_message = durations(found.milestones, as_of=minute(50))  # "back to baseline for 10 min" is posted at 14:50
    assert span(at_the_message, "time_to_restore")["status"] == "observed"
    assert span(at_the_message, "time_to_restore")["value"] == pd.Timedelta(minutes=40)
    assert span(durations(found.milestones, as_of=minute(49.9)), "time_to_restore")["status"] == "censored"


def test_missing_milestone_in_a_resolved_incident_is_nan_not_zero() -> None:
    events = timeline((0, "pagerduty", "trigger", "Datadog", "Triggered"), (20, "pagerduty", "resolve", "Datadog", "Resolved"))
    result = durations(detect_incident(events).milestones, as_of=minute(100))
    ack = span(result, "time_to_acknowledge")
    assert pd.isna(ack["value"]) and ack["status"] == "missing" and not ack["observed"]
    assert span(result, "time_to_detect")["status"] == "no start"
    assert span(result, "time_to_resolve")["value"] == pd.Timedelta(minutes=20)


def test_out_of_order_is_a_warning_never_a_negative_duration() -> None:
    meta = {"id": "inc", "milestones": {"restored": "2026-11-20T13:00:00Z"}}
    result = durations(detect_incident(login(), meta).milestones)
    restore = span(result, "time_to_restore")
    assert pd.isna(restore["value"]) and restore["status"] == "out of order"
    assert any("restored" in w and "before" in w for w in result.warnings)
    assert (result.frame["value"].dropna() >= pd.Timedelta(0)).all()


def test_a_working_hypothesis_after_the_mitigation_is_a_warning() -> None:
    meta = {"id": "inc", "milestones": {"working_hypothesis": "2026-11-20T14:45:00Z"}}
    result = durations(detect_incident(login(), meta).milestones)
    assert span(result, "time_to_diagnose")["value"] == pd.Timedelta(minutes=45)
    assert "inc: mitigated (2026-11-20 14:40:00) is before working_hypothesis (2026-11-20 14:45:00)" in result.warnings


def test_as_of_needs_an_offset() -> None:
    with pytest.raises(Exception, match="offset"):
        durations(detect_incident(login()).milestones, as_of="2026-11-20T15:00:00")


def test_off_hours_pages_in_the_responders_zone() -> None:
    events = timeline(
        (0, "pagerduty", "notify", "Svc", "Notified Priya Raman by SMS.", {"mentions": "P1"}),  # Fri 14:00 UTC
        (0, "pagerduty", "notify", "Svc", "Notified Kenji W by SMS.", {"mentions": "P2"}),
        (0, "pagerduty", "notify", "Svc", "Notified Nobody by SMS.", {"mentions": "P3"}),
        (1, "pagerduty", "acknowledge", "Priya Raman", "Acknowledged by Priya Raman.", {"mentions": "P1"}),  # an act, not a page
    )
    pages = off_hours_pages(events, {"Priya Raman": "Europe/Berlin", "P2": "Asia/Tokyo"})
    assert list(pages["off_hours"]) == [False, True, pd.NA]


def test_working_hours_start_on_the_hour_and_end_before_it() -> None:
    # T0 is Friday 14:00 UTC; working hours are 08:00 to 18:00, Monday to Friday, in the person's zone
    pages = [(-361, "07:59"), (-360, "08:00"), (239, "17:59"), (240, "18:00"), (270, "18:30"), (1320, "Saturday noon")]
    events = timeline(*((m, "pagerduty", "notify", "Svc", f"Notified Ann at {when}.", {"mentions": "P1"}) for m, when in pages))
    assert list(off_hours_pages(events, {"P1": "UTC"})["off_hours"]) == [True, False, False, True, True, True]
    nine_to_five = dataclasses.replace(load_config(), work_start=9, work_end=17)  # the config given, not the packaged one
    assert list(off_hours_pages(events, {"P1": "UTC"}, nine_to_five)["off_hours"]) == [True, True, True, True, True, True]


def test_a_page_goes_to_the_longest_name_its_text_holds() -> None:
    events = timeline((0, "pagerduty", "notify", "Svc", "Notified Ann Lee by SMS."))  # Friday 14:00 UTC: 23:00 in Tokyo
    zones = {"Ann": "Europe/Berlin", "Ann Lee": "Asia/Tokyo", "LEE": "Europe/Berlin"}  # "LEE" is an id, never a name
    page = off_hours_pages(events, zones).iloc[0]
    assert page["timezone"] == "Asia/Tokyo" and page["off_hours"]
    assert off_hours_pages(events, {"LEE": "Asia/Tokyo"}).iloc[0]["timezone"] is None
    assert off_hours_pages(events, {"ANN LEE": "Asia/Tokyo"}).iloc[0]["timezone"] == "Asia/Tokyo"  # capitals with a space: a name


def test_counts_of_the_response() -> None:
    table = metrics_for_login()
    row = table.frame.iloc[0]
    assert row["hypotheses"] == 2 and row["pivots"] == 1
    assert row["directives"] == 2 and row["median_answer_time"] == pd.Timedelta(minutes=3)


def test_each_incident_pages_people_in_its_own_zones() -> None:
    def paged(incident: str) -> pd.DataFrame:
        return timeline((0, "pagerduty", "notify", "Svc", "Notified Ann Lee by SMS.", {"mentions": "P1"}), incident=incident)

    events = conform(pd.concat([paged("a"), paged("b"), paged("c")], ignore_index=True))
    zones = {"a": {"Ann Lee": "Asia/Tokyo"}, "b": {"P1": "Europe/Berlin"}}  # Friday 14:00 UTC: 23:00 in Tokyo, 15:00 in Berlin
    pages = off_hours_pages(events, {"P1": "Asia/Tokyo"}, by_incident=zones)
    assert list(pages["timezone"]) == ["Asia/Tokyo", "Europe/Berlin", None] and list(pages["off_hours"]) == [True, False, pd.NA]


def test_a_page_to_someone_of_unknown_zone_is_counted_apart_not_as_off_hours() -> None:
    from pia.metrics import incident_metrics

    events = timeline(
        (0, "pagerduty", "notify", "Svc", "Notified Nobody by SMS.", {"mentions": "P3"}),
        (1, "pagerduty", "notify", "Svc", "Notified Ann by SMS.", {"mentions": "P1"}),  # Friday 23:01 in Tokyo
    )
    found = detect_incident(events)
    row = incident_metrics(events, found, durations(found.milestones), off_hours_pages(events, {"P1": "Asia/Tokyo"}))
    assert (row["pages"], row["off_hours_pages"], row["pages_unknown_zone"]) == (2, 1, 1)


def test_an_update_later_than_the_cadence_is_late_and_one_on_time_is_not() -> None:
    from pia.metrics import incident_metrics

    def counted(*minutes: float) -> dict:
        events = timeline(*(say(m, "ic", f"status update: login errors, next update in 30 min ({n})") for n, m in enumerate(minutes)))
        found = detect_incident(events)
        return incident_metrics(events, found, durations(found.milestones), off_hours_pages(events, {}))

    three = counted(1, 31, 62)  # 30 minutes is on time (the cadence), 31 is late
    assert (three["status_updates"], three["late_updates"], three["longest_update_gap"]) == (3, 1, pd.Timedelta(minutes=31))
    two = counted(1, 11)
    assert (two["late_updates"], two["longest_update_gap"]) == (0, pd.Timedelta(minutes=10))
    one = counted(1)
    assert one["status_updates"] == 1 and one["late_updates"] == 0 and pd.isna(one["longest_update_gap"])


def metrics_for_login():
    from pia.metrics import IncidentMetrics, MetricsTable, incident_metrics

    events = login()
    found = detect_incident(events, {"id": "inc", "commander": "IC"})
    spans = durations(found.milestones)
    pages = off_hours_pages(events, {})
    row = {"incident": "inc", **incident_metrics(events, found, spans, pages)}
    return MetricsTable(pd.DataFrame([row]), [], {"inc": IncidentMetrics("inc", found, spans, pages, row)})


# --- samples and CLI ------------------------------------------------------------------------------


def samples_ready() -> bool:
    return (DATA / "incidents" / "2026-11-20-login-outage" / "incident.toml").exists()


needs_samples = pytest.mark.skipif(not samples_ready(), reason="sample incidents not present")


@needs_samples
def test_login_outage_restore_comes_from_the_config_change() -> None:
    table = metrics_table(DATA, ["2026-11-20-login-outage"])
    found = table.incidents["2026-11-20-login-outage"].detection
    hypothesis = found.milestones.set_index("milestone").loc["first_hypothesis"]
    assert "auth deploy" in hypothesis["text"] and "?" not in hypothesis["text"]
    restored = found.milestones.set_index("milestone").loc["restored"]
    assert restored["ts"] > found.milestones.set_index("milestone").loc["mitigation_started", "ts"] + pd.Timedelta(minutes=30)
    # the status update states it: "sign-in has worked normally since 14:53 UTC"
    assert "normally since 14:53" in restored["text"]
    assert restored["ts"] == pd.Timestamp("2026-11-20T14:53:00Z")


@needs_samples
def test_pia_metrics_prints_every_sample(capsys) -> None:
    assert main(["metrics", "--data-dir", str(DATA)]) == 0
    out = capsys.readouterr().out
    for incident in (DATA / "incidents").iterdir():
        if incident.is_dir():
            assert incident.name in out


@needs_samples
def test_pia_metrics_csv_json_seconds_and_one_bad_incident(tmp_path: Path, capsys) -> None:
    root = tmp_path / "data"
    shutil.copytree(DATA / "incidents" / "2026-11-20-login-outage", root / "incidents" / "2026-11-20-login-outage")
    shutil.copytree(DATA / "incidents" / "2026-11-24-search-latency", root / "incidents" / "2026-11-24-search-latency")
    bad = root / "incidents" / "broken"
    bad.mkdir()
    (bad / "incident.toml").write_text('id = "broken"\n[milestones]\nrestored = "noon"\n')
    (bad / "pagerduty").mkdir()
    (bad / "pagerduty" / "log_entries.json").write_text('{"log_entries": []}')
    code = main(["metrics", "--data-dir", str(root), "--format", "json", "--as-of", "2026-11-24T18:00:00Z"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and "broken" in captured.err and "milestones.restored" in captured.err
    rows = {r["incident"]: r for r in json.loads(captured.out)}
    login_row = rows["2026-11-20-login-outage"]
    # 14:02:00 -> 14:53:30, the time "back to baseline ... for 12 min" states at 15:05:30
    assert login_row["time_to_restore"] == pytest.approx(51 * 60, abs=1)  # 14:02 to the stated 14:53
    search = rows["2026-11-24-search-latency"]
    assert search["status"] == "open" and search["time_to_resolve_observed"] is False
    assert main(["metrics", "--data-dir", str(root), "2026-11-20-login-outage", "--format", "csv"]) == 0
    assert "time_to_restore" in capsys.readouterr().out


@needs_samples
def test_table_format_marks_censored_values(capsys) -> None:
    assert main(["metrics", "--data-dir", str(DATA), "2026-11-24-search-latency", "--as-of", "2026-11-24T18:00:00Z"]) == 0
    assert "≥ 1h" in capsys.readouterr().out  # written as the pages write it


@needs_samples
def test_one_open_incident_leaves_whole_columns_missing(capsys) -> None:
    # without --as-of every duration to an unreached milestone is missing: columns of only NaT
    assert main(["metrics", "--data-dir", str(DATA), "2026-11-24-search-latency", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["time_to_resolve"] is None and row["time_to_engage"] == pytest.approx(163)
    table = metrics_table(DATA, ["2026-11-24-search-latency"]).frame
    assert pd.api.types.is_timedelta64_dtype(table["time_to_resolve"]) and table["time_to_resolve"].isna().all()


@pytest.mark.parametrize(("as_of", "problem"), [("tomorrow", "not an ISO 8601 time"), ("9999-12-31T00:00:00Z", "outside the years")])
@pytest.mark.parametrize("command", [["metrics"], ["report", "2026-11-20-login-outage"], ["batch"]])
def test_bad_as_of_is_one_line(command, as_of, problem, capsys) -> None:
    assert main([*command, "--data-dir", str(DATA), "--as-of", as_of]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pia: error: --as-of") and problem in err and err.count("\n") == 1


# --- many incidents at once, and the cache ----------------------------------------------------

AS_OF = "2026-11-24T18:00:00Z"


@needs_samples
def test_measured_together_as_each_alone() -> None:
    """Detecting and measuring every sample in one pass gives what each gives on its own."""
    incidents = [open_incident(i, DATA) for i in list_incidents(DATA)]
    together, failures = measure_incidents(incidents, as_of=AS_OF)
    assert not failures and list(together) == [i.id for i in incidents]
    for incident in incidents:
        alone, both = measure_incident(incident, as_of=AS_OF), together[incident.id]
        pd.testing.assert_frame_equal(pd.DataFrame([both.row]), pd.DataFrame([alone.row]))
        for name in ("milestones", "signals", "hypotheses", "escalations", "status_updates", "directives", "responders"):
            pd.testing.assert_frame_equal(getattr(both.detection, name), getattr(alone.detection, name), obj=name)
        # the same candidates; their text columns are object or string depending on whether
        # another incident's manual rows were mixed in, so the values are compared
        pd.testing.assert_frame_equal(both.detection.candidates, alone.detection.candidates, check_dtype=False, obj="candidates")
        pd.testing.assert_series_equal(both.detection.commander, alone.detection.commander)
        pd.testing.assert_frame_equal(both.durations.frame, alone.durations.frame)
        pd.testing.assert_frame_equal(both.pages, alone.pages)
        assert both.durations.warnings == alone.durations.warnings


@needs_samples
def test_rosters_of_all_samples_at_once_as_each_alone() -> None:
    incidents = [open_incident(i, DATA) for i in list_incidents(DATA)]
    measured, _ = measure_incidents(incidents)
    alone = [
        roster(m.events, i.directory(), pulled_in=m.detection.escalations, pages=m.pages).assign(incident=i.id)
        for i, m in ((i, measured[i.id]) for i in incidents)
    ]
    together = rosters(
        pd.concat([measured[i.id].events for i in incidents], ignore_index=True),
        {i.id: i.directory() for i in incidents},
        pulled_in=pd.concat([measured[i.id].detection.escalations for i in incidents], ignore_index=True),
        pages=pd.concat([measured[i.id].pages for i in incidents], ignore_index=True),
    )
    expected = pd.concat(alone, ignore_index=True)
    assert len(expected) == 41 and set(expected["how"]) == {"paged", "volunteered"}
    pd.testing.assert_frame_equal(together[[*together.columns[1:], "incident"]], expected)


def test_people_tables_stay_with_their_incident() -> None:
    """The same PagerDuty user in two incidents: only the incident whose [people] names their
    Slack id counts them as that Slack user."""
    def acted(incident: str) -> pd.DataFrame:
        return timeline(say(1, "sofia", "looking"), (2, "pagerduty", "acknowledge", "S Lindqvist", "Acknowledged", {"actor_id": "P1"}), incident=incident)

    events = conform(pd.concat([acted("a"), acted("b")], ignore_index=True))
    found = detect_incidents(events, {"a": {"people": {"P1": "SOFIA"}}, "b": {}})
    assert found.responders.groupby("incident").size().to_dict() == {"a": 1, "b": 2}
    pd.testing.assert_frame_equal(
        found.responders[found.responders["incident"] == "b"].reset_index(drop=True), detect_incident(acted("b")).responders
    )


@needs_samples
def test_pia_metrics_cached_gives_the_same_bytes(tmp_path, capsys, monkeypatch) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA / "incidents", data / "incidents")
    printed = []
    for _ in range(2):  # computed, then read from the cache
        assert main(["metrics", "--data-dir", str(data), "--format", "json", "--as-of", AS_OF]) == 0
        printed.append(capsys.readouterr().out)
    assert (data / ".pia-cache" / "metrics.parquet").is_file()
    assert printed[0] == printed[1]
    # sub-microsecond medians survive the cache (a median of two can end in half a microsecond)
    assert any(len(str(r["median_answer_time"]).split(".")[-1]) > 6 for r in json.loads(printed[1]) if r["median_answer_time"])

    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr("pia.snapshot.atomic_write", refuse)
    shutil.rmtree(data / ".pia-cache")
    assert main(["metrics", "--data-dir", str(data), "--format", "json", "--as-of", AS_OF]) == 0
    assert capsys.readouterr().out == printed[0]  # a cache it cannot write is no error


# --- pia metrics --explain -------------------------------------------------------------------


@pytest.fixture
def runners_up(tmp_path: Path) -> Path:
    return write_incident(tmp_path / "data", toml='[milestones]\nimpact_start = "2026-11-20T13:55:00Z"\n')


def block(out: str, milestone: str) -> list[str]:
    """The lines ``pia metrics --explain`` prints under ``milestone``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split(" (")[0] == milestone)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start + 1 : end]


def test_explain_prints_winner_and_runners_up(runners_up: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["metrics", "--explain", "inc", "--data-dir", str(runners_up)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert captured.err == "" and "all on 2026-11-20" in out
    restored = block(out, "restored")
    # the winner at the time its message states, with the message's own time beside it
    assert restored[0].split()[:8] == ["1", "14:10:00", "(stated", "in", "a", "message", "at", "14:20:00)"]
    assert "  Bo Li  rule · " in restored[0]
    assert restored[1].strip() == "5xx back to baseline for 10 min"
    # the runners-up, best first, each with who, how and its text on one line (the token masked)
    assert restored[2].split()[:3] == ["2", "14:25:00", "Ana"] and "rule · " in restored[2]
    assert restored[3].strip() == "login is back to normal. rotated the key [redacted: Slack token] that was pasted here"
    assert restored[4].split()[:2] == ["3", "14:26:00"]
    assert restored[5].strip() == "<script>alert(1)</script> all green again, back to normal"
    # a manual value ranks first, and the way to pick another is spelled out
    assert "impact start (set in incident.toml)" in out
    assert block(out, "impact start")[0].split() == ["1", "13:55:00", "manual", "·", "incident.toml"]
    assert block(out, "acknowledged") == ["   –  none found"]  # nobody was paged
    assert "A value in incident.toml [milestones] wins over anything detected" in out
    assert 'restored = "2026-11-20T14:25:00Z"' in out
    assert FAKE_TOKEN not in out


def test_explain_no_redact_json_and_one_line_errors(runners_up: Path, capsys) -> None:
    assert main(["metrics", "--explain", "inc", "--data-dir", str(runners_up), "--format", "json", "--no-redact"]) == 0
    captured = capsys.readouterr()
    assert "secrets are not masked" in captured.err
    rows = [r for r in json.loads(captured.out) if r["milestone"] == "restored"]
    assert [r["rank"] for r in rows] == [1, 2, 3] and FAKE_TOKEN in rows[1]["text"]
    assert rows[0]["ts"].startswith("2026-11-20T14:10:00") and rows[0]["evidence_ts"].startswith("2026-11-20T14:20:00")
    for args, problem in (
        ([], "--explain takes exactly one INCIDENT (got none)"),
        (["inc", "other"], "--explain takes exactly one INCIDENT (got 2: inc other)"),
        (["nope"], "no incident 'nope'"),
        (["inc", "--as-of", "2026-11-20T15:00:00Z"], "takes no --as-of"),
    ):
        assert main(["metrics", "--explain", *args, "--data-dir", str(runners_up)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("pia: error: ") and problem in err and err.count("\n") == 1


@needs_samples
def test_the_terminal_table_fits_100_columns_and_says_where_each_duration_starts(tmp_path: Path, capsys) -> None:
    shutil.copytree(DATA, tmp_path / "data")
    assert main(["metrics", "--data-dir", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    header = out.splitlines()[0].split()
    assert header[:6] == ["incident", "status", "date", "engage", "hypothesis", "restore"]
    assert "restore: from impact start, else detection" in " ".join(out.split())
    assert "engage, hypothesis: from detection" in out


@needs_samples
def test_columns_picks_others_and_csv_carries_every_milestone(tmp_path: Path, capsys) -> None:
    shutil.copytree(DATA, tmp_path / "data")
    data = str(tmp_path / "data")
    assert main(["metrics", "--data-dir", data, "--columns", "incident,time_to_resolve,pivots"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["incident", "resolve", "pivots"]
    assert main(["metrics", "--data-dir", data, "--columns", "incident,coffee"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no column 'coffee'" in err and "time_to_resolve" in err
    assert main(["metrics", "--data-dir", data, "2026-11-20-login-outage", "--format", "csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    for milestone in MILESTONES:
        assert milestone in row
    assert row["restored"].startswith("2026-11-20T14:53:00")  # "normal since 14:53", not the message at 15:05
    assert float(row["time_to_restore"]) == pytest.approx(51 * 60, abs=1)


# --- notebook views and per-person zones -----------------------------------------------------


def test_results_show_themselves_in_a_notebook_escaped(tmp_path) -> None:
    from pia.metrics import explain_milestones

    data = write_incident(tmp_path, toml='severity = "<b>SEV1</b>"\n')
    table = metrics_table(data, ["inc", "nope"])
    page = table._repr_html_()
    assert page.startswith("<table><thead><tr><th>incident</th>") and page.count("<tr>") == 2  # the header and one incident
    assert "&lt;b&gt;SEV1&lt;/b&gt;" in page and "<b>SEV1" not in page and "<td>30m 00s</td>" in page
    assert page.endswith("</li></ul>") and "nope" in page.split("<ul>")[1]  # the failure, listed below
    measured = measure_incident(open_incident("inc", data))
    shown = measured._repr_html_()
    assert "<h4>Durations</h4>" in shown and shown.endswith(measured.durations._repr_html_())
    spans = measured.durations._repr_html_()
    assert "<td>time_to_resolve</td><td>detected → resolved</td><td>30m 00s</td><td>observed</td>" in spans
    assert spans.count("<tr>") == 1 + len(measured.durations.frame) and "<ul>" not in spans
    explained = explain_milestones("inc", data)._repr_html_()
    assert "&lt;script&gt;" in explained and "<script>" not in explained and "[redacted" in explained
    assert "<td>2026-11-20 14:10:00</td><td>2026-11-20 14:20:00</td>" in explained  # restored: stated time, then the message's


@pytest.mark.parametrize(
    ("people", "zones"),
    [
        (None, {"Bo Li": "Asia/Tokyo", "Eva": "Europe/Oslo"}),
        ({"PABC": {"slack": "U1", "tz": "Europe/Berlin"}, "PDEF": "U2", "PGHI": {"slack": "U9"}}, {"Bo Li": "Asia/Tokyo", "Eva": "Europe/Oslo", "PABC": "Europe/Berlin", "PDEF": "Asia/Tokyo"}),
    ],
)
def test_people_zones_from_incident_toml_then_slack(people, zones) -> None:
    from pia.events.slack import Directory
    from pia.metrics import people_timezones

    directory = Directory(users={"U1": "Ana", "U2": "Bo Li", "U3": "Cy", "U4": "Eva"}, timezones={"U2": "Asia/Tokyo", "U3": "Europe/Paris", "U4": "Europe/Oslo"})
    assert people_timezones({"people": people}, directory) == zones  # "Cy" is too short a name to match on, "Eva" is not


@pytest.mark.parametrize(("people", "place"), [(["PABC"], "people"), ({"PABC": 5}, "people.PABC"), ({"PABC": {"tz": "Mars/Base"}}, "people.PABC.tz")])
def test_people_zones_that_cannot_be_say_where(people, place) -> None:
    from pia.errors import ConfigError
    from pia.metrics import people_timezones

    with pytest.raises(ConfigError, match=rf"incident.toml: {place}"):
        people_timezones({"people": people})


def test_messages_count_what_people_said_not_bots_or_joins(tmp_path) -> None:
    data = write_incident(tmp_path)
    day = data / "incidents" / "inc" / "slack" / "inc-1" / "2026-11-20.json"
    messages = json.loads(day.read_text())
    messages += [
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "username": "Datadog", "text": "Triggered: login 5xx", "ts": "1763647260.000100"},
        {"type": "message", "subtype": "channel_join", "user": "U2", "text": "<@U2> has joined the channel", "ts": "1763647320.000200"},
    ]
    day.write_text(json.dumps(messages))
    assert metrics_table(data).frame["messages"].tolist() == [len(RUNNERS_UP)]


def test_the_terminal_table_marks_only_censored_values_and_csv_gives_seconds() -> None:
    from pia.metrics import for_output

    table = pd.DataFrame(
        {
            "incident": ["a", "b", "c"],
            "status_updates": [2, 0, 1],
            "detected": pd.to_datetime(["2026-11-20T14:00:59Z", None, "2026-11-21T09:30:00Z"], utc=True),
            "time_to_restore": pd.to_timedelta(["90min", "20min", None]),
            "time_to_restore_observed": [True, False, False],
        }
    )
    shown = for_output(table, "table", ["incident", "detected", "time_to_restore", "status_updates"])
    assert list(shown.columns) == ["incident", "detected", "restore", "updates"]
    assert list(shown["restore"]) == ["1h 30m", "≥ 20m 00s", "–"]  # a missing value is no lower bound
    assert list(shown["detected"]) == ["2026-11-20 14:00", "", "2026-11-21 09:30"]
    seconds = for_output(table, "csv")
    assert list(seconds.columns) == list(table.columns) and seconds["time_to_restore"].tolist()[:2] == [5400.0, 1200.0]
    assert seconds["time_to_restore_observed"].tolist() == [True, False, False]


# --- what a caller passes is what is used; what measuring many at once keeps per incident -----


def test_a_config_given_is_the_one_measured_and_explained(tmp_path) -> None:
    packaged = load_config()
    fewer = dataclasses.replace(packaged, durations=packaged.durations[-1:])  # time_to_resolve only
    incident = open_incident("inc", write_incident(tmp_path))
    row = measure_incident(incident, fewer).row
    assert [k for k in row if k.startswith("time_to_") and not k.endswith("_observed")] == ["time_to_resolve"]
    assert legend(["detect", "resolve"], config=fewer).startswith("resolve: from detection; ≥")


def test_the_legend_fits_100_columns_and_keeps_option_names_whole() -> None:
    # "pivots," would end at column 101 of the first line
    lines = legend(["detect"], ["pages", "pivots", "directives"]).splitlines()
    assert max(map(len, lines)) <= 100 and lines[1].startswith("pivots, directives"), lines
    # "--as-of" would be cut at its hyphen at column 100
    text = legend(["engage", "restore"], ["messages", "responders"])
    assert max(map(len, text.splitlines())) <= 100 and "--as-of;" in text and "--columns" in text, text


def test_one_incident_that_fails_to_read_or_to_set_up_stops_none_after_it(tmp_path, capsys) -> None:
    for incident in ("a-unreadable", "b-bad-milestone", "c-good", "d-good"):
        write_incident(tmp_path, incident=incident, toml='[milestones]\nrestored = "soon"\n' if incident.startswith("b") else "")
    day = tmp_path / "incidents" / "a-unreadable" / "slack" / "inc-1" / "2026-11-20.json"
    day.write_text(day.read_text()[:-40])
    incidents = [open_incident(i, tmp_path) for i in list_incidents(tmp_path)]
    measured, failures = measure_incidents(incidents)
    assert list(measured) == ["c-good", "d-good"] and len(failures) == 2
    assert "a-unreadable" in failures[0] and "b-bad-milestone" in failures[1] and "restored" in failures[1]
    assert capsys.readouterr().err == ""  # no progress bar unless asked
    measure_incidents(incidents[2:], progress=True)
    shown = capsys.readouterr().err
    assert "reading" in shown and shown.endswith("\r") and "\n" not in shown  # the bar clears its line for the next
    measure_incidents(incidents[3:], progress=True)
    assert capsys.readouterr().err == ""  # one incident: nothing to count


def test_each_incidents_frames_are_the_merged_frames_rows_numbered_afresh(capsys) -> None:
    """An incident's own frames (including empty ones) have the merged frame's columns, no more, and
    rows numbered from 0."""
    incidents = [open_incident(i, DATA) for i in list_incidents(DATA)]
    together, _ = measure_together(incidents)
    names = ("milestones", "hypotheses", "escalations", "status_updates", "directives", "responders", "notes")
    for own in together.split().values():
        for name in names:
            frame = getattr(own.detection, name)
            assert list(frame.columns) == list(getattr(together.detection, name).columns), name
            assert frame.index.equals(pd.RangeIndex(len(frame))), name
        assert list(own.events.columns) == list(together.events.columns) and own.events.index.equals(pd.RangeIndex(len(own.events)))
    assert any(own.detection.escalations.empty for own in together.split().values())
    assert capsys.readouterr().err == ""  # no progress bar unless asked


def test_the_notebook_views_leave_missing_values_blank(tmp_path) -> None:
    from pia.metrics import explain_milestones

    data = write_incident(tmp_path)
    table = metrics_table(data, ["inc"])
    assert all(str(table.frame[m].dtype) == "datetime64[ns, UTC]" for m in MILESTONES)  # even a milestone nobody reached
    page = table._repr_html_()
    assert page.count("<td>") == len(table.frame.columns)  # the cells, not the row's number
    assert "<tbody><tr><td>inc</td><td>Login 5xx</td>" in page
    assert "NaT" not in page and "None" not in page and "nan" not in page
    assert "<th>impact_start</th>" in page and pd.isna(table.frame["impact_start"].iloc[0])
    explanation = explain_milestones("inc", data)
    candidates = explanation.candidates
    assert "index" not in candidates and candidates.index.equals(pd.RangeIndex(len(candidates)))
    explained = explanation._repr_html_()
    # detected from the first message, stated by nothing else: no second time
    assert "<td>detected</td><td>1</td><td>2026-11-20 14:00:00</td><td></td>" in explained


def test_an_incidents_warnings_stay_with_it_when_measured_together(tmp_path) -> None:
    data = write_incident(tmp_path, incident="a", toml='[milestones]\nrestored = "2026-11-20T15:00:00Z"\n')
    write_incident(data, incident="b")
    measured, _ = measure_incidents([open_incident(i, data) for i in ("a", "b")])
    assert measured["a"].durations.warnings == ["a: resolved (2026-11-20 14:30:00) is before restored (2026-11-20 15:00:00)"]
    assert measured["b"].durations.warnings == []


def test_rules_given_are_reused_not_compiled_again(tmp_path, monkeypatch) -> None:
    import pia.metrics
    from pia.milestones.detect import compile_rules

    config = load_config()
    rules = compile_rules(config)
    monkeypatch.setattr(pia.metrics, "compile_rules", lambda *_: pytest.fail("compiled again"))
    incident = open_incident("inc", write_incident(tmp_path))
    assert measure_incident(incident, config, rules=rules).row["status"] == "resolved"


def test_an_incident_without_messages_is_dated_by_its_milestones_or_not_at_all(tmp_path) -> None:
    data = write_incident(tmp_path, [], incident="a-dated", toml='[milestones]\ndetected = "2026-11-19T23:30:00Z"\n')
    write_incident(data, [], incident="b-nothing")
    write_incident(data, incident="c-talked")
    rows = metrics_table(data).frame.set_index("incident")
    assert list(rows["date"]) == ["2026-11-19", "", "2026-11-20"] and list(rows["messages"]) == [0, 0, len(RUNNERS_UP)]
    assert rows.loc["b-nothing", "status"] == "open" and pd.isna(rows.loc["b-nothing", "detected"])
    # measured after two incidents without events, the third has its whole timeline
    measured, _ = measure_incidents([open_incident(i, data) for i in ("a-dated", "b-nothing", "c-talked")])
    alone = measure_incident(open_incident("c-talked", data))
    pd.testing.assert_frame_equal(measured["c-talked"].events, alone.events)
    assert measured["b-nothing"].events.empty
    nothing = measure_incident(open_incident("b-nothing", data)).durations.frame  # measured alone: no milestone anywhere
    assert set(nothing["status"]) == {"no start"} and set(nothing["start_source"]) == {""} and nothing["value"].isna().all()


def test_the_row_takes_services_from_incident_toml_and_is_resolved_from_the_moment_that_is_known(tmp_path) -> None:
    data = write_incident(tmp_path, toml='services = ["auth", "login"]\n')
    row = metrics_table(data).frame.iloc[0]
    assert row["services"] == "auth,login" and row["status"] == "resolved"
    resolved = row["resolved"]  # stated by the message that says so: known when it was posted
    assert metrics_table(data, as_of=resolved).frame.iloc[0]["status"] == "resolved"
    assert metrics_table(data, as_of=resolved - pd.Timedelta(microseconds=1)).frame.iloc[0]["status"] == "open"
