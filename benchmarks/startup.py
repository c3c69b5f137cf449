"""Time `cnncalc plan` (JSON and table) against a bare interpreter's start-up.

Usage: python benchmarks/startup.py [--runs N] [--check]

Each command runs N times in a fresh process; the median wall time is
reported. The target is the JSON path within 1.5x of `python -c pass`;
--check exits 1 when it is missed. Timing lives here rather than in the test
suite because wall-clock tests are flaky on shared machines.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5


def median_seconds(command: list[str], runs: int) -> float:
    subprocess.run(command, capture_output=True, check=True)  # warm the file cache and .pyc files
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--check", action="store_true", help="exit 1 if the JSON path misses the target")
    args = parser.parse_args()

    python = sys.executable
    cnncalc = [python, "-m", "cnncalc"]
    floor = median_seconds([python, "-c", "pass"], args.runs)
    print(f"{'command':<58} {'median':>9} {'x floor':>8}")
    print(f"{'python -c pass':<58} {floor * 1000:>7.1f}ms {1:>8.2f}")
    worst_json = 0.0
    for spec in sorted((ROOT / "architectures").glob("*.yaml")):
        for fmt in ("json", "table"):
            seconds = median_seconds([*cnncalc, "plan", str(spec), "--format", fmt], args.runs)
            label = f"cnncalc plan {spec.relative_to(ROOT)} --format {fmt}"
            print(f"{label:<58} {seconds * 1000:>7.1f}ms {seconds / floor:>8.2f}")
            if fmt == "json":
                worst_json = max(worst_json, seconds / floor)
    met = worst_json <= TARGET_RATIO
    print(
        f"\nslowest JSON run: {worst_json:.2f}x the bare interpreter (target {TARGET_RATIO}x): "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
