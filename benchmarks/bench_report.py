"""Wall time of one incident report against the floor of its tools, measured in one run.

The floor: papermill executing a one-cell notebook plus nbconvert rendering it to HTML, through
their Python APIs, in a fresh Python process. The report: ``pia report`` of the login outage
(HTML), also in a fresh process. Each is run several times; the medians and their ratio are
printed (target: at most 1.5x).

    python benchmarks/bench_report.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FLOOR = """
import nbformat, papermill
from nbconvert import HTMLExporter
nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python"}})
nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
nbformat.write(nb, "one.ipynb")
out = papermill.execute_notebook("one.ipynb", "one.out.ipynb", progress_bar=False, kernel_name="python3")
open("one.html", "w").write(HTMLExporter().from_notebook_node(out)[0])
"""

REPORT = f"""
from pia.report.render import render_report
render_report("2026-11-20-login-outage", data_dir={str(ROOT / "data")!r}, out="reports", formats=["html"])
"""


def timed(code: str, cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as work:
        timed(FLOOR, work)  # warm the disk cache for both
        floor = [timed(FLOOR, work) for _ in range(runs)]
        report = [timed(REPORT, work) for _ in range(runs)]
    f, r = statistics.median(floor), statistics.median(report)
    print(f"floor  (papermill one cell + nbconvert, fresh process): median {f:.2f} s  runs {[round(x, 2) for x in floor]}")
    print(f"report (pia report, login outage, HTML, fresh process):  median {r:.2f} s  runs {[round(x, 2) for x in report]}")
    print(f"ratio report/floor: {r / f:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
