"""The JSON Schema for specs (cnncalc/schema.py, `cnncalc schema`): a valid draft-07 schema that
accepts every spec cnncalc accepts (the zoo, its block files, the documentation's examples, each
layer type's docstring examples, random specs), rejects misspelt keys, and lists every layer type,
field and alias of both registries."""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")

from clirun import runner  # noqa: E402

from cnncalc.cli import cli  # noqa: E402
from cnncalc.errors import SpecError  # noqa: E402
from cnncalc.layers.conventions import CONVENTIONS  # noqa: E402
from cnncalc.schema import build_schema, schema_text, spelling_pattern  # noqa: E402
from cnncalc.spec import parse  # noqa: E402
from cnncalc.spec.model import TOP_LEVEL_KEYS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = build_schema()
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
DEFINITIONS = SCHEMA["definitions"]
BUNDLED = sorted((ROOT / "architectures").glob("*.yaml")) + sorted((ROOT / "architectures" / "blocks").glob("*.yaml"))


def errors(document) -> list[str]:
    """Why the schema refuses `document` (nothing if it accepts it): every innermost reason, with
    where it is, as 'layers/0/out_chanels: ...'."""
    found: list[str] = []

    def leaves(error) -> None:
        if not error.context:
            found.append(f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}")
        for inner in error.context:
            leaves(inner)

    for error in VALIDATOR.iter_errors(document):
        leaves(error)
    return found


def layer_types(convention) -> list:
    return list(dict.fromkeys(convention.types.values()))


# ---- the schema itself ------------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_07_schema():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_cnncalc_schema_prints_it_as_sorted_json_the_same_every_time():
    first = runner().invoke(cli, ["schema"])
    second = runner().invoke(cli, ["schema"])
    assert first.exit_code == 0, first.output
    assert first.output == second.output == schema_text()
    assert first.output.isascii()  # safe to redirect into a file in any encoding
    printed = json.loads(first.output)
    jsonschema.Draft7Validator.check_schema(printed)
    assert printed == SCHEMA
    assert first.output == json.dumps(printed, indent=2, sort_keys=True) + "\n"


def test_cnncalc_schema_writes_a_file(tmp_path):
    target = tmp_path / "cnncalc.schema.json"
    result = runner().invoke(cli, ["schema", "-o", str(target)])
    assert result.exit_code == 0 and result.output == ""
    assert json.loads(target.read_text(encoding="utf-8")) == SCHEMA
    result = runner().invoke(cli, ["schema", "-o", str(tmp_path / "missing" / "schema.json")])
    assert result.exit_code == 2 and "cannot write" in result.stderr


# ---- it accepts every valid spec ------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=[str(p.relative_to(ROOT)) for p in BUNDLED])
def test_every_bundled_spec_and_block_file_validates(path):
    assert errors(yaml.safe_load(path.read_text())) == []


def _fenced_yaml(markdown: Path) -> list[str]:
    text = markdown.read_text()
    return [textwrap.dedent(body) for _, body in re.findall(r"^( *)```yaml\n(.*?)^\1```", text, flags=re.S | re.M)]


def _accepted(text: str, tmp_path: Path) -> bool:
    """Whether cnncalc reads `text`: as a spec, or (a file of blocks alone) included by one."""
    try:
        if "layers" in (yaml.safe_load(text) or {}):
            parse(text, str(ROOT / "architectures" / "example.yaml"))
        else:
            (tmp_path / "blocks.yaml").write_text(text)
            parse("include: blocks.yaml\ninput: [3, 8, 8]\nlayers: [relu]\n", str(tmp_path / "spec.yaml"))
    except SpecError:
        return False
    return True


@pytest.mark.parametrize("document", ["docs/spec.md", "README.md"])
def test_every_example_cnncalc_accepts_in_the_docs_validates(document, tmp_path):
    examples = [text for text in _fenced_yaml(ROOT / document) if _accepted(text, tmp_path)]
    assert len(examples) >= (100 if document == "docs/spec.md" else 3)
    assert any("blocks:" in text and "layers:\n  -" not in text for text in _fenced_yaml(ROOT / "docs/spec.md"))
    for text in examples:
        assert errors(yaml.safe_load(text)) == [], text


def _docstring_examples():
    """Each type's `Example: [shape] {fields} -> ...` line (the registry's own tests prove them)."""
    for name, convention in CONVENTIONS.items():
        for layer in layer_types(convention):
            for line in inspect.getdoc(type(layer)).splitlines():
                match = re.match(r"^\s*Example: (\[[^\]]*\]) (\{.*\}) -> ", line)
                if match:
                    yield pytest.param(
                        name, type(layer).type_name, *match.groups(), id=f"{name}-{type(layer).type_name}"
                    )


@pytest.mark.parametrize("convention, type_name, shape, fields", list(_docstring_examples()))
def test_each_types_docstring_examples_validate_in_every_form(convention, type_name, shape, fields):
    fields = yaml.safe_load(fields)
    entries = [{"type": type_name, **fields}, {type_name: fields}, {type_name.upper(): fields, "name": "x"}]
    main = CONVENTIONS[convention].lookup(type_name).main_field
    if main in fields:
        entries.append({type_name: fields[main]})  # `- linear: 128`
    document = {"convention": convention, "input": yaml.safe_load(shape), "layers": entries}  # one validation
    assert errors(document) == []


def test_type_names_in_any_case_and_keras_names_without_underscores():
    keras = {"convention": "keras", "input": [8, 8, 3]}
    for entry in ({"type": "max_pooling_2d", "pool_size": 2}, {"MAX-POOLING2D": 2}, "global_average_pooling_2d"):
        assert errors({**keras, "layers": [entry]}) == [], entry
    for entry in (
        {"type": "Max-Pool2D", "kernel_size": 2},
        {"CONV-TRANSPOSE2D": {"out_channels": 3, "kernel_size": 2}},
    ):
        assert errors({"input": [3, 8, 8], "layers": [entry]}) == [], entry


def test_expressions_stand_wherever_a_value_goes():
    spec = {
        "let": {"c": 32, "k": 3, "act": "relu"},
        "input": [3, 32, 32],
        "blocks": {
            "unit": {
                "args": ["oup", {"stride": 1}],
                "layers": [{"conv2d": {"out_channels": "oup // 2", "kernel_size": ["k", 1], "stride": "stride"}}],
            }
        },
        "layers": [
            {"type": "conv2d", "out_channels": "c", "kernel_size": "k", "padding": "k // 2", "bias": "c > 16"},
            "act",
            {"type": "act", "inplace": True},
            {"type": "unit", "name": "u", "oup": 64, "repeat": 2, "first": {"stride": 2}, "repeat_name": "u{n}"},
            {"name": "head", "when": "c > 8", "sequential": [{"batchnorm2d": {"momentum": "1 - 0.9997"}}, "relu"]},
        ],
    }
    assert errors(spec) == []


@pytest.mark.slow
def test_random_specs_cnncalc_accepts_validate():
    import random_keras
    import random_specs

    texts = [random_specs.generate(seed, rank).text for seed in range(40) for rank in (1, 2, 3)]
    texts += [random_keras.generate(seed).text for seed in range(40)]
    checked = 0
    for text in texts:
        try:
            parse(text, "random.yaml")
        except SpecError:
            continue
        checked += 1
        assert errors(yaml.safe_load(text)) == [], text
    assert checked > 100


# ---- it rejects what it can see is wrong --------------------------------------------------------------


@pytest.mark.parametrize(
    "document, why",
    [
        ({"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_chanels": 8, "kernel_size": 3}]}, "out_chanels"),
        ({"input": [1, 8, 8], "layers": [{"type": "CONV2D", "out_chanels": 8, "kernel_size": 3}]}, "out_chanels"),
        ({"input": [1, 8, 8], "layers": [{"conv2d": {"out_channels": 8, "kernel_sise": 3}}]}, "kernel_sise"),
        (
            {"input": [1, 8, 8], "layers": [{"sequential": [{"type": "maxpool2d", "kernel_size": 2, "stide": 2}]}]},
            "stide",
        ),
        ({"input": [1, 8, 8], "layers": [{"type": "conv2d", "out_channels": 8}]}, "kernel_size"),
        ({"input": [8], "layers": ["linear"]}, "linear"),
        ({"input": [8], "layers": [{"type": "linear", "out_features": True}]}, "True"),
        ({"input": [8], "layers": [{"type": "relu", "repeat": 2}]}, "repeat"),
        ({"input": [8], "layers": [{"type": "linear", "out_features": 4, "activation": "relu"}]}, "activation"),
        (
            {
                "convention": "keras",
                "input": [8, 8, 1],
                "layers": [{"type": "Conv2D", "out_channels": 8, "kernel_size": 3}],
            },
            "out_channels",
        ),
        ({"blocks": {"b": {"layers": [{"type": "dense", "unit": 8}]}}}, "unit"),
        ({"blocks": {"b": {"arg": ["x"], "layers": ["relu"]}}}, "arg"),
        ({"input": [8], "layer": ["relu"]}, "layer"),
        ({"input": [8], "layers": ["relu"], "budget": {"max_param": 5}}, "max_param"),
        ({"input": [8], "layers": ["relu"], "convention": "tensorflow"}, "tensorflow"),
        ({"layers": ["relu"]}, "input"),
        ({"input": [8], "inputs": {"t": [8]}, "layers": ["relu"]}, "inputs"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_misspelt_keys_and_wrong_values_are_refused(document, why):
    found = errors(document)
    assert found, document
    assert why in " ".join(found), found
    with pytest.raises(SpecError):  # cnncalc refuses them too
        parse(yaml.safe_dump(document), str(ROOT / "architectures" / "example.yaml"))


# ---- it stays in sync with the registries ---------------------------------------------------------


def _consts(schema: dict) -> set[str]:
    return {option["const"] for option in schema["anyOf"] if "const" in option}


@pytest.mark.parametrize("prefix", list(CONVENTIONS))
def test_every_type_field_alias_and_default_is_in_the_schema(prefix):
    convention = CONVENTIONS[prefix]
    offered = _consts(DEFINITIONS[f"{prefix}.explicit"]["properties"]["type"])
    keyed = DEFINITIONS[f"{prefix}.keyed"]["properties"]
    for layer in layer_types(convention):
        cls = type(layer)
        spellings = {cls.type_name, *cls.aliases}
        assert spellings <= offered and spellings <= set(keyed), cls.type_name
        explicit = DEFINITIONS[f"{prefix}.{cls.type_name}"]
        mapping = DEFINITIONS[f"{prefix}.{cls.type_name}:fields"]["properties"]
        assert explicit["additionalProperties"] is False
        for f in cls.fields:
            for key in (f.name, *f.aliases):
                assert (
                    explicit["properties"][key]
                    == mapping[key]
                    == {"$ref": f"#/definitions/{prefix}.{cls.type_name}.{f.name}"}
                )
            field = DEFINITIONS[f"{prefix}.{cls.type_name}.{f.name}"]
            assert f.kind.expected[1:] in field["description"], (cls.type_name, f.name)
            if f.doc:
                assert f.doc.strip()[1:] in field["description"], (cls.type_name, f.name)
            if f.required:
                assert "default" not in field and "Required." in field["description"]
            elif not isinstance(f.default, float) or f.default == f.default:
                assert field["default"] == (list(f.default) if isinstance(f.default, tuple) else f.default)
        names = {f.name for f in cls.fields} | {a for f in cls.fields for a in f.aliases}
        entry_keys = set(explicit["properties"]) - names - {"type"}
        assert {"name", "trainable"} <= entry_keys <= {"name", "trainable", "inputs", "when", "outputs", "size_of"}
        assert ("outputs" in entry_keys) == layer.splits


def test_every_top_level_key_is_described():
    properties = SCHEMA["properties"]
    assert set(properties) == set(TOP_LEVEL_KEYS)
    assert SCHEMA["additionalProperties"] is False
    for key, value in properties.items():
        resolved = DEFINITIONS[value["$ref"].rsplit("/", 1)[1]] if "$ref" in value else value
        assert "see docs/spec.md" not in resolved["description"], key


def test_base_kinds_become_typed_schemas():
    """A field of a kind the schema knows gets its values (and an expression); none is left open by
    accident: the open ones are the few kinds of their own (a shape, a padding list, ...)."""
    open_fields = [
        name for name, definition in DEFINITIONS.items() if name.count(".") == 2 and "oneOf" not in definition
    ]
    assert len(open_fields) < 40, open_fields
    conv = DEFINITIONS["pytorch.conv2d.padding"]["oneOf"]
    assert {"type": "null"} not in conv and any("same" in json.dumps(option) for option in conv)
    assert DEFINITIONS["keras.Conv2D.activation"]["oneOf"][0]["enum"][:2] == ["linear", "relu"]


def test_spelling_patterns_match_what_cnncalc_matches():
    for name, convention in CONVENTIONS.items():
        for layer in layer_types(convention):
            pattern = re.compile(spelling_pattern(convention, [type(layer).type_name]))
            variants = {type(layer).type_name, type(layer).type_name.upper(), type(layer).type_name.lower()}
            variants.add(type(layer).type_name.replace("_", "-"))
            for variant in variants:
                assert bool(pattern.search(variant)) == (convention.lookup(variant) is layer), (name, variant)
            assert not pattern.search(type(layer).type_name + "x")


def test_a_kind_may_give_its_own_schema():
    """The hook for the kinds the schema leaves open (a padding list, a shape): a `json_schema()`."""
    from cnncalc.layers.base import Float, Kind
    from cnncalc.schema import kind_schema

    class Sizes(Kind):
        expected = "a list of sizes"

        def json_schema(self) -> dict:
            return {"type": "array", "items": {"type": "integer"}}

    assert kind_schema(Sizes()) == {"type": "array", "items": {"type": "integer"}}
    assert kind_schema(Kind()) == {}
    assert kind_schema(Float(min=0, max=1, min_open=True)) == {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
