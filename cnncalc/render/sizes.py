"""`cnncalc sizes` as text for people and as JSON: the sizes a spec accepts, those that lose
no pixels, and why the others are refused or inexact.

The text writes runs of sizes short: `63-512 (every size)`, `64, 96, 128, ..., 512 (every 32)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc import __version__
from cnncalc.layers.base import fmt_shape
from cnncalc.render.safe import terminal

if TYPE_CHECKING:
    from cnncalc.errors import Diagnostic
    from cnncalc.sizes import Sizes, Trial

PIECES = 12  # a line of sizes shows this many runs, then says how many sizes it left out
_EXACT = "no layer leaves the end of its input unread"


def compress(values: list[int], unit: int = 1, limit: int = PIECES) -> str:
    """Sorted sizes written short: '63-512 (every size)', '64, 96, 128, ..., 512 (every 32)',
    blocks repeating at a period '63-65, 95-97, 127-129, ..., 479-481 (every 32)', pieces
    joined by '; '; after `limit` pieces, how many sizes are left out. `unit`: the step the sizes
    were tried at (two sizes that far apart are a run)."""
    runs, texts, start = _runs(values, unit), [], 0
    while start < len(runs) and len(texts) < limit:
        end = _repeats(runs, start)
        if end - start >= 3:  # the same block at least three times
            shown = [_block(run) for run in runs[start : min(end, start + 3)]]
            shown += ["...", _block(runs[end - 1])] if end - start > 3 else []
            texts.append(f"{', '.join(shown)} (every {runs[start + 1][0] - runs[start][0]})")
        else:
            end = start + 1
            texts.append(_run(*runs[start]))
        start = end
    left = sum(count for _, _, count in runs[start:])
    if left:
        texts.append(f"... and {left:,} more (--format json lists them all)")
    return _joined(texts)


def _joined(texts: list[str]) -> str:
    """Pieces joined by '; ', but plain lists of sizes ('16', '24, 32') by ', '."""
    if not texts:
        return "none"
    joined = texts[0]
    for before, piece in zip(texts, texts[1:]):
        plain = not any(mark in text for text in (before, piece) for mark in ("-", "(", "..."))
        joined += (", " if plain else "; ") + piece
    return joined


def _runs(values: list[int], unit: int = 1) -> list[tuple[int, int, int]]:
    """Sorted sizes as runs (first, step, count): each run at least three sizes an equal step
    apart, or two sizes `unit` apart (neighbours among the sizes tried), or one size."""
    runs, start = [], 0
    while start < len(values):
        end = start  # the last of the run
        if start + 1 < len(values):
            end, step = start + 1, values[start + 1] - values[start]
            while end + 1 < len(values) and values[end + 1] - values[end] == step:
                end += 1
        count = end - start + 1
        if count >= 3 or (count == 2 and values[end] - values[start] == unit):
            runs.append((values[start], values[start + 1] - values[start], count))
            start = end + 1
        else:
            runs.append((values[start], 1, 1))
            start += 1
    return runs


def _repeats(runs: list[tuple[int, int, int]], start: int) -> int:
    """Where the blocks of consecutive sizes from runs[start], all as long and an equal period
    apart, end (the position after the last)."""
    first, step, count = runs[start]
    end = start + 1
    if count < 2 or step != 1 or end >= len(runs) or runs[end][1:] != (1, count):
        return end
    period = runs[end][0] - first
    while end < len(runs) and runs[end][1:] == (1, count) and runs[end][0] - runs[end - 1][0] == period:
        end += 1
    return end


def _block(run: tuple[int, int, int]) -> str:
    first, _, count = run
    return f"{first}-{first + count - 1}"


def _run(first: int, step: int, count: int) -> str:
    last = first + step * (count - 1)
    if count == 1:
        return str(first)
    if step == 1:
        return f"{first}-{last}" + (" (every size)" if count > 2 else "")
    if count <= 3:
        return ", ".join(str(first + step * k) for k in range(count))
    return f"{first}, {first + step}, {first + 2 * step}, ..., {last} (every {step})"


def describe(points: list[tuple[int, ...]], names: tuple[str, ...], units: tuple[int, ...]) -> list[str]:
    """Sizes over several axes, one line per set of sizes sharing the same rest, an axis's sizes
    in braces when they are several pieces: ['height 63-512 (every size) x width {64, 96, 128}']."""
    if not points:
        return ["none"]
    if len(names) == 1:
        return [_axis(names[0], sorted({p[0] for p in points}), units[0])]
    rests: dict[int, list[tuple[int, ...]]] = {}
    for point in points:
        rests.setdefault(point[0], []).append(point[1:])
    firsts: dict[tuple[str, ...], list[int]] = {}
    for first, rest in rests.items():
        firsts.setdefault(tuple(describe(rest, names[1:], units[1:])), []).append(first)
    return [
        f"{_axis(names[0], sorted(values), units[0])} x {line}" for lines, values in firsts.items() for line in lines
    ]


def _axis(name: str, values: list[int], unit: int) -> str:
    text = compress(values, unit)
    return f"{name} {{{text}}}" if "," in text or ";" in text else f"{name} {text}"


def _sizes_of(found: Sizes, trials: list[Trial]) -> list[str]:
    """The sizes of `trials`, written short: one line for square sizes, else lines over the axes varied."""
    if not trials:
        return ["none"]
    if found.square:
        return [compress([trial.size[0] for trial in trials], next(iter(found.spans.values())).step)]
    varied = [i for i, axis in enumerate(found.axes) if found.spans[axis] is not None]
    points = sorted({tuple(trial.size[i] for i in varied) for trial in trials})
    units = tuple(found.spans[found.axes[i]].step for i in varied)
    return describe(points, tuple(found.axes[i] for i in varied), units)


def _listed(head: str, lines: list[str], indent: str = "  ") -> list[str]:
    """`head` with one line of sizes after it, or with several under it."""
    if len(lines) == 1:
        return [f"{head} {lines[0]}"]
    return [head, *(indent + line for line in lines)]


def _size_text(found: Sizes, trial: Trial) -> str:
    return str(trial.size[0]) if found.square else "x".join(map(str, trial.size))


def _tried(found: Sizes) -> str:
    """'square sizes 32:512 (481 tried), every spatial axis the same' or per axis."""
    count = f"{len(found.trials):,} tried"
    if found.square:
        span = next(iter(found.spans.values()))
        if len(found.axes) == 1:
            return f"{found.axes[0]}s {span} ({count})"
        return f"sizes {span} ({count}), every spatial axis ({', '.join(found.axes)}) the same"
    shape = found.input_shape
    kept = dict(zip(found.axes, (shape[p] for p in _positions(found))))
    parts = [f"{axis} {span}" if span else f"{axis} {kept[axis]} (kept)" for axis, span in found.spans.items()]
    return f"{', '.join(parts)} ({count})"


def _positions(found: Sizes):
    from cnncalc.sizes import spatial_positions

    return spatial_positions(found.input_shape, found.spec.convention)


def _header(found: Sizes, path: str) -> str:
    spec = found.spec
    which = ""
    if len(spec.inputs) > 1:
        which = f" (input {found.input_name!r}, {list(spec.inputs).index(found.input_name) + 1} of {len(spec.inputs)})"
    return (
        f"{terminal(spec.name)} ({terminal(path)}){terminal(which)}: input {fmt_shape(found.input_shape)} "
        f"({spec.convention} convention); {_tried(found)}"
    )


def _grouped(found: Sizes, pairs) -> list[tuple[Diagnostic, Trial, list[Trial]]]:
    """(diagnostic, trial) pairs grouped by where the diagnostic points (a line of a block is
    met in every call): (the first diagnostic, its trial, every trial of the group)."""
    groups: dict[tuple, tuple[Diagnostic, Trial, list[Trial]]] = {}
    for diagnostic, trial in pairs:
        key = (diagnostic.code, diagnostic.loc)
        if key not in groups:
            groups[key] = (diagnostic, trial, [])
        if not groups[key][2] or groups[key][2][-1] is not trial:
            groups[key][2].append(trial)
    return list(groups.values())


def _reasons(found: Sizes, title: str, pairs) -> list[str]:
    """A section: for each place, the sizes it concerns and its message at the first of them."""
    groups = _grouped(found, pairs)
    if not groups:
        return []
    lines = ["", title]
    for diagnostic, trial, trials in groups:
        lines += ["  " + line for line in _sizes_of(found, trials)]
        lines.append(
            f"    {terminal(str(diagnostic.loc))}: {terminal(diagnostic.message)} (at {_size_text(found, trial)})"
        )
    return lines


def text(found: Sizes, path: str) -> str:
    """The report for people: what was tried, the valid and exact sizes, and why the others are not."""
    valid = [trial for trial in found.trials if trial.valid]
    exact = [trial for trial in valid if trial.exact(found.strict)]
    strict = " nor skips pixels (--strict)" if found.strict else ""
    lines = [_header(found, path)]
    lines += _listed(f"valid: {len(valid):,} of {len(found.trials):,}:", _sizes_of(found, valid))
    lines += _listed(f"exact: {len(exact):,} of {len(valid):,} valid ({_EXACT}{strict}):", _sizes_of(found, exact))
    lines += _in_features_note(found)
    lines += _reasons(found, "refused:", [(trial.error, trial) for trial in found.trials if not trial.valid])
    edges = [(note, trial) for trial in valid for note in trial.edges]
    lines += _reasons(found, "not exact, the last rows (columns, positions) of a layer's input never read:", edges)
    skips = [(note, trial) for trial in valid for note in trial.skips]
    title = (
        "not exact (--strict), pixels skipped:"
        if found.strict
        else "pixels skipped by the stride or dilation, not counted against a size (--strict counts them):"
    )
    lines += _reasons(found, title, skips)
    return "\n".join(lines)


def _in_features_note(found: Sizes) -> list[str]:
    """When the first linear layer's in_features follows the input size: a model built at the
    spec's size takes only the sizes that keep it."""
    other = found.other_in_features
    if not other:
        return []
    keeping = [t for t in found.trials if t.valid and t.in_features == found.in_features]
    valid = sum(1 for t in found.trials if t.valid)
    prefix = (
        f"note: the first linear layer's in_features follows the input size ({found.in_features:,} at the spec's "
        f"own input); a model built at that size takes {len(keeping):,} of the {valid:,} valid sizes:"
    )
    return _listed(prefix, _sizes_of(found, keeping))


def document(found: Sizes, path: str) -> dict:
    """The JSON document: `valid` and `exact` (square sizes as integers, else [h, w] lists, every
    spatial axis of the input in its order), what was tried, and why sizes are refused or inexact."""
    from cnncalc.render.json import SCHEMA_VERSION

    spec = found.spec
    valid = [trial for trial in found.trials if trial.valid]
    return {
        "schema_version": SCHEMA_VERSION,
        "cnncalc_version": __version__,
        "spec": {"file": path, "name": spec.name, "convention": spec.convention},
        "input": {"name": found.input_name, "shape": list(found.input_shape), "axes": list(found.axes)},
        "tried": _tried_document(found),
        "strict": found.strict,
        "valid": found.valid,
        "exact": found.exact,
        # cnncalc infers the first linear layer's in_features at each size; a built model has it fixed
        "same_in_features": [found.point(t) for t in found.trials if t.valid and t.in_features == found.in_features]
        if found.other_in_features
        else found.valid,
        "refused": _reasons_document(found, [(trial.error, trial) for trial in found.trials if not trial.valid]),
        "edges": _reasons_document(found, [(note, trial) for trial in valid for note in trial.edges]),
        "skips": _reasons_document(found, [(note, trial) for trial in valid for note in trial.skips]),
    }


def _tried_document(found: Sizes) -> dict:
    spans = found.spans
    if found.square:
        span = next(iter(spans.values()))
        return {"square": True, "count": len(found.trials), "from": span.first, "to": span.last, "step": span.step}
    shape = found.input_shape
    kept = dict(zip(found.axes, (shape[p] for p in _positions(found))))
    axes = {
        axis: {"from": span.first, "to": span.last, "step": span.step} if span else {"kept": kept[axis]}
        for axis, span in spans.items()
    }
    return {"square": False, "count": len(found.trials), "axes": axes}


def _reasons_document(found: Sizes, pairs) -> list[dict]:
    """Per place: the first diagnostic (with the size it was met at) and every size it concerns."""
    return [
        {**diagnostic.to_dict(), "at": found.point(trial), "sizes": [found.point(t) for t in trials]}
        for diagnostic, trial, trials in _grouped(found, pairs)
    ]


def as_json(found: Sizes, path: str) -> str:
    from cnncalc.render.json import dumps

    return dumps(document(found, path))
