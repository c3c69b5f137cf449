"""Time and peak memory of planning large generated specs to JSON, each in its own process.

Usage: python benchmarks/large.py [--sizes 10000,100000] [--check]

Two shapes of spec, at each size: a plain list of `relu` layers, and one block called with
`repeat: N`. Each runs as `cnncalc plan SPEC --format json` in a fresh process; the script
prints wall time and peak RSS, and the growth from the smallest to the largest size.

Targets (issue 11): at 100,000 layers each spec plans to JSON in at most 3 s and 300 MB,
and the growth from 10,000 to 100,000 layers is at most 12x (linear, with some slack).
--check exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS, TARGET_MB, TARGET_GROWTH = 3.0, 300, 12.0


def spec_text(kind: str, size: int) -> str:
    if kind == "plain":
        return "input: [1, 4, 4]\nlayers:\n" + "  - relu\n" * size
    return f"input: [1, 4, 4]\nblocks:\n  unit: [relu]\nlayers:\n  - {{type: unit, repeat: {size}}}\n"


CHILD = """
import resource, sys
from cnncalc.cli import main
sys.argv = ["cnncalc", "plan", sys.argv[1], "--format", "json"]
try:
    main()
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def run(path: Path) -> tuple[float, float]:
    """(seconds, peak MB) of one `cnncalc plan --format json` in a child process of its own."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{path.name}: exit {done.returncode}: {done.stderr[-500:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024  # ru_maxrss: KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    missed = False
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("plain", "repeat"):
            times = {}
            for size in sizes:
                path = Path(folder) / f"{kind}{size}.yaml"
                path.write_text(spec_text(kind, size))
                seconds, peak = run(path)
                times[size] = seconds
                print(f"{kind:<7} {size:>7,} layers  {seconds:7.2f} s  {peak:7.0f} MB")
                if size >= 100_000 and (seconds > TARGET_SECONDS or peak > TARGET_MB):
                    missed = True
            growth = times[sizes[-1]] / times[sizes[0]]
            print(f"{kind:<7} growth {sizes[0]:,} -> {sizes[-1]:,}: {growth:.1f}x")
            missed = missed or (sizes == [10_000, 100_000] and growth > TARGET_GROWTH)
    print("targets:", "MISSED" if missed else "met")
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
