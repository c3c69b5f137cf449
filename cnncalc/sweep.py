"""`cnncalc sweep`: plan every combination of the spec's constants (`--set NAME=V1,V2` or
`LO:HI:STEP`) and input sizes (`--input LO:HI:STEP`), one outcome each: the totals, memory at the
chosen batch and dtype, the budget's verdict, or the one-line reason a variant is refused.

The spec's text is read once; each combination of constants is parsed once (constants change
what the spec expands to), and each input size of it re-planned from that parse (layers do not
depend on the spatial size). Many variants are shared among processes. Pure: it returns
Outcome records; cnncalc/render/sweep.py writes them.
"""

from __future__ import annotations

import itertools
import os
from math import isfinite

from cnncalc.errors import Frozen, SpecError

_set = object.__setattr__
PARALLEL_FROM = 200  # variants: fewer plan quicker in one process than processes start


class SweepError(Exception):
    """A --set or --input value that is not a list or a range; the message says which."""


class Outcome(Frozen):
    """One variant: its constants and input, and the plan's numbers or why it is refused."""

    __slots__ = ("values", "input", "params", "macs", "memory", "fits", "error")
    values: tuple  # (name, value as written) per --set
    input: tuple | None  # the input's shape, or None for the spec's
    params: int | None
    macs: int | None
    memory: int | None  # bytes: training with the optimizer, or the inference peak
    fits: bool | None  # the spec's budget holds; None without one, or for a refused variant
    error: str | None  # why the variant is refused (one line), else None

    def __init__(self, values, input, params=None, macs=None, memory=None, fits=None, error=None):
        for key, value in zip(self.__slots__, (values, input, params, macs, memory, fits, error)):
            _set(self, key, value)


MAX_VARIANTS = 100_000  # a sweep plans at most this many: more is a mistake, or hours of work


class Settings(Frozen):
    """How memory is counted; None where the command line leaves it to the spec's budget
    (`batch_size`, `dtype`, `optimizer`, `training`), as `cnncalc check` does."""

    __slots__ = ("batch_size", "dtype", "optimizer", "training", "convention")

    def __init__(self, batch_size, dtype, optimizer, training, convention: str | None):
        for key, value in zip(self.__slots__, (batch_size, dtype, optimizer, training, convention)):
            _set(self, key, value)

    def resolved(self, budget) -> tuple:
        """(batch size, dtype, optimizer, training): the command line's, else the budget's, else
        the defaults (1, float32, adam, training)."""
        from cnncalc.dtypes import DEFAULT_DTYPE, DEFAULT_OPTIMIZER

        def pick(name: str, default):
            value = getattr(self, name)
            if value is not None:
                return value
            return getattr(budget, name) if budget is not None else default

        return (
            pick("batch_size", 1),
            pick("dtype", DEFAULT_DTYPE),
            pick("optimizer", DEFAULT_OPTIMIZER),
            pick("training", True),
        )


def values_of(name: str, text: str) -> list[str]:
    """`1.0,1.4` -> ["1.0", "1.4"]; `LO:HI:STEP` (numbers, HI included) -> each value as text."""
    if ":" not in text:
        values = [part.strip() for part in text.split(",")]
        if not all(values):
            raise SweepError(f"--set {name}: expected V1,V2,... or LO:HI:STEP, got {text!r}")
        return values
    return [_number_text(value) for value in _range(f"--set {name}", text)]


def sizes_of(text: str) -> list[int]:
    """--input LO:HI:STEP (or one size, or V1,V2): the square spatial sizes to try."""
    if ":" in text:
        values = _range("--input", text)
    else:
        values = [_number(part.strip(), "--input") for part in text.split(",")]
    if not all(isinstance(v, int) and v >= 1 for v in values):
        raise SweepError(f"--input: expected whole sizes of at least 1, got {text!r}")
    return values


def _range(option: str, text: str) -> list:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SweepError(f"{option}: expected LO:HI or LO:HI:STEP, got {text!r}")
    low, high = _number(parts[0], option), _number(parts[1], option)
    step = _number(parts[2], option) if len(parts) == 3 else 1
    if step <= 0 or high < low:
        raise SweepError(f"{option}: expected LO <= HI and a positive STEP, got {text!r}")
    count = int((high - low) / step + 1e-9) + 1
    if count > 100_000:
        raise SweepError(f"{option}: {text!r} makes {count:,} values; at most 100,000")
    return [
        low + k * step if isinstance(step, int) and isinstance(low, int) else round(low + k * step, 10)
        for k in range(count)
    ]


def _number(text: str, option: str) -> int | float:
    try:
        value = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise SweepError(f"{option}: {text!r} is not a number") from None
    if not isfinite(value):
        raise SweepError(f"{option}: {text!r} is not a finite number")
    return value


def _number_text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def variants(settings: dict[str, list[str]], sizes: list[int] | None) -> list[tuple[tuple, int | None]]:
    """Every combination: (((name, value), ...), input size or None), constants varying slowest;
    SweepError for more than MAX_VARIANTS."""
    count = len(sizes or [None])
    for values in settings.values():
        count *= len(values)
    if count > MAX_VARIANTS:
        raise SweepError(f"that is {count:,} variants to plan, more than {MAX_VARIANTS:,}: sweep fewer values")
    names = list(settings)
    combos = [tuple(zip(names, chosen)) for chosen in itertools.product(*(settings[n] for n in names))]
    return [(combo, size) for combo in combos for size in (sizes or [None])]


def sweep(
    text: str, path: str, chosen: list, settings: Settings, processes: int | None = None, progress=None
) -> list[Outcome]:
    """The outcome of every variant in `chosen` (as variants() gives them), in that order.
    `progress(done)` is told how many are done, now and then."""
    groups: dict[tuple, list[int | None]] = {}
    for combo, size in chosen:
        groups.setdefault(combo, []).append(size)
    jobs = [(text, path, combo, sizes, settings) for combo, sizes in groups.items()]
    cores = os.cpu_count() or 1
    workers = min(processes or cores, cores, len(jobs))
    outcomes: list[Outcome] = []
    if workers > 1 and len(chosen) >= PARALLEL_FROM:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for rows in pool.map(_plan_group, jobs, chunksize=max(1, len(jobs) // (4 * workers))):
                outcomes += [Outcome(*row) for row in rows]
                if progress:
                    progress(len(outcomes))
    else:
        for job in jobs:
            outcomes += [Outcome(*row) for row in _plan_group(job)]
            if progress:
                progress(len(outcomes))
    return outcomes


def _plan_group(job) -> list[tuple]:
    """One combination of constants, read once, planned at each input size (cnncalc.sizes's
    Planner: a size at which a block's `in_channels` would differ is refused, not guessed):
    plain tuples (Outcome's fields), which pass between processes."""
    from cnncalc.sizes import Planner, SizesError
    from cnncalc.spec import parse

    text, path, combo, sizes, settings = job
    try:
        spec = parse(text, path, constants=dict(combo), convention=settings.convention)
        planner = Planner(spec, next(iter(spec.inputs)))
    except SpecError as exc:
        return [(combo, None, None, None, None, None, _reason(exc, path)) for _ in sizes]
    rows = []
    for size in sizes:
        at = (size,) * len(planner.positions) if size is not None else None
        shape = planner.shape_at(at) if at is not None else tuple(spec.input_shape)
        try:
            planned = planner.plan_at(at) if at is not None else _plan(spec)
        except SpecError as exc:
            rows.append((combo, shape, None, None, None, None, _reason(exc, path)))
        except SizesError as exc:
            rows.append((combo, shape, None, None, None, None, str(exc)))
        else:
            rows.append(_counted(spec, planned, combo, shape, settings))
    return rows


def _plan(spec):
    from cnncalc.engine import plan

    return plan(spec)


def _counted(spec, planned, combo: tuple, shape: tuple, settings: Settings) -> tuple:
    """A planned variant's numbers, memory and budget verdict, as `cnncalc check` judges it."""
    from cnncalc.checking import MemorySettings, check
    from cnncalc.memory import estimate

    batch_size, dtype, optimizer, training = settings.resolved(spec.budget)
    memory = estimate(planned, batch_size=batch_size, dtype=dtype, optimizer=optimizer)
    used = memory.training_total_bytes if training else memory.inference_peak_bytes
    given = MemorySettings(settings.batch_size, settings.dtype, settings.optimizer, settings.training)
    checks = check(planned, spec, {}, given) if spec.budget is not None else []
    fits = all(c.passed for c in checks) if checks else None
    return (combo, shape, planned.totals.params, planned.totals.macs, used, fits, None)


def _reason(exc: SpecError, path: str) -> str:
    """A refused variant's reason: its first diagnostic, on one line, with where it is (the
    file too, where it is another than the spec: an included one)."""
    first = exc.diagnostics[0]
    where = f"{first.loc.line}:{first.loc.column}"
    if first.loc.file and first.loc.file != path:
        where = f"{first.loc.file}:{where}"
    return f"{where}: {' '.join(first.message.split())}"


def pareto(outcomes: list[Outcome], keys: list[str]) -> list[Outcome]:
    """The planned variants no other planned variant beats: at most as large on every key of
    `keys` (params, macs, memory) and smaller on one. Two keys: sorted once, O(n log n)."""
    valid = [o for o in outcomes if o.error is None]
    points = {id(o): tuple(getattr(o, key) for key in keys) for o in valid}
    if len(keys) == 2:
        front, best = [], None
        for o in sorted(valid, key=lambda o: points[id(o)]):
            first, second = points[id(o)]
            if best is None or second < best[1] or (first, second) == best:
                front.append(o)
                best = (first, second) if best is None or second < best[1] else best
        return front
    front: list = []
    for o in sorted(valid, key=lambda o: points[id(o)]):  # nothing later beats what comes earlier
        p = points[id(o)]
        if not any(all(a <= b for a, b in zip(points[id(q)], p)) and points[id(q)] != p for q in front):
            front.append(o)
    return front
