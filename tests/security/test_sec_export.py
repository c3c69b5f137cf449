"""Untrusted specs never run code through `export` and `verify` (issue 10, part 1 and 5).

The export writes Python only from checked expression trees, rebuilt by cnncalc; names a spec
gives become Python names only when they are safe identifiers. Three layers of evidence:
- reproducers from the issue, each a located error (exit 2) or a correct, verified result;
- a static audit of every exported module: only the names, attributes, calls and imports that
  cnncalc's own code generator uses, no dunder attribute anywhere;
- hypothesis writes hostile expressions and names into every place a spec holds one (`let:`,
  defaults, layer fields, `when:`, call arguments), in taken and untaken branches; whatever
  plans is exported, audited, then imported and constructed under an audit hook that fails the
  test on any process, file, import or exec event, and a sentinel file must never appear.
"""

from __future__ import annotations

import ast
import builtins
import re
import sys

import pytest
from clirun import runner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_reference import require_torch

from cnncalc.cli import cli
from cnncalc.engine import plan
from cnncalc.errors import SpecError
from cnncalc.export import export
from cnncalc.layers import LAYER_TYPES
from cnncalc.spec import parse

SENTINEL = "cnncalc_pwned_sentinel"

# ---- the static audit ------------------------------------------------------------------------

HELPER_SOURCES = {cls.torch_helper.strip() for cls in LAYER_TYPES if cls.torch_helper}
HELPER_CLASSES = {re.search(r"^(?:class|def) (\w+)", text, re.M).group(1) for text in HELPER_SOURCES}
FORBIDDEN_NAMES = {
    "eval",
    "exec",
    "compile",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "breakpoint",
    "input",
    "memoryview",
    "type",
    "object",
}
CALLABLE_NAMES = {"super", "make_divisible", "min", "max", "int", "abs", "float", "OrderedDict", "print", "model"}
IMPORTS = {("__future__", "annotations"), ("collections", "OrderedDict"), ("torch", "nn")}
NODES = (
    ast.Module,
    ast.Expr,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Return,
    ast.If,
    ast.Pass,
    ast.ClassDef,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.keyword,
    ast.alias,
    ast.Import,
    ast.ImportFrom,
    ast.Name,
    ast.Constant,
    ast.Attribute,
    ast.Call,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.Subscript,
    ast.Slice,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Starred,
    ast.Load,
    ast.Store,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.expr_context,
)


def audit(code: str) -> None:
    """Fail unless `code` is made only of what cnncalc's generator writes (helper classes and
    functions, fixed text from the layer registry, are checked to be exactly that text and then skipped)."""
    tree = ast.parse(code)
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert functions <= {"make_divisible"} | HELPER_CLASSES, functions
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in HELPER_CLASSES:
            assert ast.get_source_segment(code, node).strip() in HELPER_SOURCES, node.name
            continue
        if isinstance(node, ast.Import):
            assert [a.name for a in node.names] == ["torch"]
        for sub in ast.walk(node):
            _audit_node(sub, classes)


def _audit_node(node: ast.AST, classes: set[str]) -> None:
    assert isinstance(node, NODES), f"unexpected {type(node).__name__}: {ast.dump(node)[:200]}"
    if isinstance(node, ast.ImportFrom):
        assert all((node.module, alias.name) in IMPORTS for alias in node.names), ast.dump(node)
    if isinstance(node, ast.Attribute):
        is_super_init = (
            node.attr == "__init__" and isinstance(node.value, ast.Call) and _named(node.value.func, "super")
        )
        assert is_super_init or not node.attr.startswith("_"), node.attr
    if isinstance(node, ast.Name):
        assert node.id == "__name__" or not node.id.startswith("__"), node.id  # if __name__ == "__main__"
        assert node.id not in FORBIDDEN_NAMES, node.id
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            assert func.id in CALLABLE_NAMES | classes | HELPER_CLASSES, f"call of {func.id}"
        else:
            assert isinstance(func, ast.Attribute), ast.dump(func)[:200]
            root = func
            while isinstance(root, (ast.Attribute, ast.Call)):
                root = root.value if isinstance(root, ast.Attribute) else root.func
            assert isinstance(root, ast.Name), ast.dump(func)[:200]


def _named(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


# ---- running what was exported, watched ------------------------------------------------------

_WATCH = {"on": False, "events": []}
_FORBIDDEN = (
    "os.system",
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "socket.",
    "open",
    "import",
    "exec",
    "compile",
    "ctypes.",
    "os.remove",
    "os.rename",
    "shutil.",
)


def _hook(event: str, args) -> None:
    if _WATCH["on"] and event.startswith(_FORBIDDEN):
        _WATCH["events"].append((event, repr(args)[:200]))


def build_watched(code: str, tmp_path) -> None:
    """Import the exported module and construct its model on the meta device, recording any
    process, file, import, exec or compile event meanwhile (the module's own compile aside)."""
    torch = require_torch()
    if _hook not in getattr(build_watched, "hooked", ()):
        sys.addaudithook(_hook)
        build_watched.hooked = (_hook,)
    with torch.device("meta"):  # its first use imports a module: not the export's doing
        torch.zeros(1)
    compiled = compile(code, "<exported>", "exec")
    namespace: dict = {"__name__": "exported"}
    _WATCH["events"].clear()
    _WATCH["on"] = True
    try:
        exec(compiled, namespace)  # noqa: S102 - the point of the test
        model_class = [v for k, v in namespace.items() if isinstance(v, type) and k == _model_name(code)][0]
        with torch.device("meta"):
            model_class()
    finally:
        _WATCH["on"] = False
    events = [e for e in _WATCH["events"] if not (e[0] == "exec" and "<exported>" in e[1])]
    assert events == [], events
    assert not (tmp_path / SENTINEL).exists()


def _model_name(code: str) -> str:
    return re.search(r"model = (\w+)\(\)", code).group(1)


# ---- reproducers ---------------------------------------------------------------------------

EVIL = f"__import__('os').system('touch {SENTINEL}')"

REPRODUCERS = {
    # null for an argument whose default is an expression: the export ran `d = <default> if d is None`
    "null-for-expression-default": (
        f"""
blocks:
  b:
    args: [c, d: "c if 1 else {EVIL}"]
    layers: [{{conv2d: {{out_channels: c, kernel_size: 1}}}}]
layers:
  - b: {{c: 4, d: null}}
""",
        (5, 18),
    ),
    "null-for-valid-expression-default": (
        """
blocks:
  b:
    args: [c, d: "c * 2"]
    layers: [{conv2d: {out_channels: d, kernel_size: 1}}]
layers:
  - b: {c: 4, d: null}
""",
        (8, 18),
    ),
    # a value equal but not identical to the default: the class took the other branch
    "equal-not-identical": (
        f"""
blocks:
  b:
    args: [c, big: 9007199254740992, d: "4 if big + 1 == big else {EVIL}"]
    layers: [{{conv2d: {{out_channels: d, kernel_size: 1}}}}]
layers:
  - b: {{c: 4, big: 9007199254740992.0}}
""",
        (5, 41),
    ),
    "let-untaken-branch": (
        f"""
blocks:
  b:
    args: [c]
    let: {{w: "c if True else {EVIL}"}}
    layers: [{{conv2d: {{out_channels: w, kernel_size: 1}}}}]
layers:
  - b: {{c: 4}}
""",
        (6, 14),
    ),
    "when-untaken-branch": (
        f"""
blocks:
  b:
    args: [c]
    layers: [{{conv2d: {{out_channels: c, kernel_size: 1}}, when: "c > 1 or {EVIL}"}}]
layers:
  - b: {{c: 4}}
""",
        (6, 64),
    ),
    "field-untaken-branch": (
        """
blocks:
  b:
    args: [c]
    layers: [{conv2d: {out_channels: "c if c else ().__class__.__bases__[0].__subclasses__()", kernel_size: 1}}]
layers:
  - b: {c: 4}
""",
        (6, 38),
    ),
    "call-argument-untaken-branch": (
        f"""
blocks:
  b:
    args: [c]
    layers: [{{conv2d: {{out_channels: c, kernel_size: 1}}}}]
layers:
  - {{type: b, repeat: 2, c: "4 if i >= 0 else {EVIL}"}}
""",
        (8, 29),
    ),
    "keyword-let-name": (
        "\nblocks:\n  b:\n    args: [c]\n    let: {import: 4}\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n",
        (6, 11),
    ),
    "builtin-let-name": (
        "\nblocks:\n  b:\n    args: [c]\n    let: {max: 4}\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n",
        (6, 11),
    ),
    "export-name-let": (
        "\nblocks:\n  b:\n    args: [c]\n    let: {nn: 4}\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n",
        (6, 11),
    ),
    "self-argument": ("\nblocks:\n  b:\n    args: [self]\n    layers: [relu]\nlayers: [{b: {self: 1}}]\n", (5, 12)),
    "dunder-argument": (
        "\nblocks:\n  b:\n    args: [__class__]\n    layers: [relu]\nlayers: [{b: {__class__: 1}}]\n",
        (5, 12),
    ),
    "trailing-newline-argument": ('\nblocks:\n  b:\n    args: ["c\\n"]\n    layers: [relu]\nlayers: [b]\n', (5, 12)),
    "trailing-newline-layer-name": ('\nlayers:\n  - {type: relu, name: "r\\n"}\n', (4, 24)),
    "deep-if-chain": (
        '\nblocks:\n  b:\n    args: [c]\n    let: {w: "'
        + "1 if 1 else " * 500
        + '1"}\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n',
        (6, 14),
    ),
    "deep-unary": (
        '\nblocks:\n  b:\n    args: [c]\n    let: {w: "'
        + "-" * 200
        + '1"}\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n',
        (6, 14),
    ),
    "function-result-digits": (
        '\nblocks:\n  b:\n    args: [c, w: "make_divisible(c * 1e29, 1) * 1000"]\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n',
        (5, 18),
    ),
    "float-overflow-to-inf": (
        '\nblocks:\n  b:\n    args: [c, w: "1e29 * 1e29"]\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n',
        (5, 18),
    ),
    "unused-evil-default": (
        f'\nblocks:\n  b:\n    args: [c, w: "{EVIL}"]\n    layers: [relu]\nlayers: [{{b: {{c: 1, w: 2}}}}]\n',
        (5, 18),
    ),
    "power-operator": (
        '\nblocks:\n  b:\n    args: [c, w: "9 ** 9 ** 9"]\n    layers: [relu]\nlayers: [{b: {c: 1}}]\n',
        (5, 18),
    ),
}


@pytest.mark.parametrize("name", sorted(REPRODUCERS))
@pytest.mark.parametrize("command", ["plan", "export", "verify"])
def test_reproducer_is_a_located_error(name, command, tmp_path, monkeypatch):
    text, (line, column) = REPRODUCERS[name]
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "m.yaml"
    spec.write_text("name: m\ninput: [3, 8, 8]" + text, encoding="utf-8")
    result = runner().invoke(cli, [command, str(spec)])
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    assert f"{spec}:{line}:{column}: error:" in result.stderr, result.stderr
    assert "internal error" not in result.stderr
    assert len(result.stderr) < 4000  # a bounded message, not the spec echoed back
    assert not (tmp_path / SENTINEL).exists()


VALID = {
    # a model named like the export's imports and helpers gets another class name
    "model-named-OrderedDict": "name: OrderedDict\ninput: [3, 8, 8]\nlayers: [{conv2d: {out_channels: 4, kernel_size: 1}}]\n",
    "model-named-LayerScale": "name: LayerScale\ninput: [3, 8, 8]\nlayers: [{layer_scale: {init: 0.5}}]\n",
    "model-named-like-a-helper": "name: layer_scale_parameter\ninput: [3, 8, 8]\nlayers: [{layer_scale: {}}]\n",
    "model-named-torch": "name: torch\ninput: [3, 8, 8]\nlayers: [relu]\n",
    "integer-layer-scale-init": "name: m\ninput: [3, 8, 8]\nlayers: [{layer_scale: {init: 20}}]\n",
    "text-with-control-characters": (
        'name: m\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: [c, note: "a\\nb\\r\\u0000\\"\\\\ \\u202e"]\n'
        "    layers: [{conv2d: {out_channels: c, kernel_size: 1}}]\nlayers: [{b: {c: 4}}, {b: {c: 4, note: x}}]\n"
    ),
    "let-named-like-a-block-class": (
        "name: m\ninput: [3, 8, 8]\nblocks:\n  inner:\n    args: [c]\n    layers: [{conv2d: {out_channels: c, kernel_size: 1}}]\n"
        "  outer:\n    args: [c]\n    let: {Inner: 2}\n    layers: [{inner: {c: c * Inner}}]\nlayers: [{outer: {c: 4}}]\n"
    ),
    "mapping-and-nested-list-values": (
        "name: m\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: [c, d: {a: 1}]\n    let: {e: [1, [2, {b: 3}]]}\n"
        "    layers: [{conv2d: {out_channels: c, kernel_size: 1}}]\nlayers: [{b: {c: 4}}, {b: {c: 4, d: [1]}}]\n"
    ),
    "default-naming-another-argument": (
        "name: m\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: [c, d: c]\n    layers: [{conv2d: {out_channels: d, kernel_size: 1}}]\n"
        "layers: [{b: {c: 4}}, {b: {c: 6, d: 5}}]\n"
    ),
    "float-argument-equal-to-int-default": (
        "name: m\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: [c, big: 9007199254740992, d: '4 if big + 1 == big else 8']\n"
        "    layers: [{conv2d: {out_channels: d, kernel_size: 1}}]\nlayers: [{b: {c: 4, big: 9007199254740992.0}}, {b: {c: 4}}]\n"
    ),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(VALID))
def test_hostile_but_valid_specs_export_and_verify(name, tmp_path, monkeypatch):
    require_torch()
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "m.yaml"
    spec.write_text(VALID[name], encoding="utf-8")
    result = runner().invoke(cli, ["verify", "--values", str(spec)])
    assert result.exit_code == 0, (result.output, result.stderr)
    code = export(plan(parse(VALID[name], str(spec)))).code
    audit(code)
    build_watched(code, tmp_path)


def test_the_audit_catches_what_it_is_for():
    """The audit is only evidence if it refuses code that does harm."""
    good = export(plan(parse(VALID["model-named-torch"]))).code
    audit(good)
    for evil in [
        "__import__('os').system('x')",
        "().__class__.__bases__[0].__subclasses__()",
        "open('x', 'w')",
        "eval('1')",
        "getattr(nn, 'Conv2d')",
    ]:
        bad = good.replace("super().__init__()", f"super().__init__()\n        _ = {evil}", 1)
        assert bad != good
        with pytest.raises(AssertionError):
            audit(bad)


# ---- hypothesis: hostile expressions and names everywhere ----------------------------------

HOSTILE = [
    EVIL,
    f"open('{SENTINEL}', 'w')",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'x', 'eval')",
    "getattr(c, 'real')",
    "globals()",
    "breakpoint()",
    "().__class__.__bases__[0].__subclasses__()",
    "c.__class__",
    "c.real",
    "(lambda: 1)()",
    "[c for c in (1,)][0]",
    "{1: 2}[1]",
    "(c, 1)[0]",
    "f'{c}'",
    "(y := 3)",
    "9 ** 9 ** 9",
    "'a' * 10 ** 9",
    "max(*[1, 2])",
    "max(1, 2, key=abs)",
    "make_divisible(c, **{'divisor': 2})",
    "int('7' * 50)",
    "make_divisible(1e29 * c, 1)",
    "1e308 * 10",
    "__builtins__",
    "__name__",
    "b'x'",
    "... if c else 1",
    "not_defined_anywhere",
    "1 if 1 else " * 40 + "1",
    "(" * 30 + "c" + ")" * 30,
    "-" * 40 + "c",
    "c @ c",
    "c ** 2",
    "c << 2",
    "c in (1, 2)",
    "c is 1",
]
SAFE = [
    "c",
    "2 * c",
    "c // 2 + 1",
    "max(c, 2)",
    "make_divisible(c * 1.5, 2)",
    "c if c > 2 else 3",
    "c > 3",
    "not c < 2",
    "abs(-c) + int(2.5)",
    "make_divisible(value=c, divisor=2, min_value=None)",
    "i + c",
]
NAMES = [
    "w",
    "import",
    "class",
    "max",
    "nn",
    "torch",
    "self",
    "super",
    "x",
    "out",
    "OrderedDict",
    "__class__",
    "make_divisible",
    "print",
    "input",
    "i",
    "w\n",
    "é",
    "Inner",
    "LayerScale",
    "layer_scale_parameter",
    "learned_tensor",
    "self_attention",
    "layers",
    "in_channels",
]


@st.composite
def hostile_expression(draw) -> str:
    evil = draw(st.sampled_from(HOSTILE + SAFE))  # safe ones too, so that specs reach the export
    good = draw(st.sampled_from(SAFE))
    form = draw(
        st.sampled_from(
            [
                "{e}",
                "{g} if True else {e}",
                "{e} if False else {g}",
                "{g} or {e}",
                "c > 0 and {g} or {e}",
                "min({g}, {e})",
                "{g} + 0 * ({e})",
            ]
        )
    )
    return form.format(e=evil, g=good)


def _yaml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@st.composite
def hostile_spec(draw) -> str:
    expression = _yaml(draw(hostile_expression()))
    name = _yaml(draw(st.sampled_from(NAMES)))
    place = draw(st.sampled_from(["let", "default", "field", "when", "call", "name-let", "name-arg"]))
    args, let, out, when, call = "[c, d: 2]", "{}", "c", "", "{c: 4}"
    if place == "let":
        let, out = f"{{w: {expression}}}", "w"
    elif place == "default":
        args, call = f"[c, d: {expression}]", draw(st.sampled_from(["{c: 4}", "{c: 4, d: 3}", "{c: 4, d: null}"]))
    elif place == "field":
        out = expression
    elif place == "when":
        when = f", when: {expression}"
    elif place == "call":
        call = f"{{c: {expression}}}"
    elif place == "name-let":
        let, out = f"{{{name}: 3}}", name
    else:
        args, out, call = f"[{name}]", name, f"{{{name}: 4}}"
    return (
        f"name: m\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {args}\n    let: {let}\n"
        f"    layers:\n      - {{conv2d: {{out_channels: {out}, kernel_size: 1}}{when}}}\n      - relu\n"
        f"layers:\n  - {{type: b, repeat: 2, {call[1:-1]}}}\n"
    )


@pytest.mark.torch
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_spec())
def test_hostile_expressions_never_run(text, tmp_path):
    try:
        planned = plan(parse(text, "hostile.yaml"))
    except SpecError as exc:
        assert exc.diagnostics and all(d.loc is not None and d.loc.line >= 1 for d in exc.diagnostics)
        return
    code = export(planned).code
    audit(code)
    build_watched(code, tmp_path)


def test_builtins_list_is_what_the_name_rule_uses():
    """Every builtin is refused as an argument name (the rule asks Python, not a fixed list)."""
    from cnncalc.spec import unusable_name

    assert all(unusable_name(name) for name in dir(builtins) if name.isidentifier())
    assert unusable_name("planes") is None and unusable_name("mid_channels") is None


@pytest.mark.torch
def test_the_watch_catches_what_it_is_for(tmp_path, monkeypatch):
    """build_watched is only evidence if it notices a module that runs something."""
    monkeypatch.chdir(tmp_path)
    good = export(plan(parse(VALID["model-named-torch"]))).code
    build_watched(good, tmp_path)
    for evil in [f"__import__('os').system('touch {SENTINEL}')", f"open('{SENTINEL}', 'w').close()", "eval('1')"]:
        bad = good.replace("super().__init__()", f"super().__init__()\n        {evil}", 1)
        with pytest.raises(AssertionError):
            build_watched(bad, tmp_path)
        (tmp_path / SENTINEL).unlink(missing_ok=True)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("{prelu: {init: 999999999999999999999999999999}}", "int too big to convert"),
        ("{adaptive_avgpool2d: {output_size: 1000000000000}}", "Storage size calculation overflowed"),
    ],
)
def test_a_model_pytorch_refuses_is_a_clear_error(layer, message, tmp_path):
    """Valid for the plan, beyond what PyTorch builds or runs: exit 2 with PyTorch's first line."""
    require_torch()
    spec = tmp_path / "m.yaml"
    spec.write_text(f"input: [3, 8, 8]\nlayers:\n  - {layer}\n")
    result = runner().invoke(cli, ["verify", str(spec)])
    assert result.exit_code == 2, (result.output, result.stderr)
    assert f"error: PyTorch cannot build or run the model {spec} describes: " in result.stderr
    assert message in result.stderr and "frame #" not in result.stderr and len(result.stderr) < 800


@pytest.mark.torch
def test_an_input_larger_than_pytorch_sizes_is_a_clear_error(tmp_path):
    require_torch()
    spec = tmp_path / "m.yaml"
    spec.write_text("input: [3, 100000000000000000000, 100000000000000000000]\nlayers: [relu]\n")
    result = runner().invoke(cli, ["verify", str(spec)])
    assert result.exit_code == 2, (result.output, result.stderr)
    assert "error: PyTorch cannot build or run the model" in result.stderr and "frame #" not in result.stderr
