"""A hand-written torch.nn twin of ultralytics' YOLOv5s (issue 12, "the wider CNN world").

ultralytics/yolov5 is not installable here, so this rebuilds ``DetectionModel("yolov5s.yaml")``
(v6.0 to v7.0: the 6x6 stem conv and SPPF) from torch.nn alone, with the same layers,
hyper-parameters and -- what the layer-by-layer comparison relies on -- the same module paths
(``named_modules()`` / ``named_parameters()`` names): ``model.0.conv``, ``model.2.cv1.bn``,
``model.2.m.0.cv2.conv``, ``model.9.m`` (SPPF's max pool), ``model.24.m.0``. ``model`` is the
``nn.Sequential`` of the 25 layers that ultralytics' ``parse_model`` builds from yolov5s.yaml
(depth_multiple 0.33, width_multiple 0.50, 80 classes, 3 anchors per level), each layer
reading the outputs its ``from`` index names:

- ``Conv``: Conv2d without bias (padding k // 2), BatchNorm2d(eps=0.001, momentum=0.03), SiLU.
  v6.x builds one SiLU per Conv, as here (v7.0 shares one ``default_act`` module among them,
  which changes no parameter and no shape).
- ``C3``: cv1 and cv2 (1x1 Conv to half the width), ``m``, a Sequential of Bottlenecks on cv1's
  output (a 1x1 Conv then a 3x3 Conv, added to the input when ``shortcut``), concatenated with
  cv2's output and fused by cv3 (a 1x1 Conv).
- ``SPPF``: cv1 (1x1 Conv to half), the same MaxPool2d(5, 1, 2) applied three times in a row,
  the four tensors concatenated, cv2 (1x1 Conv).
- the PAN neck: ``nn.Upsample(None, 2, "nearest")``, ``Concat`` along the channels, C3 without
  shortcut.
- ``Detect``: ``m``, a ModuleList of three Conv2d(c, 3 * 85, 1) (with bias), on the outputs of
  layers 17, 20 and 23 (strides 8, 16, 32).

forward returns the three raw Detect conv outputs as a tuple, [255, 80, 80], [255, 40, 40] and
[255, 20, 20] at 640x640. Ultralytics' Detect then views each as [3, 85, H, W], permutes it
and, at inference, decodes boxes with its anchor grid: that step has no parameters and is left
out (the anchors are a registered buffer of 18 values, not a parameter, so the count is
unchanged). 7,225,885 parameters, ultralytics' model summary for yolov5s at 80 classes.

Weights are left as torch.nn constructs them: the tests build on the meta device and only count
parameters and propagate shapes, so ultralytics' initialize_weights and its Detect bias
initialisation are skipped.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

NUM_CLASSES = 80
ANCHORS_PER_LEVEL = 3


class Conv(nn.Module):
    """ultralytics' Conv: conv2d (no bias, 'same' padding for odd k), batch norm, SiLU."""

    def __init__(self, c1, c2, k=1, s=1, p=None):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=0.001, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_, c2, 3, 1)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        return x + self.cv2(self.cv1(x)) if self.add else self.cv2(self.cv1(x))


class C3(nn.Module):
    """CSP bottleneck with three convolutions."""

    def __init__(self, c1, c2, n=1, shortcut=True, e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: one 5x5 max pool applied three times in a row."""

    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat((x, y1, y2, self.m(y2)), 1))


class Concat(nn.Module):
    def __init__(self, dimension=1):
        super().__init__()
        self.d = dimension

    def forward(self, x):
        return torch.cat(x, self.d)


class Detect(nn.Module):
    """The three 1x1 output convs; the anchor decoding (no parameters) is left out."""

    def __init__(self, nc=NUM_CLASSES, na=ANCHORS_PER_LEVEL, ch=()):
        super().__init__()
        self.no = nc + 5  # box (4), objectness (1), classes
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * na, 1) for x in ch)

    def forward(self, x):
        return tuple(conv(level) for conv, level in zip(self.m, x))


# yolov5s.yaml (v6.0+): [from, number, module, args] before the depth and width multiples
BACKBONE = [
    [-1, 1, "Conv", [64, 6, 2, 2]],  # 0-P1/2
    [-1, 1, "Conv", [128, 3, 2]],  # 1-P2/4
    [-1, 3, "C3", [128]],
    [-1, 1, "Conv", [256, 3, 2]],  # 3-P3/8
    [-1, 6, "C3", [256]],
    [-1, 1, "Conv", [512, 3, 2]],  # 5-P4/16
    [-1, 9, "C3", [512]],
    [-1, 1, "Conv", [1024, 3, 2]],  # 7-P5/32
    [-1, 3, "C3", [1024]],
    [-1, 1, "SPPF", [1024, 5]],  # 9
]
HEAD = [
    [-1, 1, "Conv", [512, 1, 1]],
    [-1, 1, "Upsample", [None, 2, "nearest"]],
    [[-1, 6], 1, "Concat", [1]],  # cat backbone P4
    [-1, 3, "C3", [512, False]],  # 13
    [-1, 1, "Conv", [256, 1, 1]],
    [-1, 1, "Upsample", [None, 2, "nearest"]],
    [[-1, 4], 1, "Concat", [1]],  # cat backbone P3
    [-1, 3, "C3", [256, False]],  # 17 (P3/8-small)
    [-1, 1, "Conv", [256, 3, 2]],
    [[-1, 14], 1, "Concat", [1]],  # cat head P4
    [-1, 3, "C3", [512, False]],  # 20 (P4/16-medium)
    [-1, 1, "Conv", [512, 3, 2]],
    [[-1, 10], 1, "Concat", [1]],  # cat head P5
    [-1, 3, "C3", [1024, False]],  # 23 (P5/32-large)
    [[17, 20, 23], 1, "Detect", [NUM_CLASSES]],  # Detect(P3, P4, P5)
]


def _make_divisible(x, divisor=8):
    return math.ceil(x / divisor) * divisor


def parse_model(depth_multiple, width_multiple, ch=3):
    """ultralytics' parse_model, for the modules yolov5s uses: the layers and their `from`s."""
    layers, froms, channels = [], [], [ch]
    for i, (f, n, name, args) in enumerate(BACKBONE + HEAD):
        n = max(round(n * depth_multiple), 1) if n > 1 else n
        if name in ("Conv", "C3", "SPPF"):
            c1, c2 = channels[f], _make_divisible(args[0] * width_multiple)
            module = {"Conv": Conv, "C3": C3, "SPPF": SPPF}[name]
            args = [c1, c2, *args[1:]]
            if name == "C3":
                args.insert(2, n)
            layer = module(*args)
        elif name == "Upsample":
            layer, c2 = nn.Upsample(*args), channels[f]
        elif name == "Concat":
            layer, c2 = Concat(*args), sum(channels[x] for x in f)
        else:  # Detect
            layer, c2 = Detect(args[0], ANCHORS_PER_LEVEL, [channels[x] for x in f]), None
        if i == 0:
            channels = []  # from here on, channels[j] is layer j's output width
        layers.append(layer)
        froms.append(f)
        channels.append(c2)
    return nn.Sequential(*layers), froms


class YOLOv5(nn.Module):
    """DetectionModel: `model` runs its layers in order, each on the outputs its `from` names."""

    def __init__(self, depth_multiple=0.33, width_multiple=0.50):
        super().__init__()
        self.model, self.froms = parse_model(depth_multiple, width_multiple)

    def forward(self, x):
        outputs = []
        for layer, f in zip(self.model, self.froms):
            if f != -1:
                x = outputs[f] if isinstance(f, int) else [x if j == -1 else outputs[j] for j in f]
            x = layer(x)
            outputs.append(x)
        return x


def yolov5s() -> nn.Module:
    return YOLOv5(0.33, 0.50)


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "yolov5s": (yolov5s, (3, 640, 640)),
}

# What the model returns for one sample: the three Detect convs, at strides 8, 16 and 32.
OUTPUT_SHAPES: dict[str, tuple[tuple[int, ...], ...]] = {
    "yolov5s": ((255, 80, 80), (255, 40, 40), (255, 20, 20)),
}
