"""`cnncalc verify SPEC --against MODULE:CALLABLE`: a plan next to a real PyTorch model, module
by module.

The model is the user's own code, named on the command line (never by a spec): it is imported
and built on the meta device (no memory, no arithmetic) and run on the planned input with a
hook on every module. Compared, by module path: the state_dict's keys and shapes (the model's
against cnncalc's export of the spec); each layer's output shape, parameters, buffers and MACs
(torch.utils.flop_counter's FLOPs / 2) against the module at the layer's path; the modules that
hold parameters or buffers and that no layer stands for; and the totals and the output shapes.
With `load_state_dict`, both are also built on the CPU, the export loads the model's state_dict
with strict=True, and both run on the same random input: a branch wired to the wrong tensor
gives other numbers even where every shape and count agrees.

Needs torch; imported only when verify runs with --against.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from cnncalc.engine import Plan
from cnncalc.layers.attention import index_inputs
from cnncalc.verify import _import_torch, exported_class

BATCH = 2  # as verify: a batch of one would hide a layer that mixes up the batch axis
SHOWN = 30  # differences of one kind listed at most; the rest are counted


class AgainstError(Exception):
    """The model cannot be named, imported, built or run (exit 2); `raised` is what the user's
    code raised, if it did (CNNCALC_DEBUG=1 shows its traceback)."""

    def __init__(self, message: str, raised: BaseException | None = None):
        super().__init__(message)
        self.raised = raised


class Finding:
    """One difference: where (a module path, a state_dict key, or "total"), what differs, and
    the two values as text."""

    __slots__ = ("where", "what", "planned", "model")

    def __init__(self, where: str, what: str, planned: str, model: str):
        self.where, self.what, self.planned, self.model = where, what, planned, model


class Outcome:
    """What the comparison found, and how much it compared."""

    __slots__ = ("findings", "model_name", "layers", "modules", "keys", "totals", "values")

    def __init__(self, findings, model_name, layers, modules, keys, totals, values):
        self.findings: list[Finding] = findings
        self.model_name: str = model_name  # the model's class
        self.layers: int = layers  # the plan's layers compared with a module
        self.modules: int = modules  # the model's modules
        self.keys: int = keys  # the model's state_dict keys
        self.totals: dict = totals  # params, buffers, macs, output: (planned, model)
        self.values: str | None = values  # with load_state_dict: how the outputs compared


def load_callable(target: str):
    """The callable `target` names: `package.module:attribute` (imported as `python -c` would,
    from the current directory too) or `path/to/file.py:Attribute`."""
    where, colon, attribute = target.rpartition(":")
    try:  # before the user's module imports it, so torch's warning about numpy stays quiet
        _import_torch()
    except Exception:  # noqa: BLE001 - no torch: the user's import says so in its own words
        pass
    if not colon or not where or not attribute:
        raise AgainstError(
            f"--against takes MODULE:CALLABLE (e.g. torchvision.models:resnet50 or models/net.py:Net), not {target!r}"
        )
    try:
        module = _module(where)
    except AgainstError:
        raise
    except BaseException as exc:  # the user's code: anything it raises is its own message
        raise AgainstError(f"importing {where} failed: {type(exc).__name__}: {_first_line(exc)}", exc) from None
    found = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise AgainstError(f"{where} has no {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise AgainstError(f"{where}:{attribute} is not callable")
    return found


def _module(where: str):
    if where.endswith(".py") or "/" in where or os.sep in where:
        return _file_module(Path(where))
    _on_path(os.getcwd())
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):
            raise AgainstError(
                f"no module named {exc.name!r} (give MODULE as a dotted import path or a .py file)"
            ) from None
        raise


def _file_module(path: Path):
    """A .py file imported as `python path/to/file.py` would run it, but as a module: its folder
    (and the current one) on the import path; inside a package (a folder with __init__.py), as
    that package's module, so its own relative and absolute imports work."""
    if not path.is_file():
        raise AgainstError(f"no such file: {path}")
    path = path.resolve()
    top = path.parent
    while (top / "__init__.py").is_file():
        top = top.parent
    _on_path(os.getcwd())
    if top != path.parent:  # in a package: import it by its dotted name from above the package
        _on_path(str(top))
        return importlib.import_module(".".join(path.relative_to(top).with_suffix("").parts))
    _on_path(str(path.parent))
    spec = importlib.util.spec_from_file_location(f"cnncalc_against_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


def _on_path(folder: str) -> None:
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def compare(plan: Plan, build, kwargs: dict, *, load_state_dict: bool = False) -> Outcome:
    """The plan against the model `build(**kwargs)` makes."""
    torch = _import_torch()
    exported, ours_class = exported_class(plan)
    with torch.device("meta"):
        model = _built(build, kwargs, torch)
        ours = ours_class().eval()
    seen = _measure(torch, model, plan)
    findings = _state_dict_findings(ours.state_dict(), model.state_dict())
    layers, module_findings = _module_findings(plan, exported.paths, model, seen)
    findings += module_findings
    totals = _totals(plan, model, seen)
    findings += [
        Finding("total", what, _text(planned), _text(found))
        for what, (planned, found) in totals.items()
        if planned != found
    ]
    values = _values(torch, plan, build, kwargs, ours_class, findings) if load_state_dict else None
    modules = sum(1 for path, _ in model.named_modules() if path)
    return Outcome(findings, type(model).__name__, layers, modules, len(model.state_dict()), totals, values)


def _built(build, kwargs: dict, torch):
    try:
        model = build(**kwargs)
    except BaseException as exc:
        raise AgainstError(f"building the model failed: {type(exc).__name__}: {_first_line(exc)}", exc) from None
    if not isinstance(model, torch.nn.Module):
        raise AgainstError(f"the callable returned a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


class _Seen:
    """What a run of the model showed: each module's first output shape, and FLOPs by path."""

    __slots__ = ("shapes", "flops", "output")

    def __init__(self, shapes: dict, flops: dict, output):
        self.shapes, self.flops, self.output = shapes, flops, output


def _inputs(torch, plan: Plan, device: str, generator=None) -> list:
    indices = index_inputs(plan)  # an embedding's input holds integer indices
    made = []
    for name, shape in plan.input_shapes.items():
        if name in indices:
            made.append(torch.randint(0, indices[name], (BATCH, *shape), generator=generator, device=device))
        elif generator is None:
            made.append(torch.zeros((BATCH, *shape), device=device))
        else:
            made.append(torch.randn((BATCH, *shape), generator=generator).to(device))
    return made


def _measure(torch, model, plan: Plan) -> _Seen:
    from torch.utils.flop_counter import FlopCounterMode

    shapes: dict[str, tuple] = {}

    def hook(path):
        def record(module, inputs, output):
            first = output[0] if isinstance(output, (tuple, list)) and output else output
            if isinstance(first, torch.Tensor):
                shapes.setdefault(path, tuple(first.shape[1:]))

        return record

    handles = [module.register_forward_hook(hook(path)) for path, module in model.named_modules() if path]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            output = model(*_inputs(torch, plan, "meta"))
    except BaseException as exc:
        hint = (
            " (it runs on the meta device, with no values: a forward that reads them, by .item() or an `if` "
            "on a tensor, cannot run there)"
            if "meta" in str(exc)
            else ""
        )
        raise AgainstError(
            f"the model does not run on the planned input(s) {_input_text(plan)}: "
            f"{type(exc).__name__}: {_first_line(exc)}{hint}",
            exc,
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    root = type(model).__name__
    flops = {}
    for key, counts in counter.get_flop_counts().items():
        path = "" if key == "Global" else key[len(root) + 1 :] if key.startswith(root + ".") else None
        if path is not None:
            flops[path] = sum(counts.values())
    return _Seen(shapes, flops, output)


def _input_text(plan: Plan) -> str:
    return ", ".join(f"{name} {list(shape)}" for name, shape in plan.input_shapes.items())


def _state_dict_findings(ours: dict, theirs: dict) -> list[Finding]:
    """Keys the model has and the export lacks, the reverse, and shapes that differ."""
    findings = [
        Finding(key, "state_dict key missing from the spec", "-", _shape(theirs[key]))
        for key in theirs
        if key not in ours
    ]
    findings += [
        Finding(key, "state_dict key not in the model", _shape(ours[key]), "-") for key in ours if key not in theirs
    ]
    findings += [
        Finding(key, "state_dict shape", _shape(ours[key]), _shape(theirs[key]))
        for key in theirs
        if key in ours and tuple(ours[key].shape) != tuple(theirs[key].shape)
    ]
    return findings


def _shape(tensor) -> str:
    return str(list(tensor.shape))


def _module_findings(plan: Plan, paths: dict, model, seen: _Seen) -> tuple[int, list[Finding]]:
    """Each layer with a module against the model's module at its path; then the model's
    modules holding parameters or buffers of their own that no layer's path covers."""
    modules = dict(model.named_modules())
    findings: list[Finding] = []
    compared = 0
    covered: set[str] = set()
    for row in plan.layers:
        path = paths.get(row.name)
        if not path:  # an expression in forward(), not a module: nothing to look up
            continue
        covered.add(path)
        module = modules.get(path)
        held = _parameter(modules, path) if module is None else None
        if held is not None:  # a learned tensor the model's module holds (a layer scale, a class token)
            compared += 1
            if held.numel() != row.params:
                findings.append(Finding(path, "params", f"{row.params:,}", f"{held.numel():,}"))
            continue
        if module is None:  # a stateless layer may be a function or a reused module in the model
            if row.params or row.buffers:
                counts = f"{row.params:,} params, {row.buffers:,} buffers"
                findings.append(
                    Finding(path, f"no such module in the model ({row.type_name} in the spec)", counts, "-")
                )
            continue
        compared += 1
        findings += _layer_findings(row, path, module, seen)
    for path, module in modules.items():
        if path and _ancestors_in(path, covered):
            continue
        own = sum(p.numel() for name, p in module.named_parameters(recurse=False) if _join(path, name) not in covered)
        kept = sum(b.numel() for b in module.buffers(recurse=False))
        if own or kept:
            what = f"{type(module).__name__} in the model, no layer in the spec"
            findings.append(Finding(path or "(the model)", what, "-", f"{own:,} params, {kept:,} buffers"))
    return compared, findings


def _parameter(modules: dict, path: str):
    """The parameter at `path` (held by the module above it), or None."""
    parent, _, name = path.rpartition(".")
    holder = modules.get(parent)
    return holder._parameters.get(name) if holder is not None else None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _ancestors_in(path: str, covered: set[str]) -> list[str]:
    """The paths in `covered` that are `path` or hold it (a layer's module holds its children)."""
    parts = path.split(".")
    return [p for p in (".".join(parts[:k]) for k in range(1, len(parts) + 1)) if p in covered]


def _layer_findings(row, path: str, module, seen: _Seen) -> list[Finding]:
    found = []
    shape = seen.shapes.get(path)
    if shape is None:
        found.append(Finding(path, "output shape (the model never calls this module)", _text(row.output_shape), "-"))
    elif shape != tuple(row.output_shape):
        found.append(Finding(path, "output shape", _text(row.output_shape), _text(shape)))
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    macs = seen.flops.get(path, 0) // 2 // BATCH
    for what, planned, measured in (
        ("params", row.params, params),
        ("buffers", row.buffers, buffers),
        ("MACs", row.macs, macs),
    ):
        if planned != measured:
            found.append(Finding(path, what, f"{planned:,}", f"{measured:,}"))
    return found


def _totals(plan: Plan, model, seen: _Seen) -> dict[str, tuple]:
    output = seen.output
    shapes = [tuple(o.shape[1:]) for o in _tensors(output)]
    return {
        "params": (plan.totals.params, sum(p.numel() for p in model.parameters())),
        "buffers": (plan.totals.buffers, sum(b.numel() for b in model.buffers())),
        "MACs": (plan.totals.macs, seen.flops.get("", 0) // 2 // BATCH),
        "output shapes": ([tuple(s) for s in plan.output_shapes.values()], shapes),
    }


def _tensors(output) -> list:
    """A forward()'s result as its tensors in order: a tensor, or a tuple, list or dict of them
    (nested ones opened); anything else is left out."""
    if isinstance(output, dict):
        return [t for value in output.values() for t in _tensors(value)]
    if isinstance(output, (tuple, list)):
        return [t for value in output for t in _tensors(value)]
    return [output] if hasattr(output, "shape") else []


def _text(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(list(value))


def _finite(torch, model) -> None:
    """A tensor the model leaves uninitialised (torch.empty) may hold NaN or inf: it is given
    small random values (variances: ones), the same for both runs, so outputs can be compared."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and not bool(tensor.isfinite().all()):
                fresh = (
                    torch.ones_like(tensor)
                    if name.endswith("running_var")
                    else torch.randn(tensor.shape, generator=generator) * 0.02
                )
                tensor.copy_(fresh)


def _values(torch, plan: Plan, build, kwargs: dict, ours_class, findings: list[Finding]) -> str:
    """Both built on the CPU; the export loads the model's state_dict (strict); both run on the
    same random input. Says how the outputs compared; a failure is also a finding."""
    torch.manual_seed(0)
    model = _built(build, kwargs, torch)
    _finite(torch, model)
    ours = ours_class().eval()
    try:
        ours.load_state_dict(model.state_dict(), strict=True)
    except RuntimeError as exc:  # torch's message: a heading line, then what is missing or unexpected
        reasons = "; ".join(line.strip() for line in str(exc).splitlines()[1:] if line.strip())
        findings.append(Finding("state_dict", "load_state_dict(strict=True) fails", "-", reasons[:300] or str(exc)))
        return "not compared: the export does not load the model's state_dict"
    inputs = _inputs(torch, plan, "cpu", torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            theirs, mine = model(*inputs), ours(*inputs)
    except Exception as exc:  # the model's code, or torch, on real values (memory, a dtype)
        raise AgainstError(
            f"running the model on the CPU failed: {type(exc).__name__}: {_first_line(exc)}", exc
        ) from None
    theirs, mine = _tensors(theirs), _tensors(mine)
    if len(theirs) != len(mine) or any(a.shape != b.shape for a, b in zip(theirs, mine)):
        findings.append(Finding("forward()", "outputs with the model's weights", "-", "other shapes"))
        return "outputs differ in shape"
    worst = max(float((a - b).abs().max()) if a.numel() else 0.0 for a, b in zip(theirs, mine))
    scale = max(float(a[a.isfinite()].abs().max()) if a.isfinite().any() else 0.0 for a in theirs) or 1.0
    if not all(torch.allclose(b, a, rtol=1e-4, atol=1e-4 * scale, equal_nan=True) for a, b in zip(theirs, mine)):
        findings.append(Finding("forward()", "outputs with the model's weights", "-", f"differ by up to {worst:.3g}"))
        return f"outputs differ by up to {worst:.3g}"
    return f"the same outputs on random input, with the model's weights (largest difference {worst:.1g})"
