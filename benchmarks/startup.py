"""Time `cnncalc plan` against the floor its dependencies set: `python -c "import click, yaml"`.

Usage: python benchmarks/startup.py [--runs N] [--spec PATH] [--all] [--imports] [--check]
                                    [--baseline PYTHON]

Target (issue 11): `cnncalc plan architectures/resnet50.yaml --format json` within 30 ms of
`python -c "import click, yaml"`, the cost of starting Python and importing cnncalc's two
start-up dependencies. Each command runs N times, each in a fresh process; the script prints
the median CPU time (user + system of that process) and the median and smallest wall time.
The target is checked on CPU time: on a shared machine the wall time also counts the time other
processes hold the CPU, which says nothing about cnncalc. --check exits 1 when it is missed.

--imports lists what the JSON path imports beyond click and yaml, each module with its own
import time (from `python -X importtime`), largest first. --all also times every spec in
architectures/, JSON and table. --baseline times another install's JSON path and floor in the
same turns (PYTHON: the interpreter of a virtualenv holding, say, the last release), so that a
change is compared with what it replaces under the same load. Measure in a non-editable install
(`pip install .`): an editable install adds an import hook that costs milliseconds per run.
Timing lives here rather than in the test suite because wall-clock tests are flaky on shared
machines.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows: wall time only
    resource = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
# Commands run elsewhere: `python -c` and `-m` put the current directory first on sys.path, and
# from ROOT they would import the source tree, not the installed package.
ELSEWHERE = tempfile.gettempdir()
TARGET_MS = 30.0  # over the floor
FLOOR = [sys.executable, "-c", "import click, yaml"]
FLOOR_LABEL = 'python -c "import click, yaml"'


def cnncalc_command(python: str = sys.executable) -> list[str]:
    """The installed `cnncalc` script beside `python`, else `python -m cnncalc`."""
    script = Path(python).with_name("cnncalc")
    return [str(script)] if script.exists() else [python, "-m", "cnncalc"]


def run_once(command: list[str]) -> tuple[float, float]:
    """(CPU ms, wall ms) of one run of `command` in a process of its own."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN) if resource else None
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ELSEWHERE)
    wall = (time.perf_counter() - start) * 1000
    if before is None:
        return wall, wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return cpu, wall


def measure(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float, float]]:
    """label -> (median CPU, median wall, smallest wall) in ms; the commands take turns."""
    for command in commands.values():
        run_once(command)  # warm the file cache and .pyc files
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            samples[label].append(run_once(command))
    return {
        label: (
            statistics.median(cpu for cpu, _ in rows),
            statistics.median(wall for _, wall in rows),
            min(wall for _, wall in rows),
        )
        for label, rows in samples.items()
    }


def extra_imports(command: list[str], runs: int = 5) -> list[tuple[float, str]]:
    """(median own import ms, module) for what `command` imports beyond click and yaml."""

    def own_times(argv: list[str]) -> dict[str, float]:
        done = subprocess.run([*argv[:1], "-X", "importtime", *argv[1:]], capture_output=True, text=True, cwd=ELSEWHERE)
        found = re.findall(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", done.stderr)
        return {module: int(own) / 1000 for own, module in found}

    floor = own_times(FLOOR)
    arguments = command[command.index("plan") :]
    argv = [sys.executable, "-c", "from cnncalc.cli import main; main()", *arguments]  # as the script runs it
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for module, own in own_times(argv).items():
            if module not in floor:
                samples.setdefault(module, []).append(own)
    return sorted(((statistics.median(times), module) for module, times in samples.items()), reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--spec", default=str(ROOT / "architectures" / "resnet50.yaml"))
    parser.add_argument("--all", action="store_true", help="also time every spec in architectures/")
    parser.add_argument("--imports", action="store_true", help="list the modules imported beyond click and yaml")
    parser.add_argument("--check", action="store_true", help="exit 1 if the JSON path misses the target")
    parser.add_argument("--baseline", metavar="PYTHON", help="also time the JSON path of the cnncalc beside PYTHON")
    args = parser.parse_args()

    cnncalc = cnncalc_command()
    spec = Path(args.spec)
    shown = spec.relative_to(ROOT) if spec.is_relative_to(ROOT) else spec
    json_label = f"cnncalc plan {shown} --format json"
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        FLOOR_LABEL: FLOOR,
        json_label: [*cnncalc, "plan", str(spec), "--format", "json"],
        f"cnncalc plan {shown}": [*cnncalc, "plan", str(spec)],
    }
    if args.baseline:
        commands["baseline: " + FLOOR_LABEL] = [args.baseline, "-c", "import click, yaml"]
        commands["baseline: " + json_label] = [*cnncalc_command(args.baseline), "plan", str(spec), "--format", "json"]
    if args.all:
        for path in sorted((ROOT / "architectures").glob("*.yaml")):
            for fmt in ("json", "table"):
                commands[f"cnncalc plan {path.relative_to(ROOT)} --format {fmt}"] = [
                    *cnncalc,
                    "plan",
                    str(path),
                    "--format",
                    fmt,
                ]
    results = measure(commands, args.runs)
    floor = results[FLOOR_LABEL][0]
    width = max(62, *map(len, results))
    print(f"{'command':<{width}} {'CPU':>8} {'wall':>8} {'min':>8} {'CPU - floor':>12}")
    for label, (cpu, wall, fastest) in results.items():
        own_floor = results["baseline: " + FLOOR_LABEL][0] if label.startswith("baseline: ") else floor
        print(f"{label:<{width}} {cpu:>6.1f}ms {wall:>6.1f}ms {fastest:>6.1f}ms {cpu - own_floor:>+10.1f}ms")
    over = results[json_label][0] - floor
    met = over <= TARGET_MS
    print(
        f'\nJSON path: {over:+.1f} ms of CPU over `python -c "import click, yaml"` '
        f"(target: at most {TARGET_MS:.0f} ms): {'met' if met else 'MISSED'}"
    )
    if args.baseline:
        before = results["baseline: " + json_label][0] - results["baseline: " + FLOOR_LABEL][0]
        print(f"baseline's JSON path: {before:+.1f} ms over its floor; this one {over - before:+.1f} ms against it")
    if args.imports:
        modules = extra_imports(commands[json_label])
        print(f"\nimported beyond click and yaml: {len(modules)} modules, {sum(t for t, _ in modules):.1f} ms in all")
        for own, module in modules[:30]:
            print(f"  {own:6.2f} ms  {module}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
