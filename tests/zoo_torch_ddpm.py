"""A hand-written torch.nn twin of DDPM's CIFAR-10 UNet (issue 12, "the wider CNN world").

Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020 (arXiv:2006.11239),
hojonathanho/diffusion's TensorFlow model as its PyTorch ports write it (pesser/pytorch_diffusion's
``Model``, ermongroup/ddim's ``models/diffusion.py``), with the CIFAR-10 configuration: ch 128,
ch_mult (1, 2, 2, 2), num_res_blocks 2, attn_resolutions (16,), dropout 0.1, resamp_with_conv,
in and out channels 3, resolution 32. GroupNorm(32, eps 1e-6), swish (x * sigmoid(x), SiLU),
temb_ch = 4 * ch = 512. The module paths are the ports' (so their checkpoints' state_dict keys):
``temb.dense.0``, ``down.1.block.0.norm1``, ``down.1.attn.0.q``, ``down.0.downsample.conv``,
``mid.attn_1.proj_out``, ``up.3.upsample.conv``, ``norm_out``, ``conv_out``.

One difference from the ports, in the interface only: ``forward(x, temb)`` takes the sinusoidal
embedding of the timestep ([B, 128], ``timestep_embedding(t, 128)``), which has no parameters,
instead of t, as architectures/ddpm_unet.yaml takes it as its second input.

Weights are left as torch.nn constructs them: the tests build on the meta device.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """DDPM's sinusoidal embedding of the timesteps t [B]: [B, dim], sines then cosines."""
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * -(math.log(10000) / (half - 1)))
    angles = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, channels, eps=1e-6)


class ResnetBlock(nn.Module):
    """norm1, swish, conv1, + temb_proj(swish(temb)) per channel, norm2, swish, dropout, conv2;
    the input (through a 1x1 nin_shortcut when the width changes) added."""

    def __init__(self, cin: int, cout: int, temb_ch: int, dropout: float):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb_proj = nn.Linear(temb_ch, cout)
        self.norm2 = group_norm(cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb):
        h = self.conv1(swish(self.norm1(x)))
        h = h + self.temb_proj(swish(temb))[:, :, None, None]
        h = self.conv2(self.dropout(swish(self.norm2(h))))
        shortcut = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return shortcut + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the pixels: q, k, v and proj_out are 1x1 convs,
    weights softmax(q^T k / sqrt(C)) over the keys, the input added."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        h = self.norm(x)
        b, c, height, width = h.shape
        q = self.q(h).reshape(b, c, height * width).permute(0, 2, 1)  # [B, HW, C]
        k = self.k(h).reshape(b, c, height * width)  # [B, C, HW]
        weights = torch.softmax(torch.bmm(q, k) * (int(c) ** -0.5), dim=2)  # [B, HW (queries), HW (keys)]
        v = self.v(h).reshape(b, c, height * width)
        out = torch.bmm(v, weights.permute(0, 2, 1)).reshape(b, c, height, width)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """TensorFlow's SAME padding of a stride-2 3x3 conv: one zero row and column after."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _level(blocks: list, attns: list, resample: nn.Module | None, name: str) -> nn.Module:
    level = nn.Module()
    level.block, level.attn = nn.ModuleList(blocks), nn.ModuleList(attns)
    if resample is not None:
        setattr(level, name, resample)
    return level


class DDPMUNet(nn.Module):
    def __init__(self, ch=128, out_ch=3, ch_mult=(1, 2, 2, 2), num_res_blocks=2, attn_resolutions=(16,),
                 dropout=0.1, in_channels=3, resolution=32):  # fmt: skip
        super().__init__()
        self.num_res_blocks, temb_ch = num_res_blocks, 4 * ch
        self.temb = nn.Module()
        self.temb.dense = nn.ModuleList([nn.Linear(ch, temb_ch), nn.Linear(temb_ch, temb_ch)])
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)
        widths, res, cin = [ch], resolution, ch  # widths: what each skip connection carries
        self.down = nn.ModuleList()
        for i, mult in enumerate(ch_mult):
            blocks, attns = [], []
            for _ in range(num_res_blocks):
                blocks.append(ResnetBlock(cin, ch * mult, temb_ch, dropout))
                cin = ch * mult
                if res in attn_resolutions:
                    attns.append(AttnBlock(cin))
                widths.append(cin)
            last = i == len(ch_mult) - 1
            self.down.append(_level(blocks, attns, None if last else Downsample(cin), "downsample"))
            if not last:
                res //= 2
                widths.append(cin)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(cin, cin, temb_ch, dropout)
        self.mid.attn_1 = AttnBlock(cin)
        self.mid.block_2 = ResnetBlock(cin, cin, temb_ch, dropout)
        levels = []
        for i, mult in reversed(list(enumerate(ch_mult))):
            blocks, attns = [], []
            for _ in range(num_res_blocks + 1):
                blocks.append(ResnetBlock(cin + widths.pop(), ch * mult, temb_ch, dropout))
                cin = ch * mult
                if res in attn_resolutions:
                    attns.append(AttnBlock(cin))
            levels.insert(0, _level(blocks, attns, Upsample(cin) if i else None, "upsample"))
            res = res * 2 if i else res
        self.up = nn.ModuleList(levels)
        self.norm_out = group_norm(cin)
        self.conv_out = nn.Conv2d(cin, out_ch, 3, padding=1)

    def forward(self, x, temb):
        temb = self.temb.dense[1](swish(self.temb.dense[0](temb)))
        hs = [self.conv_in(x)]
        for level in self.down:
            for j, block in enumerate(level.block):
                h = block(hs[-1], temb)
                hs.append(level.attn[j](h) if len(level.attn) else h)
            if hasattr(level, "downsample"):
                hs.append(level.downsample(hs[-1]))
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(hs[-1], temb)), temb)
        for level in reversed(self.up):
            for j, block in enumerate(level.block):
                h = block(torch.cat([h, hs.pop()], dim=1), temb)
                h = level.attn[j](h) if len(level.attn) else h
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


def spec_name(path: str) -> str:
    """The name architectures/ddpm_unet.yaml gives the module at `path`: the same, except that the
    levels' lists are joined into one name (down.1.block.0.norm1 -> down_1_block_0.norm1,
    up.3.upsample.conv -> up_3_upsample.conv), as a spec's groups have one output each (see the
    spec's header)."""
    parts = path.split(".")
    if parts[0] in ("down", "up") and len(parts) >= 3:
        joined = 4 if parts[2] in ("block", "attn") else 3
        return ".".join(["_".join(parts[:joined]), *parts[joined:]])
    return path


MODELS: dict[str, tuple[Callable[[], nn.Module], dict[str, tuple[int, ...]]]] = {
    "ddpm_unet": (DDPMUNet, {"x": (3, 32, 32), "t_emb": (128,)}),
}

# name -> the shape the model returns, without the batch
OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {"ddpm_unet": (3, 32, 32)}
