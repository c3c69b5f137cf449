"""The command line: options in, core called, renderer chosen, exit status out.

Exit statuses: 0 success; 1 a budget exceeded (check) or a layer differing from
PyTorch (verify); 2 the spec or the command line is invalid (click also uses 2 for
usage errors); 3 a bug in cnncalc.
Only click and the standard library are imported at start-up; everything else
is imported by the command that needs it, so `--format json` never loads rich.
"""

from __future__ import annotations

import os
import sys

import click

from cnncalc import __version__
from cnncalc.dtypes import DTYPE_BYTES, OPTIMIZER_STATES
from cnncalc.errors import EXIT_ERROR


class _BatchSize(click.ParamType):
    """A batch size: 1 to 2**31 - 1, the largest int32 (a batch that large is already far beyond
    any machine's memory); a longer number is refused before it is converted, and not echoed back."""

    name = "integer"
    largest = 2**31 - 1

    def convert(self, value, param, ctx):
        if not isinstance(value, int):
            text = str(value).strip()
            value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
        if value is None or not 1 <= value <= self.largest:
            self.fail(f"expected a whole number from 1 to {self.largest:,}", param, ctx)
        return value


_BATCH_SIZE = _BatchSize()


def _use_colour(stream) -> bool:
    # no-color.org: a NO_COLOR that is set and not empty turns colour off
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def _shown(value) -> str:
    """An exception's message or a path for an error line: spec text, so made safe for a terminal."""
    from cnncalc.render.safe import MESSAGE_WIDTH, shorten, terminal

    return terminal(shorten(str(value), MESSAGE_WIDTH))


def _report(exc, fmt: str) -> None:
    from cnncalc.render.text import format_diagnostics

    if fmt == "json":
        from cnncalc.render import json as json_render

        click.echo(json_render.dumps(json_render.errors_document(exc.diagnostics)))
    message = format_diagnostics(exc.diagnostics, exc.source)
    count = len(exc.diagnostics)
    if count > 1:
        message += f"\n{count} errors"
    click.echo(message, err=True)


class _Group(click.Group):
    """Click's usage errors quote the command line (`Got unexpected extra argument (...)`), and a
    CI job may pass it file names from a pull request: their messages are shown as spec text is."""

    def make_context(self, *arguments, **settings):
        with _safe_usage_errors():
            return super().make_context(*arguments, **settings)

    def invoke(self, ctx):
        with _safe_usage_errors():
            return super().invoke(ctx)


class _safe_usage_errors:
    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if isinstance(exc, click.ClickException):
            exc.message = _shown(exc.message)
        return False  # raised on, with its message made safe


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="cnncalc")
def cli() -> None:
    """Plan a CNN from a YAML spec: every layer's shape and parameters, no framework needed."""


def _column_list(ctx, param, value):
    if value is None:
        return None
    from cnncalc.render.table import COLUMNS  # only the table needs them

    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown or not names:
        raise click.BadParameter(f"unknown column {', '.join(unknown) or '(none)'}; choose from {', '.join(COLUMNS)}")
    return names


def _settings(ctx, param, values) -> dict[str, str]:
    """--set NAME=VALUE, given any number of times: {NAME: VALUE as text}, for the spec's `let:`."""
    from cnncalc import expressions

    found: dict[str, str] = {}
    for item in values:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not expressions.is_name(name):
            raise click.BadParameter(f"expected NAME=VALUE, e.g. width_mult=1.4, got {_shown(item)}")
        if name in found:
            raise click.BadParameter(f"{name} is set twice")
        found[name] = value
    return found


_SET = click.option(
    "--set",
    "constants",
    multiple=True,
    callback=_settings,
    metavar="NAME=VALUE",
    help="replace a value of the spec's top-level `let:` (repeatable), e.g. --set width_mult=1.4",
)
_CONVENTION = click.option(
    "--convention",
    type=click.Choice(["pytorch", "keras"]),
    default=None,
    help="read the spec in this convention, whatever its `convention:` says: pytorch (torch.nn's layers, "
    "[C, H, W]) or keras (Keras's layers, [H, W, C], counted as Keras counts)",
)


def _spec_options(command):
    """--set and --convention: how a command reads its specs."""
    return _SET(_CONVENTION(command))


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json for pipelines (a stable, versioned document)",
)
@click.option(
    "--columns",
    callback=_column_list,
    metavar="LIST",
    help="table columns, comma-separated: index, name, type, input, inputs, output, params, params_pct, macs, "
    "macs_pct, other_ops, activations, saved, rf, rf_stride, rf_padding, trainable "
    "[default: index,name,type,output,params,macs,rf]",
)
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    metavar="N",
    help="show blocks N levels deep at most; deeper rows fold into their block's subtotal row [default: all]",
)
@click.option("--batch-size", type=_BATCH_SIZE, default=1, show_default=True, help="for memory")
@click.option(
    "--dtype",
    type=click.Choice(list(DTYPE_BYTES)),
    default="float32",
    show_default=True,
    help="element type of weights and activations, for memory",
)
@click.option(
    "--optimizer",
    type=click.Choice(list(OPTIMIZER_STATES)),
    default="adam",
    show_default=True,
    help="for the training-memory estimate: sgd keeps no state, momentum one, adam(w) two per parameter",
)
@_spec_options
def plan(
    spec: str,
    fmt: str,
    columns,
    depth: int | None,
    batch_size: int,
    dtype: str,
    optimizer: str,
    constants: dict,
    convention: str | None,
) -> None:
    """Plan the architecture in SPEC (a YAML file, or - for standard input).

    Prints each layer's output shape, parameters, MACs and receptive field; the
    totals; memory at the batch size and dtype; and the in_features of the first
    linear layer.
    """
    from cnncalc.engine import plan as make_plan
    from cnncalc.errors import SpecError
    from cnncalc.memory import estimate
    from cnncalc.spec import load_file

    try:
        result = make_plan(load_file(spec, constants, convention))
    except SpecError as exc:
        _report(exc, fmt)
        sys.exit(EXIT_ERROR)
    memory = estimate(result, batch_size=batch_size, dtype=dtype, optimizer=optimizer)
    if fmt == "json":
        from cnncalc.render import json as json_render

        json_render.write_plan_json(result, memory, sys.stdout)  # streamed: never whole in memory
        return
    from cnncalc.render.table import DEFAULT_COLUMNS, render

    render(result, memory, sys.stdout, columns or DEFAULT_COLUMNS, colour=_use_colour(sys.stdout), depth=depth)


def _quantity(unit: str):
    def convert(ctx, param, value):
        if value is None:
            return None
        from cnncalc.quantity import QuantityError, parse_quantity

        try:
            return parse_quantity(value, unit=unit)
        except QuantityError as exc:
            raise click.BadParameter(str(exc)) from None

    return convert


@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--max-params", callback=_quantity("count"), metavar="N", help="e.g. 25M or 25000000")
@click.option("--max-trainable-params", callback=_quantity("count"), metavar="N")
@click.option("--max-macs", callback=_quantity("count"), metavar="N", help="per sample, e.g. 4.1G")
@click.option("--max-flops", callback=_quantity("count"), metavar="N", help="per sample (2 x MACs)")
@click.option("--max-memory", callback=_quantity("bytes"), metavar="BYTES", help="e.g. 2GiB or 512MiB")
@click.option("--batch-size", type=_BATCH_SIZE, help="for the memory budget [default: 1]")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), help="[default: float32]")
@click.option(
    "--training/--inference",
    default=None,
    help="memory budget for training (weights, gradients, optimizer, saved activations) "
    "or the inference peak [default: inference]",
)
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), help="[default: adam]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "github", "junit", "markdown"]),
    default="table",
    show_default=True,
)
@_spec_options
def check(
    specs,
    max_params,
    max_trainable_params,
    max_macs,
    max_flops,
    max_memory,
    batch_size,
    dtype,
    training,
    optimizer,
    fmt,
    constants,
    convention,
):
    """Check each SPEC against its budgets, from the spec's `budget:` or these options.

    Options override the spec. Exit status: 0 when every budget holds, 1 when one is
    exceeded, 2 when a spec is invalid or has no budget; with several files the worst wins.
    """
    from cnncalc.checking import MemorySettings

    flags = {
        what: value
        for what, value in (
            ("params", max_params),
            ("trainable_params", max_trainable_params),
            ("macs", max_macs),
            ("flops", max_flops),
            ("memory", max_memory),
        )
        if value is not None
    }
    settings = MemorySettings(batch_size, dtype, optimizer, training)
    results = [_check_file(path, constants, convention, flags, settings) for path in specs]
    sys.exit(_print_check(results, fmt))


def _check_file(path: str, constants: dict, convention: str | None, flags: dict, settings):
    """One SPEC's budgets checked (checking.FileResult): its verdicts, or its errors."""
    from cnncalc.checking import FileResult
    from cnncalc.checking import check as check_budgets
    from cnncalc.engine import plan as make_plan
    from cnncalc.errors import Diagnostic, Loc, SpecError
    from cnncalc.spec import load_file

    shown = "<stdin>" if path == "-" else path
    try:
        spec = load_file(path, constants, convention)
        planned = make_plan(spec)
    except SpecError as exc:
        return FileResult(shown, None, [], exc.diagnostics, exc.source)
    checks = check_budgets(planned, spec, flags, settings)
    diagnostics = []
    if not checks:
        diagnostics.append(
            Diagnostic(
                "budget.none",
                "no budget to check: add `budget:` to the spec (e.g. budget: {max_params: 25M}) "
                "or pass --max-params, --max-macs or --max-memory",
                Loc(shown, 1, 1),
            )
        )
    return FileResult(shown, spec.name, checks, diagnostics, spec.sources or spec.source)


def _print_check(results, fmt: str) -> int:
    """Print check's results in `fmt`; its exit status. A machine format is usually redirected to a
    file, so a failure is also told in the log (standard error) as text."""
    from cnncalc.checking import exit_status
    from cnncalc.render import check as render

    formatter = {
        "table": render.text,
        "json": render.as_json,
        "github": render.github,
        "junit": render.junit,
        "markdown": render.markdown,
    }[fmt]
    click.echo(formatter(results))
    status = exit_status(results)
    if status != 0 and fmt in ("json", "junit", "markdown"):
        click.echo(render.text(results), err=True)
    return status


@cli.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
@_spec_options
def diff(old: str, new: str, fmt: str, constants: dict, convention: str | None) -> None:
    """Show what changed from OLD to NEW: layers added, removed or changed, and total deltas.

    Each spec is a file, - for standard input, or REV:PATH for a file at a git revision
    (`cnncalc diff main:model.yaml model.yaml`); a file whose name also reads as REV:PATH is
    refused as ambiguous (write ./NAME for the file). Layers are matched by name.
    Exit status 0, or 2 if either spec is invalid.
    """
    from cnncalc.diff import compare
    from cnncalc.engine import plan as make_plan
    from cnncalc.errors import SpecError
    from cnncalc.render import diff as render
    from cnncalc.spec import load_file_or_revision

    plans = []
    for argument in (old, new):
        try:
            plans.append(make_plan(load_file_or_revision(argument, constants, convention)))
        except SpecError as exc:
            _report(exc, "json" if fmt == "json" else "text")
            sys.exit(EXIT_ERROR)
    formatter = {"table": render.text, "json": render.as_json, "markdown": render.markdown}[fmt]
    click.echo(formatter(compare(*plans), old, new))


def _write_output(text: str, output: str | None) -> None:
    """`text` to the file `output`, or to standard output (no -o, or -o -); exit 2 if it cannot be written."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        click.echo(f"error: cannot write {_shown(output)}: {exc.strerror}", err=True)
        sys.exit(EXIT_ERROR)


def _load_plan(path: str, constants: dict, convention: str | None, fmt: str = "text"):
    """Plan the spec at `path` (its `let:` values replaced by `constants`, read in `convention`
    if given), or report its errors and exit 2."""
    from cnncalc.engine import plan as make_plan
    from cnncalc.errors import SpecError
    from cnncalc.spec import load_file

    try:
        return make_plan(load_file(path, constants, convention))
    except SpecError as exc:
        _report(exc, fmt)
        sys.exit(EXIT_ERROR)


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option(
    "--to",
    "target",
    type=click.Choice(["pytorch", "keras", "onnx"]),
    default="pytorch",
    show_default=True,
    help="pytorch: an nn.Module; keras: a Keras 3 functional model (a PyTorch spec's as channels_first layers); "
    "onnx: an ONNX model file (needs -o and the onnx package)",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write here, not to stdout")
@click.option(
    "--random-weights",
    is_flag=True,
    help="onnx: seeded random initializers (as torch starts them) instead of zeros and ones",
)
@click.option("--seed", type=int, default=0, show_default=True, help="onnx: the seed of --random-weights")
@_spec_options
def export(
    spec: str,
    target: str,
    output: str | None,
    random_weights: bool,
    seed: int,
    constants: dict,
    convention: str | None,
) -> None:
    """Write SPEC as framework code: a self-contained PyTorch module (one nn.Module class per
    block), with --to keras a Keras 3 script whose build_model() returns a keras.Model, or with
    --to onnx an ONNX model (opset 21, batch axis `batch`) to open in Netron or run in onnxruntime.

    Names follow the spec's layer names; the model builds with no arguments.
    """
    from cnncalc.export import ExportError, to_pytorch

    if target == "onnx" and (output is None or output == "-"):
        click.echo("error: --to onnx writes a binary file: give it with -o model.onnx", err=True)
        sys.exit(EXIT_ERROR)
    if target != "onnx" and (random_weights or seed):
        click.echo("error: --random-weights and --seed are for --to onnx", err=True)
        sys.exit(EXIT_ERROR)
    planned = _load_plan(spec, constants, convention)
    try:
        if target == "onnx":
            return _export_onnx(planned, spec, output, random_weights, seed)
        if target == "keras":
            from cnncalc.export.keras import to_keras

            code = to_keras(planned, source=None if spec == "-" else spec)
        else:
            code = to_pytorch(planned, source=None if spec == "-" else spec)
    except ExportError as exc:  # the ONNX export's refusal lists a layer a line, each made safe
        lines = getattr(exc, "lines", None) or [str(exc)]
        click.echo("\n".join([f"error: {_shown(lines[0])}", *(f"  {_shown(line)}" for line in lines[1:])]), err=True)
        sys.exit(EXIT_ERROR)
    _write_output(code, output)


def _export_onnx(planned, spec: str, output: str, random_weights: bool, seed: int) -> None:
    """Build the ONNX model (ExportError where a layer has no equivalent), then write it."""
    from cnncalc.export.onnx import to_onnx

    built = to_onnx(planned, random_weights=random_weights, seed=seed, source=None if spec == "-" else spec)
    data = built.model.SerializeToString()  # before the file is opened: a failure leaves it as it was
    try:
        with open(output, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        click.echo(f"error: cannot write {_shown(output)}: {exc.strerror}", err=True)
        sys.exit(EXIT_ERROR)


@cli.command("import")
@click.argument("model", metavar="MODEL")
@click.option(
    "--input",
    "input_shapes",
    metavar="SHAPE",
    multiple=True,
    help="for a PyTorch model: its input's shape without the batch, e.g. 3,224,224 (once per input)",
)
@click.option("--kwargs", "kwargs_text", metavar="JSON", help="for a PyTorch model: keyword arguments for the callable")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write here, not to stdout")
@click.option("--name", help="the spec's name [default: the graph's or the callable's]")
def import_model(
    model: str, input_shapes: tuple[str, ...], kwargs_text: str | None, output: str | None, name: str | None
) -> None:
    """Write an existing model as a spec (PyTorch convention) that plans to its exact shapes,
    params, buffers and MACs.

    MODEL is a PyTorch model as MODULE:CALLABLE (torchvision.models:resnet50,
    path/to/net.py:Net) with --input, its input's shape without the batch (cnncalc adds a batch
    of 2), once per input; --kwargs is a JSON object of the callable's keyword arguments. Your
    code is imported and run once on the meta device; module calls are named by their paths,
    each module class is a block with arguments, and each nn.Sequential of one block a
    `repeat:`. Or MODEL is an ONNX file (model.onnx: needs the onnx package; one layer a line,
    named after the nodes, dots written as `-`).

    \b
    Example:
      cnncalc import models/net.py:Net --input 3,224,224 --kwargs '{"num_classes": 10}' -o net.yaml

    Exit status: 0 when the spec is written; 2 when the model cannot be built or run, or a
    call has no spec layer (each listed with its module path; nothing is written).
    CNNCALC_DEBUG=1 shows your code's traceback when it fails.
    """
    from cnncalc.importers.onnx import ImportRefused

    try:
        if _is_torch_target(model, input_shapes):
            from cnncalc.importers.pytorch import to_spec as torch_spec

            shapes = [_shape_option(text) for text in input_shapes]
            text = torch_spec(model, shapes, _kwargs_option(kwargs_text), name=name)
        else:
            if input_shapes or kwargs_text is not None:
                _fail("--input and --kwargs are for a PyTorch model (MODULE:CALLABLE); an ONNX file has its shapes")
            from cnncalc.importers.onnx import to_spec

            text = to_spec(model, name=name)
    except ImportRefused as exc:
        _user_traceback(exc)
        lines = exc.lines
        click.echo("\n".join([f"error: {_shown(lines[0])}", *(f"  {_shown(line)}" for line in lines[1:])]), err=True)
        sys.exit(EXIT_ERROR)
    if output is None or output == "-":
        from cnncalc.render.safe import terminal

        text = "".join(terminal(line) + "\n" for line in text.splitlines())
    _write_output(text, output)


def _user_traceback(exc: Exception) -> None:
    """With CNNCALC_DEBUG=1, the traceback of what the user's own code raised (`exc.raised`)."""
    raised = getattr(exc, "raised", None)
    if raised is not None and os.environ.get("CNNCALC_DEBUG"):
        import traceback

        traceback.print_exception(type(raised), raised, raised.__traceback__)


def _is_torch_target(model: str, input_shapes: tuple[str, ...]) -> bool:
    """MODULE:CALLABLE (a colon after the module or file), not a path to an ONNX file."""
    where, colon, attribute = model.rpartition(":")
    if not colon or not where or not attribute or model.lower().endswith(".onnx") or os.path.exists(model):
        return False
    if not input_shapes:
        _fail(f"importing the PyTorch model {model} needs its input's shape: --input 3,224,224")
    return True


def _fail(message: str) -> None:
    click.echo(f"error: {_shown(message)}", err=True)
    sys.exit(EXIT_ERROR)


def _shape_option(text: str) -> tuple[int, ...]:
    """`3,224,224` (or `[3, 224, 224]`): the input's sizes after the batch, each 1 to 999,999."""
    parts = [p.strip() for p in text.strip().strip("[]()").split(",")]
    if len(parts) > 5:
        _fail(f"--input {text!r}: at most 5 sizes (channels and up to 3 spatial axes; no batch)")
    for part in parts:
        if not (part.isdigit() and len(part) <= 6 and int(part) > 0):
            _fail(f"--input {text!r}: {part!r} is not a size (a whole number from 1 to 999,999), e.g. 3,224,224")
    return tuple(int(p) for p in parts)


def _kwargs_option(kwargs_text: str | None) -> dict:
    import json

    try:
        kwargs = json.loads(kwargs_text) if kwargs_text else {}
    except ValueError as exc:
        _fail(f"--kwargs is not JSON: {exc}")
    if not isinstance(kwargs, dict):
        _fail("--kwargs must be a JSON object, e.g. '{\"num_classes\": 10}'")
    return kwargs


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option(
    "--values",
    is_flag=True,
    help="also run real arithmetic on the CPU with random input, and check that the whole forward() "
    "gives the same numbers as the layers run one by one (catches a miswired forward)",
)
@click.option("--brief", is_flag=True, help="print only the rows that differ, and the verdict")
@click.option(
    "--against",
    metavar="MODULE:CALLABLE",
    help="compare with a real PyTorch model instead, module by module: e.g. torchvision.models:resnet50 "
    "or models/net.py:Net (your code, imported and run; never named by a spec)",
)
@click.option(
    "--kwargs", "kwargs_text", metavar="JSON", help="keyword arguments for the callable, e.g. '{\"num_classes\": 10}'"
)
@click.option(
    "--load-state-dict",
    is_flag=True,
    help="with --against: also load the model's state_dict into the export (strict) and compare outputs",
)
@_spec_options
def verify(
    spec: str,
    values: bool,
    brief: bool,
    against: str | None,
    kwargs_text: str | None,
    load_state_dict: bool,
    constants: dict,
    convention: str | None,
) -> None:
    """Prove the plan of SPEC with PyTorch: build the exported module, run it, compare.

    Compares every layer's output shape, parameters, buffers and MACs, and each
    block's output shape, with what PyTorch measures (on the meta device, so even
    large inputs cost nothing). Needs PyTorch: pip install 'cnncalc[torch]'.
    A spec in the Keras convention is proved with Keras 3 instead (its export, built by Keras:
    shapes, parameters, non-trainable parameters, and MACs on Keras's torch backend).
    Exit 0 when all agree, 1 on any mismatch, 2 for an invalid spec or without the framework.
    With --against MODULE:CALLABLE, compares with that PyTorch model instead, module by module.
    """
    if against is None and (kwargs_text is not None or load_state_dict):
        click.echo("error: --kwargs and --load-state-dict go with --against MODULE:CALLABLE", err=True)
        sys.exit(EXIT_ERROR)
    plan = _load_plan(spec, constants, convention)
    if against is not None:
        _verify_against(spec, plan, against, kwargs_text, load_state_dict, values)
        return
    if plan.convention == "keras":
        _verify_keras(spec, plan, values, brief)
        return
    _verify_torch(spec, plan, values, brief)


def _verify_torch(spec: str, plan, values: bool, brief: bool) -> None:
    """verify for a PyTorch-convention plan: its export, built and run by PyTorch."""
    from cnncalc.errors import EXIT_FAIL
    from cnncalc.export import ExportError
    from cnncalc.verify import TorchMissing, TorchRefused, ValuesUnavailable
    from cnncalc.verify import verify as run_verify

    try:
        results = run_verify(plan, device="cpu" if values else "meta")
    except ExportError as exc:
        click.echo(f"error: {_shown(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    except ValuesUnavailable as exc:
        click.echo(
            f"error: cannot run {_shown(spec)} with real arithmetic on the CPU ({_shown(exc)}); verify without --values",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    except TorchRefused as exc:
        click.echo(
            f"error: PyTorch cannot build or run the model {_shown(spec)} describes: {_shown(str(exc))}", err=True
        )
        sys.exit(EXIT_ERROR)
    except TorchMissing:
        click.echo(
            "error: cnncalc verify needs PyTorch, which is not installed; "
            "install it with: pip install torch (or the cnncalc[torch] extra)",
            err=True,
        )
        sys.exit(EXIT_ERROR)

    from cnncalc.render.verify import text, torch_measured

    click.echo(text(results, torch_measured(_torch_version(), values), brief=brief))
    if not all(result.ok for result in results):
        sys.exit(EXIT_FAIL)


def _verify_against(spec: str, plan, target: str, kwargs_text: str | None, load_state_dict: bool, values: bool):
    """verify --against: the plan next to the user's PyTorch model; exit 1 on any difference."""
    from cnncalc.errors import EXIT_FAIL

    if values:
        click.echo(
            "error: with --against, --load-state-dict compares values (--values is for the export alone)", err=True
        )
        sys.exit(EXIT_ERROR)
    if plan.convention == "keras":
        click.echo("error: --against compares with a PyTorch model; this spec is in the Keras convention", err=True)
        sys.exit(EXIT_ERROR)
    kwargs = _kwargs_option(kwargs_text)
    from cnncalc.against import AgainstError, compare, load_callable
    from cnncalc.export import ExportError
    from cnncalc.render.against import text
    from cnncalc.verify import TorchMissing

    try:
        outcome = compare(plan, load_callable(target), kwargs, load_state_dict=load_state_dict)
    except (AgainstError, ExportError) as exc:
        _user_traceback(exc)
        click.echo(f"error: {_shown(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    except TorchMissing:
        click.echo("error: cnncalc verify --against needs PyTorch: pip install torch", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(text(outcome, target, _torch_version()))
    if outcome.findings:
        sys.exit(EXIT_FAIL)


def _verify_keras(spec: str, plan, values: bool, brief: bool) -> None:
    """verify for a Keras-convention plan: with Keras itself."""
    from cnncalc.errors import EXIT_FAIL
    from cnncalc.render.verify import keras_measured, text
    from cnncalc.verify_keras import KerasMissing, KerasRefused, verify_keras

    if values:
        click.echo("error: --values runs the PyTorch export; a Keras-convention spec is verified without it", err=True)
        sys.exit(EXIT_ERROR)
    try:
        results, version = verify_keras(plan)
    except KerasMissing as exc:
        click.echo(f"error: verifying a Keras-convention spec: {_shown(str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except KerasRefused as exc:
        click.echo(f"error: Keras cannot build the model {_shown(spec)} describes: {_shown(str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    macs = any(result.measured[3] is not None for result in results)
    click.echo(text(results, keras_measured(version, macs), brief=brief))
    if not all(result.ok for result in results):
        sys.exit(EXIT_FAIL)


def _torch_version() -> str:
    import torch

    return torch.__version__


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option(
    "--layer",
    "layer_names",
    multiple=True,
    metavar="NAME",
    help="only this layer, or a block call's layers (repeatable)",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--batch-size", type=_BATCH_SIZE, default=1, show_default=True, help="for the saved activations")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True)
@_spec_options
def explain(spec: str, layer_names, fmt: str, batch_size: int, dtype: str, constants: dict, convention) -> None:
    """Show the arithmetic behind every number of SPEC, layer by layer.

    Each output size per axis with its formula and the numbers substituted (how 'same'
    padding was resolved), the parameters ((3·3·32 + 1)·64 = 18,496), the MACs, the receptive
    field through the layer's window, what autograd keeps for backward, and the first fully
    connected layer's input (64 × 12 × 12 = 9,216).
    """
    from cnncalc.explain import explain as explain_plan
    from cnncalc.memory import estimate
    from cnncalc.render import explain as render

    planned = _load_plan(spec, constants, convention, fmt="json" if fmt == "json" else "text")
    names = _explained_names(planned, layer_names) if layer_names else None
    explained = explain_plan(planned, estimate(planned, batch_size=batch_size, dtype=dtype), names)
    if fmt == "json":
        click.echo(render.as_json(planned, explained))
        return
    click.echo(render.text(planned, explained, whole=names is None))


def _explained_names(planned, wanted) -> set[str]:
    """The layers --layer names: a layer, or every layer of a block call or list; exit 2 for a
    name the plan has not, with the closest one."""
    from cnncalc.layers import suggest

    layers = {row.name for row in planned.layers}
    groups = {group.name: group for group in planned.groups}
    found: set[str] = set()
    for name in wanted:
        if name in layers:
            found.add(name)
        elif name in groups:
            found |= {row.name for row in planned.layers if groups[name] in row.spec.groups}
        else:
            hint = suggest(name, [*layers, *groups])
            click.echo(
                f"error: no layer or block call is named '{_shown(name)}'"
                + (f"; did you mean '{_shown(hint)}'?" if hint else ""),
                err=True,
            )
            sys.exit(EXIT_ERROR)
    return found


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUES",
    help="values of one of the spec's `let:` constants: V1,V2,... or LO:HI[:STEP] (HI included); repeatable",
)
@click.option("--input", "input_sizes", metavar="SIZES", help="square input sizes: LO:HI[:STEP] or V1,V2,...")
@click.option("--sort", "sort_key", metavar="KEY", help="params, macs, memory, input, or a --set name")
@click.option(
    "--pareto", "pareto_keys", metavar="KEYS", help="mark the variants no other beats on these, e.g. params,macs"
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--batch-size", type=_BATCH_SIZE, default=None, help="for memory [default: the budget's, else 1]")
@click.option(
    "--dtype",
    type=click.Choice(list(DTYPE_BYTES)),
    default=None,
    help="for memory [default: the budget's, else float32]",
)
@click.option(
    "--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), default=None, help="[default: the budget's, else adam]"
)
@click.option(
    "--training/--inference",
    "training",
    default=None,
    help="memory as training's total or the inference peak [default: the budget's, else training]",
)
@click.option("--require-budget", is_flag=True, help="exit 1 when no variant fits the spec's budget")
@click.option(
    "--processes", type=click.IntRange(min=1), metavar="N", help="plan in N processes [default: one per core]"
)
@_CONVENTION
def sweep(
    spec,
    settings,
    input_sizes,
    sort_key,
    pareto_keys,
    fmt,
    batch_size,
    dtype,
    optimizer,
    training,
    require_budget,
    processes,
    convention,
):
    """Plan every combination of SPEC's constants (--set) and input sizes (--input), one row each.

    Each row: the values, the input, params, MACs, memory at the batch size and dtype, and the
    spec's budget verdict; a refused variant says why. Exit 0; 1 with --require-budget when no
    variant fits; 2 for bad options, or when no variant plans.
    """
    from cnncalc.sweep import Settings, SweepError, values_of, variants
    from cnncalc.sweep import sweep as run_sweep

    try:
        chosen_values = _sweep_values(settings, values_of)
        sizes = _sweep_sizes(input_sizes)
        chosen = variants(chosen_values, sizes)
    except SweepError as exc:
        raise click.BadParameter(_shown(exc)) from None
    keys = _sweep_order(sort_key, pareto_keys, list(chosen_values))
    text, shown = _spec_text(spec)
    base = _sweep_base(text, shown, convention, chosen_values, sizes, require_budget)
    run = Settings(batch_size, dtype, optimizer, training, convention)
    outcomes = _with_progress(len(chosen), lambda progress: run_sweep(text, shown, chosen, run, processes, progress))
    _print_sweep(outcomes, list(chosen_values), base.name, fmt, keys, run.resolved(base.budget))
    if all(o.error is not None for o in outcomes):
        sys.exit(EXIT_ERROR)
    if require_budget and not any(o.fits for o in outcomes):
        from cnncalc.errors import EXIT_FAIL

        sys.exit(EXIT_FAIL)


def _sweep_values(settings, values_of) -> dict[str, list[str]]:
    from cnncalc import expressions
    from cnncalc.sweep import SweepError

    found: dict[str, list[str]] = {}
    for item in settings:
        name, equals, values = item.partition("=")
        name = name.strip()
        if not equals or not expressions.is_name(name):
            raise SweepError(f"--set: expected NAME=V1,V2 or NAME=LO:HI:STEP, got {item!r}")
        if name in found:
            raise SweepError(f"--set {name} is given twice")
        found[name] = values_of(name, values)
    return found


def _sweep_order(sort_key, pareto_keys, names):
    """(--sort's key, --pareto's keys), checked before anything is planned."""
    if sort_key is not None and sort_key not in ("params", "macs", "memory", "input", *names):
        raise click.BadParameter(
            f"--sort: expected params, macs, memory, input or a --set name, got {_shown(sort_key)}"
        )
    keys = None
    if pareto_keys is not None:
        keys = [key.strip() for key in pareto_keys.split(",")]
        if not all(key in ("params", "macs", "memory") for key in keys) or len(set(keys)) != len(keys):
            raise click.BadParameter(
                f"--pareto: expected distinct keys among params, macs, memory, got {_shown(pareto_keys)}"
            )
    return sort_key, keys


def _sweep_base(text: str, shown: str, convention, chosen_values: dict, sizes, require_budget: bool):
    """The spec as written, read once before the sweep: its own errors, --set names it does not
    have, --input on an input without spatial axes and --require-budget without a budget are
    told now, located, exit 2, not once per variant."""
    from cnncalc.errors import SpecError
    from cnncalc.sizes import spatial_positions
    from cnncalc.spec import parse

    try:
        base = parse(text, shown, convention=convention)
    except SpecError as exc:
        _report(exc, "text")
        sys.exit(EXIT_ERROR)
    unknown = [name for name in chosen_values if name not in base.constants]
    if unknown:
        having = ", ".join(base.constants) or "none (no top-level `let:`)"
        click.echo(
            f"error: --set {_shown(unknown[0])}: the spec has no such constant; its constants: {_shown(having)}",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    if sizes and not spatial_positions(base.input_shape, base.convention):
        click.echo(f"error: --input: the input {list(base.input_shape)} has no spatial axes to vary", err=True)
        sys.exit(EXIT_ERROR)
    if require_budget and base.budget is None:
        click.echo("error: --require-budget: the spec has no `budget:` to check", err=True)
        sys.exit(EXIT_ERROR)
    return base


def _sweep_sizes(text: str | None):
    from cnncalc.sweep import sizes_of

    return sizes_of(text) if text else None


def _spec_text(path: str) -> tuple[str, str]:
    """The spec's text, read once, and how to name it; exit 2 if it cannot be read."""
    from cnncalc.errors import SpecError
    from cnncalc.spec import sources

    try:
        return sources.read_spec(path)
    except SpecError as exc:
        _report(exc, "text")
        sys.exit(EXIT_ERROR)


def _with_progress(total: int, work):
    """`work(progress)`, with a progress bar on standard error when it is a terminal and the sweep long."""
    if total < 50 or not sys.stderr.isatty():
        return work(None)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("planning", total=total)
        return work(lambda done: bar.update(task, completed=done))


def _print_sweep(outcomes, names, name, fmt, keys, resolved) -> None:
    from cnncalc.render import sweep as render
    from cnncalc.sweep import pareto

    sort_key, pareto_keys = keys
    outcomes = _sorted_outcomes(outcomes, names, sort_key)
    front = {id(o) for o in pareto(outcomes, pareto_keys)} if pareto_keys else None
    batch_size, dtype, optimizer, training = resolved
    memory = f"Training ({optimizer})" if training else "Inference"
    if fmt == "json":
        settings = {"batch_size": batch_size, "dtype": dtype, "optimizer": optimizer, "training": training}
        click.echo(render.as_json(name, outcomes, settings, front))
    elif fmt == "csv":
        click.echo(render.as_csv(names, outcomes, front), nl=False)
    else:
        click.echo(render.text(outcomes, names, memory, front))


def _sorted_outcomes(outcomes, names, key):
    if key is None:
        return outcomes
    if key in ("params", "macs", "memory"):
        return sorted(outcomes, key=lambda o: (o.error is not None, getattr(o, key) or 0))
    if key == "input":
        return sorted(outcomes, key=lambda o: o.input or ())
    position = names.index(key)
    return sorted(outcomes, key=lambda o: _numeric(o.values[position][1]))


def _numeric(text: str):
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def _span(ctx, param, value):
    """LO:HI[:STEP], the sizes --range or an axis option tries."""
    if value is None:
        return None
    from cnncalc.sizes import parse_span

    try:
        return parse_span(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}, got {_shown(value)}") from None


def _axis_option(axis: str):
    return click.option(
        f"--{axis}", callback=_span, metavar="LO:HI[:STEP]", help=f"{axis}s to try; the other axes keep theirs"
    )


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option(
    "--range",
    "square",
    callback=_span,
    metavar="LO:HI[:STEP]",
    help="square sizes to try, every spatial axis the same, LO to HI inclusive: e.g. 32:512 or 32:512:32",
)
@_axis_option("height")
@_axis_option("width")
@_axis_option("depth")
@_axis_option("length")
@click.option("--input", "input_name", metavar="NAME", help="the input to vary [default: the spec's first]")
@click.option("--strict", is_flag=True, help="count layers whose stride or dilation skips pixels against a size")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_spec_options
def sizes(spec, square, height, width, depth, length, input_name, strict, fmt, constants, convention) -> None:
    """Which input sizes SPEC accepts, and which of them lose no pixels.

    Plans SPEC at every size asked for, in one process, from the spec read once. A size is
    valid when every layer accepts it; exact when, besides, no layer leaves the last rows or
    columns of its input unread (a pooling dropping the last row of an odd size). A stride
    longer than the kernel (ResNet's 1x1 stride-2 shortcuts) skips pixels at every size: listed,
    and counted against a size only with --strict. With several inputs, the first is varied
    (or --input NAME). Exit status 0, or 2 for an invalid spec or request.
    """
    from cnncalc.errors import SpecError
    from cnncalc.sizes import SizesError, explore
    from cnncalc.spec import load_file

    axes = {"height": height, "width": width, "depth": depth, "length": length}
    spans = {axis: span for axis, span in axes.items() if span is not None}
    if square is not None and spans:
        raise click.UsageError("give --range (square sizes) or sizes per axis (--height, --width, ...), not both")
    if square is None and not spans:
        raise click.UsageError("give the sizes to try: --range LO:HI, or --height, --width, --depth, --length LO:HI")
    try:
        found = explore(load_file(spec, constants, convention), square or spans, input_name=input_name, strict=strict)
    except SpecError as exc:
        _report(exc, fmt)
        sys.exit(EXIT_ERROR)
    except SizesError as exc:
        if exc.option is None:
            raise click.UsageError(_shown(exc.message)) from None
        raise click.BadParameter(_shown(exc.message), param_hint=f"'{exc.option}'") from None
    from cnncalc.render import sizes as render

    shown = "<stdin>" if spec == "-" else spec
    click.echo(render.as_json(found, shown) if fmt == "json" else render.text(found, shown))


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option("--format", "fmt", type=click.Choice(["svg", "mermaid", "dot"]), default="mermaid", show_default=True)
@click.option(
    "--by",
    type=click.Choice(["params", "macs", "memory"]),
    default="params",
    show_default=True,
    help="what shades an SVG's boxes: parameters, MACs, or activation memory (output bytes)",
)
@click.option(
    "--depth", type=click.IntRange(min=1), metavar="N", help="fold block calls nested deeper than N into one box"
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write here, not to stdout")
@_spec_options
def draw(spec: str, fmt: str, by: str, depth: int | None, output: str | None, constants: dict, convention) -> None:
    """Draw SPEC's graph: Mermaid (for a pull request's markdown), an SVG, or Graphviz DOT.

    One box per layer, or per block call nested deeper than --depth, with its output shape,
    parameters and MACs; an SVG's boxes shaded by their share of the parameters (or, with --by,
    the MACs or the activation memory).
    """
    from cnncalc.draw import drawing

    picture = drawing(_load_plan(spec, constants, convention), depth)
    if fmt == "svg":
        from cnncalc.render.svg import svg

        text = svg(picture, by)
    else:
        from cnncalc.render import graph

        text = graph.mermaid(picture) if fmt == "mermaid" else graph.dot(picture)
    _write_output(text, output)


@cli.command()
@click.argument("spec", metavar="SPEC")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="the HTML file to write (- for stdout)",
)
@click.option("--batch-size", type=_BATCH_SIZE, help="for memory and the memory budget [default: 1, or the budget's]")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), help="[default: float32, or the budget's]")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZER_STATES)), help="[default: adam, or the budget's]")
@_spec_options
def report(spec: str, output: str, batch_size, dtype, optimizer, constants: dict, convention) -> None:
    """Write SPEC's plan as one self-contained HTML page that works offline: the totals, memory
    and budget verdicts; a diagram that folds, unfolds, zooms and pans; charts of parameters,
    MACs, memory and receptive fields along the depth; and a table of the layers that sorts and
    filters.
    """
    from cnncalc.checking import MemorySettings
    from cnncalc.checking import check as check_budgets
    from cnncalc.engine import plan as make_plan
    from cnncalc.errors import SpecError
    from cnncalc.memory import estimate
    from cnncalc.render.report import html
    from cnncalc.report import report_document
    from cnncalc.spec import load_file

    try:
        loaded = load_file(spec, constants, convention)
        planned = make_plan(loaded)
    except SpecError as exc:
        _report(exc, "text")
        sys.exit(EXIT_ERROR)
    budget = loaded.budget
    memory = estimate(
        planned,
        batch_size=batch_size or (budget and budget.batch_size) or 1,
        dtype=dtype or (budget and budget.dtype) or "float32",
        optimizer=optimizer or (budget and budget.optimizer) or "adam",
    )
    checks = check_budgets(planned, loaded, {}, MemorySettings(batch_size, dtype, optimizer))
    _write_output(html(report_document(planned, memory, checks)), output)


@cli.command()
@click.argument("type_name", required=False, metavar="[TYPE]")
@click.option(
    "--convention",
    type=click.Choice(["pytorch", "keras"]),
    default="pytorch",
    show_default=True,
    help="whose layer types: torch.nn's, or Keras's (for specs written `convention: keras`)",
)
def layers(type_name: str | None, convention: str) -> None:
    """List the layer types, or describe one TYPE: its fields, defaults and examples."""
    from cnncalc.layers.conventions import CONVENTIONS

    types = CONVENTIONS[convention]
    if type_name is None:
        listed = dict.fromkeys(types.types.values())  # each type once, in the registry's order
        for layer in listed:
            summary = (type(layer).__doc__ or "").strip().splitlines()[0]
            click.echo(f"{type(layer).type_name:<24} {summary}")
        return
    layer = types.lookup(type_name)
    if layer is None:
        from cnncalc.layers.unsupported import unknown_type_message

        message = unknown_type_message(type_name, types.type_names(), types.channels_last)
        click.echo(f"error: {_shown(message)}", err=True)
        sys.exit(EXIT_ERROR)
    _describe_type(layer)


def _describe_type(layer) -> None:
    import inspect

    from cnncalc.layers.base import yaml_text

    cls = type(layer)
    click.echo(cls.type_name + (f"  (also: {', '.join(cls.aliases)})" if cls.aliases else ""))
    click.echo()
    click.echo(inspect.cleandoc(cls.__doc__ or ""))
    click.echo()
    click.echo("Fields:" if cls.fields else "Fields: none")
    for f in cls.fields:
        default = "required" if f.required else f"default {yaml_text(f.default)}"
        aliases = f"; also {', '.join(f.aliases)}" if f.aliases else ""
        main = "; the main argument" if f.name == cls.main_field else ""
        doc = f" - {f.doc}" if f.doc else ""
        click.echo(f"  {f.name}: {f.kind.expected}, {default}{main}{aliases}{doc}")
    extra = ", outputs: [a, b] (names for its pieces)" if layer.splits else ""
    click.echo(f"Every layer also takes: name, inputs, trainable (true/false), when (a condition){extra}.")


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="write here, not to stdout")
def schema(output: str | None) -> None:
    """Print the JSON Schema (draft-07) of a spec, for editors: autocomplete, hover docs and
    validation of every layer type and field, in both conventions.

    Point the YAML editor at it: `# yaml-language-server: $schema=cnncalc.schema.json` atop a
    spec, or VS Code's `yaml.schemas` setting (README).
    """
    from cnncalc.schema import schema_text

    text = schema_text()
    _write_output(text, output)


EXIT_INTERNAL = 3  # a bug in cnncalc, never to be mistaken for "over budget" (1) or "invalid" (2)
EXIT_BROKEN_PIPE = 141  # what a shell reports for a program stopped by SIGPIPE


def main() -> None:
    from cnncalc.gcpause import paused

    try:
        # A run makes objects that live to its end and few cycles: with the cycle collector on,
        # each collection walks all of them (ResNet-50 to JSON: 4 ms of 45 ms over the imports of
        # click and yaml; 100,000 layers: 0.4 s). It is back on when the command returns.
        with paused():
            cli(prog_name="cnncalc")
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit as exc:
        # `cnncalc plan big.yaml | head`: click quiets the broken pipe and exits 1, which here
        # means "over budget"; report it as a shell reports SIGPIPE instead
        if exc.code == 1 and "PacifyFlushWrapper" in type(sys.stdout).__name__:
            sys.exit(EXIT_BROKEN_PIPE)
        raise
    except OSError as exc:  # the output could not be written (a full disk, a closed terminal)
        if os.environ.get("CNNCALC_DEBUG"):
            raise
        click.echo(f"error: cannot write the output: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # a bug: say so plainly, keep the traceback for a report
        if os.environ.get("CNNCALC_DEBUG"):
            raise
        click.echo(
            f"cnncalc {__version__}: internal error: {type(exc).__name__}: {_shown(exc)}\n"
            "This is a bug in cnncalc; run with CNNCALC_DEBUG=1 for the traceback and report it.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
