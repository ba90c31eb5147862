"""Shared test fixtures: paths to the sample data and to the external fixtures beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from pia.report.render import find_chromium

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
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
