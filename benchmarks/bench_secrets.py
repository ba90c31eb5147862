"""Masking secrets on hostile text: each packaged pattern on its worst case.

    python benchmarks/bench_secrets.py [--size BYTES] [--baseline-size BYTES]

For each pattern of ``pia/privacy/secrets.toml`` it prints the time pia takes to mask one
message of ``--size`` bytes (default 100 KB) built to make a regex engine work hardest (the
corpus' ``SECRET_WORST_CASES``), and, as the baseline of the same run, the time Python's
backtracking ``re`` takes on the same pattern at ``--baseline-size`` (default 16 KB; it grows
with the square of the size, where RE2 grows linearly).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from corpus.cases import SECRET_WORST_CASES  # noqa: E402
from pia.privacy.redact import Redactor, load_redactor  # noqa: E402


def seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--baseline-size", type=int, default=16_000)
    args = parser.parse_args()
    print(f"{'pattern':<22} {'pia (RE2) ' + str(args.size // 1000) + ' KB':>18} {'Python re ' + str(args.baseline_size // 1000) + ' KB':>18}")
    for secret in load_redactor().secrets:
        text = SECRET_WORST_CASES[secret.name]
        one = Redactor((secret,))
        ours = seconds(lambda: one.text(pd.Series([text(args.size)], dtype="string")))
        python = seconds(lambda: re.compile(secret.pattern).sub("x", text(args.baseline_size)))
        print(f"{secret.name:<22} {ours:>16.4f} s {python:>16.4f} s")


if __name__ == "__main__":
    main()
