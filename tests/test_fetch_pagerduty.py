"""PagerDuty fetch: the real ``RestApiV2Client`` against a local TLS server (a ``trustme`` CA
trusted through ``SSL_CERT_FILE``) replaying PagerDuty's payloads, 429s and errors included."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from http_replay import (
    PagerDutyServer,
    generated_incident,
    generated_log,
    load,
    pd_time,
    reset,
    short,
    slow,
    status,
    truncated,
    trusting,
)
from pia.errors import FetchError
from pia.sources.credentials import CredentialError, Secret, pagerduty_tls
from pia.sources.pagerduty_api import PagerDutySettings, PagerDutySource, server_wait

trustme = pytest.importorskip("trustme", reason="trustme makes the test server's certificate")

TOKEN = "u+" + "SeCrEtPagerDutyKeyValue"  # fake, split so scanners do not take it for a key
START = datetime(2026, 3, 14, 13, 0, tzinfo=timezone.utc)
SCHEMA = ("pagerduty", "pagerduty-api-schema")
RATE_LIMIT_BODY = ("pagerduty", "pagerduty-developer-docs", "rate_limit_429.body.json")


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def server(ca, tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    trusting(ca, tmp_path / "ca.pem", monkeypatch.setenv)
    with PagerDutyServer(TOKEN, ca) as running:
        yield running


def source(server: PagerDutyServer, token: str = TOKEN, **changes) -> PagerDutySource:
    return PagerDutySource.connect(Secret(token), PagerDutySettings.local(server.url, **changes))


def recorded_incident(server: PagerDutyServer) -> str:
    incident = load(*SCHEMA, "incident.get.200.json")["incident"]
    server.add_incident(
        incident,
        load(*SCHEMA, "incident.log_entries.200.json")["log_entries"],
        load(*SCHEMA, "incident.notes.200.json")["notes"],
        load(*SCHEMA, "incident.alerts.200.json")["alerts"],
    )
    return incident["id"]


def generated(server: PagerDutyServer, number: int = 42, entries: int = 30) -> str:
    incident = generated_incident(number, START, resolved=START + timedelta(hours=1))
    server.add_incident(incident, generated_log(incident, entries))
    return incident["id"]


def test_pull_recorded_incident_with_log_entries_notes_alerts(server):
    pd_id = recorded_incident(server)
    pulled = source(server).pull(pd_id)

    assert pulled.incident == load(*SCHEMA, "incident.get.200.json")["incident"]
    assert pulled.log_entries == load(*SCHEMA, "incident.log_entries.200.json")["log_entries"]
    assert len(pulled.notes) == 2 and len(pulled.alerts) == 1 and not pulled.truncated
    asked = server.requests("/incidents/{id}/log_entries")[0].params
    assert asked["is_overview"] == ["false"] and asked["include[]"] == ["channels"]


def test_log_entries_are_paged_whole(server):
    pd_id = generated(server, entries=250)
    pulled = source(server).pull(pd_id)
    assert len(pulled.log_entries) == 250
    assert [r.params["offset"] for r in server.requests("/incidents/{id}/log_entries")] == [["0"], ["100"], ["200"]]


@pytest.mark.parametrize("header", ["ratelimit_reset", "Retry_After"])
def test_429_waits_as_long_as_the_server_says(server, header):
    pd_id = generated(server)
    server.inject("/incidents/{id}", status(429, load(*RATE_LIMIT_BODY), **{header: "1"}))
    pulled = source(server).pull(pd_id)

    assert pulled.id == pd_id
    first, second = server.requests("/incidents/{id}")[:2]
    assert second.at - first.at >= 1.0


def test_429_is_retried_a_bounded_number_of_times(server):
    pd_id = generated(server)
    server.inject("/incidents/{id}", *[status(429, load(*RATE_LIMIT_BODY))] * 10)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"incident PINC00042: still rate limited \(429\) after 2 retries") as caught:
        source(server, rate_limit_retries=2).pull(pd_id)
    assert caught.value.status == 429
    assert len(server.requests("/incidents/{id}")) == 3
    assert time.monotonic() - started < 3


def test_a_wait_longer_than_allowed_fails_at_once(server):
    pd_id = generated(server)
    server.inject("/incidents/{id}", status(429, load(*RATE_LIMIT_BODY), ratelimit_reset="3600"))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"asked to wait 3600s; run the fetch again after that"):
        source(server).pull(pd_id)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "fault",
    # built inside the test, so a missing fixture skips one case instead of the module
    [lambda: status(500, load("pagerduty", "pagerduty-developer-docs", "error_response.example.json")), reset, lambda: slow(1.0), short],
    ids=["500", "reset", "timeout", "short-body"],
)
def test_transient_faults_are_retried(server, fault):
    fault = fault()
    pd_id = generated(server, entries=120)
    server.inject("/incidents/{id}/log_entries", fault)
    pulled = source(server, timeout=0.4).pull(pd_id)
    assert len(pulled.log_entries) == 120
    assert len(server.requests("/incidents/{id}/log_entries")) == 3  # two pages, one asked twice


def test_truncated_json_is_a_clear_error(server):
    pd_id = generated(server)
    server.inject("/incidents/{id}/notes", truncated())
    with pytest.raises(FetchError, match=r"notes of PINC00042: a truncated or malformed answer; fetch again"):
        source(server).pull(pd_id)


def test_server_errors_give_up_with_a_message(server):
    pd_id = generated(server)
    server.inject("/incidents/{id}/alerts", *[status(503, {"error": {"message": "Unavailable"}})] * 5)
    with pytest.raises(FetchError, match=r"alerts of PINC00042: PagerDuty answered HTTP 503 after retries"):
        source(server, server_error_retries=1).pull(pd_id)


def test_401_403_404_are_one_line_messages(server):
    pd_id = generated(server)
    with pytest.raises(CredentialError, match=r"API key was refused \(401\); set PAGERDUTY_API_TOKEN") as refused:
        source(server, token="u+wrong-key-0000").pull(pd_id)
    assert "0000" not in str(refused.value)  # the client's own message shows the key's end; ours does not
    server.forbidden.add(pd_id)
    with pytest.raises(CredentialError, match=r"may not read this \(403\)"):
        source(server).pull(pd_id)
    with pytest.raises(FetchError, match=r"incident PNOPE: not found \(404\); check the incident id") as missing:
        source(server).pull("PNOPE")
    assert missing.value.status == 404
    for error in (refused.value, missing.value):
        assert "\n" not in str(error) and TOKEN not in str(error)


def test_an_untrusted_certificate_says_how_to_trust_it(server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    pd_id = generated(server)
    with pytest.raises(FetchError, match=r"TLS certificate of 127.0.0.1:\d+ is not trusted; .*set SSL_CERT_FILE"):
        source(server, network_retries=0).pull(pd_id)


def test_requests_ca_bundle_is_honoured(server, monkeypatch, ca, tmp_path):
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    pd_id = generated(server)
    pulled = source(server, verify=pagerduty_tls()).pull(pd_id)
    assert pulled.id == pd_id


def test_incidents_by_window_and_service(server):
    for n in range(5):
        server.add_incident(generated_incident(n + 1, START + timedelta(days=n), resolved=None, service="PSVC00A" if n % 2 else "PSVC00B"))
    slack_window = source(server).incidents(START + timedelta(days=1), START + timedelta(days=4), ["PSVC00A"])
    assert [i["incident_number"] for i in slack_window] == [2, 4]
    assert server.requests("/incidents")[0].params["service_ids[]"] == ["PSVC00A"]


def test_windows_beyond_the_offset_ceiling_are_listed_whole(server):
    count = 10_050
    for n in range(count):  # lean incidents: this test is about paging, not content
        created = START + timedelta(seconds=n * 30)
        server.add_incident({"id": f"PINC{n:05d}", "incident_number": n, "created_at": pd_time(created)})
    found = source(server).incidents(START, START + timedelta(days=10))
    assert len(found) == count and len({i["id"] for i in found}) == count
    listed = server.requests("/incidents")
    totals = [r for r in listed if r.params.get("total") == ["true"] and r.params.get("limit") == ["1"]]
    assert len(totals) >= 3  # the whole window, then its halves
    assert all(int(r.params["offset"][0]) + int(r.params["limit"][0]) <= 10_000 for r in listed)


def test_server_wait_reads_seconds_and_http_dates():
    assert server_wait({"ratelimit-reset": "20"}) == 20
    assert server_wait({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, now=1445412500.0) == 10
    assert server_wait({}) is None
