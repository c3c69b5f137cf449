"""Hand-written torch.nn twins of dense-prediction, GroupNorm, image-to-image and
super-resolution networks (issue 12, "the wider CNN world").

torchvision and timm are not installable next to the test torch build, so these rebuild their
models from torch.nn alone, with the same layers, hyper-parameters and -- what the layer-by-layer
comparisons rely on -- the same module paths (``named_modules()`` / ``named_parameters()``
names) as the originals:

- ``fcn_resnet50``, ``deeplabv3_resnet50``: torchvision/models/segmentation/fcn.py and
  deeplabv3.py with aux_loss off and 21 classes, input 3x520x520. The backbone is torchvision's
  ResNet-50 built with replace_stride_with_dilation=[False, True, True] (layer3 and layer4 keep
  stride 8 and dilate their 3x3 convs 2 and 4 instead), cut after layer4 by
  IntermediateLayerGetter (no avgpool, no fc): ``backbone.layer3.1.conv2``. The heads are
  ``classifier.0`` ... ``classifier.4`` (FCNHead), and for DeepLabV3 ``classifier.0`` is the
  ASPP: ``classifier.0.convs.1.0`` (rate 12), ``classifier.0.convs.4.1`` (the image-pooling
  branch's conv), ``classifier.0.project.0``. The output is bilinearly interpolated to the
  input size (align_corners=False). torchvision returns ``{"out": tensor}``; these return the
  tensor, so a forward pass has one output shape to compare.
- ``resnet50_gn``: timm/models/resnet.py's resnet50_gn, ResNet(Bottleneck, [3, 4, 6, 3],
  norm_layer=GroupNorm) with timm's GroupNorm(num_channels, num_groups=32, eps=1e-5,
  affine=True), a subclass of nn.GroupNorm; timm's module names: ``act1``, ``layer1.0.act3``,
  ``layer1.0.drop_block`` and ``layer1.0.aa`` (nn.Identity here), ``global_pool.pool``,
  ``global_pool.flatten``, ``fc``. The norms keep timm's (BatchNorm) names ``bn1``..``bn3``.
- ``cyclegan_generator``: ResnetGenerator of junyanz/pytorch-CycleGAN-and-pix2pix
  (models/networks.py), input_nc = output_nc = 3, ngf 64, n_blocks 9, padding_type "reflect",
  use_dropout False, norm "instance" = InstanceNorm2d(affine=False, track_running_stats=False),
  so every conv but the last has bias=True (use_bias); ``model.0`` ... ``model.27``, the
  residual blocks ``model.10`` ... ``model.18`` with ``conv_block.0`` ... ``conv_block.7``.
- ``espcn``: ESPCN x3 (Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
  Efficient Sub-Pixel Convolutional Neural Network", CVPR 2016, arXiv:1609.05158) as
  yjn870/ESPCN-pytorch writes it: ``first_part`` = conv 5x5 64 (padding 2), tanh, conv 3x3 32
  (padding 1), tanh; ``last_part`` = conv 3x3 to 1 * 3 * 3 channels (padding 1), PixelShuffle(3).
  On the luminance channel: 1x360x640 in (a 640x360 frame), 1x1080x1920 out.

Weights are left as torch.nn constructs them: the tests build on the meta device and only count
parameters and propagate shapes, so the originals' init loops are skipped.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- torchvision ResNet with dilation


class DilatedBottleneck(nn.Module):
    """torchvision's Bottleneck (v1.5) with its `dilation` argument: conv2 is a 3x3 conv with
    padding = dilation = `dilation`."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class DilatedResNet50Backbone(nn.Module):
    """torchvision's resnet50(replace_stride_with_dilation=[False, True, True]) up to layer4, as
    IntermediateLayerGetter keeps it (return_layers={"layer4": "out"})."""

    def __init__(self, replace_stride_with_dilation=(False, True, True)):
        super().__init__()
        self.inplanes, self.dilation = 64, 1
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, 2, replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(256, 6, 2, replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(512, 3, 2, replace_stride_with_dilation[2])

    def _make_layer(self, planes, blocks, stride=1, dilate=False):
        previous_dilation = self.dilation
        if dilate:  # torchvision: trade the stride for dilation from here on
            self.dilation *= stride
            stride = 1
        out = planes * 4
        downsample = None
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))
        layers = [DilatedBottleneck(self.inplanes, planes, stride, downsample, previous_dilation)]
        self.inplanes = out
        layers += [DilatedBottleneck(out, planes, dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


# ---------------------------------------------------------------- FCN and DeepLabV3 heads


class FCNHead(nn.Sequential):
    def __init__(self, in_channels, channels):
        inter_channels = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1),
        )


class ASPPConv(nn.Sequential):
    def __init__(self, in_channels, out_channels, dilation):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    def __init__(self, in_channels, out_channels):
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x):
        size = x.shape[-2:]
        for module in self:
            x = module(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    def __init__(self, in_channels, atrous_rates, out_channels=256):
        super().__init__()
        modules = [
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())
        ]
        modules += [ASPPConv(in_channels, out_channels, rate) for rate in atrous_rates]
        modules.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(
            nn.Conv2d(len(self.convs) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x):
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


class DeepLabHead(nn.Sequential):
    def __init__(self, in_channels, num_classes, atrous_rates=(12, 24, 36)):
        super().__init__(
            ASPP(in_channels, atrous_rates),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, num_classes, 1),
        )


class SimpleSegmentationModel(nn.Module):
    """torchvision's _SimpleSegmentationModel (FCN, DeepLabV3) without the auxiliary head:
    backbone, classifier, and a bilinear interpolation back to the input's size."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.backbone = DilatedResNet50Backbone()
        self.classifier = classifier

    def forward(self, x):
        out = self.classifier(self.backbone(x))
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)


def fcn_resnet50(num_classes: int = 21) -> nn.Module:
    return SimpleSegmentationModel(FCNHead(2048, num_classes))


def deeplabv3_resnet50(num_classes: int = 21) -> nn.Module:
    return SimpleSegmentationModel(DeepLabHead(2048, num_classes))


# ---------------------------------------------------------------- timm ResNet-50 with GroupNorm


class GroupNorm(nn.GroupNorm):
    """timm.layers.GroupNorm: the channels first, so it can stand where a BatchNorm2d does."""

    def __init__(self, num_channels, num_groups=32, eps=1e-5, affine=True):
        super().__init__(num_groups, num_channels, eps=eps, affine=affine)


class TimmBottleneck(nn.Module):
    """timm's Bottleneck with its defaults (no attention, anti-aliasing, drop block or drop path)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, norm_layer=GroupNorm):
        super().__init__()
        outplanes = planes * 4
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = norm_layer(planes)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = norm_layer(planes)
        self.drop_block = nn.Identity()
        self.act2 = nn.ReLU(inplace=True)
        self.aa = nn.Identity()
        self.conv3 = nn.Conv2d(planes, outplanes, kernel_size=1, bias=False)
        self.bn3 = norm_layer(outplanes)
        self.act3 = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.aa(self.act2(self.drop_block(self.bn2(self.conv2(x)))))
        x = self.bn3(self.conv3(x))
        if self.downsample is not None:
            shortcut = self.downsample(shortcut)
        x += shortcut
        return self.act3(x)


class SelectAdaptivePool2d(nn.Module):
    """timm's SelectAdaptivePool2d(pool_type="avg", flatten=True)."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)

    def forward(self, x):
        return self.flatten(self.pool(x))


class TimmResNet(nn.Module):
    """timm's ResNet with the default ("b") stem and downsample, drop_rate 0."""

    def __init__(self, layers=(3, 4, 6, 3), num_classes=1000, norm_layer=GroupNorm):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(64)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = 64
        for index, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if index == 0 else 2
            downsample = None
            if stride != 1 or inplanes != planes * 4:
                downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes * 4, 1, stride=stride, padding=0, bias=False), norm_layer(planes * 4)
                )
            stage = [TimmBottleneck(inplanes, planes, stride, downsample, norm_layer)]
            inplanes = planes * 4
            stage += [TimmBottleneck(inplanes, planes, norm_layer=norm_layer) for _ in range(1, blocks)]
            self.add_module(f"layer{index + 1}", nn.Sequential(*stage))
        self.global_pool = SelectAdaptivePool2d()
        self.fc = nn.Linear(512 * 4, num_classes)

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.global_pool(x))


# ---------------------------------------------------------------- CycleGAN's ResNet generator


def _instance_norm(channels: int) -> nn.InstanceNorm2d:
    """get_norm_layer("instance"): functools.partial(nn.InstanceNorm2d, affine=False,
    track_running_stats=False)."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """ResnetBlock(dim, padding_type="reflect", use_dropout=False, use_bias=True)."""

    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
            _instance_norm(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
            _instance_norm(dim),
        )

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc=3, output_nc=3, ngf=64, n_blocks=9):
        super().__init__()
        model = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=True),
            _instance_norm(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):  # downsampling
            mult = 2**i
            model += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=True),
                _instance_norm(ngf * mult * 2),
                nn.ReLU(True),
            ]
        model += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for i in range(2):  # upsampling
            mult = 2 ** (2 - i)
            model += [
                nn.ConvTranspose2d(
                    ngf * mult, ngf * mult // 2, kernel_size=3, stride=2, padding=1, output_padding=1, bias=True
                ),
                _instance_norm(ngf * mult // 2),
                nn.ReLU(True),
            ]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


# ---------------------------------------------------------------- ESPCN


class ESPCN(nn.Module):
    def __init__(self, scale_factor=3, num_channels=1):
        super().__init__()
        self.first_part = nn.Sequential(
            nn.Conv2d(num_channels, 64, kernel_size=5, padding=2),
            nn.Tanh(),
            nn.Conv2d(64, 32, kernel_size=3, padding=1),
            nn.Tanh(),
        )
        self.last_part = nn.Sequential(
            nn.Conv2d(32, num_channels * scale_factor**2, kernel_size=3, padding=1),
            nn.PixelShuffle(scale_factor),
        )

    def forward(self, x):
        return self.last_part(self.first_part(x))


# ---------------------------------------------------------------- the table the tests read

MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "fcn_resnet50": (fcn_resnet50, (3, 520, 520)),
    "deeplabv3_resnet50": (deeplabv3_resnet50, (3, 520, 520)),
    "resnet50_gn": (TimmResNet, (3, 224, 224)),
    "cyclegan_generator": (ResnetGenerator, (3, 256, 256)),
    "espcn": (ESPCN, (1, 360, 640)),
}

# what each model returns, without the batch (the tests check it)
OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "fcn_resnet50": (21, 520, 520),
    "deeplabv3_resnet50": (21, 520, 520),
    "resnet50_gn": (1000,),
    "cyclegan_generator": (3, 256, 256),
    "espcn": (1, 1080, 1920),
}
