from torch_reference import run_torch

from cnncalc.engine import plan
from cnncalc.spec import parse

SEED = """
name: seed-50x50
input: [3, 50, 50]
layers:
  - conv2d: {out_channels: 32, kernel_size: 3, padding: same}
  - relu
  - maxpool2d: 2
  - {type: conv2d, name: conv2, out_channels: 64, kernel_size: 3, padding: 1}
  - relu
  - maxpool2d: {kernel_size: 2}
  - flatten
  - linear: 128
  - relu
  - linear: 2
"""


def test_seed_matches_torch():
    spec = parse(SEED)
    result = plan(spec)
    measured, failure = run_torch(spec)
    assert failure is None
    assert [r.output_shape for r in result.layers] == [m.output_shape for m in measured]
    assert [r.params for r in result.layers] == [m.params for m in measured]
    assert result.totals.params == 1_199_426
