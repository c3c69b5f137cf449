"""Models for tests/test_verify_against.py: a small residual network and purposely different
versions of it, and the zoo's references by name."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the zoo modules


class Small(nn.Module):
    """conv1 -> bn1 -> relu -> conv2, plus a 1x1 `skip` from relu's output; pool, fc."""

    def __init__(self, stride: int = 1, bias: bool = True, extra: bool = False, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=bias)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, stride=stride, padding=1)
        self.skip = nn.Conv2d(8, 8, 1, stride=stride)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, num_classes)
        if extra:
            self.gate = nn.Parameter(torch.ones(8))

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.conv2(x) + self.skip(x)
        return self.fc(torch.flatten(self.pool(x), 1))


def small(**kwargs) -> nn.Module:
    return Small(**kwargs)


def not_a_module():
    return 42


def broken():
    raise ValueError("this builder fails on purpose")


def zoo(name: str) -> nn.Module:
    from zoo_torch_classic import MODELS as classic
    from zoo_torch_ddpm import MODELS as ddpm
    from zoo_torch_dense import MODELS as dense
    from zoo_torch_mobile import MODELS as mobile
    from zoo_torch_vit import MODELS as vit
    from zoo_torch_wide import MODELS as wide
    from zoo_torch_yolo import MODELS as yolo

    return {**classic, **mobile, **wide, **dense, **vit, **yolo, **ddpm}[name][0]()


# ---- for tests/test_import_torch.py: models `cnncalc import` handles, or refuses, on purpose


class Sorts(nn.Module):
    """torch.sort has no spec layer: the import names it, with the module that calls it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.sort(self.conv(x), dim=1).values


class ReadsValues(nn.Module):
    """A forward() that reads a value (.item()) cannot run on the meta device."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return y * 2 if y.sum().item() > 0 else y


class Gate(nn.Module):
    """A squeeze-and-excitation gate: a block whose input is read twice."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(self.pool(x)))))


class Fuse(nn.Module):
    """Two inputs, an image and a per-sample vector; a ModuleList the forward() loops over."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.gates = nn.ModuleList([Gate(16, 4), Gate(16, 8)])
        self.embed = nn.Linear(10, 16)

    def forward(self, image, vector):
        x = self.stem(image)
        for gate in self.gates:
            x = gate(x)
        x = x.mean((2, 3))
        return x + self.embed(vector)


class TwoHeads(nn.Module):
    """Returns two tensors: the spec names them with `outputs:`."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
        self.classes = nn.Conv2d(8, 5, 1)
        self.boxes = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = self.body(x)
        return self.classes(x), self.boxes(x)


class OddNames(nn.Module):
    """A ModuleDict key no spec name can be (a space, a colon, a newline): refused by name."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleDict({"a b:\nc": nn.Conv2d(3, 3, 1)})

    def forward(self, x):
        for conv in self.convs.values():
            x = conv(x)
        return x


class Cumulative(nn.Module):
    """Batch norm with momentum=None (a cumulative average): written `momentum: null`."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4, momentum=None)

    def forward(self, x):
        return self.bn(self.conv(x))


class Staged(nn.Module):
    """A ModuleList of stages with a pooling call between them (a common encoder loop)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.stages = nn.ModuleList([nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()) for _ in range(3)])
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(32, 5)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = self.pool(stage(x))
            x = torch.nn.functional.avg_pool2d(x, 1)
        return self.head(torch.flatten(x, 1))


class Shared(nn.Module):
    """One conv called twice: its weights are shared, which a spec cannot say."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


class DictOut(nn.Module):
    """Returns a dict (as detection models do): its tensors are the outputs, in order."""

    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(3, 8, 3)
        self.cls = nn.Conv2d(8, 5, 1)
        self.box = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = self.body(x)
        return {"logits": self.cls(x), "boxes": self.box(x)}


class KBlock(nn.Module):
    """kuangliu's CIFAR BasicBlock: the shortcut an empty nn.Sequential() (the identity) or a
    projection, and F.relu in forward()."""

    def __init__(self, cin: int, cout: int, stride: int = 1, identity: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        elif identity:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = torch.nn.functional.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return torch.nn.functional.relu(out)


class KResNet(nn.Module):
    def __init__(self, identity: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(KBlock(16, 16, identity=identity), KBlock(16, 16, identity=identity))
        self.layer2 = nn.Sequential(KBlock(16, 32, 2, identity), KBlock(32, 32, identity=identity))
        self.linear = nn.Linear(32, 10)

    def forward(self, x):
        out = torch.nn.functional.relu(self.bn1(self.conv1(x)))
        out = self.layer2(self.layer1(out))
        out = torch.nn.functional.adaptive_avg_pool2d(out, 1)
        return self.linear(out.view(out.size(0), -1))


class Arithmetic(nn.Module):
    """Scalar arithmetic and axes of size 1: x * 2 - 1, 1 - x, unsqueeze / squeeze."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x * 2.0 - 1.0)
        y = (1 - y).unsqueeze(1)
        return y.squeeze(1) / 4


class SameConv(nn.Conv2d):
    """timm's Conv2dSame: pads in forward() as TensorFlow does, then F.conv2d on its weight."""

    def forward(self, x):
        x = torch.nn.functional.pad(x, (1, 1, 1, 1))
        return torch.nn.functional.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class UsesSameConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = SameConv(3, 4, 3)

    def forward(self, x):
        return self.conv(x)
