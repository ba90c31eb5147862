"""Secrets pasted during an incident are masked in every output: the review (HTML), the
Markdown draft, the executed notebook, the exported timeline and the metrics table.

One sample is copied and one of each secret planted in its channel, in messages that become
milestone evidence, hypotheses, directives and status updates, in a PagerDuty note and log
entry, and in incident.toml's review text and action items. A render with ``--no-redact``
is the control: every planted secret must show there, so the redacted render finding none
means something.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pia.batch import run_batch
from pia.cli import main
from pia.milestones import load_config
from pia.privacy.redact import load_redactor
from pia.report.review import Review

from conftest import DATA

SAMPLE = "2026-11-20-login-outage"
NO_REDACT_WARNING = "pia: warning: secrets are not masked (--no-redact); do not share this output\n"


@dataclass(frozen=True)
class Plant:
    """A sentence with a secret in it: ``before + masked + after`` is what a responder pasted;
    ``masked`` is the span the mask replaces and ``secret`` the part that must never show."""

    label: str
    before: str
    masked: str
    after: str
    secret: str = ""

    @property
    def core(self) -> str:
        return self.secret or self.masked

    @property
    def text(self) -> str:
        return self.before + self.masked + self.after

    @property
    def redacted(self) -> str:
        return f"{self.before}[redacted: {self.label}]{self.after}"


#: every secret below is fake, and split in two so that secret scanners do not take it for a real one
KEY = "K" + "EY"
RSA_BODY = "MIIEowIBAAKCAQEA1x9Qo3sTrNqVbLmNkS7Hx0Zp\nq8WvR2c5dJ0tYh3LmE7kPz1XaB4sNfUoVi9gHr6y\nT2wQe5Jd8Kc1Ml0Np3Rb"
GCP_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"

PLANTS = [
    Plant("Slack token", "here's the bot token if you need it ", "xoxb-" + "2231864519-4561237890123-q9HkLmNoPqRsTuVwXyZaBcDe", " (rotate after)"),
    Plant("Slack token", "my user token for the export: ", "xoxp-" + "2231864519-4561237890-4561237890123-0a1b2c3d4e5f60718293a4b5c6d7e8f9", ", will revoke"),
    Plant("Slack token", "socket mode app token ", "xapp-" + "1-A0ABCDEF123-4561237890123-0a1b2c3d4e5f60718293a4b5c6d7e8f9", " is in the helm values"),
    Plant("Slack webhook", "alerts webhook: ", "https://hooks.slack.com/" + "services/T0ABCD123/B0EFGH456/abcdefghijklmnopqrstuvwx", " posts to #ops"),
    Plant("PagerDuty token", "my pd user token ", "u+" + "Zx9y8W7v6U5t4S3r2Q1p", " is scoped read-only"),
    Plant("PagerDuty key", "PAGERDUTY_API_KEY=", "y_NbAkKc66ryYTWUXYEu", " is what the cron job uses"),
    Plant("credential", "curl -H 'Authorization: Token ", "token=e4Rt7YuIo0PaSdFgHjKl", "' https://api.pagerduty.com/incidents"),
    Plant("GitHub token", "CI uses ", "ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a", " to pull the config repo"),
    Plant("GitHub token", "oauth app token ", "gho_" + "9aB8cD7eF6gH5iJ4kL3mN2oP1qR0sT9uV8wX", " from the deploy bot"),
    Plant("GitHub token", "the action's ", "ghs_" + "Zy1Xw2Vu3Ts4Rq5Po6Nm7Lk8Ji9Hg0FeDcBa", " expired mid-run"),
    Plant("GitHub token", "fine-grained ", "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123", " has repo scope"),
    Plant("AWS access key", "aws_access_key_id=", "AKIA" + "IOSFODNN7EXAMPLE", " in the old runbook"),
    Plant("AWS access key", "the role session is ", "ASIA" + "Y34FZKBOKMUTVV7A", " until 16:00"),
    Plant("AWS secret", "aws_secret_access_key = ", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", " (prod account)"),
    Plant("GCP key id", 'the sa json has "private_key_id": "', "8d7f3c2a1b0e9f8d7c6b5a4f3e2d1c0b9a8f7e6d", '", project acme-prod'),
    Plant(
        "private key",
        '"private_key": "',
        f"-----BEGIN PRIVATE {KEY}-----\\n{GCP_BODY}\\n-----END PRIVATE {KEY}-----",
        '\\n", "client_email": "reader@acme-prod.iam.gserviceaccount.com"',
        secret=GCP_BODY,
    ),
    Plant("JWT", "token from the debug endpoint ", "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJhdXRoLXN2YyJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk", " decodes to auth-svc"),
    Plant(
        "private key",
        "deploy key from the box:\n```",
        f"-----BEGIN RSA PRIVATE {KEY}-----\n{RSA_BODY}\n-----END RSA PRIVATE {KEY}-----",
        "```\nplease rotate it",
        secret=RSA_BODY,
    ),
    Plant("password", "replica dsn postgres://auth_ro:", "hunter2-Pr0d", "@auth-db-replica:5432/auth"),
    Plant("secret", "tried password=", "Tr0ub4dor&3x", " on the admin user, no luck"),
    Plant("secret", "old config had passwd=", "Kq8zWv2mXp", " for the replica"),
    Plant("secret", "webhook secret=", "whsec_4f9a8b7c6d5e", " is checked on receipt"),
    Plant("secret", "the reset link had token=", "9f8e7d6c5b4a3f2e1d0c", " in it"),
    Plant("secret", "search client api_key=", "Ak3yF0rS3archProd", " hits the quota"),
    Plant("credential", "curl -H 'Authorization: Bearer ", "sk_" + "live_4eC39HqLyjWDarjtT1zdp7dc", "' https://auth.internal/token"),
    Plant("credential", "grafana proxy sends Authorization: Basic ", "YWRtaW46c3dvcmRmaXNo", " on every call"),
]
#: planted beyond the channel, each a secret of its own, so the control shows each path works
NOTE = Plant("secret", "replica creds rotated; old one was password=", "N0te-Pa55word", ", now in vault")
LOG = Plant("GitHub token", "deploy bot token ", "ghp_" + "LogEntryT0kenAbCdEfGhIjKlMnOpQrStUvWx", " revoked")
REVIEW = Plant("AWS access key", "Key ", "AKIA" + "REVIEWTEXT000001", " was exposed in the channel.")
ACTION = Plant("secret", "https://jira.acme.io/browse/SEC-9?token=", "AcT10nItemT0ken", "")
TITLE = Plant("secret", "Login 5xx, reset link had token=", "T1tleT0ken8e7d6c5b4a", " --")
#: in names and incident.toml's fields, which a responder can paste into as well
NAME = Plant("GitHub token", "Marcus ", "ghp_" + "NameT0kenAbCdEfGhIjKlMnOpQrStUvWxYz12", "")
AGENT = Plant("AWS access key", "Ops Bot ", "AKIA" + "AGENTNAME0000001", "")
SEVERITY = Plant("secret", "SEV1 token=", "Sev3r1tyT0kenQ9", "")
SERVICE = Plant("secret", "auth api_key=", "S3rv1ceK3yZ8wXq", "")
OTHER_PLACES = [NOTE, LOG, REVIEW, ACTION, TITLE, NAME, AGENT, SEVERITY, SERVICE]

#: ordinary talk that mentions secrets without holding one
PLAIN = [
    "the password is weak; we rotated the token",
    "password reset flow is broken for SSO users",
    "secret: unknown yet, ask the auth team",
    "key: the pool size, not the timeout",
    "Bearer of bad news: the rollback didn't help",
    "Basic auth is off on the admin port",
    "token bucket limits on the edge are 500/s",
    "AKIA is the prefix of long-lived AWS keys, ASIA of session ones",
    "eyJ is how every JWT starts",
    "pd api key is in vault, not in the repo",
    "https://grafana.acme.io/d/login?orgId=1&from=now-1h",
    "Authorization: required for this endpoint",
]


# --- the patterns on their own -------------------------------------------------------------


def test_each_secret_masked_with_its_label_and_the_words_around_it_kept():
    masked = load_redactor().text(pd.Series([p.text for p in PLANTS + OTHER_PLACES], dtype="string"))
    for plant, got in zip(PLANTS + OTHER_PLACES, masked):
        assert got == plant.redacted, plant.label


def test_ordinary_talk_is_left_alone():
    plain = pd.Series(PLAIN, dtype="string")
    assert load_redactor().text(plain).tolist() == PLAIN


def test_missing_text_stays_missing():
    column = pd.Series(["token=abcd1234efgh", None, ""], dtype="string")
    masked = load_redactor().text(column)
    assert masked.dtype == column.dtype
    assert masked.tolist()[0] == "token=[redacted: secret]" and masked.isna().tolist() == [False, True, False]


def test_a_lone_surrogate_does_not_stop_the_masks():
    """JSON can carry a lone surrogate ("\\ud800"); Arrow refuses it, the masks still run."""
    column = pd.Series(["\ud800 token=abcd1234efgh", "ok", None], dtype="string")
    assert load_redactor().text(column).tolist()[:2] == ["\ud800 token=[redacted: secret]", "ok"]


def test_status_page_texts_are_not_masked(external):
    """About 15,000 real incident updates of public status pages: none holds a secret, so
    none may change."""
    redactor = load_redactor()
    for path in sorted((external / "incident-datasets").rglob("*.csv")):
        frame = pd.read_csv(path, dtype=str)
        for column in frame.columns:
            values = frame[column].dropna().astype("string")
            changed = values[redactor.text(values) != values]
            assert changed.empty, f"{path.name}:{column}: {changed.iloc[0] if len(changed) else ''}"


def test_pia_toml_changes_adds_and_switches_off(tmp_path):
    (tmp_path / "pia.toml").write_text(
        '[secrets.ticket_token]\nlabel = "ticket token"\npattern = "TKT-[0-9]{6}"\n'
        '[secrets.jwt]\nenabled = false\n'
        '[secrets.github_token]\nlabel = "code host token"\n'
        '[pseudonyms]\n"Priya Raman" = "On-call SRE"\n'
    )
    redactor = load_redactor(tmp_path)
    assert redactor.value("see TKT-123456 now") == "see [redacted: ticket token] now"
    jwt = next(p for p in PLANTS if p.label == "JWT")
    assert redactor.value(jwt.text) == jwt.text
    assert redactor.value("CI uses ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a") == "CI uses [redacted: code host token]"
    load_config(tmp_path)  # the milestone config shares pia.toml and leaves these tables alone
    (tmp_path / "pia.toml").write_text('[secrets.bad]\npattern = "(unclosed"\n')
    with pytest.raises(Exception, match=r"pia.toml: secrets.bad.pattern: not a valid regular expression"):
        load_redactor(tmp_path)


def test_cues_only_skip_rows_the_patterns_would_not_change():
    """Each pattern's Arrow cue is a pre-check: with or without it, the same text comes out,
    on the planted secrets, the plain talk and every sample's messages."""
    from dataclasses import replace

    from pia.privacy.redact import Redactor
    from pia.snapshot import list_incidents, open_incident

    cued = load_redactor()
    assert all(secret.cue for secret in cued.secrets)
    uncued = Redactor(tuple(replace(secret, cue=None) for secret in cued.secrets))
    texts = [p.text for p in PLANTS + OTHER_PLACES] + PLAIN
    texts += [t for i in list_incidents(DATA) for t in open_incident(i, DATA).events()["text"].dropna()]
    column = pd.Series(texts + [None], dtype="string")
    assert cued.text(column).equals(uncued.text(column))


def test_a_new_pattern_drops_the_packaged_cue(tmp_path):
    (tmp_path / "pia.toml").write_text('[secrets.jwt]\npattern = "jwt:[a-z]{8}"\n[secrets.own]\npattern = "X-[0-9]{4}"\ncue = "X-"\n')
    redactor = {s.name: s for s in load_redactor(tmp_path).secrets}
    assert redactor["jwt"].cue is None and redactor["own"].cue == "X-"
    assert load_redactor(tmp_path).text(pd.Series(["jwt:abcdefgh and X-1234"], dtype="string")).tolist() == ["[redacted: JWT] and [redacted: own]"]
    (tmp_path / "pia.toml").write_text('[secrets.own]\npattern = "X"\ncue = "(?<=X)"\n')
    with pytest.raises(Exception, match=r"pia.toml: secrets.own.cue: not a valid RE2 expression"):
        load_redactor(tmp_path)


def test_every_pattern_masks_100_kb_of_its_worst_case_within_the_limit():
    """RE2 runs in time linear in the text: 100 KB built to make a backtracking engine try
    every start and length (16 KB of "pd key" and spaces took Python's re 21 s) passes each
    pattern within the limit; the hang guard is the same for every pattern."""
    from corpus.cases import SECRET_WORST_CASES
    from pia.privacy.redact import Redactor
    from helpers import time_limit

    secrets = load_redactor().secrets
    assert {s.name for s in secrets} <= set(SECRET_WORST_CASES), "a packaged pattern without a worst case"
    for secret in secrets:
        text = SECRET_WORST_CASES[secret.name](100_000)
        assert len(text) == 100_000
        with time_limit(PATTERN_LIMIT):
            masked = Redactor((secret,)).text(pd.Series([text, text], dtype="string"))
        assert masked.notna().all(), secret.name


#: seconds one pattern may take on 100 KB of its worst case
PATTERN_LIMIT = 5


def test_three_long_hostile_messages_through_the_command(tmp_path):
    """The report's shape of the hang: three 40,000-space "pd key" messages in a channel."""
    from helpers import good_snapshot, time_limit

    folder = good_snapshot(tmp_path)
    day = folder / "slack" / "inc-1" / "2026-03-14.json"
    day.write_text(json.dumps([{"type": "message", "user": "U1", "text": "pd key" + " " * 40_000 + f"x{i}", "ts": f"17734971{i:02d}.000100"} for i in range(3)]))
    with time_limit(PATTERN_LIMIT * 3):
        code, out, err = run(["timeline", "inc", "--data-dir", str(tmp_path / "data"), "--format", "json"])
    assert code == 0 and err == "" and [row["text"][-2:] for row in json.loads(out) if row["source"] == "slack"] == ["x0", "x1", "x2"]


def test_a_pattern_that_needs_backtracking_is_refused(tmp_path):
    """Lookarounds and backreferences have no linear-time match: such a pattern is a config
    error, never run by a backtracking engine."""
    for pattern in ("a(?=b)", "(a)\\1", "(?<!x)y"):
        (tmp_path / "pia.toml").write_text(f"[secrets.slow]\npattern = '{pattern}'\n")
        with pytest.raises(Exception, match=r"secrets.slow.pattern: not a valid regular expression \(RE2: no lookarounds or backreferences\)"):
            load_redactor(tmp_path)


# --- every output of a render -------------------------------------------------------------


def slack_ts(ref: str) -> str | None:
    """The message ts of a Slack permalink (``…/p1795184042367600`` → ``1795184042.367600``)."""
    found = re.search(r"/p(\d{10})(\d{6})$", ref or "")
    return f"{found[1]}.{found[2]}" if found else None


def plant(folder: Path) -> None:
    """Put the secrets into the copied sample: channel messages first in those the review
    quotes (milestone evidence, hypotheses, directives and their answers, status updates)."""
    review = Review.load(SAMPLE, data_dir=folder.parents[1])
    d = review.detection
    refs = [*d.milestones["ref"], *d.hypotheses["ref"], *d.directives["ref"], *d.directives["answer_ref"], *d.status_updates["ref"]]
    quoted = list(dict.fromkeys(ts for ts in map(slack_ts, refs) if ts))
    day = next((folder / "slack").glob("*/2026-11-20.json"))
    messages = json.loads(day.read_text())
    by_ts = {m["ts"]: m for m in messages}
    targets = [by_ts[ts] for ts in quoted if ts in by_ts and by_ts[ts].get("text")]
    assert len(targets) >= 8, "the sample's review quotes fewer messages than expected"
    slack_escape = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    for i, secret in enumerate(PLANTS):
        if i < len(targets):
            targets[i]["text"] += " " + slack_escape(secret.text)
        else:
            messages.append({"type": "message", "user": "U04QX7RM2KD", "text": slack_escape(secret.text), "ts": f"1795184100.{i:06d}"})
    day.write_text(json.dumps(messages))

    notes = folder / "pagerduty" / "notes.json"
    body = json.loads(notes.read_text())
    body["notes"].append({**body["notes"][-1], "id": "PNOTE9", "created_at": "2026-11-20T14:40:00Z", "content": NOTE.text})
    notes.write_text(json.dumps(body))
    log = folder / "pagerduty" / "log_entries.json"
    body = json.loads(log.read_text())
    annotate = next(e for e in body["log_entries"] if e["type"] == "annotate_log_entry")
    annotate["summary"] += " " + LOG.text
    log.write_text(json.dumps(body))
    users = folder / "slack" / "users.json"
    people = json.loads(users.read_text())
    marcus = next(u for u in people if u["profile"].get("display_name") == "Marcus")
    marcus["profile"]["display_name"] = NAME.text
    users.write_text(json.dumps(people))
    agent = next(e for e in body["log_entries"] if e["agent"]["type"] == "user_reference")
    agent["agent"]["summary"] = AGENT.text
    log.write_text(json.dumps(body))
    toml = folder / "incident.toml"
    text = toml.read_text().replace('summary = "', f'summary = "{REVIEW.text} ', 1).replace('title = "', f'title = "{TITLE.text} ', 1)
    text = text.replace('severity = "SEV1"', f'severity = "{SEVERITY.text}"').replace('services = ["login", "auth"]', f'services = ["login", "{SERVICE.text}"]')
    item = f'{{ title = "Rotate what was pasted", owner = "security", type = "prevent", url = "{ACTION.text}" }},'
    toml.write_text(text.replace("action_items = [", f"action_items = [\n  {item}", 1))


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def render_all(data: Path, out: Path, *extra: str) -> str:
    """Every output for the planted sample into ``out``; returns what went to stderr."""
    code, _, errors = run(["report", SAMPLE, "--data-dir", str(data), "--out", str(out), "--format", "html,md", *extra])
    assert code == 0
    for fmt in ("csv", "json", "table"):
        code, printed, err = run(["timeline", SAMPLE, "--data-dir", str(data), "--format", fmt, *extra])
        assert code == 0
        (out / f"timeline.{fmt}").write_text(printed)
        errors += err
    for fmt in ("csv", "json"):
        code, printed, _ = run(["metrics", SAMPLE, "--data-dir", str(data), "--format", fmt])
        assert code == 0
        (out / f"metrics.{fmt}").write_text(printed)
    code, printed, err = run(["timeline", "--data-dir", str(data), "--format", "csv", *extra])  # a line per incident
    assert code == 0
    (out / "incidents.csv").write_text(printed)
    errors += err
    # the batch index shows each incident's title
    run_batch(data, out=out / "batch", formats=["md"], trends=False, progress=False, redact="--no-redact" not in extra)
    shutil.copy(out / "batch" / "index.html", out / "index.html")
    return errors


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("planted")
    folder = data / "incidents" / SAMPLE
    shutil.copytree(DATA / "incidents" / SAMPLE, folder)
    (folder / "manifest.json").unlink(missing_ok=True)  # the plants change the files on purpose
    plant(folder)
    return data


@pytest.fixture(scope="module")
def redacted(planted, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("redacted")
    return out, render_all(planted, out)


@pytest.fixture(scope="module")
def kept(planted, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("kept")
    return out, render_all(planted, out, "--no-redact")


def readable(path: Path) -> str:
    """A file's text as a reader sees it: JSON strings decoded (the notebook, the timeline),
    HTML entities and Markdown backslash escapes undone, and the raw text beside it."""
    raw = path.read_text()
    parts = [raw]
    if path.suffix in (".ipynb", ".json"):
        found: list[str] = []

        def walk(node):
            if isinstance(node, str):
                found.append(node)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
            elif isinstance(node, dict):
                for v in node.values():
                    walk(v)

        walk(json.loads(raw))
        parts.append("\n".join(found))
    decoded = html.unescape("\n".join(parts))
    return decoded + "\n" + re.sub(r"\\(.)", r"\1", decoded)


def windows(secret: str, size: int = 12) -> set[str]:
    """Every stretch of ``size`` characters of a secret (a partly masked secret leaks too)."""
    lines = [line for line in secret.split("\n") if line]
    return {line[i : i + size] for line in lines for i in range(max(1, len(line) - size + 1))}


def outputs(folder: Path) -> dict[str, str]:
    return {p.name: readable(p) for p in sorted(folder.iterdir()) if p.is_file()}


def test_every_output_is_written(redacted):
    out, _ = redacted
    assert {p.suffix for p in out.iterdir()} >= {".html", ".md", ".ipynb", ".csv", ".json", ".table"}


def test_the_control_shows_every_secret(kept):
    """Without redaction each planted secret reaches the outputs, so the plants are in the
    places the review reads, and the check below is not empty."""
    out, errors = kept
    files = outputs(out)
    everything = "\n".join(files.values())
    report = "\n".join(text for name, text in files.items() if name.startswith(SAMPLE))
    for secret in PLANTS + OTHER_PLACES:
        assert secret.core.split("\n")[0] in everything, f"{secret.label}: {secret.core[:20]}"
    in_report = [s for s in PLANTS + OTHER_PLACES if s.core.split("\n")[0] in report]
    assert len(in_report) >= len(PLANTS) // 2, "the review quotes the messages that hold secrets"
    assert errors.count(NO_REDACT_WARNING) == 5 and errors.strip("\n").replace(NO_REDACT_WARNING.strip(), "").strip() == ""


def test_no_secret_in_any_output(redacted):
    out, errors = redacted
    assert errors == ""
    for name, text in outputs(out).items():
        for secret in PLANTS + OTHER_PLACES:
            for window in windows(secret.core.replace("\\n", "\n")):
                assert window not in text, f"{secret.label} ({window!r}) in {name}"


def test_words_around_each_secret_survive(redacted):
    out, _ = redacted
    timeline = json.loads((out / "timeline.json").read_text())
    texts = "\n".join(row["text"] for row in timeline)
    for secret in PLANTS + [NOTE, LOG]:
        assert secret.redacted in texts, secret.redacted
    report = readable(out / f"{SAMPLE}.html")
    assert REVIEW.redacted in report and "https://jira.acme.io/browse/SEC-9?token=[redacted: secret]" in report
    draft = readable(out / f"{SAMPLE}.md")
    assert draft.count("[redacted: ") >= 8, "the draft quotes planted messages"


def test_the_executed_notebook_holds_no_raw_text(redacted):
    """Its parameters ask for redaction, and it carries only outputs computed from masked data."""
    out, _ = redacted
    notebook = json.loads((out / f"{SAMPLE}.ipynb").read_text())
    parameters = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
    assert "redact = True" in "".join(parameters["source"])
    assert "[redacted: " in readable(out / f"{SAMPLE}.ipynb")
