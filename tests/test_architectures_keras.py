"""The bundled specs written `convention: keras`, against Keras 3 itself (on its torch backend):
each plans to keras.applications' published totals (model.summary()'s total, trainable and
non-trainable), its Keras export builds a model with every layer's output shape and counts as
planned and the planned MACs (torch's flop counter around a call), and where Keras ships the
network (keras.applications, weights=None) the export has the same layers: the same classes,
output shapes and counts."""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from keras_reference import build_keras, macs, measure, planned, require_keras
from published import KERAS_PUBLISHED

from cnncalc.engine import plan
from cnncalc.export.keras import to_keras
from cnncalc.spec import load_file

ARCH_DIR = Path(__file__).resolve().parent.parent / "architectures"
STEMS = sorted(KERAS_PUBLISHED)
APPLICATIONS = {"mobilenet_v2_keras": "MobileNetV2", "resnet50_keras": "ResNet50"}


def _planned(stem: str):
    return plan(load_file(str(ARCH_DIR / f"{stem}.yaml")))


def test_every_keras_spec_is_listed():
    written = sorted(p.stem for p in ARCH_DIR.glob("*.yaml") if "\nconvention: keras\n" in p.read_text())
    assert written == STEMS


@pytest.mark.parametrize("stem", STEMS)
def test_totals_are_the_published_ones(stem):
    result = _planned(stem)
    totals = result.totals
    assert result.convention == "keras"
    assert (totals.params, totals.trainable_params, totals.non_trainable_params) == KERAS_PUBLISHED[stem]


@pytest.mark.parametrize("stem", STEMS)
def test_the_keras_export_builds_what_was_planned(stem):
    result = _planned(stem)
    model = build_keras(result)
    assert measure(result, model) == planned(result)
    assert macs(result, model) == result.totals.macs


def _layers(model) -> Counter:
    return Counter(
        (type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    )


@pytest.mark.slow
@pytest.mark.parametrize("stem", sorted(APPLICATIONS))
def test_the_export_has_keras_applications_layers(stem):
    keras = require_keras()
    reference = getattr(keras.applications, APPLICATIONS[stem])(weights=None)
    exported = build_keras(_planned(stem))
    assert _layers(exported) == _layers(reference)
    assert exported.count_params() == reference.count_params()


def test_the_readme_table_has_the_published_breakdowns():
    """README's table: the total, and (trainable + non-trainable) where some are not trainable."""
    readme = (ARCH_DIR.parent / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+_keras)\.yaml` \|.*\| ([\d,]+)(?: \(([\d,]+) \+ ([\d,]+)\))? \|$", readme, re.M)
    found = {}
    for stem, total, trainable, frozen in rows:
        total, trainable, frozen = (int(n.replace(",", "")) if n else None for n in (total, trainable, frozen))
        found[stem] = (total, trainable or total, frozen or 0)
    assert found == KERAS_PUBLISHED


def test_the_textbook_model_has_the_chapters_numbers():
    result = _planned("dogs_cats_keras")
    first = result.layers[0]
    assert (first.output_shape, first.params) == ((62, 62, 32), 896)
    assert result.first_linear.derivation() == "14 x 14 x 32 = 6,272"


@pytest.mark.parametrize("stem", STEMS)
def test_the_keras_export_passes_ruff(stem, tmp_path):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        if os.environ.get("CNNCALC_REQUIRE_TORCH"):
            pytest.fail("ruff is part of the test extra")
        pytest.skip("ruff not installed")
    target = tmp_path / "model.py"
    target.write_text(to_keras(_planned(stem), source=f"architectures/{stem}.yaml"))
    done = subprocess.run([ruff, "check", "--no-cache", "--isolated", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
