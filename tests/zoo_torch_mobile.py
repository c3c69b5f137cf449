"""Hand-written torch.nn twins of torchvision's mobile and modern CNN classifiers.

torchvision is not a dependency, so these rebuild its architectures from torch.nn alone:
the same layers with the same hyper-parameters, registered under the same attribute
names, so that ``named_modules()`` and ``named_parameters()`` give torchvision's paths
(``features.1.conv.0.0`` in mobilenet_v2, ``trunk_output.block1.block1-0.f.se.fc1`` in
regnet_y_400mf, ...). The tests compare cnncalc's plans with these models path by path.

Weight initialisation is left out (it changes no shape or count), so the models build
quickly, also on the meta device. The torchvision.ops pieces (Conv2dNormActivation,
SqueezeExcitation, StochasticDepth, Permute) and helpers (_make_divisible) are
re-implemented here with torchvision's attribute names.

MODELS maps a torchvision model name to (builder, input shape without the batch); the parameter
counts torchvision publishes (weights meta "num_params") are in tests/published.py.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

# ---------------------------------------------------------------------------
# torchvision.ops / torchvision.models._utils pieces
# ---------------------------------------------------------------------------


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible: round to a multiple, never more than 10% down."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then norm (if any), then activation (if any): children .0, .1, .2.

    Padding defaults to (k - 1) // 2 * dilation; the conv has a bias only when there is no norm
    (unless bias is given). The activation gets inplace=True, as in torchvision.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int = 1,
        inplace: bool | None = True,
        bias: bool | None = None,
    ) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, padding, dilation=dilation, groups=groups, bias=bias
            )
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(**({} if inplace is None else {"inplace": inplace})))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation: avgpool, fc1 (1x1 conv), activation, fc2 (1x1 conv), scale_activation."""

    def __init__(
        self,
        input_channels: int,
        squeeze_channels: int,
        activation: Callable[..., nn.Module] = nn.ReLU,
        scale_activation: Callable[..., nn.Module] = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: drops whole residual branches while training; identity in eval."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0 or mode not in ("batch", "row"):
            raise ValueError(f"bad stochastic depth p={p} mode={mode!r}")
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class Permute(nn.Module):
    """torchvision.ops.Permute: torch.permute by fixed dims."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's channels-first LayerNorm: permute to NHWC, layer_norm over C, permute back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


# ---------------------------------------------------------------------------
# MobileNetV2
# ---------------------------------------------------------------------------


class MobileNetV2InvertedResidual(nn.Module):
    """conv = [pw Conv2dNormActivation (if t != 1)], dw Conv2dNormActivation, pw-linear Conv2d, BatchNorm2d."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        self.stride = stride
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden, kernel_size=1, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden, hidden, stride=stride, groups=hidden, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# t (expansion), c (out channels), n (repeats), s (first stride)
MOBILENET_V2_SETTING = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        input_channel = make_divisible(32 * width_mult, 8)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), 8)
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2, activation_layer=nn.ReLU6)]
        for t, c, n, s in MOBILENET_V2_SETTING:
            output_channel = make_divisible(c * width_mult, 8)
            for i in range(n):
                features.append(MobileNetV2InvertedResidual(input_channel, output_channel, s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(
            Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1, activation_layer=nn.ReLU6)
        )
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(num_classes: int = 1000) -> MobileNetV2:
    return MobileNetV2(num_classes)


# ---------------------------------------------------------------------------
# MobileNetV3
# ---------------------------------------------------------------------------

# input, kernel, expanded, out, use SE, activation ("RE" ReLU / "HS" Hardswish), stride  (dilation 1 throughout)
MOBILENET_V3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
]
MOBILENET_V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]


class MobileNetV3InvertedResidual(nn.Module):
    """block = [expand 1x1 (if expanded != input)], dw kxk, [SE], project 1x1 (no activation)."""

    def __init__(
        self,
        inp: int,
        kernel: int,
        expanded: int,
        out: int,
        use_se: bool,
        activation: str,
        stride: int,
        norm_layer: Callable[..., nn.Module],
        dilation: int = 1,
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        act = nn.Hardswish if activation == "HS" else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != inp:
            layers.append(
                Conv2dNormActivation(inp, expanded, kernel_size=1, norm_layer=norm_layer, activation_layer=act)
            )
        layers.append(
            Conv2dNormActivation(
                expanded,
                expanded,
                kernel_size=kernel,
                stride=1 if dilation > 1 else stride,
                dilation=dilation,
                groups=expanded,
                norm_layer=norm_layer,
                activation_layer=act,
            )
        )
        if use_se:
            layers.append(
                SqueezeExcitation(expanded, make_divisible(expanded // 4, 8), scale_activation=nn.Hardsigmoid)
            )
        layers.append(Conv2dNormActivation(expanded, out, kernel_size=1, norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result += x
        return result


class MobileNetV3(nn.Module):
    def __init__(self, setting: list[tuple], last_channel: int, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, setting[0][0], stride=2, norm_layer=norm_layer, activation_layer=nn.Hardswish)
        ]
        layers += [MobileNetV3InvertedResidual(*row, norm_layer=norm_layer) for row in setting]
        lastconv_in = setting[-1][3]
        lastconv_out = 6 * lastconv_in
        layers.append(
            Conv2dNormActivation(
                lastconv_in, lastconv_out, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.Hardswish
            )
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_out, last_channel),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(last_channel, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v3_large(num_classes: int = 1000) -> MobileNetV3:
    return MobileNetV3(MOBILENET_V3_LARGE, 1280, num_classes)


def mobilenet_v3_small(num_classes: int = 1000) -> MobileNetV3:
    return MobileNetV3(MOBILENET_V3_SMALL, 1024, num_classes)


# ---------------------------------------------------------------------------
# ShuffleNetV2
# ---------------------------------------------------------------------------


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, -1, h, w)


class ShuffleNetV2InvertedResidual(nn.Module):
    """branch1 (stride 2 only, else an empty Sequential): dw3x3, BN, 1x1, BN, ReLU.
    branch2: 1x1, BN, ReLU, dw3x3, BN, 1x1, BN, ReLU. Each branch gives oup // 2 channels."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        bf = oup // 2
        if stride == 1 and inp != bf << 1:
            raise ValueError(f"stride 1 needs inp == oup, got {inp} and {oup}")
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, bias=False, groups=inp),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, 1, 1, 0, bias=False),
                nn.BatchNorm2d(bf),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else bf, bf, 1, 1, 0, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(inplace=True),
            nn.Conv2d(bf, bf, 3, stride, 1, bias=False, groups=bf),
            nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, 1, 0, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        c = stages_out_channels[0]
        self.conv1 = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for i, (repeats, out) in enumerate(zip(stages_repeats, stages_out_channels[1:-1], strict=True), start=2):
            blocks = [ShuffleNetV2InvertedResidual(c, out, 2)]
            blocks += [ShuffleNetV2InvertedResidual(out, out, 1) for _ in range(repeats - 1)]
            setattr(self, f"stage{i}", nn.Sequential(*blocks))
            c = out
        last = stages_out_channels[-1]
        self.conv5 = nn.Sequential(nn.Conv2d(c, last, 1, 1, 0, bias=False), nn.BatchNorm2d(last), nn.ReLU(inplace=True))
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


def shufflenet_v2_x1_0(num_classes: int = 1000) -> ShuffleNetV2:
    return ShuffleNetV2([4, 8, 4], [24, 116, 232, 464, 1024], num_classes)


# ---------------------------------------------------------------------------
# MNASNet (B1 variant, torchvision _version 2)
# ---------------------------------------------------------------------------

_MNAS_BN_MOMENTUM = 1 - 0.9997


class MNASNetInvertedResidual(nn.Module):
    """layers: 1x1 expand, BN, ReLU, dw kxk, BN, ReLU, 1x1 project, BN (no activation)."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, stride: int, expansion: int, bn_momentum: float
    ) -> None:
        super().__init__()
        mid = in_ch * expansion
        self.apply_residual = in_ch == out_ch and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_ch, mid, 1, bias=False),
            nn.BatchNorm2d(mid, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, kernel_size, padding=kernel_size // 2, stride=stride, groups=mid, bias=False),
            nn.BatchNorm2d(mid, momentum=bn_momentum),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch, momentum=bn_momentum),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x) + x if self.apply_residual else self.layers(x)


def _mnas_stack(in_ch: int, out_ch: int, kernel: int, stride: int, expansion: int, repeats: int) -> nn.Sequential:
    first = MNASNetInvertedResidual(in_ch, out_ch, kernel, stride, expansion, _MNAS_BN_MOMENTUM)
    rest = [MNASNetInvertedResidual(out_ch, out_ch, kernel, 1, expansion, _MNAS_BN_MOMENTUM) for _ in range(1, repeats)]
    return nn.Sequential(first, *rest)


def _mnas_round(val: float, divisor: int = 8, round_up_bias: float = 0.9) -> int:
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


# (kernel, stride, expansion, repeats) of the six stacks layers.8 ... layers.13
MNASNET_STACKS = [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]


class MNASNet(nn.Module):
    def __init__(self, alpha: float, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        d = [_mnas_round(depth * alpha) for depth in (32, 16, 24, 40, 80, 96, 192, 320)]
        bn = partial(nn.BatchNorm2d, momentum=_MNAS_BN_MOMENTUM)
        layers: list[nn.Module] = [
            nn.Conv2d(3, d[0], 3, padding=1, stride=2, bias=False),
            bn(d[0]),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[0], 3, padding=1, stride=1, groups=d[0], bias=False),
            bn(d[0]),
            nn.ReLU(inplace=True),
            nn.Conv2d(d[0], d[1], 1, padding=0, stride=1, bias=False),
            bn(d[1]),
        ]
        layers += [_mnas_stack(d[i + 1], d[i + 2], *cfg) for i, cfg in enumerate(MNASNET_STACKS)]
        layers += [nn.Conv2d(d[7], 1280, 1, padding=0, stride=1, bias=False), bn(1280), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))


def mnasnet1_0(num_classes: int = 1000) -> MNASNet:
    return MNASNet(1.0, num_classes)


# ---------------------------------------------------------------------------
# EfficientNet (V1)
# ---------------------------------------------------------------------------

# expand_ratio, kernel, stride, input_channels, out_channels, num_layers (before width/depth scaling)
EFFICIENTNET_V1_SETTING = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


class MBConv(nn.Module):
    """block = [expand 1x1 (if expanded != input)], dw kxk, SE, project 1x1 (no activation); then stochastic_depth."""

    def __init__(
        self,
        expand_ratio: float,
        kernel: int,
        stride: int,
        inp: int,
        out: int,
        stochastic_depth_prob: float,
        norm_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == out
        expanded = make_divisible(inp * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != inp:
            layers.append(
                Conv2dNormActivation(inp, expanded, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.SiLU)
            )
        layers.append(
            Conv2dNormActivation(
                expanded,
                expanded,
                kernel_size=kernel,
                stride=stride,
                groups=expanded,
                norm_layer=norm_layer,
                activation_layer=nn.SiLU,
            )
        )
        layers.append(SqueezeExcitation(expanded, max(1, inp // 4), activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, out, kernel_size=1, norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += x
        return result


class EfficientNet(nn.Module):
    def __init__(
        self,
        width_mult: float,
        depth_mult: float,
        dropout: float,
        stochastic_depth_prob: float = 0.2,
        num_classes: int = 1000,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        setting = [
            (
                e,
                k,
                s,
                make_divisible(i * width_mult, 8),
                make_divisible(o * width_mult, 8),
                int(math.ceil(n * depth_mult)),
            )
            for e, k, s, i, o, n in EFFICIENTNET_V1_SETTING
        ]
        layers: list[nn.Module] = [
            Conv2dNormActivation(3, setting[0][3], stride=2, norm_layer=norm_layer, activation_layer=nn.SiLU)
        ]
        total_blocks = sum(row[5] for row in setting)
        block_id = 0
        for e, k, s, i, o, n in setting:
            stage: list[nn.Module] = []
            for j in range(n):
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(MBConv(e, k, s if j == 0 else 1, i if j == 0 else o, o, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_in = setting[-1][4]
        lastconv_out = 4 * lastconv_in
        layers.append(
            Conv2dNormActivation(
                lastconv_in, lastconv_out, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.SiLU
            )
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(lastconv_out, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def efficientnet_b0(num_classes: int = 1000) -> EfficientNet:
    return EfficientNet(1.0, 1.0, 0.2, num_classes=num_classes)


# ---------------------------------------------------------------------------
# RegNet
# ---------------------------------------------------------------------------


def regnet_block_params(
    depth: int, w_0: int, w_a: float, w_m: float, group_width: int, bottleneck_multiplier: float = 1.0
) -> list[tuple[int, int, int, int, float]]:
    """Per stage (width_out, stride, depth, group_width, bottleneck_multiplier), as torchvision's
    BlockParams.from_init_params computes them (float32 torch arithmetic, on the CPU whatever the
    default device)."""
    cpu = torch.device("cpu")
    widths_cont = torch.arange(depth, device=cpu) * w_a + w_0
    block_capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, block_capacity), 8)) * 8).int().tolist()
    # a new stage starts wherever the width changes
    starts = [i for i, w in enumerate(block_widths) if i == 0 or w != block_widths[i - 1]]
    stage_widths = [block_widths[i] for i in starts]
    stage_depths = [b - a for a, b in zip(starts, starts[1:] + [len(block_widths)], strict=True)]
    # make the bottleneck width a multiple of the group width
    w_bots = [int(w * bottleneck_multiplier) for w in stage_widths]
    groups = [min(group_width, w) for w in w_bots]
    stage_widths = [int(make_divisible(w, g) / bottleneck_multiplier) for w, g in zip(w_bots, groups, strict=True)]
    return [(w, 2, d, g, bottleneck_multiplier) for w, d, g in zip(stage_widths, stage_depths, groups, strict=True)]


class BottleneckTransform(nn.Sequential):
    """Named children a (1x1), b (3x3 grouped, strided), se (optional), c (1x1, no activation)."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        norm_layer: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
    ) -> None:
        w_b = int(round(width_out * bottleneck_multiplier))
        g = w_b // group_width
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["a"] = Conv2dNormActivation(
            width_in, w_b, kernel_size=1, norm_layer=norm_layer, activation_layer=activation_layer
        )
        layers["b"] = Conv2dNormActivation(
            w_b, w_b, kernel_size=3, stride=stride, groups=g, norm_layer=norm_layer, activation_layer=activation_layer
        )
        if se_ratio:
            # the SE width is relative to the block's input width
            layers["se"] = SqueezeExcitation(w_b, int(round(se_ratio * width_in)), activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, norm_layer=norm_layer, activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """proj (1x1 strided conv + BN, when the shape changes), f (BottleneckTransform), activation after the sum."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        norm_layer: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
        group_width: int = 1,
        bottleneck_multiplier: float = 1.0,
        se_ratio: float | None = None,
    ) -> None:
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(
                width_in, width_out, kernel_size=1, stride=stride, norm_layer=norm_layer, activation_layer=None
            )
        self.f = BottleneckTransform(
            width_in, width_out, stride, norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio
        )
        self.activation = activation_layer(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    """Blocks named 'block{stage}-{i}'."""

    def __init__(
        self,
        width_in: int,
        width_out: int,
        stride: int,
        depth: int,
        norm_layer: Callable[..., nn.Module],
        activation_layer: Callable[..., nn.Module],
        group_width: int,
        bottleneck_multiplier: float,
        se_ratio: float | None,
        stage_index: int,
    ) -> None:
        super().__init__()
        for i in range(depth):
            block = ResBottleneckBlock(
                width_in if i == 0 else width_out,
                width_out,
                stride if i == 0 else 1,
                norm_layer,
                activation_layer,
                group_width,
                bottleneck_multiplier,
                se_ratio,
            )
            self.add_module(f"block{stage_index}-{i}", block)


class RegNet(nn.Module):
    def __init__(
        self,
        stages: list[tuple[int, int, int, int, float]],
        se_ratio: float | None,
        num_classes: int = 1000,
        stem_width: int = 32,
    ) -> None:
        super().__init__()
        norm_layer = partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1)
        activation = nn.ReLU
        self.stem = Conv2dNormActivation(
            3, stem_width, kernel_size=3, stride=2, norm_layer=norm_layer, activation_layer=activation
        )
        width = stem_width
        blocks = []
        for i, (width_out, stride, depth, group_width, bm) in enumerate(stages, start=1):
            stage = AnyStage(width, width_out, stride, depth, norm_layer, activation, group_width, bm, se_ratio, i)
            blocks.append((f"block{i}", stage))
            width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_features=width, out_features=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


def regnet_y_400mf(num_classes: int = 1000) -> RegNet:
    stages = regnet_block_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8)
    return RegNet(stages, se_ratio=0.25, num_classes=num_classes)


# ---------------------------------------------------------------------------
# ConvNeXt
# ---------------------------------------------------------------------------


class CNBlock(nn.Module):
    """block = dw7x7 conv, Permute NHWC, LayerNorm, Linear 4x, GELU, Linear, Permute NCHW; times layer_scale."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.stochastic_depth(self.layer_scale * self.block(x))
        result += x
        return result


class ConvNeXt(nn.Module):
    def __init__(
        self,
        block_setting: list[tuple[int, int | None, int]],
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        norm_layer = partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                3,
                block_setting[0][0],
                kernel_size=4,
                stride=4,
                padding=0,
                norm_layer=norm_layer,
                activation_layer=None,
                bias=True,
            )
        ]
        total_blocks = sum(n for _, _, n in block_setting)
        block_id = 0
        for dim, out, n in block_setting:
            stage = []
            for _ in range(n):
                stage.append(CNBlock(dim, layer_scale, stochastic_depth_prob * block_id / (total_blocks - 1.0)))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if out is not None:
                layers.append(nn.Sequential(norm_layer(dim), nn.Conv2d(dim, out, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last_dim, last_out, _ = block_setting[-1]
        last = last_out if last_out is not None else last_dim
        self.classifier = nn.Sequential(norm_layer(last), nn.Flatten(1), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def convnext_tiny(num_classes: int = 1000) -> ConvNeXt:
    # (input channels, channels after the downsample that follows, or None, blocks)
    setting = [(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)]
    return ConvNeXt(setting, stochastic_depth_prob=0.1, num_classes=num_classes)


# ---------------------------------------------------------------------------

_IMAGE = (3, 224, 224)

MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "mobilenet_v2": (mobilenet_v2, _IMAGE),
    "mobilenet_v3_small": (mobilenet_v3_small, _IMAGE),
    "mobilenet_v3_large": (mobilenet_v3_large, _IMAGE),
    "shufflenet_v2_x1_0": (shufflenet_v2_x1_0, _IMAGE),
    "mnasnet1_0": (mnasnet1_0, _IMAGE),
    "efficientnet_b0": (efficientnet_b0, _IMAGE),
    "regnet_y_400mf": (regnet_y_400mf, _IMAGE),
    "convnext_tiny": (convnext_tiny, _IMAGE),
}
