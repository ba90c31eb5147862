"""The wheel carries everything a report needs: an installed copy (not an editable one) finds
the notebooks, the nbconvert template, the Markdown and index templates and the rule files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from pia.report.render import NOTEBOOKS, TEMPLATES

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_notebooks_templates_and_rules(tmp_path):
    # a copy of the sources alone: a build/ folder left by an earlier build would fill any gap
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", ".*", "__pycache__", "data", "test-artifacts"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pia-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = [p for folder in (NOTEBOOKS, TEMPLATES) for p in folder.rglob("*") if p.is_file()]
    needed += [ROOT / "pia" / "milestones" / "rules.toml", ROOT / "pia" / "integrations" / "integrations.toml", ROOT / "pia" / "privacy" / "secrets.toml"]
    assert len(needed) >= 8
    missing = [p.relative_to(ROOT).as_posix() for p in needed if p.relative_to(ROOT).as_posix() not in names]
    assert not missing
