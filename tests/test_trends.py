"""Trends across incidents: unit checks on small tables, and the 542 real status-page incidents
of ../shared checked against an independent computation on the raw CSV."""

from __future__ import annotations

import csv
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from pia import trends
from pia.cli import main
from pia.contracts import ContractError
from pia.report.render import render_trends
from pia.report.trends import SECTIONS
from pia.sources.stages import stage_table


def table(rows: list[tuple[str, str, float | None, bool]]) -> pd.DataFrame:
    """A metrics table from (detected, severity, hours to resolve, observed) tuples."""
    return pd.DataFrame(
        {
            "incident": [f"i{i}" for i in range(len(rows))],
            "detected": pd.to_datetime([r[0] for r in rows], utc=True),
            "severity": [r[1] for r in rows],
            "services": "api",
            "time_to_resolve": pd.to_timedelta([r[2] for r in rows], unit="h"),
            "time_to_resolve_observed": [r[3] for r in rows],
        }
    )


SMALL = table(
    [
        ("2026-01-05", "SEV1", 1.0, True),
        ("2026-01-20", "SEV2", 3.0, True),
        ("2026-03-02", "SEV2", 2.0, True),
        ("2026-03-09", "SEV2", 5.0, False),  # still open: censored
        ("2026-03-10", "SEV2", None, False),  # never resolved, no as_of: missing
    ]
)


def test_counts_fill_empty_periods():
    counts = trends.counts(SMALL, "month")
    assert list(counts.index.strftime("%Y-%m")) == ["2026-01", "2026-02", "2026-03"]
    assert counts.loc["2026-02-01"].sum() == 0 and counts["SEV2"].sum() == 4


def test_medians_leave_censored_and_missing_out():
    summary = trends.duration_summary(SMALL, ["time_to_resolve"], "month")
    march = summary[summary["period"] == pd.Timestamp("2026-03-01")].iloc[0]
    assert march["n"] == 1 and march["median"] == 2 * 3600 and march["censored"] == 1


def test_the_middle_is_the_median_and_p90_the_linear_quantile():
    # skewed, as incident durations are: the mean (4 h 20 min) is far from the median (2 h)
    skewed = table([("2026-04-01", "SEV2", 1.0, True), ("2026-04-02", "SEV2", 10.0, True), ("2026-04-03", "SEV2", 2.0, True)])
    row = trends.duration_summary(skewed, ["time_to_resolve"], "month").iloc[0]
    assert row["n"] == 3 and row["median"] == 2 * 3600 and row["censored"] == 0
    assert row["p90"] == pytest.approx((2 + 0.8 * (10 - 2)) * 3600)  # 90% of the way from the 2nd to the 3rd value
    assert row["median_low"] <= row["median"] <= row["median_high"]


#: skewed durations (seconds), many of them distinct: an unseeded bootstrap would move their intervals
SPREAD = np.round(np.random.default_rng(7).lognormal(7, 1.2, size=24))


def test_the_trends_page_is_reproducible_and_the_seed_is_what_makes_it_so():
    rows = [(f"2026-05-{1 + i % 28:02d}", "SEV2", seconds / 3600, True) for i, seconds in enumerate(SPREAD)]
    rows += [(f"2026-06-{1 + i % 28:02d}", "SEV2", seconds / 7200, True) for i, seconds in enumerate(SPREAD[:17])]
    first = trends.duration_summary(table(rows), ["time_to_resolve"], "month")
    assert len(first) == 2 and first[["median_low", "median_high", "p90_low", "p90_high"]].notna().all().all()
    assert (first["median_low"] < first["median_high"]).all() and (first["p90_low"] < first["p90_high"]).all()
    for _ in range(3):  # four intervals each time: unseeded, they would not all come out the same
        pd.testing.assert_frame_equal(first, trends.duration_summary(table(rows), ["time_to_resolve"], "month"))
    assert len({trends.bootstrap(SPREAD, 0.5, seed=seed) for seed in range(10)}) > 1  # the seed, not the data alone, fixes it
    low, high = trends.bootstrap(SPREAD, 0.5)
    assert SPREAD.min() < low <= np.median(SPREAD) <= high < SPREAD.max()


def test_bootstrap_is_seeded_and_brackets_the_median():
    values = np.array([60.0, 120, 180, 240, 300, 360, 3600])
    assert trends.bootstrap(values, 0.5) == trends.bootstrap(values, 0.5)
    low, high = trends.bootstrap(values, 0.5)
    assert low <= np.median(values) <= high


def test_two_values_have_an_interval_and_one_has_none():
    # resamples of two: both low (60), one of each (330) or both high (600), a quarter each way
    assert trends.bootstrap(np.array([60.0, 600.0]), 0.5) == (60.0, 600.0)
    assert all(np.isnan(trends.bootstrap(np.array([60.0]), 0.5)))


def test_without_observed_flags_a_value_is_never_taken_as_observed():
    """A table without ``<name>_observed`` cannot tell a censored value from a finished one:
    every function of pia.trends refuses it, naming the flag and every row in doubt."""
    from pia.contracts import ContractError

    bare = SMALL.drop(columns="time_to_resolve_observed")
    calls = [
        lambda t: trends.duration_summary(t, ["time_to_resolve"], "month"),
        lambda t: trends.survival(t, "time_to_resolve"),
        lambda t: trends.by_group(t, ["time_to_resolve"], "severity"),
        lambda t: trends.headline(t, "month", names=("time_to_resolve",)),
    ]
    for call in calls:
        with pytest.raises(ContractError) as raised:
            call(bare)
        assert list(raised.value.failures["column"].unique()) == ["time_to_resolve_observed"]
    # the whole table: every row with a value is in doubt, the one without is not
    with pytest.raises(ContractError, match=r"time_to_resolve_observed: missing.* at positions 0, 1, 2, 3$"):
        trends.survival(bare, "time_to_resolve")
    # an open incident among resolved ones: only its row is in doubt
    status = bare.assign(status=["resolved", "resolved", "resolved", "open", "open"])
    with pytest.raises(ContractError, match=r"at position 3$"):
        trends.survival(status, "time_to_resolve")


def test_without_observed_flags_resolved_incidents_are_derived_observed():
    """Where every incident with a value is resolved, nothing can be censored: the flags are
    derived from the data and the results are those of the flagged table."""
    flagged = SMALL.iloc[:3].assign(status="resolved")
    bare = flagged.drop(columns="time_to_resolve_observed")
    pd.testing.assert_frame_equal(
        trends.duration_summary(bare, ["time_to_resolve"], "month"), trends.duration_summary(flagged, ["time_to_resolve"], "month")
    )
    assert trends.survival(bare, "time_to_resolve").sizes["all"] == (3, 0)
    assert trends.by_group(bare, ["time_to_resolve"], "severity").loc["SEV2", "time_to_resolve median"] == 2.5 * 3600


def test_an_unknown_duration_or_an_empty_group_skips_only_itself():
    assert set(trends.duration_summary(SMALL, ["time_to_nothing", "time_to_resolve"], "month")["duration"]) == {"time_to_resolve"}
    with_empty = pd.concat([table([("2026-03-11", "A-unmeasured", None, False)]), SMALL], ignore_index=True)
    assert set(trends.survival(with_empty, "time_to_resolve").curves) == {"all", "SEV1", "SEV2"}
    assert list(trends.by_group(SMALL, ["time_to_nothing", "time_to_resolve"], "severity").columns) == ["incidents", "time_to_resolve median", "time_to_resolve p90"]


def test_window_is_inclusive():
    picked = trends.in_window(SMALL, pd.Timestamp("2026-01-20", tz="UTC"), pd.Timestamp("2026-03-09", tz="UTC"))
    assert list(picked["incident"]) == ["i1", "i2", "i3"]
    assert len(trends.in_window(SMALL)) == 5 and list(trends.in_window(SMALL, until=pd.Timestamp("2026-01-05", tz="UTC"))["incident"]) == ["i0"]


def test_by_group_counts_each_listed_service_and_takes_observed_values_only():
    frame = SMALL.assign(services=["api, db", "db", "", "api", "db"])
    out = trends.by_group(frame, ["time_to_resolve"], "services")
    assert list(out.index) == ["db", "api", "(none)"] and list(out["incidents"]) == [3, 2, 1]
    assert out.loc["db", "time_to_resolve median"] == 2 * 3600  # 1 h and 3 h; the open one is out
    assert out.loc["api", "time_to_resolve p90"] == 3600  # its other incident is still open
    assert out.loc["db", "time_to_resolve p90"] == pytest.approx(2.8 * 3600)  # 90% of the way from 1 h to 3 h


def test_responder_load_sums_per_person_most_incidents_first():
    people = pd.DataFrame(
        {"person": ["Ana", "Bo", "Ana", "Cy"], "incident": ["i1", "i1", "i2", "i3"], "messages": [3, 1, 4, 9], "pages": [1, 0, 2, 1], "off_hours_pages": [0, 0, 1, 1]}
    )
    load = trends.responder_load(people)
    assert list(load.index) == ["Ana", "Cy", "Bo"]
    assert load.loc["Ana"].tolist() == [2, 7, 3, 1] and load.loc["Cy"].tolist() == [1, 9, 1, 1]
    assert list(trends.responder_load(people.iloc[:0]).columns) == ["incidents", "messages", "pages", "off_hours_pages"]


def test_survival_censors_open_incidents():
    result = trends.survival(SMALL, "time_to_resolve")
    assert result.sizes["all"] == (4, 1)  # the missing one is out, the open one censored
    # by hand: events at 1h, 2h, 3h among 4 at risk, then 3, then 2 → S = .75, .5, .25
    curve = result.curves["all"].set_index("seconds")["survival"]
    assert curve.loc[3600] == pytest.approx(0.75) and curve.loc[7200] == pytest.approx(0.5)
    assert result.medians["all"] == 7200


def test_small_groups_are_flagged():
    lines = trends.small_groups(SMALL, ["severity"])
    assert "Only 5 incidents" not in " ".join(lines)
    assert "severity SEV1: 1 incident, too few to tell a change from noise." in lines
    assert not any(line.startswith("severity SEV2") for line in trends.small_groups(SMALL, ["severity"], minimum=4))  # 4 is enough
    assert "severity SEV2: 4 incidents, too few to tell a change from noise." in trends.small_groups(SMALL, ["severity"], minimum=5)


def test_the_headline_sets_the_latest_period_against_the_one_before():
    rows = [("2026-03-02", "SEV2", 1.0, True), ("2026-04-10", "SEV1", 5.0, True)]
    rows += [("2026-05-03", "SEV2", 1.0, True), ("2026-05-20", "SEV2", 3.0, True), ("2026-05-21", "SEV2", 2.0, False)]  # the last still open
    names = ("time_to_resolve", "time_to_nothing")
    latest = trends.headline(table(rows), names=names)
    assert list(latest["start"]) == [pd.Timestamp("2026-05-01"), pd.Timestamp("2026-04-01")]
    assert list(latest["incidents"]) == [3, 1] and list(latest["time_to_resolve n"]) == [2, 1]
    may, april = latest.iloc[0], latest.iloc[1]
    assert may["time_to_resolve median"] == 2 * 3600 and (may["time_to_resolve low"], may["time_to_resolve high"]) == (3600, 3 * 3600)
    assert april["time_to_resolve median"] == 5 * 3600 and np.isnan(april["time_to_resolve low"])
    assert (latest["time_to_nothing n"] == 0).all() and latest["time_to_nothing median"].isna().all()
    # without observed flags an open incident's value may be censored: an error, never "all
    # observed"; where every incident is resolved, nothing is censored and every value counts
    bare = table(rows).drop(columns="time_to_resolve_observed")
    with pytest.raises(ContractError, match="time_to_resolve_observed: missing"):
        trends.headline(bare, names=names)
    assert list(trends.headline(bare.assign(status="resolved"), names=names)["time_to_resolve n"]) == [3, 1]
    # ``end`` picks the period, even an empty one
    quiet = trends.headline(table(rows), end=pd.Timestamp("2026-07-15", tz="UTC"), names=names)
    assert list(quiet["start"]) == [pd.Timestamp("2026-07-01"), pd.Timestamp("2026-06-01")] and list(quiet["incidents"]) == [0, 0]
    assert list(trends.headline(table(rows), end=pd.Timestamp("2026-04-30", tz="UTC"), names=names)["incidents"]) == [1, 1]
    empty = table(rows).iloc[:0]
    assert trends.headline(empty).empty and list(trends.headline(empty, end=pd.Timestamp("2026-07-15", tz="UTC"))["incidents"]) == [0, 0]


# --- 542 real incidents ---------------------------------------------------------------------


@pytest.fixture
def stages(external):
    return external / "incident-datasets" / "atlarge-research-llm-service-analysis" / "incident_stages.csv"


def raw_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def when(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def km_median(durations: list[float], observed: list[bool]) -> float:
    """Kaplan–Meier median by hand: the first time the survival estimate falls to 0.5."""
    order = sorted(zip(durations, observed))
    at_risk, survival = len(order), 1.0
    i = 0
    while i < len(order):
        t = order[i][0]
        ties = [o for d, o in order if d == t]
        events = sum(ties)
        survival *= 1 - events / at_risk
        at_risk -= len(ties)
        i += len(ties)
        if survival <= 0.5:
            return t
    return float("inf")


def test_stage_table_matches_the_raw_csv(stages):
    rows = raw_rows(stages)
    frame, warnings = stage_table(stages.read_bytes(), str(stages))
    assert len(frame) == len(rows) == 542

    # time to resolve: first stage posted → resolved, computed straight from the strings
    resolve = [(when(r["resolved_timestamp"]) - when(r["start_timestamp"])).total_seconds() for r in rows if r["resolved_timestamp"]]
    ours = frame["time_to_resolve"].dt.total_seconds().dropna()
    assert len(ours) == len(resolve)
    assert ours.median() == np.median(resolve)
    assert np.quantile(ours, 0.9) == pytest.approx(np.quantile(resolve, 0.9))
    assert sum(v == 0 for v in resolve) == 66  # zero-length incidents are kept, as zero

    # identified → first_hypothesis and the working one; missing stages stay missing, never zero
    hyp = [(when(r["identified_timestamp"]) - when(r["start_timestamp"])).total_seconds() for r in rows if r["identified_timestamp"]]
    assert frame["time_to_hypothesis"].notna().sum() == len(hyp)
    assert frame["time_to_hypothesis"].dt.total_seconds().median() == np.median(hyp)
    pd.testing.assert_series_equal(frame["time_to_diagnose"], frame["time_to_hypothesis"], check_names=False)
    assert frame["time_to_declare"].isna().sum() == sum(1 for r in rows if not r["investigating_timestamp"]) == 161

    # out-of-order stages are reported, not crashed on
    order = ["investigating", "identified", "monitoring", "resolved"]
    backwards = set()
    for r in rows:
        seen = [when(r[f"{s}_timestamp"]) for s in order]
        latest = None
        for t in seen:
            if t is not None:
                if latest is not None and t < latest:
                    backwards.add(r["incident_id"])
                latest = t if latest is None else max(latest, t)
    assert len(backwards) == 5
    assert {w.split(":")[0] for w in warnings if "posted before" in w} == backwards


def test_kaplan_meier_median_matches_a_hand_computation(stages):
    frame, _ = stage_table(stages.read_bytes(), str(stages))
    result = trends.survival(frame, "time_to_restore")
    rows = raw_rows(stages)
    values = [(when(r["resolved_timestamp"]) - when(r["start_timestamp"])).total_seconds() for r in rows if r["resolved_timestamp"]]
    assert result.medians["all"] == km_median(values, [True] * len(values))
    for severity, group in frame.groupby("severity"):
        seconds = group["time_to_restore"].dt.total_seconds().dropna().tolist()
        if seconds:
            assert result.medians[severity] == km_median(seconds, [True] * len(seconds)), severity


def test_trends_notebook_on_the_real_data(stages, tmp_path):
    rendered = render_trends(out=tmp_path, table=stages, group_by="month")
    html = rendered.files["html"].read_text()
    for heading in SECTIONS:
        assert f">{heading}</h2>" in html, heading
    assert ">Incident trends</h1>" in html
    assert "542" in html
    median = pd.Timedelta(seconds=float(np.median([
        (when(r["resolved_timestamp"]) - when(r["start_timestamp"])).total_seconds() for r in raw_rows(stages) if r["resolved_timestamp"]
    ])))
    from pia.output import human_duration

    assert f"<td>{human_duration(median)}</td>" in html  # the Kaplan–Meier median of time to resolve, all incidents
    assert "h3vtgftrvl61: stage identified posted before an earlier stage" in html
    assert html.count("data:image/png;base64,") >= 3


def test_trends_of_the_samples_and_bad_options(tmp_path, capsys, samples):
    assert main(["trends", "--data-dir", str(samples), "--out", str(tmp_path), "--group-by", "week"]) == 0
    html = (tmp_path / "trends.html").read_text()
    assert "Responder load" in html and "Aisha Bello" in html
    assert main(["trends", "--data-dir", str(samples), "--out", str(tmp_path), "--table", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
    assert main(["trends", "--data-dir", str(samples), "--out", str(tmp_path), "--since", "last week"]) == 2
    assert "since: 'last week' is not an ISO 8601 time" in capsys.readouterr().err
