"""The spec of models.Small, and purposely different versions of it."""

SMALL = """name: small
input: [3, 16, 16]
layers:
  - {{name: conv1, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, bias: {bias}}}
  - {{name: bn1, type: batchnorm2d}}
  - {{name: relu, type: relu}}
  - {{name: conv2, type: conv2d, out_channels: 8, kernel_size: 3, stride: {stride}, padding: 1}}
  - {{name: skip, type: conv2d, out_channels: 8, kernel_size: 1, stride: {stride}, inputs: [{skip_from}]}}
  - {{name: add, type: add, inputs: [conv2, skip]}}
  - {{name: pool, type: adaptive_avgpool2d, output_size: 1}}
  - {{name: flatten, type: flatten}}
  - {{name: fc, type: linear, out_features: 10}}
"""


def small(stride: int = 1, bias: str = "true", skip_from: str = "relu") -> str:
    return SMALL.format(stride=stride, bias=bias, skip_from=skip_from)
