"""Shared test fixtures: paths to the sample data and to the external fixtures beside the checkout."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from pia.events.schema import conform
from pia.report.render import find_chromium

ROOT = Path(__file__).resolve().parents[1]


def _copy_of_samples() -> Path:
    """The sample data dir, copied once per run: tests read it and write into it (the metrics
    cache, reports) without touching the checkout, and a cache left there by another version
    of the code can never answer for this one."""
    copy = Path(tempfile.mkdtemp(prefix="pia-samples-")) / "data"
    shutil.copytree(ROOT / "data", copy, ignore=shutil.ignore_patterns(".*"))
    atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
    return copy


DATA = _copy_of_samples()
EXTERNAL = ROOT.parent / "shared" / "fixtures" / "external"


@pytest.fixture
def external() -> Path:
    """The folder of real third-party payloads; tests that need it skip where it is absent."""
    if not EXTERNAL.is_dir():
        pytest.skip(f"external fixtures not found at ../shared/fixtures/external (beside the checkout)")
    return EXTERNAL


@pytest.fixture
def samples() -> Path:
    return DATA


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright; tests that need it skip where it is absent."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium not installed (apt-get install chromium); browser checks skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


#: every image on the page: loaded, and how many colours it has (a blank chart has one)
IMAGE_CHECK = """() => Array.from(document.images).map(img => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  for (let i = 0; i < d.length; i += 4 * 97) colours.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
  return {ok: img.complete && img.naturalWidth > 0, colours: colours.size};
})"""


def open_page(browser, path: Path):
    """Open a local file; returns the page and lists of console problems, requests, dialogs."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems, requests, dialogs = [], [], []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, problems, requests, dialogs


#: a fake Slack token, split so scanners do not take it for a real one
FAKE_TOKEN = "xoxb-" + "1234567890-0987654321-TESTTOKENnotreal"
#: a small incident (2026-11-20, UTC) whose milestones have runners-up: restored is stated as
#: 14:10 in a message of 14:20, and two later messages say it again, one with a pasted token
#: and one with markup that must never run
RUNNERS_UP = [
    ("14:00", "U1", "seeing 5xx on login, paging"),
    ("14:04", "U2", "I think it's the auth deploy"),
    ("14:06", "U2", "rolling back auth now"),
    ("14:20", "U2", "5xx back to baseline for 10 min"),
    ("14:25", "U1", f"login is back to normal. rotated the key {FAKE_TOKEN} that was pasted here"),
    ("14:26", "U2", "<script>alert(1)</script> all green again, back to normal"),
    ("14:30", "U1", "incident resolved, thanks all"),
]


def write_incident(root: Path, messages=RUNNERS_UP, *, incident: str = "inc", toml: str = "") -> Path:
    """A Slack-only snapshot in the data dir ``root`` from ``(HH:MM, user, text)`` messages of
    2026-11-20 (users U1 "Ana" and U2 "Bo Li"); ``toml`` is appended to its incident.toml.
    Text is stored as Slack stores it (``<``, ``>`` and ``&`` escaped). Returns ``root``."""
    import json

    folder = root / "incidents" / incident
    slack = folder / "slack"
    (slack / "inc-1").mkdir(parents=True, exist_ok=True)
    (folder / "incident.toml").write_text(f'id = "{incident}"\ntitle = "Login 5xx"\n{toml}')
    users = [{"id": "U1", "name": "ana", "profile": {"display_name": "Ana"}}, {"id": "U2", "name": "bo", "real_name": "Bo Li"}]
    (slack / "users.json").write_text(json.dumps(users))
    (slack / "channels.json").write_text(json.dumps([{"id": "C1", "name": "inc-1"}]))
    rows = []
    for i, (clock, user, text) in enumerate(messages):
        seconds = int(pd.Timestamp(f"2026-11-20T{clock}:00Z").timestamp())
        stored = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        rows.append({"type": "message", "user": user, "text": stored, "ts": f"{seconds}.{i:06d}"})
    (slack / "inc-1" / "2026-11-20.json").write_text(json.dumps(rows))
    return root


# --- small hand-built timelines (milestone detection and the metrics built on it) -----------

T0 = pd.Timestamp("2026-11-20T14:00:00Z")
MACHINE = {"bot", "trigger", "notify", "alert"}


def timeline(*rows: tuple, incident: str = "inc") -> pd.DataFrame:
    """Events from ``(minute, source, kind, actor, text[, extra columns])`` tuples."""
    out = []
    for i, (minute, source, kind, actor, text, *extra) in enumerate(rows):
        out.append(
            {
                "incident": incident,
                "ts": T0 + pd.Timedelta(minutes=minute),
                "source": source,
                "kind": kind,
                "actor": actor,
                "actor_id": actor.upper(),
                "is_human": kind not in MACHINE,
                "text": text,
                "ref": f"ref-{i}",
                **(extra[0] if extra else {}),
            }
        )
    return conform(pd.DataFrame(out))


def say(minute: float, actor: str, text: str, **extra: str) -> tuple:
    return (minute, "slack", "message", actor, text, extra)


def login() -> pd.DataFrame:
    return timeline(
        (0, "pagerduty", "trigger", "Datadog", "Triggered: login 5xx"),
        (0.1, "pagerduty", "notify", "Login API", "Notified Priya by SMS.", {"mentions": "PPRIYA"}),
        (1, "pagerduty", "acknowledge", "Priya", "Acknowledged by Priya."),
        say(2, "ic", "opening this, I'm IC"),
        say(3, "ic", "@Priya can you give me impact?", mentions="PRIYA"),
        say(4, "priya", "~38% of logins failing"),
        say(5, "priya", "declared SEV1 in PagerDuty"),
        say(6, "ic", "what's your current hypothesis?"),
        say(7, "priya", "I think it's the auth deploy"),
        say(8, "priya", "rolling back auth now"),
        say(15, "priya", "Rollback complete, but errors persist"),
        say(16, "ic", "ok it's not the deploy, dropping that theory"),
        say(20, "priya", "I think the pool is exhausted, that's our 503s"),
        say(21, "ic", "@Sofia can you join us?", mentions="SOFIA"),
        say(26, "sofia", "here"),
        say(30, "sofia", "reverting the pool size config, rolling restart"),
        say(40, "priya", "5xx dropping fast"),
        say(50, "priya", "5xx back to baseline for 10 min"),
        say(51, "ic", "status update: login recovered"),
        (60, "pagerduty", "resolve", "Priya", "Resolved by Priya."),
    )
