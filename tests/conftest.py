"""Shared test fixtures: paths to the sample data and to the external fixtures beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

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
