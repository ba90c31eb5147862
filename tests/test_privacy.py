"""Secrets masked in every output by default, names pseudonymised on request, and the same
snapshot giving the same bytes whatever the machine's clock zone or locale."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pia.cli import main
from pia.events.schema import conform
from pia.privacy.redact import load_redactor
from pia.report.render import render_report
from pia.report.review import Review

from conftest import DATA

LOGIN = "2026-11-20-login-outage"
SECRETS = {
    "Slack token": "xoxb-" + "2231864519-4561237890123-q9HkLmNoPqRsTuVwXyZaBcDe",  # fakes, split for scanners
    "Slack webhook": "https://hooks.slack.com/services/T0ABCD123/B0EFGH456/abcdefghijklmnopqrstuvwx",
    "PagerDuty token": "u+" + "Zx9y8W7v6U5t4S3r2Q1p",
    "GitHub token": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "AWS access key": "AKIAIOSFODNN7EXAMPLE",
    "AWS secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "GCP key id": "8d7f3c2a1b0e9f8d7c6b5a4f3e2d1c0b9a8f7e6d",
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdXRoLXN2YyJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "private key": "MIIEowIBAAKCAQEA1x9Qo3sTrNqVbLmNkS7Hx0Zp",
    "URL password": "hunter2-Pr0d",
    "bearer": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "password assignment": "Tr0ub4dor&3x",
}
PLANTED = [
    f"here's the bot token if you need it {SECRETS['Slack token']} (rotate after)",
    f"webhook for the alerts: {SECRETS['Slack webhook']}",
    f"pd key in the runbook is {SECRETS['PagerDuty token']}",
    f"CI uses {SECRETS['GitHub token']} to pull the config repo",
    f"aws creds: aws_access_key_id={SECRETS['AWS access key']} aws_secret_access_key={SECRETS['AWS secret']}",
    f'the sa json has "private_key_id": "{SECRETS["GCP key id"]}", "private_key": "-----BEGIN PRIVATE KEY-----\\n{SECRETS["private key"]}\\n-----END PRIVATE KEY-----\\n"',
    f"curl -H 'Authorization: Bearer {SECRETS['bearer']}' https://auth.internal/token",
    f"replica dsn postgres://auth_ro:{SECRETS['URL password']}@auth-db-replica:5432/auth",
    f"token from the debug endpoint {SECRETS['JWT']}",
    f"tried password={SECRETS['password assignment']} on the admin user, no luck",
]


def test_each_secret_is_masked_and_plain_talk_survives():
    redactor = load_redactor()
    masked = redactor.text(pd.Series(PLANTED, dtype="string"))
    for secret in SECRETS.values():
        assert not masked.str.contains(secret, regex=False).any(), secret
    assert masked.str.contains("[redacted: ", regex=False).all()
    plain = pd.Series(["the password is weak; we rotated the token", "key: the pool size", "Bearer of bad news"], dtype="string")
    assert redactor.text(plain).tolist() == plain.tolist()
    assert "(rotate after)" in masked.iloc[0] and masked.iloc[7].startswith("replica dsn postgres://auth_ro:[redacted: password]@")


def test_patterns_can_be_extended_and_switched_off(tmp_path):
    (tmp_path / "pia.toml").write_text(
        '[secrets.ticket_token]\nlabel = "ticket token"\npattern = "TKT-[0-9]{6}"\n[secrets.jwt]\nenabled = false\n'
    )
    redactor = load_redactor(tmp_path)
    assert redactor.value("see TKT-123456") == "see [redacted: ticket token]"
    assert redactor.value(SECRETS["JWT"]) == SECRETS["JWT"]
    (tmp_path / "pia.toml").write_text('[secrets.bad]\npattern = "(unclosed"\n')
    with pytest.raises(Exception, match=r"pia.toml: secrets.bad.pattern: not a valid regular expression"):
        load_redactor(tmp_path)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The login outage with one of each secret in its channel, a PagerDuty note and the review."""
    data = tmp_path_factory.mktemp("planted")
    folder = data / "incidents" / LOGIN
    shutil.copytree(DATA / "incidents" / LOGIN, folder)
    day = folder / "slack" / "incident-prod-outage" / "2026-11-20.json"
    messages = json.loads(day.read_text())
    for i, text in enumerate(PLANTED):
        messages.append({"type": "message", "user": "U04QX7RM2KD", "text": text.replace("&", "&amp;"), "ts": f"1795184100.{i:06d}"})
    day.write_text(json.dumps(messages))
    notes = folder / "pagerduty" / "notes.json"
    body = json.loads(notes.read_text())
    body["notes"][0]["content"] += f" (db password={SECRETS['password assignment']})"
    notes.write_text(json.dumps(body))
    toml = folder / "incident.toml"
    toml.write_text(toml.read_text().replace('summary = "', f'summary = "Key {SECRETS["AWS access key"]} was exposed. ', 1))
    return data


def outputs(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_no_secret_in_any_output(planted, tmp_path, capsys):
    out = tmp_path / "out"
    render_report(LOGIN, data_dir=planted, out=out, formats=["html", "md"])
    for fmt in ("csv", "json", "table"):
        assert main(["timeline", LOGIN, "--data-dir", str(planted), "--format", fmt]) == 0
        (out / f"timeline.{fmt}").write_text(capsys.readouterr().out)
    files = outputs(out)
    assert {p.suffix for p in files} >= {".html", ".md", ".ipynb", ".csv", ".json", ".table"}
    for path in files:
        data = path.read_text()
        for label, secret in SECRETS.items():
            assert secret not in data, f"{label} in {path.name}"
    assert "[redacted: AWS access key] was exposed" in (out / f"{LOGIN}.html").read_text()


def test_no_redact_keeps_them_with_a_warning(planted, capsys):
    assert main(["timeline", LOGIN, "--data-dir", str(planted), "--format", "csv", "--no-redact"]) == 0
    out, err = capsys.readouterr()
    assert SECRETS["GitHub token"] in out
    assert err == "pia: warning: secrets are not masked (--no-redact); do not share this output\n"


# --- pseudonyms -----------------------------------------------------------------------------


def real_names(incident: str) -> set[str]:
    """Every form of every person's name in the sample: display, real, and name parts of 4+."""
    users = json.loads((DATA / "incidents" / incident / "slack" / "users.json").read_text())
    names = set()
    for user in users:
        if user.get("is_bot") or user["id"] == "USLACKBOT":
            continue
        for name in (user.get("real_name"), (user.get("profile") or {}).get("display_name")):
            if name:
                names.add(name)
                names.update(part for part in name.split() if part.isalpha() and len(part) >= 4)
    return names


def named(name: str, text: str) -> bool:
    """Whether ``name`` stands in ``text`` as a word ("Chen" in "Mei Lin Chen", not in "kitchen")."""
    return re.search(rf"(?<![\w]){re.escape(name.lower())}(?![\w])", text) is not None


def test_pseudonymised_report_names_nobody(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["report", LOGIN, "--data-dir", str(DATA), "--out", str(out), "--format", "html,md", "--pseudonymise"]) == 0
    assert main(["timeline", LOGIN, "--data-dir", str(DATA), "--format", "json", "--pseudonymise"]) == 0
    (out / "timeline.json").write_text(capsys.readouterr().out)
    names = real_names(LOGIN)
    assert {"Priya", "Priya Raman", "Marcus Okafor", "Sofia L", "Daniel (comms)", "Okafor"} <= names
    for path in outputs(out):
        text = path.read_text().lower()
        for name in names:
            assert not named(name, text), f"{name} in {path.name}"
    html = (out / f"{LOGIN}.html").read_text()
    assert "<dt>Incident commander</dt><dd>IC</dd>" in html and "Responder 1" in html


def test_pseudonymised_trends_name_nobody(tmp_path):
    assert main(["trends", "--data-dir", str(DATA), "--out", str(tmp_path), "--pseudonymise"]) == 0
    html = (tmp_path / "trends.html").read_text().lower()
    assert "responder 1" in html
    for name in real_names(LOGIN):
        assert not named(name, html), name


def test_a_mapping_file_sets_the_aliases(tmp_path):
    mapping = tmp_path / "aliases.toml"
    mapping.write_text('"Priya Raman" = "On-call SRE"\n"Sofia Lindqvist" = "Auth lead"\n')
    review = Review.load(LOGIN, data_dir=DATA, pseudonyms=mapping)
    people = set(review.responders_table()["person"])
    assert {"On-call SRE", "Auth lead", "IC"} <= people
    assert "Priya" not in str(review.postmortem())


# --- the same bytes ---------------------------------------------------------------------------


def render_in(env: dict[str, str], out: Path) -> None:
    code = f"""
from pia.report.render import render_report
render_report({LOGIN!r}, data_dir={str(DATA)!r}, out={str(out)!r}, formats=["html", "md"])
"""
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True, capture_output=True, timeout=300)


def test_same_snapshot_same_bytes_in_any_zone_and_locale(tmp_path, capsys):
    render_report(LOGIN, data_dir=DATA, out=tmp_path / "a", formats=["html", "md"])
    render_in({"TZ": "Asia/Tokyo", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}, tmp_path / "b")
    for suffix in (".html", ".md", ".ipynb"):
        a, b = (tmp_path / d / f"{LOGIN}{suffix}" for d in "ab")
        assert a.read_bytes() == b.read_bytes(), suffix
    runs = []
    for _ in range(2):
        for fmt in ("csv", "json"):
            assert main(["metrics", "--data-dir", str(DATA), "--format", fmt, "--as-of", "2026-11-25T00:00:00Z"]) == 0
        runs.append(capsys.readouterr().out)
    assert runs[0] == runs[1]


def test_times_across_a_dst_change():
    """Europe/Berlin leaves summer time at 01:00 UTC on 2026-10-25: 00:30 and 01:30 UTC both read
    02:30 on the wall clock, an hour apart."""
    rows = [
        {"ts": "2026-10-25T00:10:00Z", "source": "pagerduty", "kind": "trigger", "actor": "Datadog", "is_human": False, "text": "Triggered"},
        {"ts": "2026-10-25T00:30:00Z", "source": "slack", "kind": "message", "actor": "Ana", "is_human": True, "text": "I think it's the cert on edge-2"},
        {"ts": "2026-10-25T01:30:00Z", "source": "slack", "kind": "message", "actor": "Ana", "is_human": True, "text": "cert renewed, errors gone, back to normal"},
    ]
    events = conform(pd.DataFrame(rows).assign(incident="dst", ts=lambda f: pd.to_datetime(f["ts"], utc=True), ref=["a", "b", "c"]))
    review = Review.load(LOGIN, data_dir=DATA, tz="Europe/Berlin")
    assert review.local(events["ts"].iloc[1]) == "2026-10-25 02:30:00"
    assert review.local(events["ts"].iloc[2]) == "2026-10-25 02:30:00"
    assert review.local(pd.Timestamp("2026-11-20T14:05:12Z")) == "2026-11-20 15:05:12"
    from pia.report import charts

    chart = charts.timeline(events, pd.DataFrame({"milestone": ["detected"], "ts": [events["ts"].iloc[0]]}), tz="Europe/Berlin")
    assert chart is not None and chart.png.startswith(b"\x89PNG")
