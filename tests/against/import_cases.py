"""Models for tests/test_import_torch.py that once fooled `cnncalc import` (a review's cases):
each either imports to a spec that passes `verify --against --load-state-dict`, or is refused
with a message naming what it does."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---- imported, and equal with the model's weights


class Head(nn.Module):
    """An optional softmax and an optional log-softmax, each with its own dim."""

    def __init__(self, soft_dim, log_dim):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 1)
        self.soft_dim, self.log_dim = soft_dim, log_dim

    def forward(self, x):
        x = self.conv(x)
        if self.soft_dim is not None:
            x = torch.softmax(x, dim=self.soft_dim)
        if self.log_dim is not None:
            x = torch.log_softmax(x, dim=self.log_dim)
        return x


class OptionalFields(nn.Module):
    """h4 has only the log-softmax, over dim 3: its dim is not the others' softmax's."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.h0, self.h1, self.h2 = Head(2, None), Head(2, None), Head(2, None)
        self.h3, self.h4 = Head(3, 3), Head(None, 3)

    def forward(self, x):
        x = self.stem(x)
        return self.h3(self.h2(self.h1(self.h0(x)))) + self.h4(x)


class Collide(nn.Module):
    """F.relu before self.relu; self.relu twice beside an attribute named relu_2."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.relu_2 = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        x = self.relu(F.relu(self.conv(x)))
        return self.relu_2(self.relu(self.pool(x)))


class No(nn.Module):
    """A class, a module and an argument named as YAML's booleans (`no`, `on`)."""

    def __init__(self, c):
        super().__init__()
        self.on = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x, no):
        a = self.on(x)
        return self.act(a) + a + no


class YamlWords(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = No(3), No(3)

    def forward(self, x):
        return self.b(self.a(x, x), x)


class DropPath(nn.Module):
    """timm's DropPath: the identity in eval; and an empty nn.Sequential() shortcut."""

    def forward(self, x):
        return x


class Empty(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.drop_path = DropPath()
        self.shortcut = nn.Sequential()

    def forward(self, x):
        x = self.conv(x)
        return self.drop_path(x.relu()) + self.shortcut(x)


class ChainRead(nn.Module):
    """A ModuleList run in a loop, its first output read again after it."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 1)
        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(3)])

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for conv in self.convs:
            x = conv(x)
            feats.append(x)
        return x + feats[0]


class EmbeddingFirst(nn.Module):
    """Token indices in: the trace feeds integers."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(self.emb(x))


# ---- refused, by what they do


class _One(nn.Module):
    def __init__(self, forward):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.register_buffer("scale", torch.ones(8, 1, 1))
        self.pad = nn.ConstantPad2d(1, float("-inf"))
        self._forward = forward

    def forward(self, x):
        return self._forward(self, self.conv(x))


def _masked(m, x):
    tokens = x.flatten(2).transpose(1, 2)
    mask = torch.ones(tokens.shape[1], tokens.shape[1], dtype=torch.bool, device=x.device).triu(1)
    return m.attn(tokens, tokens, tokens, attn_mask=mask)[0]


def _view_in_place(m, x):
    a, b = x.chunk(2, 1)
    b.mul_(2)
    return x


def _set(m, x):
    x[:, :4] = 0
    return x


REFUSED = {
    "setitem": (_set, "writing into a tensor by index"),
    "view": (_view_in_place, "mul_() in place on a view"),
    "alpha": (lambda m, x: torch.add(x, 2, alpha=3), "add() with alpha"),
    "floor": (lambda m, x: torch.div(x, 4, rounding_mode="floor"), "div() with rounding_mode"),
    "antialias": (
        lambda m, x: F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True),
        "interpolate() with antialias",
    ),
    "dropout": (lambda m, x: F.dropout(x, 0.5), "F.dropout() with training=True"),
    "mask": (_masked, "nn.MultiheadAttention with attn_mask"),
    "mean": (lambda m, x: x.mean(dim=None, keepdim=True), "a reduction over every axis"),
    "buffer": (lambda m, x: x * m.scale, "mul() of a tensor and the buffer scale"),
    "inf": (lambda m, x: m.pad(x), "a value of -inf"),
    "twice": (lambda m, x: (x, x), "returns one tensor twice"),
    "property": (lambda m, x: x.mT, "mT()"),
}


def refused(case: str) -> nn.Module:
    return _One(REFUSED[case][0])
