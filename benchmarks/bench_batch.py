"""Batch speed-up and trends at scale, measured in one run.

1. A batch of 20 reports (ten of the samples, each twice under another id), serially (``--jobs 1``)
   and with ``--jobs 2``; prints both wall times and the speed-up (target: at least 1.7x on
   2 cores).
2. The same batch on a local Dask cluster (``--scheduler``) of 1 and of 2 worker processes;
   prints the wall times, the ratios to the local pool of as many processes and the reports
   per minute per worker (the throughput docs/scale.md projects from). Needs ``pia[dask]``.
3. The trends notebook on 10,000 synthetic incidents (a metrics table as Parquet); prints the
   wall time.

    python benchmarks/bench_batch.py
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pia.batch import run_batch
from pia.report.render import render_trends

ROOT = Path(__file__).resolve().parents[1]


def twenty_incidents(base: Path) -> None:
    samples = sorted((ROOT / "data" / "incidents").iterdir())[:10]  # as many as the figures in docs/scale.md
    for copy in (1, 2):
        for folder in samples:
            new = f"{folder.name}-copy{copy}"
            target = base / "incidents" / new
            shutil.copytree(folder, target)
            toml = target / "incident.toml"
            toml.write_text(re.sub(r'^id = ".*"$', f'id = "{new}"', toml.read_text(), count=1, flags=re.M))


def synthetic_table(n: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    detected = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 730, n), unit="D")
    frame = pd.DataFrame(
        {
            "incident": [f"syn-{i:05d}" for i in range(n)],
            "title": "synthetic",
            "severity": rng.choice(["SEV1", "SEV2", "SEV3", "SEV4"], n, p=[0.05, 0.2, 0.45, 0.3]),
            "services": rng.choice(["api", "auth", "search", "checkout,payments", "batch"], n),
            "detected": detected,
            "status": "resolved",
        }
    )
    scale = {"time_to_engage": 300, "time_to_hypothesis": 900, "time_to_mitigate": 2400, "time_to_restore": 3600, "time_to_resolve": 5400}
    for name, seconds in scale.items():
        frame[name] = pd.to_timedelta(rng.lognormal(np.log(seconds), 1.0, n), unit="s")
        frame[f"{name}_observed"] = rng.uniform(size=n) > 0.03
    frame.to_parquet(path)


def on_cluster(base: Path, pool: dict[int, float]) -> None:
    try:
        from distributed import LocalCluster
    except ImportError:
        print("Dask cluster: skipped (pip install 'pia[dask]')")
        return
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
            start = time.perf_counter()
            result = run_batch(base, out=base / f"dask{workers}", force=True, trends=False, progress=False, scheduler=cluster.scheduler_address)
            took = time.perf_counter() - start
        assert len(result.rendered) == 20 and result.ok, result.failed
        print(
            f"batch of 20 reports, Dask cluster of {workers} worker(s): {took:.1f} s  ({took / pool[workers]:.2f}x the local pool "
            f"of {workers}; {20 / took * 60 / workers:.1f} reports/min per worker, local pool {20 / pool[workers] * 60 / workers:.1f})"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        base = Path(work)
        twenty_incidents(base)
        timings = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            result = run_batch(base, out=base / f"out{jobs}", jobs=jobs, force=True, trends=False, progress=False)
            timings[jobs] = time.perf_counter() - start
            assert len(result.rendered) == 20 and result.ok, result.failed
        print(f"batch of 20 reports, --jobs 1: {timings[1]:.1f} s")
        print(f"batch of 20 reports, --jobs 2: {timings[2]:.1f} s")
        print(f"speed-up: {timings[1] / timings[2]:.2f}x (target >= 1.7x on 2 cores)")
        on_cluster(base, timings)

        table = base / "synthetic.parquet"
        synthetic_table(10_000, table)
        start = time.perf_counter()
        render_trends(out=base / "trends", table=table)
        print(f"trends notebook on 10,000 synthetic incidents: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
