"""Notebooks to work in: `pia notebook` writes an incident's review notebook, a tutorial of the
library with every cell executed on a real kernel, and never replaces one someone changed; its
parameters cell holds the run's parameters, so editing it explores another incident; the
README's papermill command works as written; a notebook that fails is kept as evidence."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pia.cli import main

from conftest import DATA, ROOT

LOGIN = "2026-11-20-login-outage"
OTHER = "2026-01-17-batch-disk-full"  # PagerDuty only
OPEN = "2026-11-24-search-latency"  # still open


def shown_text(notebook) -> str:
    return "\n".join(
        "".join(output.get("data", {}).get("text/html", "")) for cell in notebook.cells for output in cell.get("outputs", [])
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's notebooks and sample data, to run commands in as a user would."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    for incident in (LOGIN, OTHER, OPEN):
        shutil.copytree(DATA / "incidents" / incident, root / "data" / "incidents" / incident)
    return root


def test_pia_notebook_writes_an_executed_notebook_and_keeps_a_changed_one(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    assert main(["notebook", LOGIN]) == 0
    path = Path("reviews") / f"{LOGIN}.ipynb"
    assert capsys.readouterr().out.split() == ["ipynb", str(path)]
    notebook = nbformat.read(path, as_version=4)
    first = _parameters(notebook)
    assert f"incident_id = '{LOGIN}'" in first.source
    assert "data_dir = '../data'" in first.source  # relative to the notebook, as JupyterLab runs it
    assert not [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "Login 5xx" in shown_text(notebook)

    assert main(["notebook", LOGIN]) == 0  # untouched: refreshed
    capsys.readouterr()
    notebook.cells[1].source += "\n# my notes"
    nbformat.write(notebook, path)
    edited = path.read_bytes()
    assert main(["notebook", LOGIN]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "changed since pia wrote it" in err and "--force" in err
    assert path.read_bytes() == edited
    assert main(["notebook", LOGIN, "--force"]) == 0
    assert path.read_bytes() != edited


def _parameters(notebook):
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert cell is next(c for c in notebook.cells if c.cell_type == "code")  # the first code cell
    return cell


@pytest.mark.parametrize("incident", [LOGIN, OTHER, OPEN])
def test_pia_notebook_gives_the_tutorial_executed(project, monkeypatch, capsys, incident):
    """Every cell runs on a real kernel, the tutorial's too, for an incident with Slack and
    PagerDuty, one with PagerDuty only and one still open: prose, then each section's call and
    its DataFrame, then the view the report shows. The file is a valid notebook for JupyterLab."""
    monkeypatch.chdir(project)
    assert main(["notebook", incident, "--out", "tutorial"]) == 0
    capsys.readouterr()
    path = Path("tutorial") / f"{incident}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert None not in counts and counts == sorted(counts), counts  # all ran, in order
    assert not [o for c in code for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"]
    tutorial = [c for c in notebook.cells if "notebook-only" in c.metadata.get("tags", [])]
    frames = [c for c in tutorial if c.cell_type == "code" and any('class="dataframe"' in "".join(o.get("data", {}).get("text/html", "")) for o in c.outputs)]
    assert len(frames) >= 10  # the DataFrame behind each section
    calls = "\n".join(c.source for c in tutorial)
    for call in ("pia.open_incident(", "incident.events()", "pia.load_config(", "pia.detect_incident(", "pia.durations(", "as_of=", "pia.measure_incident(", "charts.timeline(", "ax=top", "config.sources", "pia.toml"):
        assert call in calls, call
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# Incident review")
    composed = next(c for c in tutorial if "charts.timeline(" in c.source)
    assert [o for o in composed.outputs if "image/png" in o.get("data", {})]  # drawn inline, on the analyst's figure


def test_editing_the_parameters_explores_another_incident(project, monkeypatch):
    monkeypatch.chdir(project)
    path = Path("reviews") / f"{LOGIN}.ipynb"
    if not path.exists():
        assert main(["notebook", LOGIN]) == 0
    notebook = nbformat.read(path, as_version=4)
    first = _parameters(notebook)
    first.source = first.source.replace(LOGIN, OTHER)
    NotebookClient(notebook, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}, timeout=300).execute()
    shown = shown_text(notebook)
    assert "batch-07 /var full" in shown and "Login 5xx" not in shown


def test_the_readme_papermill_command_runs_from_the_project_root(project):
    readme = (ROOT / "README.md").read_text()
    (command,) = re.findall(r"^\.venv/bin/(papermill notebooks/\S+ .*)$", readme, flags=re.M)
    args = command.split("#")[0].split()
    papermill = Path(sys.executable).with_name("papermill")
    subprocess.run([str(papermill), *args[1:]], cwd=project, check=True, capture_output=True, timeout=600)
    out = nbformat.read(project / args[2], as_version=4)
    assert "Login 5xx" in shown_text(out)


def test_a_kernel_error_names_paths_as_the_user_gave_them(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    Path("names.toml").write_text("x = [\n")
    assert main(["report", LOGIN, "--out", "out/deeper/still", "--pseudonyms", "names.toml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pia: error: names.toml: ") and "malformed TOML" in err, err
    kept = Path("out/deeper/still") / f"{LOGIN}.failed.ipynb"
    assert err.count("\n") == 1 and err.rstrip().endswith(f"(the notebook as it ran: {kept})"), err
    failed = nbformat.read(kept, as_version=4)
    nbformat.validate(failed)
    (error,) = [o for c in failed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert error.ename == "ConfigError" and "malformed TOML" in error.evalue

    Path("names.toml").write_text('"Priya Raman" = "On-call lead"\n')  # fixed: the next run succeeds and drops the evidence
    assert main(["report", LOGIN, "--out", "out/deeper/still", "--pseudonyms", "names.toml"]) == 0
    assert not kept.exists() and kept.with_name(f"{LOGIN}.ipynb").exists()


def test_a_failing_notebook_keeps_its_evidence(tmp_path):
    """As papermill does: the notebook as it ran up to the failing cell is written beside the
    reports, the error cell marked and named at the top, and the one-line error names the file;
    an error that quotes a pasted token has it masked there too."""
    from conftest import FAKE_TOKEN

    from pia.privacy.redact import mask_text
    from pia.report.render import ReportError, render_notebook

    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    notebook.cells = [
        nbformat.v4.new_code_cell("pasted = 'pasted.txt'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('the first step ran')"),
        nbformat.v4.new_code_cell("raise ValueError('cannot read: ' + open(pasted).read())"),
        nbformat.v4.new_code_cell("print('never reached')"),
    ]
    path = tmp_path / "step.ipynb"
    nbformat.write(notebook, path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "pasted.txt").write_text(f"rotate {FAKE_TOKEN} now")
    with pytest.raises(ReportError) as caught:
        render_notebook(path, "inc", {"pasted": "pasted.txt"}, out=out, mask=mask_text)
    kept = out / "inc.failed.ipynb"
    message = str(caught.value)
    assert "\n" not in message and caught.value.notebook == kept
    assert re.match(r"step.ipynb failed in cell \d+: ValueError: cannot read: rotate ", message), message  # the CLI masks its line
    assert message.endswith(f"(the notebook as it ran: {kept})")
    assert not (out / "inc.ipynb").exists()  # nothing passes for a finished notebook

    failed = nbformat.read(kept, as_version=4)
    nbformat.validate(failed)
    assert "An Exception was encountered" in failed.cells[0].source  # papermill's note, linking the cell
    ran = [c for c in failed.cells if c.cell_type == "code"]
    assert ran[1].outputs[0].text == "the first step ran\n"
    (error,) = ran[2].outputs
    assert error.output_type == "error" and error.ename == "ValueError"
    assert not ran[3].outputs and ran[3].execution_count is None
    assert FAKE_TOKEN not in kept.read_text() and "[redacted: " in error.evalue
    assert "start_time" not in kept.read_text()  # no clock times, as a finished notebook


def test_the_tutorial_shows_nothing_the_review_masks(tmp_path, monkeypatch, capsys):
    """The tutorial's cells call the pipeline on the raw snapshot; what they show is counts,
    times and rules, or the review's masked frames: a pasted token and people's names never
    reach the executed notebook when the review masks them."""
    from conftest import FAKE_TOKEN, write_incident

    write_incident(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    assert main(["notebook", "inc", "--pseudonymise"]) == 0, capsys.readouterr().err
    text = (tmp_path / "reviews" / "inc.ipynb").read_text()
    notebook = nbformat.reads(text, as_version=4)
    assert not [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert FAKE_TOKEN not in text and "[redacted: " in text
    for name in ("Ana", "Bo Li", "U1", "U2"):
        assert not re.search(rf"\b{name}\b", text), name
    assert "Responder 1" in text

