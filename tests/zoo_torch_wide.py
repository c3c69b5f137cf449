"""Hand-written torch.nn twins of 1-D, 3-D and generative networks (issue 12, "the wider CNN world").

torchvision and torchaudio are not installable next to the test torch build, so these rebuild
their models from torch.nn alone, with the same layers, hyper-parameters and -- what the
layer-by-layer comparisons rely on -- the same module paths (``named_modules()`` /
``named_parameters()`` names) as the originals:

- ``r3d_18``, ``mc3_18``, ``r2plus1d_18``: torchvision/models/video/resnet.py (VideoResNet with
  BasicBlock; Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action
  Recognition", CVPR 2018), 400 Kinetics classes, input 3x16x112x112. Paths such as
  ``stem.0``, ``layer2.0.conv1.0`` (a Conv3d, or in R(2+1)D a Sequential whose ``.0`` and
  ``.3`` are the spatial and temporal convs), ``layer2.0.downsample.0``.
- ``m5``: the M5 of torchaudio's speech-command tutorial (Dai et al., "Very Deep Convolutional
  Neural Networks for Raw Waveforms", ICASSP 2017), n_input 1, n_output 35, stride 16,
  n_channel 32, input 1x8000. Its forward ends with ``F.avg_pool1d`` over the whole
  remaining length, a permute to [batch, 1, channels], ``fc1`` and ``log_softmax`` over dim 2,
  so it returns [batch, 1, 35].
- ``dcgan_generator``, ``dcgan_discriminator``: the PyTorch DCGAN tutorial (Radford et al.,
  arXiv:1511.06434) with nz 100, ngf = ndf = 64, nc 3: ``main.0`` ... ``main.13`` / ``main.12``.
- ``unet3d``: cnncalc's own small 3-D U-Net (see UNet3d), not a published model.

Weights are left as torch.nn constructs them: the tests build on the meta device and only count
parameters and propagate shapes, so the originals' init loops are skipped.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------- torchvision video ResNets


class Conv3DSimple(nn.Conv3d):
    """A full 3x3x3 convolution (R3D, and MC3's first stage)."""

    def __init__(self, in_planes, out_planes, midplanes=None, stride=1, padding=1):
        super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride, padding=padding, bias=False)

    @staticmethod
    def get_downsample_stride(stride):
        return stride, stride, stride


class Conv2Plus1D(nn.Sequential):
    """A 1x3x3 spatial convolution to `midplanes`, batch norm, ReLU, then a 3x1x1 temporal one."""

    def __init__(self, in_planes, out_planes, midplanes, stride=1, padding=1):
        super().__init__(
            nn.Conv3d(
                in_planes,
                midplanes,
                kernel_size=(1, 3, 3),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                bias=False,
            ),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(
                midplanes,
                out_planes,
                kernel_size=(3, 1, 1),
                stride=(stride, 1, 1),
                padding=(padding, 0, 0),
                bias=False,
            ),
        )

    @staticmethod
    def get_downsample_stride(stride):
        return stride, stride, stride


class Conv3DNoTemporal(nn.Conv3d):
    """A 1x3x3 convolution: spatial only (MC3's later stages)."""

    def __init__(self, in_planes, out_planes, midplanes=None, stride=1, padding=1):
        super().__init__(
            in_planes,
            out_planes,
            kernel_size=(1, 3, 3),
            stride=(1, stride, stride),
            padding=(0, padding, padding),
            bias=False,
        )

    @staticmethod
    def get_downsample_stride(stride):
        return 1, stride, stride


class VideoBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, conv_builder, stride=1, downsample=None):
        # R(2+1)D's mid width, chosen to match a 3x3x3 conv's parameters; both convs of the
        # block use the one computed from the block's input and output widths
        midplanes = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
        super().__init__()
        self.conv1 = nn.Sequential(
            conv_builder(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
        )
        self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv2(self.conv1(x))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


class BasicStem(nn.Sequential):
    """R3D and MC3: a 3x7x7 conv, stride (1, 2, 2), batch norm, ReLU."""

    def __init__(self):
        super().__init__(
            nn.Conv3d(3, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class R2Plus1dStem(nn.Sequential):
    """R(2+1)D: a 1x7x7 spatial conv to 45 channels, then a 3x1x1 temporal one to 64."""

    def __init__(self):
        super().__init__(
            nn.Conv3d(3, 45, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(45),
            nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class VideoResNet(nn.Module):
    def __init__(self, conv_makers, layers, stem, num_classes=400):
        super().__init__()
        self.inplanes = 64
        self.stem = stem()
        self.layer1 = self._make_layer(conv_makers[0], 64, layers[0], stride=1)
        self.layer2 = self._make_layer(conv_makers[1], 128, layers[1], stride=2)
        self.layer3 = self._make_layer(conv_makers[2], 256, layers[2], stride=2)
        self.layer4 = self._make_layer(conv_makers[3], 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(512 * VideoBasicBlock.expansion, num_classes)

    def _make_layer(self, conv_builder, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv3d(
                    self.inplanes, planes, kernel_size=1, stride=conv_builder.get_downsample_stride(stride), bias=False
                ),
                nn.BatchNorm3d(planes),
            )
        layers = [VideoBasicBlock(self.inplanes, planes, conv_builder, stride, downsample)]
        self.inplanes = planes
        layers += [VideoBasicBlock(planes, planes, conv_builder) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(self.avgpool(x).flatten(1))


def r3d_18() -> VideoResNet:
    return VideoResNet([Conv3DSimple] * 4, [2, 2, 2, 2], BasicStem)


def mc3_18() -> VideoResNet:
    return VideoResNet([Conv3DSimple] + [Conv3DNoTemporal] * 3, [2, 2, 2, 2], BasicStem)


def r2plus1d_18() -> VideoResNet:
    return VideoResNet([Conv2Plus1D] * 4, [2, 2, 2, 2], R2Plus1dStem)


# ---------------------------------------------------------------- torchaudio tutorial's M5


class M5(nn.Module):
    def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32):
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=stride)
        self.bn1 = nn.BatchNorm1d(n_channel)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2 = nn.BatchNorm1d(n_channel)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3 = nn.BatchNorm1d(2 * n_channel)
        self.pool3 = nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(2 * n_channel, 2 * n_channel, kernel_size=3)
        self.bn4 = nn.BatchNorm1d(2 * n_channel)
        self.pool4 = nn.MaxPool1d(4)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x):
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))
        x = self.pool2(F.relu(self.bn2(self.conv2(x))))
        x = self.pool3(F.relu(self.bn3(self.conv3(x))))
        x = self.pool4(F.relu(self.bn4(self.conv4(x))))
        x = F.avg_pool1d(x, x.shape[-1])
        x = x.permute(0, 2, 1)
        x = self.fc1(x)
        return F.log_softmax(x, dim=2)


# ---------------------------------------------------------------- PyTorch's DCGAN tutorial


class DCGANGenerator(nn.Module):
    """nz -> 4x4 -> 8x8 -> 16x16 -> 32x32 -> nc x 64 x 64, transposed convs without bias."""

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


class DCGANDiscriminator(nn.Module):
    """nc x 64 x 64 -> 32x32 -> 16x16 -> 8x8 -> 4x4 -> 1x1, a probability."""

    def __init__(self, ndf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x)


# ---------------------------------------------------------------- cnncalc's small 3-D U-Net


class DoubleConv3d(nn.Sequential):
    """(3x3x3 conv, padding 1, no bias - batch norm - ReLU) twice: in -> mid -> out."""

    def __init__(self, in_channels, mid_channels, out_channels):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv3d(in_channels, mid_channels, 3, padding=1, bias=False),
            nn.BatchNorm3d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm3d(out_channels),
            nn.ReLU(inplace=True),
        )


class Down3d(nn.Sequential):
    def __init__(self, in_channels, mid_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool3d(2), DoubleConv3d(in_channels, mid_channels, out_channels))


class Up3d(nn.Module):
    def __init__(self, in_channels, skip_channels, out_channels):
        super().__init__()
        self.up = nn.ConvTranspose3d(in_channels, in_channels, 2, stride=2)
        self.conv = DoubleConv3d(in_channels + skip_channels, out_channels, out_channels)

    def forward(self, x, skip):
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet3d(nn.Module):
    """cnncalc's own small 3-D U-Net, after Cicek et al., "3D U-Net: Learning Dense Volumetric
    Segmentation from Sparse Annotation", MICCAI 2016 (arXiv:1606.06650), scaled down.

    Three levels (two 2x2x2 max-pool steps) instead of four, a quarter of the widths, and
    padded convolutions (output size = input size), on a 1x32x64x64 volume:

    - ``inc``: 1 -> 8 -> 16 channels, at 32x64x64 (each ``double_conv``: two 3x3x3 convs with
      padding 1 and no bias, each followed by batch norm and ReLU; as in Cicek et al., the
      analysis path's first conv of a level has half the channels of its second);
    - ``down1``: 2x2x2 max pool, 16 -> 16 -> 32, at 16x32x32;
    - ``down2`` (the bottom): 2x2x2 max pool, 32 -> 32 -> 64, at 8x16x16;
    - ``up1``: a 2x2x2 stride-2 transposed conv keeping 64 channels (with bias), concatenated
      after the skip ``down1`` (32 + 64 = 96), then 96 -> 32 -> 32, at 16x32x32;
    - ``up2``: the same, 32 channels up, after ``inc`` (16 + 32 = 48), 48 -> 16 -> 16, at 32x64x64;
    - ``outc``: a 1x1x1 conv (with bias) to 3 classes, as in the paper.

    Module paths follow the 2-D U-Net's (milesial/Pytorch-UNet): ``down1.maxpool_conv.1.double_conv.0``,
    ``up1.up``, ``up1.conv.double_conv.3``, ``outc.conv``.
    """

    def __init__(self, in_channels=1, n_classes=3):
        super().__init__()
        self.inc = DoubleConv3d(in_channels, 8, 16)
        self.down1 = Down3d(16, 16, 32)
        self.down2 = Down3d(32, 32, 64)
        self.up1 = Up3d(64, 32, 32)
        self.up2 = Up3d(32, 16, 16)
        self.outc = nn.Sequential()
        self.outc.add_module("conv", nn.Conv3d(16, n_classes, 1))

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        return self.outc(self.up2(self.up1(x3, x2), x1))


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "r3d_18": (r3d_18, (3, 16, 112, 112)),
    "mc3_18": (mc3_18, (3, 16, 112, 112)),
    "r2plus1d_18": (r2plus1d_18, (3, 16, 112, 112)),
    "m5": (M5, (1, 8000)),
    "dcgan_generator": (DCGANGenerator, (100, 1, 1)),
    "dcgan_discriminator": (DCGANDiscriminator, (3, 64, 64)),
    "unet3d": (UNet3d, (1, 32, 64, 64)),
}

# What each model returns for one sample, for the forward test.
OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "r3d_18": (400,),
    "mc3_18": (400,),
    "r2plus1d_18": (400,),
    "m5": (1, 35),
    "dcgan_generator": (3, 64, 64),
    "dcgan_discriminator": (1, 1, 1),
    "unet3d": (3, 32, 64, 64),
}
