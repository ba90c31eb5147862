"""The public API an analyst builds on: ``pia.__all__`` is what the package exports, each name has
a numpydoc docstring whose examples run on the samples, and importing pia is cheap and never
switches matplotlib's backend."""

from __future__ import annotations

import doctest
import inspect
import json
import os
import re
import subprocess
import sys

import pytest

import pia

from conftest import DATA, ROOT

#: the names the notebook and the README teach
TAUGHT = {"open_incident", "detect_incident", "measure_incident", "durations", "load_config", "Review", "metrics_table", "human_duration"}
ERRORS = {"PiaError", "InputError", "ConfigError", "UnknownIncident", "FetchError"}
PUBLIC = [name for name in pia.__all__ if name != "__version__"]


def _section(doc: str, title: str) -> bool:
    return re.search(rf"^\s*{title}\n\s*{'-' * len(title)}\s*$", doc, flags=re.M) is not None


def test_all_is_what_the_package_exports():
    assert TAUGHT <= set(pia.__all__)
    assert len(pia.__all__) == len(set(pia.__all__))
    for name in pia.__all__:
        assert getattr(pia, name) is not None, name
        assert name in dir(pia), name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        pia.nothing_here  # noqa: B018


@pytest.mark.parametrize("name", PUBLIC)
def test_each_export_has_a_numpydoc_docstring(name):
    obj = getattr(pia, name)
    doc = inspect.getdoc(obj) or ""
    assert doc, name
    if name in ERRORS:
        return
    assert _section(doc, "Examples"), f"{name}: no Examples section"
    if inspect.isclass(obj):
        assert _section(doc, "Attributes") or _section(doc, "Parameters"), f"{name}: no Attributes or Parameters"
    else:
        assert _section(doc, "Parameters") and _section(doc, "Returns"), f"{name}: no Parameters or Returns"


@pytest.mark.parametrize("name", [n for n in PUBLIC if n not in ERRORS])
def test_the_examples_run_on_the_samples(name, monkeypatch):
    """Every example in the docstrings of the exports (their methods' too) runs as written on
    the sample data and prints what the docstring says."""
    monkeypatch.setenv("PIA_DATA_DIR", str(DATA))
    tests = [t for t in doctest.DocTestFinder().find(getattr(pia, name), name, globs={}) if t.examples]
    assert tests, f"{name}: no example"
    failures = []
    for test in tests:
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=failures.append)
    assert not failures, "".join(failures)


def test_methods_the_notebook_calls_are_documented_the_same_way():
    for method in (pia.Review.load, pia.Incident.events):
        doc = inspect.getdoc(method)
        assert _section(doc, "Returns") and _section(doc, "Examples"), method.__qualname__


_PROBE = """
import json, sys
import pia
imported = sorted(m for m in ("matplotlib", "matplotlib.pyplot", "papermill", "nbconvert", "pia.metrics", "pia.report.review") if m in sys.modules)
review = pia.Review.load("2026-11-20-login-outage")
pngs = (review.timeline()._repr_html_() + review.communication()._repr_html_()).count("data:image/png;base64,")
import matplotlib
print(json.dumps({"on_import": imported, "pyplot": "matplotlib.pyplot" in sys.modules, "backend": matplotlib.get_backend(), "pngs": pngs}))
"""


def test_importing_pia_is_cheap_and_never_switches_the_backend(tmp_path):
    """As in a Jupyter kernel, where MPLBACKEND names the inline backend: importing pia loads
    no plotting or notebook machinery, and drawing the review's charts neither imports pyplot
    nor switches the backend, so the analyst's own plots still show inline."""
    inline = "module://matplotlib_inline.backend_inline"
    env = {**os.environ, "MPLBACKEND": inline, "PIA_DATA_DIR": str(DATA), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["on_import"] == []
    assert seen["pngs"] == 2  # the charts were drawn
    assert not seen["pyplot"] and seen["backend"] == inline
