"""The wheel carries everything a report needs: an installed copy (not an editable one) finds
the notebooks, the nbconvert template, the Markdown and index templates and the rule files,
which sit at the top of the repository and are mapped into the package when the wheel is built."""

from __future__ import annotations

import os
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
    shipped = [p for folder in (NOTEBOOKS, TEMPLATES) for p in folder.rglob("*") if p.is_file()]
    needed = [f"pia/{p.relative_to(ROOT).as_posix()}" for p in shipped]
    needed += ["pia/milestones/rules.toml", "pia/integrations/integrations.toml", "pia/privacy/secrets.toml"]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "pia").rglob("*.py")]  # every subpackage listed in pyproject
    assert len(needed) >= 8
    assert not [name for name in needed if name not in names]

    # installed from the wheel (ahead of the editable copy on the path), pia finds them inside itself
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)], check=True)
    probe = "from pia.report.render import NOTEBOOKS, TEMPLATES; print(NOTEBOOKS); print(TEMPLATES)"
    found = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(site)}, cwd=tmp_path, check=True, capture_output=True, text=True)
    assert found.stdout.split() == [str(site / "pia" / "notebooks"), str(site / "pia" / "templates")]
