"""`pia batch`: parallel reports where one broken incident stops nothing, content-hash skipping,
the index page, and the metrics cache."""

from __future__ import annotations

import os
import re
import shutil

import pandas as pd
import pytest

from pia.batch import run_batch
from pia.cache import code_hash, measure_all, package_hash, snapshot_hash
from pia.cli import main
from pia.errors import PiaError

from conftest import DATA, FAKE_TOKEN, write_incident

KEPT = ["2026-11-20-login-outage", "2026-01-17-batch-disk-full", "2026-11-24-search-latency"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Three good samples and one broken snapshot, batched once with two jobs."""
    data = tmp_path_factory.mktemp("data")
    for incident in KEPT:
        shutil.copytree(DATA / "incidents" / incident, data / "incidents" / incident)
    broken = data / "incidents" / "2026-05-01-broken"
    shutil.copytree(DATA / "incidents" / "2026-02-10-file-upload-failures", broken)
    (broken / "incident.toml").write_text('id = "2026-05-01-broken"\ntitle = "<script>alert(1)</script>"\n')
    day = next((broken / "slack").glob("*/*.json"))
    day.write_text(day.read_text()[:-40])  # cut short, as an interrupted copy would be
    out = data / "reports"
    return data, out, day


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_one_broken_incident_does_not_stop_the_others(batch, capsys):
    data, out, day = batch
    code, stdout, err = run(capsys, "batch", "--data-dir", str(data), "--out", str(out), "--jobs", "2", "--as-of", "2026-11-24T18:00:00Z")
    assert code == 2
    assert "3 rendered, 0 unchanged, 1 failed" in stdout
    failures = [line for line in err.splitlines() if line.startswith("pia: failed:")]
    assert len(failures) == 1
    assert failures[0].startswith(f"pia: failed: {day}: line ") and "malformed JSON" in failures[0]
    for incident in KEPT:
        assert (out / f"{incident}.html").exists()
    assert (out / "trends.html").exists() and (out / "index.html").exists()


def test_the_index_lists_every_incident_and_the_failure(batch, capsys):
    data, out, day = batch
    page = (out / "index.html").read_text()
    for incident in KEPT:
        assert f'<a href="./{incident}.html">{incident}</a>' in page
    assert '<a href="trends.html">trends</a>' in page
    assert "2026-05-01-broken" in page and "malformed JSON" in page
    assert "<script" not in page  # a hostile title is escaped
    assert "≥" in page  # the open incident's durations are marked censored


def test_unchanged_reports_are_not_rebuilt(batch, capsys):
    data, out, _ = batch
    before = {p: p.stat().st_mtime_ns for p in out.glob("*.html")}
    code, stdout, _ = run(capsys, "batch", "--data-dir", str(data), "--out", str(out), "--jobs", "2", "--as-of", "2026-11-24T18:00:00Z")
    assert code == 2 and "0 rendered, 3 unchanged, 1 failed" in stdout
    assert all(p.stat().st_mtime_ns == t for p, t in before.items() if p.name != "index.html")

    # a change to one snapshot rebuilds that one only
    toml = data / "incidents" / KEPT[1] / "incident.toml"
    toml.write_text(toml.read_text().replace('severity = "SEV3"', 'severity = "SEV2"'))
    code, stdout, _ = run(capsys, "batch", "--data-dir", str(data), "--out", str(out), "--as-of", "2026-11-24T18:00:00Z")
    assert "1 rendered, 2 unchanged, 1 failed" in stdout

    code, stdout, _ = run(capsys, "batch", "--data-dir", str(data), "--out", str(out), "--force", "--jobs", "2", "--as-of", "2026-11-24T18:00:00Z")
    assert "3 rendered, 0 unchanged, 1 failed" in stdout


def test_window_selects_incidents(batch, capsys, tmp_path):
    data, _, _ = batch
    code, stdout, _ = run(
        capsys, "batch", "--data-dir", str(data), "--out", str(tmp_path), "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-30T00:00:00Z", "--jobs", "1"
    )
    assert "2 rendered" in stdout
    assert sorted(p.stem for p in tmp_path.glob("2026-*.html")) == ["2026-11-20-login-outage", "2026-11-24-search-latency"]
    assert "2 incidents detected 1 to 30 November 2026" in (tmp_path / "trends.html").read_text()  # the trends of the window too


def test_a_report_that_fails_to_render_does_not_stop_the_next(tmp_path):
    """Both snapshots read and measure; the first one's report cannot be written (a folder is
    in its place), so only its rendering fails, and the batch goes on with the next."""
    data = tmp_path / "data"
    for incident in ("a-first", "b-second"):
        write_incident(data, incident=incident)
    out = tmp_path / "reports"
    (out / "a-first.html").mkdir(parents=True)
    result = run_batch(data, out=out, jobs=1, trends=False, progress=False)
    assert result.rendered == ["b-second"] and list(result.failed) == ["a-first"]
    assert "a-first" in result.failed["a-first"] and "\n" not in result.failed["a-first"]
    assert (out / "b-second.html").is_file()
    assert "a-first" in (out / "index.html").read_text()
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]



def test_a_pseudonyms_file_hides_names_in_the_trends_too_and_the_bar_counts_every_report(tmp_path, capsys):
    for incident in ("a-first", "b-second"):
        write_incident(tmp_path / "data", incident=incident)
    toml = tmp_path / "data" / "incidents" / "a-first" / "incident.toml"
    toml.write_text(toml.read_text().replace('title = "Login 5xx"', 'title = "Bo Li paged: login 5xx"'))
    plain = run_batch(tmp_path / "data", out=tmp_path / "plain", formats=["md"], jobs=2, progress=True)
    assert sorted(plain.rendered) == ["a-first", "b-second"] and "2/2" in capsys.readouterr().err
    page = (tmp_path / "plain" / "trends.html").read_text()
    assert "Bo Li" in page and "Ana" in page  # the control: the trends page names responders
    assert "Bo Li paged" in (tmp_path / "plain" / "index.html").read_text()  # and the index, a title naming one
    aliases = tmp_path / "aliases.toml"
    aliases.write_text('"Bo Li" = "Koala"\n"Ana" = "Wombat"\n')
    hidden = run_batch(tmp_path / "data", out=tmp_path / "hidden", formats=["md"], jobs=2, progress=False, pseudonyms=aliases)
    assert sorted(hidden.rendered) == ["a-first", "b-second"] and capsys.readouterr().err == ""
    page = (tmp_path / "hidden" / "trends.html").read_text()
    assert "Bo Li" not in page and "Ana" not in page and "Responder 1" in page
    assert "Bo Li" not in (tmp_path / "hidden" / "index.html").read_text()



def test_the_index_masks_names_in_the_title_of_a_report_that_failed(tmp_path):
    write_incident(tmp_path / "data", incident="a-first")
    toml = tmp_path / "data" / "incidents" / "a-first" / "incident.toml"
    toml.write_text(toml.read_text().replace('title = "Login 5xx"', 'title = "Bo Li paged: login 5xx"'))
    aliases = tmp_path / "aliases.toml"
    aliases.write_text('"Bo Li" = "Koala"\n')
    for out, options in (("plain", {}), ("hidden", {"pseudonyms": aliases})):
        (tmp_path / out / "a-first.md").mkdir(parents=True)  # its report cannot be written: the index shows the snapshot's title
        result = run_batch(tmp_path / "data", out=tmp_path / out, formats=["md"], jobs=1, trends=False, progress=False, **options)
        assert list(result.failed) == ["a-first"]
    assert "Bo Li paged" in (tmp_path / "plain" / "index.html").read_text()
    assert "Bo Li" not in (tmp_path / "hidden" / "index.html").read_text()

def test_a_report_missing_from_the_folder_is_written_again(tmp_path):
    for incident in ("a-first", "b-second"):
        write_incident(tmp_path / "data", incident=incident)
    out = tmp_path / "reports"
    run_batch(tmp_path / "data", out=out, formats=["md"], jobs=1, trends=False, progress=False)
    (out / "a-first.md").unlink()
    again = run_batch(tmp_path / "data", out=out, formats=["md"], jobs=1, trends=False, progress=False)
    assert again.rendered == ["a-first"] and again.unchanged == ["b-second"]
    assert again.trends is None and not (out / "trends.html").exists()  # none asked for
    assert (out / "a-first.md").is_file()


def test_by_default_a_batch_masks_secrets_and_shows_its_progress(tmp_path, capsys):
    write_incident(tmp_path / "data", incident="a-first")  # one message pastes a token
    run_batch(tmp_path / "data", out=tmp_path / "masked", formats=["md"], jobs=1, trends=False)
    assert "reports: 100%" in capsys.readouterr().err
    assert FAKE_TOKEN not in (tmp_path / "masked" / "a-first.md").read_text()
    run_batch(tmp_path / "data", out=tmp_path / "plain", formats=["md"], jobs=1, trends=False, progress=False, redact=False)
    assert FAKE_TOKEN in (tmp_path / "plain" / "a-first.md").read_text()  # the control


def test_a_hostile_title_of_a_good_incident_is_escaped_in_the_index(tmp_path):
    write_incident(tmp_path / "data", incident="a-first")
    toml = tmp_path / "data" / "incidents" / "a-first" / "incident.toml"
    toml.write_text(toml.read_text().replace('title = "Login 5xx"', 'title = "<img src=x onerror=alert(1)> & co"'))
    run_batch(tmp_path / "data", out=tmp_path / "out", formats=["md"], jobs=1, trends=False, progress=False)
    page = (tmp_path / "out" / "index.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt; &amp; co" in page

def test_metrics_are_cached_per_snapshot(tmp_path):
    for incident in KEPT[:2]:
        shutil.copytree(DATA / "incidents" / incident, tmp_path / "incidents" / incident)
    first = measure_all(tmp_path)
    assert (first.computed, first.cached) == (2, 0)
    kept = tmp_path / ".pia-cache"  # private, like the snapshots, and never committed
    assert {p.name: p.stat().st_mode & 0o777 for p in [kept, *kept.iterdir()]} == {
        ".pia-cache": 0o700, ".gitignore": 0o600, "metrics.parquet": 0o600, "responders.parquet": 0o600
    }
    assert "*" in (kept / ".gitignore").read_text().splitlines()
    again = measure_all(tmp_path)
    assert (again.computed, again.cached) == (0, 2)
    assert again.table["time_to_resolve"].tolist() == first.table["time_to_resolve"].tolist()
    day = next((tmp_path / "incidents" / KEPT[0] / "slack").glob("*/*.json"))
    day.write_text(day.read_text())  # same bytes: still cached
    assert measure_all(tmp_path).computed == 0
    day.write_text(day.read_text().replace("Rollback complete", "Rollback done", 1))
    changed = measure_all(tmp_path)
    assert (changed.computed, changed.cached) == (1, 1)
    assert measure_all(tmp_path, as_of=None).computed == 0


def test_a_cached_row_holds_at_the_as_of_it_stands_for(tmp_path):
    """A finished incident's row holds at any as_of after its last milestone was known; an
    open one's only at the as_of it was measured at."""
    for incident in KEPT:
        shutil.copytree(DATA / "incidents" / incident, tmp_path / "incidents" / incident)
    plain = measure_all(tmp_path)
    assert plain.computed == 3
    late = measure_all(tmp_path, as_of=pd.Timestamp("2026-12-01", tz="UTC"))
    assert (late.computed, late.cached) == (1, 2)  # only the open search incident, censored anew
    assert measure_all(tmp_path, as_of=pd.Timestamp("2026-12-01", tz="UTC")).computed == 0
    resolved = late.table["status"] == "resolved"
    assert late.table[resolved].equals(plain.table[resolved])
    search = late.table.set_index("incident").loc[KEPT[2]]
    assert search["time_to_restore_observed"] == False and search["time_to_restore"] > pd.Timedelta(days=6)  # noqa: E712

    # half-way through the login outage it was open: measured anew at that time, and kept for it
    early = measure_all(tmp_path, as_of=pd.Timestamp("2026-11-20T14:30:00Z"))
    assert early.computed == 2 and early.table.set_index("incident").loc[KEPT[0], "status"] == "open"
    assert measure_all(tmp_path, as_of=pd.Timestamp("2026-11-20T14:30:00Z")).computed == 0
    assert measure_all(tmp_path).computed == 2  # without as_of, again


def test_a_row_measured_the_moment_the_incident_settled_holds_from_then_on(tmp_path):
    write_incident(tmp_path)
    settled = measure_all(tmp_path).table["resolved"].iloc[0]  # its last message: nothing is learnt after it
    (tmp_path / ".pia-cache").rename(tmp_path / "first-cache")
    at_once = measure_all(tmp_path, as_of=settled)
    assert at_once.computed == 1 and at_once.table["status"].iloc[0] == "resolved"
    assert measure_all(tmp_path).computed == 0  # measured when all was known: it holds without as_of
    assert measure_all(tmp_path, as_of=settled).computed == 0
    before = measure_all(tmp_path, as_of=settled - pd.Timedelta(microseconds=1))
    assert before.computed == 1 and before.table["status"].iloc[0] == "open"


def test_a_change_of_pia_toml_after_the_cache_is_filled_recomputes(tmp_path):
    write_incident(tmp_path)
    first = measure_all(tmp_path)
    assert first.computed == 1 and first.table["time_to_resolve"].iloc[0].round("s") == pd.Timedelta(minutes=30)
    assert measure_all(tmp_path).cached == 1
    (tmp_path / "pia.toml").write_text('[durations]\ntime_to_resolve = { from = "detected", to = "restored" }\n')
    changed = measure_all(tmp_path)
    assert (changed.computed, changed.cached) == (1, 0)
    assert changed.table["time_to_resolve"].iloc[0].round("s") == pd.Timedelta(minutes=10)  # restored is stated as 14:10
    assert measure_all(tmp_path).cached == 1


def test_a_cache_written_before_rows_knew_their_as_of_is_measured_again(tmp_path):
    write_incident(tmp_path)
    first = measure_all(tmp_path)
    cached = tmp_path / ".pia-cache" / "metrics.parquet"
    for missing in (["_settled"], ["_as_of"], ["_as_of", "_settled"]):  # as older versions of pia wrote it
        pd.read_parquet(cached).drop(columns=missing).to_parquet(cached, index=False)
        again = measure_all(tmp_path)
        assert (again.computed, again.cached) == (1, 0), missing
        pd.testing.assert_frame_equal(again.table, first.table)
        assert measure_all(tmp_path).cached == 1


def test_the_snapshot_hash_covers_names_and_bytes_but_not_hidden_files(tmp_path):
    folder = write_incident(tmp_path) / "incidents" / "inc"
    before = snapshot_hash(folder)
    (folder / ".slack.partial").mkdir()
    (folder / ".slack.partial" / "users.json").write_text("[]")  # an import being staged
    assert snapshot_hash(folder) == before
    day = folder / "slack" / "inc-1" / "2026-11-20.json"
    day.rename(day.with_name("2026-11-21.json"))
    assert snapshot_hash(folder) != before


def test_a_torn_cache_file_is_a_miss(tmp_path):
    write_incident(tmp_path)
    measure_all(tmp_path)
    (tmp_path / ".pia-cache" / "metrics.parquet").write_bytes(b"PAR1 cut short")
    again = measure_all(tmp_path)
    assert (again.computed, again.cached) == (1, 0) and list(again.table["incident"]) == ["inc"]
    written = (tmp_path / ".pia-cache" / "metrics.parquet").stat().st_ino
    assert measure_all(tmp_path).cached == 1  # it was written whole again
    assert (tmp_path / ".pia-cache" / "metrics.parquet").stat().st_ino == written  # and a run that only reads leaves it be


def test_the_code_hash_covers_code_and_rules_only(tmp_path):
    from conftest import ROOT

    package = tmp_path / "pia"
    shutil.copytree(ROOT / "pia", package, ignore=shutil.ignore_patterns("__pycache__"))
    before = package_hash(package)
    assert code_hash() == package_hash(ROOT / "pia")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "stale.py").write_text("# left by a build\n")
    (package / "templates").mkdir()
    (package / "templates" / "index.html.j2").write_text("{}")  # as in a wheel: reports, not metrics
    assert package_hash(package) == before
    for changed in (package / "metrics.py", package / "milestones" / "rules.toml"):
        text = changed.read_text()
        changed.write_text(text + "\n")
        assert package_hash(package) != before, changed.name
        changed.write_text(text)


def test_an_incident_that_cannot_be_opened_is_one_failure_and_the_rest_are_measured(tmp_path):
    for incident in ("a", "b"):
        write_incident(tmp_path, incident=incident)
    (tmp_path / "incidents" / "a" / "incident.toml").write_text('id = "a"\ntitle = \n')
    measured = measure_all(tmp_path)
    assert list(measured.table["incident"]) == ["b"] and measured.computed == 1
    assert len(measured.failures) == 1 and "incident.toml" in measured.failures[0] and "malformed TOML" in measured.failures[0]


def test_results_come_in_the_order_asked(tmp_path, capsys):
    for incident in ("a", "b"):
        write_incident(tmp_path, incident=incident)
    assert list(measure_all(tmp_path).table["incident"]) == ["a", "b"]
    assert capsys.readouterr().err == ""  # no progress bar unless asked
    reversed_ = measure_all(tmp_path, ["b", "a"]).table
    assert list(reversed_["incident"]) == ["b", "a"] and list(reversed_.index) == [0, 1]
    people = measure_all(tmp_path, ["b"]).responders
    assert set(people["incident"]) == {"b"} and list(people.index) == list(range(len(people))) and "index" not in people


def test_responders_come_in_the_order_asked_whether_cached_or_fresh(tmp_path):
    """One incident cached and one measured fresh: both tables follow the order asked, not the
    cache's, and each incident's responders keep the order they have measured alone."""
    for incident in ("a", "b"):
        write_incident(tmp_path, incident=incident)
    alone = {incident: measure_all(tmp_path, [incident]).responders for incident in ("a", "b")}
    shutil.rmtree(tmp_path / ".pia-cache")
    measure_all(tmp_path, ["a"])
    both = measure_all(tmp_path, ["b", "a"])
    assert (both.computed, both.cached) == (1, 1)
    assert list(both.table["incident"]) == ["b", "a"]
    expected = pd.concat([alone["b"], alone["a"]], ignore_index=True)
    assert len(alone["a"]) and len(alone["b"])
    pd.testing.assert_frame_equal(both.responders, expected)


MEASURE = """
import sys
from pathlib import Path
import pia
from pia.cache import measure_all
assert Path(pia.__file__).is_relative_to(sys.argv[1]), pia.__file__
first = measure_all(sys.argv[2])
rules = Path(sys.argv[1]) / "pia" / "milestones" / "rules.toml"
rules.write_text(rules.read_text() + "\\n# changed while running\\n")
print(first.computed, measure_all(sys.argv[2]).computed)
"""


def test_the_cache_key_covers_the_code_read_once_per_process(tmp_path):
    """A copy of the package (as another version of pia would be) measures a data dir; a change
    to its rules while it runs is not seen (the code is hashed once per process), and the next
    process does not take the cache the earlier code left."""
    import subprocess
    import sys

    from conftest import ROOT

    code = tmp_path / "code"
    shutil.copytree(ROOT / "pia", code / "pia", ignore=shutil.ignore_patterns("__pycache__"))
    data = write_incident(tmp_path / "data")

    def measured() -> str:
        env = {**os.environ, "PYTHONPATH": str(code)}
        done = subprocess.run([sys.executable, "-c", MEASURE, str(code), str(data)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.split()

    assert measured() == ["1", "0"]  # computed, then cached: the edit made while running is not seen
    assert measured() == ["1", "0"]  # a new process sees the rules the last one edited: computed again


def test_index_and_trends_in_a_real_browser(batch, browser):
    from conftest import IMAGE_CHECK, open_page

    _, out, _ = batch
    for name in ("index.html", "trends.html"):
        path = out / name
        page, problems, requests, dialogs = open_page(browser, path)
        try:
            assert problems == [] and dialogs == []
            assert [u for u in requests if not u.startswith("data:")] == [path.resolve().as_uri()]
            assert page.evaluate("document.querySelectorAll('script').length") == 0
            images = page.evaluate(IMAGE_CHECK)
            assert all(i["ok"] and i["colours"] > 3 for i in images), images
        finally:
            page.close()
    assert len(images) >= 3  # trends: incidents, durations, survival (and responder load)


def test_without_as_of_open_incidents_are_counted_to_when_the_batch_runs(tmp_path, capsys):
    for incident in KEPT[1:]:
        shutil.copytree(DATA / "incidents" / incident, tmp_path / "data" / "incidents" / incident)
    out = tmp_path / "reports"
    started = pd.Timestamp.now(tz="UTC").floor("s")
    code, stdout, _ = run(capsys, "batch", "--data-dir", str(tmp_path / "data"), "--out", str(out))
    assert code == 0
    written = {line.split()[-1] for line in stdout.splitlines() if re.match(r"(html|ipynb) ", line)}
    expected = {f"{name}.{fmt}" for name in [*KEPT[1:], "trends"] for fmt in ("html", "ipynb")} | {"index.html"}
    assert written == {str(out / name) for name in expected}
    stamp = pd.Timestamp(re.search(r"open incidents counted to (\S+ \S+) UTC \(now", stdout).group(1), tz="UTC")
    assert started <= stamp <= pd.Timestamp.now(tz="UTC")

    # the open incident is censored there on every page: the index, its review, the trends
    index = (out / "index.html").read_text()
    assert f"still open at {stamp:%Y-%m-%d %H:%M} UTC" in index and "≥ " in index
    assert "from impact start, else detection" in index and "time to hypothesis" in index
    trends = re.sub(r"<[^>]+>", " ", (out / "trends.html").read_text())
    assert re.search(r"Time to restore\s+all\s+2\s+1\b", trends), "the open incident counts as censored"

    # a second run renders the open incident again (its as_of moved on) and keeps the finished one
    code, stdout, _ = run(capsys, "batch", "--data-dir", str(tmp_path / "data"), "--out", str(out))
    assert "1 rendered, 1 unchanged, 0 failed" in stdout and f"{KEPT[2]}.html" in stdout and f"{KEPT[1]}.html" not in stdout


def test_metrics_measured_in_partitions_on_dask_workers_match_the_local_ones(tmp_path, monkeypatch, capsys):
    """A real Dask scheduler and two workers, here as threads of this process: the partitions
    come back merged into the one cache in the order asked, and the one broken incident's
    message names the data dir as the caller wrote it (relative), not as the workers saw it."""
    distributed = pytest.importorskip("distributed", reason="Dask's distributed is not installed (pip install -e '.[test]')")
    from pia.cluster import Cluster

    ids = [f"inc-{n}" for n in (8, 0, 5, 3, 7, 1, 6, 4, 2)]
    for incident in ids:
        write_incident(tmp_path / "data", incident=incident)
    day = tmp_path / "data" / "incidents" / "inc-4" / "slack" / "inc-1" / "2026-11-20.json"
    day.write_text(day.read_text()[:-30])
    shutil.copytree(tmp_path / "data", tmp_path / "alone")
    monkeypatch.chdir(tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as local:
        with Cluster(local.scheduler_address) as cluster:
            remote = measure_all("data", ids, cluster=cluster)
            assert "%|" not in capsys.readouterr().err  # no progress bar, here or on the workers, unless asked
    good = [i for i in ids if i != "inc-4"]
    assert (remote.computed, remote.cached) == (8, 0) and list(remote.table["incident"]) == good
    assert len(remote.failures) == 1 and remote.failures[0].startswith("data/incidents/inc-4/slack/inc-1/2026-11-20.json: line ")
    here = measure_all("data", ids)  # the cache the partitions were merged into
    assert (here.computed, here.cached) == (0, 8)
    alone = measure_all("alone", ids)
    pd.testing.assert_frame_equal(remote.table, alone.table)
    pd.testing.assert_frame_equal(remote.responders, alone.responders)


def test_reports_rendered_on_a_dask_worker_fail_alone(tmp_path, monkeypatch):
    """The batch on a real Dask scheduler and worker (threads of this process, one worker: a
    kernel's working folder is the process's): the good report is written, the ones that cannot
    be written fail alone with one line naming the folders as the caller gave them, no staging
    file is left (not even one a killed worker left before), and the index lists all three."""
    distributed = pytest.importorskip("distributed", reason="Dask's distributed is not installed (pip install -e '.[test]')")
    from pia import batch

    for incident in ("a-first", "b-second", "c-third"):
        write_incident(tmp_path / "data", incident=incident)
    monkeypatch.chdir(tmp_path)  # the folders as the caller gives them: relative
    out = tmp_path / "reports"
    (out / "a-first.html").mkdir(parents=True)  # a folder where its report goes
    (out / ".b-second.left-by-a-killed-worker.html").write_text("")
    render = batch.render_report

    def broken_snapshot(incident, *, data_dir, **options):
        if incident == "c-third":  # the worker is given the absolute folder
            raise PiaError(f"{data_dir}/incidents/c-third/incident.toml: line 1: broken")
        return render(incident, data_dir=data_dir, **options)

    monkeypatch.setattr(batch, "render_report", broken_snapshot)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as local:
        result = run_batch("data", out="reports", trends=False, progress=False, scheduler=local.scheduler_address)
        assert "pia" in local.scheduler.task_prefixes  # the reports were the cluster's tasks
    assert result.rendered == ["b-second"] and sorted(result.failed) == ["a-first", "c-third"]
    assert result.failed["a-first"].startswith("a-first: ") and "-> 'reports/a-first.html'" in result.failed["a-first"] and "\n" not in result.failed["a-first"]
    assert result.failed["c-third"] == "data/incidents/c-third/incident.toml: line 1: broken"
    assert (out / "b-second.html").is_file() and [p.name for p in out.glob(".*") if p.name != ".pia-batch"] == []
    index = (out / "index.html").read_text()
    assert '<a href="./b-second.html">b-second</a>' in index and "a-first" in index


def test_a_failure_message_is_filed_under_the_incident_it_is_about(tmp_path):
    from pia.batch import _incident_of

    for incident in ("inc", "inc-2", "a:b"):
        (tmp_path / "incidents" / incident).mkdir(parents=True)
    base = tmp_path
    assert _incident_of(f"{base}/incidents/inc-2/slack/users.json: line 1 column 2: malformed JSON", base) == "inc-2"
    assert _incident_of(f"{base}/incidents/inc: no snapshot here", base) == "inc"
    assert _incident_of(f"{base}/incidents/a:b/incident.toml: id: is 'x'", base) == "a:b"  # a ':' in the folder's name
    assert _incident_of(f"{base}/incidents/gone/slack: no such file or folder", base) == "gone"  # not listed any more
    assert _incident_of("no incident 'inc-2' (known: inc, inc-2)", base) == "inc-2"  # the longest id it holds
    assert _incident_of("elsewhere: something broke", base) == "elsewhere"


def test_the_index_shows_each_incident_once_with_its_own_title_link_and_state(tmp_path):
    from pia.batch import BatchResult, write_index

    table = pd.DataFrame(
        {
            "incident": ["done", "open", "broken"],
            "title": ["Toml title", "Open one", "Broken one"],
            "severity": ["SEV2", "SEV1", "SEV3"],
            "services": ["api,db", "api", ""],
            "detected": pd.to_datetime(["2026-11-20T14:00:00Z", "2026-11-21T09:30:00Z", None], utc=True),
            "status": ["resolved", "open", "resolved"],
            "time_to_restore": pd.to_timedelta(["45min", "2h", None]),
            "time_to_restore_observed": [True, False, False],
        }
    )
    for incident in ("done", "open", "broken"):
        (tmp_path / f"{incident}.html").write_text("report")
    failed = {"broken": "broken: cannot render", "trends": "trends: no data", "done (pdf)": "no Chromium", "lost": "lost: unreadable"}
    result = BatchResult(failed=failed, as_of=pd.Timestamp("2026-11-24T18:00:00Z"))
    page = write_index(tmp_path, table, result, {"done": "Report title", "broken": "Stale title"}, mask=str.upper).read_text()
    rows = re.findall(r"<tr(?: class=\"failed\")?>\n(.*?)</tr>", page.split("<tbody>")[1], re.S)
    assert [re.search(r'<td class="incident">(?:<a href="[^"]+">)?([^<]+)', r).group(1) for r in rows] == ["done", "open", "broken", "lost"]
    done, still_open, broken, lost = rows
    assert '<a href="./done.html">' in done and ">Report title<" in done and ">api, db<" in done and ">2026-11-20 14:00<" in done
    assert ">45m 00s<" in done and "≥" not in done and ">resolved<" in done
    assert ">OPEN ONE<" in still_open and ">≥ 2h 00m<" in still_open  # no report title: the masked one from incident.toml
    assert "<a " not in broken and ">BROKEN ONE<" in broken and "failed</span>: broken: cannot render" in broken
    assert "<a " not in lost and "lost: unreadable" in lost
    assert "4 incidents" in page and "4 failed" in page and "still open at 2026-11-24 18:00 UTC" in page
    assert "trends.html" not in page  # its report failed
