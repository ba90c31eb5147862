"""The contracts of the milestones, durations and metrics tables (pia.contracts), where they are
checked (the metrics cache, a Parquet table given to trends, the milestones durations() is
handed), one time type for ``as_of``, errors that name parameters, and the one title mask."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from conftest import DATA, FAKE_TOKEN, write_incident
from pia.cache import CACHE_DIR, measure_all
from pia.cli import main
from pia.contracts import DURATIONS_CONTRACT, MILESTONES_CONTRACT, ContractError, metrics_contract
from pia.errors import BadValue
from pia.metrics import durations
from pia.milestones import detect_incident, load_config
from pia.snapshot import open_incident
from pia.sources.stages import stage_table
from pia.times import as_utc

AS_OF = "2026-11-24T18:00:00Z"


@pytest.fixture(scope="module")
def samples() -> pd.DataFrame:
    return measure_all(DATA, as_of=AS_OF).table


def test_what_pia_makes_meets_its_contracts(samples):
    names = [d.name for d in load_config(DATA).durations]
    assert metrics_contract(samples, names).failures(samples).empty
    assert "time_to_restore_observed" in samples and (samples["status"] == "open").any()  # censored rows are in it
    incident = open_incident("2026-11-20-login-outage", DATA)
    found = detect_incident(incident.events(), incident.meta)
    assert MILESTONES_CONTRACT.failures(found.milestones).empty
    assert DURATIONS_CONTRACT.failures(durations(found.milestones, as_of=AS_OF).frame).empty
    stages = b"incident_id,start_timestamp,investigating_timestamp,identified_timestamp,monitoring_timestamp,resolved_timestamp\n"
    stages += b"a,2026-01-01T00:00:00Z,2026-01-01T00:05:00Z,,,2026-01-01T01:00:00Z\nb,2026-01-02T00:00:00Z,,,,\n"
    table, _ = stage_table(stages)
    assert metrics_contract(table).failures(table).empty


def broken(samples: pd.DataFrame) -> pd.DataFrame:
    """Four of the samples' rows with one fault each, and the messages column of another kind."""
    bad = samples.iloc[:4].copy().reset_index(drop=True)
    bad.loc[1, "status"] = "done"
    bad.loc[2, "time_to_engage"] = pd.Timedelta(minutes=-5)
    bad.loc[3, ["time_to_engage", "time_to_engage_observed"]] = [pd.NaT, True]
    bad.loc[3, "incident"] = bad.loc[0, "incident"]
    return bad.assign(messages=bad["messages"].astype(float))


def test_every_failure_is_listed_with_its_position(samples):
    with pytest.raises(ContractError) as raised:
        metrics_contract(samples).check(broken(samples), "table.parquet")
    failures = raised.value.failures
    found = {(c, p if pd.notna(p) else None) for c, p in zip(failures["column"], failures["position"], strict=True)}
    assert found == {("status", 1), ("time_to_engage", 2), ("time_to_engage", 3), ("incident", 0), ("incident", 3), ("messages", None)}
    message = str(raised.value)
    assert message.startswith("table.parquet: not a metrics table: ") and "\n" not in message
    assert "status: not one of open, resolved at position 1" in message
    assert "incident: the same incident on another row at positions 0, 3" in message
    assert "messages: is float64, not an integer dtype" in message


def test_a_parquet_table_that_breaks_the_contract_is_one_line_naming_file_and_rows(samples, tmp_path, capsys):
    path = tmp_path / "metrics.parquet"
    broken(samples).to_parquet(path)
    code = main(["trends", "--table", str(path), "--out", str(tmp_path / "out"), "--data-dir", str(DATA)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"pia: error: {path}: not a metrics table: ") and "at position 2" in err
    assert not (tmp_path / "out").exists()  # refused before a kernel started
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    assert main(["trends", "--table", str(tmp_path / "junk.parquet"), "--data-dir", str(DATA)]) == 2
    assert "junk.parquet: not a readable Parquet file" in capsys.readouterr().err


def test_a_cached_row_that_breaks_the_contract_is_measured_again(tmp_path):
    for incident in ("a", "b"):
        write_incident(tmp_path, incident=incident)
    first = measure_all(tmp_path)
    assert first.computed == 2
    cache = tmp_path / CACHE_DIR / "metrics.parquet"
    rows = pd.read_parquet(cache)
    rows.loc[rows["incident"] == "b", "status"] = "done"  # a foreign or damaged row
    rows.to_parquet(cache)
    again = measure_all(tmp_path)
    assert (again.computed, again.cached) == (1, 1)
    pd.testing.assert_frame_equal(again.table, first.table)
    rows.assign(messages=rows["messages"].astype(str)).to_parquet(cache)  # a whole column amiss
    assert measure_all(tmp_path).computed == 2


def test_durations_refuses_milestones_that_break_the_contract():
    frame = pd.DataFrame(
        {
            "incident": ["i", "i"],
            "milestone": ["detected", "fixed"],
            "ts": pd.to_datetime(["2026-01-01T00:00Z", "2026-01-01T01:00Z"], utc=True),
            "source": "manual",
            "ref": "",
        }
    )
    with pytest.raises(ContractError, match=r"milestone: not one of impact_start, .* at position 1$"):
        durations(frame)
    assert len(durations(frame.iloc[:1]).frame)


def test_as_of_is_one_type_whatever_the_caller_gives():
    stamp = as_utc("2026-11-24T19:00:00+01:00")
    assert stamp == pd.Timestamp(AS_OF) and str(stamp.tz) == "UTC" and stamp.unit == "ns"
    assert as_utc(datetime(2026, 11, 24, 18, tzinfo=UTC)) == stamp
    assert as_utc(pd.Timestamp("2026-11-24 13:00", tz="America/New_York")) == stamp
    assert as_utc(None) is None
    for value, problem in [("2026-11-24T18:00", "has no UTC offset"), ("soon", "is not an ISO 8601 time"), (datetime(2026, 1, 1), "has no UTC offset")]:
        with pytest.raises(BadValue, match=problem) as raised:
            as_utc(value, "until")
        assert raised.value.parameter == "until" and str(raised.value).startswith("until: ")
    # and every public function takes any of them alike
    text, aware = measure_all(DATA, as_of=AS_OF).table, measure_all(DATA, as_of=stamp.to_pydatetime()).table
    pd.testing.assert_frame_equal(text, aware)


def test_library_errors_name_parameters_and_the_cli_its_options(tmp_path, capsys):
    from pia.batch import run_batch

    with pytest.raises(BadValue) as raised:
        run_batch(DATA, out=tmp_path, since="last week", progress=False)
    assert str(raised.value) == "since: 'last week' is not an ISO 8601 time (e.g. 2026-03-14T14:00:00Z)"
    assert main(["batch", "--data-dir", str(DATA), "--out", str(tmp_path), "--since", "last week"]) == 2
    assert capsys.readouterr().err == "pia: error: --since: 'last week' is not an ISO 8601 time (e.g. 2026-03-14T14:00:00Z)\n"
    # an option whose name is not the parameter's: discovery's window
    monkey = {"PAGERDUTY_API_TOKEN": FAKE_TOKEN}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in monkey.items():
            patch.setenv(key, value)
        args = ["fetch", "--data-dir", str(tmp_path), "--pagerduty-since", "2026-03-02T00:00:00Z", "--pagerduty-until", "2026-03-01T00:00:00Z"]
        assert main(args) == 2
    assert capsys.readouterr().err == "pia: error: --pagerduty-until must be after --pagerduty-since\n"


def test_one_title_mask_for_every_output(tmp_path, capsys):
    from pia.privacy import title_mask

    root = write_incident(tmp_path, toml='severity = "SEV2"\n')
    toml = root / "incidents" / "inc" / "incident.toml"
    toml.write_text(toml.read_text().replace('title = "Login 5xx"', f'title = "token {FAKE_TOKEN} leaked"'))
    masked = title_mask(root)
    assert masked is not None and FAKE_TOKEN not in masked(f"token {FAKE_TOKEN}")
    assert title_mask(root, redact=False) is str and title_mask(root, pseudonymise=True) is None
    assert main(["timeline", "--data-dir", str(root), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "token [redacted" in out and FAKE_TOKEN not in out
    assert main(["timeline", "--data-dir", str(root), "--format", "csv", "--pseudonymise"]) == 0
    assert "token" not in capsys.readouterr().out  # no title at all
