"""`pia batch --scheduler` on a real Dask cluster: a scheduler and two worker processes started
on 127.0.0.1 with the `dask` command, as a user would start them. The reports must be the same
bytes as the local batch's, a worker killed mid-batch must lose nothing, and a scheduler that
is not there must give one line and exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pia.cli import main

from conftest import write_incident

pytest.importorskip("distributed", reason="Dask's distributed is not installed (pip install -e '.[test]')")

AS_OF = "2026-11-24T18:00:00Z"
BROKEN = "inc-07"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """``dask scheduler`` and ``dask worker`` processes, each worker under its nanny (which
    starts it again if it dies), as ``dask worker`` runs by default."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.folder = folder  # their working folder: nothing may depend on the caller's
        self.processes = [self._start("scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1])]
        self.processes += [
            self._start("worker", self.address, "--nthreads", "1", "--host", "127.0.0.1", "--name", f"w{n}") for n in range(workers)
        ]
        from distributed import Client

        self.client = Client(self.address, timeout=60)
        self.client.wait_for_workers(workers, timeout=60)

    def _start(self, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{args[0]}-{len(self.__dict__.get('processes', []))}.log", "w")
        return subprocess.Popen([sys.executable, "-m", "dask", *args, "--no-dashboard"], cwd=self.folder, stdout=log, stderr=log)

    def worker_pids(self) -> list[int]:
        return sorted(self.client.run(os.getpid).values())

    def stop(self) -> None:
        self.client.close()
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    started = LocalCluster(tmp_path_factory.mktemp("cluster"))
    yield started
    started.stop()


def incidents(data: Path, count: int) -> Path:
    """``count`` small incidents, ``inc-07`` cut short."""
    for n in range(count):
        write_incident(data, incident=f"inc-{n:02d}", toml=f'severity = "SEV{n % 3 + 1}"\n')
    day = data / "incidents" / BROKEN / "slack" / "inc-1" / "2026-11-20.json"
    day.write_text(day.read_text()[:-30])
    return data


def local_batch(tmp_path_factory, count: int) -> tuple[Path, Path]:
    """A data dir of ``count`` incidents and its reports from the local batch (two processes).
    Output folders sit beside the data dir, so every report names it by the same relative path."""
    data = incidents(tmp_path_factory.mktemp("data"), count)
    local = tmp_path_factory.mktemp("local")
    assert main(["batch", "--data-dir", str(data), "--out", str(local), "--jobs", "2", "--as-of", AS_OF]) == 2
    return data, local


@pytest.fixture(scope="module")
def twenty(tmp_path_factory):
    return local_batch(tmp_path_factory, 20)


def batch(capsys, *args: str) -> tuple[int, str, list[str]]:
    code = main(["batch", *args, "--as-of", AS_OF])
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.startswith("pia:")]


def files(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder but the batch's own state, by name."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_the_cluster_writes_the_same_files_as_the_local_batch(cluster, twenty, capsys, tmp_path_factory):
    data, local = twenty
    out = tmp_path_factory.mktemp("reports")
    code, stdout, lines = batch(capsys, "--data-dir", str(data), "--out", str(out), "--scheduler", cluster.address)
    assert code == 2
    assert "19 rendered, 0 unchanged, 1 failed" in stdout
    assert len(lines) == 1 and lines[0].startswith(f"pia: failed: {data}/incidents/{BROKEN}/") and "malformed JSON" in lines[0]
    mine, theirs = files(out), files(local)
    assert sorted(mine) == sorted(theirs)
    assert len([n for n in mine if n.endswith(".html")]) == 21  # 19 reports, the index, the trends
    assert [n for n in mine if mine[n] != theirs[n]] == []
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".pia-batch"]

    # content-hash skipping holds on the cluster: nothing changed, nothing rendered again
    code, stdout, lines = batch(capsys, "--data-dir", str(data), "--out", str(out), "--scheduler", cluster.address)
    assert code == 2 and "0 rendered, 19 unchanged, 1 failed" in stdout


def test_a_worker_killed_mid_batch_loses_nothing(cluster, capsys, tmp_path_factory):
    data, local = local_batch(tmp_path_factory, 8)
    out = tmp_path_factory.mktemp("reports")
    victim = cluster.worker_pids()[1]
    seen_at_kill: list[int] = []

    def kill_when_the_first_report_is_written() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not list(out.glob("inc-*.html")):
            time.sleep(0.05)
        seen_at_kill.append(len(list(out.glob("inc-*.html"))))
        os.kill(victim, signal.SIGKILL)  # its nanny starts a new worker, as on a real cluster

    killer = threading.Thread(target=kill_when_the_first_report_is_written)
    killer.start()
    code, stdout, lines = batch(capsys, "--data-dir", str(data), "--out", str(out), "--scheduler", cluster.address)
    killer.join()
    assert victim not in cluster.worker_pids()
    assert 1 <= seen_at_kill[0] < 7  # killed in the middle, with reports still to come
    assert code == 2 and "7 rendered, 0 unchanged, 1 failed" in stdout, lines
    mine, theirs = files(out), files(local)
    assert sorted(mine) == sorted(theirs)
    assert [n for n in mine if mine[n] != theirs[n]] == []
    # nothing half-written is left behind by the worker that died
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".pia-batch"]


def test_a_scheduler_that_is_down_is_one_line_and_exit_2(twenty, capsys, tmp_path):
    data, _ = twenty
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    code, stdout, lines = batch(capsys, "--data-dir", str(data), "--out", str(tmp_path / "out"), "--scheduler", address)
    assert code == 2 and stdout == ""
    assert lines == [f"pia: error: cannot reach the Dask scheduler at {address}: Timed out trying to connect to {address} after 10 s"]
    assert time.monotonic() - start < 60
    assert not (tmp_path / "out").exists()


def test_without_distributed_the_flag_says_what_to_install(twenty, tmp_path):
    data, _ = twenty
    hide = "import sys; sys.modules['distributed'] = None; from pia.cli import main; raise SystemExit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", hide, "batch", "--data-dir", str(data), "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:8786"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["pia: error: --scheduler needs Dask's distributed package: pip install 'pia[dask]'"]


def test_metrics_are_measured_on_the_workers_into_the_one_cache(cluster, twenty, tmp_path):
    import shutil

    from pia.cache import measure_all
    from pia.cluster import Cluster

    data, _ = twenty
    copy = tmp_path / "data"
    shutil.copytree(data / "incidents", copy / "incidents")
    cluster.client.wait_for_workers(2, timeout=60)
    with Cluster(cluster.address) as on:
        remote = measure_all(copy, cluster=on)
    assert (remote.computed, remote.cached) == (19, 0) and len(remote.failures) == 1
    assert remote.failures[0].startswith(f"{copy}/incidents/{BROKEN}/")
    here = measure_all(copy)  # the cache the workers' partitions were merged into
    assert (here.computed, here.cached) == (0, 19)
    fresh = measure_all(data)
    import pandas as pd

    pd.testing.assert_frame_equal(remote.table, fresh.table)
    pd.testing.assert_frame_equal(remote.responders, fresh.responders)
