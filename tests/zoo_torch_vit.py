"""A hand-written torch.nn twin of torchvision's vit_b_16 (issue 12, "the wider CNN world").

torchvision is not installable next to the test torch build, so this rebuilds
torchvision/models/vision_transformer.py's VisionTransformer from torch.nn alone (Dosovitskiy
et al., "An Image is Worth 16x16 Words", ICLR 2021): image 3x224x224, patch 16, hidden 768,
12 layers, 12 heads, MLP 3072, LayerNorm eps 1e-6, 1000 classes, dropout 0 -- with the same
layers and module paths (``named_modules()`` / ``named_parameters()`` names) as torchvision:
``conv_proj``, ``class_token`` (a parameter of the model itself), ``encoder.pos_embedding`` (a
parameter of ``encoder``), ``encoder.dropout``, ``encoder.layers.encoder_layer_0.ln_1``,
``.self_attention`` (an ``nn.MultiheadAttention``, batch_first), ``.dropout``, ``.ln_2``,
``.mlp.0`` ... ``.mlp.4`` (torchvision.ops.MLP: Linear, GELU, Dropout, Linear, Dropout),
``encoder.ln`` and ``heads.head``. 86,567,656 parameters, torchvision's num_params.

Weights are left as torch.nn constructs them (the parameters as torch.zeros / torch.empty):
the tests build on the meta device and only count parameters and propagate shapes, so
torchvision's init (the position embedding's normal start, the head's zeros) is skipped.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Callable

import torch
from torch import nn


class MLPBlock(nn.Sequential):
    """torchvision's MLPBlock (torchvision.ops.MLP): mlp.0 ... mlp.4."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float):
        super().__init__(
            nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, in_dim), nn.Dropout(dropout)
        )


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attention(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(self, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer):
        super().__init__()
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x)
        x = x + input
        y = self.ln_2(x)
        y = self.mlp(y)
        return x + y


class Encoder(nn.Module):
    """The position embedding (a parameter of the encoder), dropout, the blocks, a final norm."""

    def __init__(self, seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim))
        self.dropout = nn.Dropout(dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        for i in range(num_layers):
            layers[f"encoder_layer_{i}"] = EncoderBlock(
                num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer
            )
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        input = input + self.pos_embedding
        return self.ln(self.layers(self.dropout(input)))


class VisionTransformer(nn.Module):
    """torchvision's VisionTransformer, without representation_size (no pre_logits) or conv stem."""

    def __init__(
        self, image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim,
        dropout=0.0, attention_dropout=0.0, num_classes=1000,
    ):  # fmt: skip
        super().__init__()
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1  # the patches and the class token
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = Encoder(
            seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer
        )
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(hidden_dim, num_classes)))

    def _process_input(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        x = self.conv_proj(x)  # [n, hidden, h / p, w / p]
        x = x.reshape(n, self.hidden_dim, (h // self.patch_size) * (w // self.patch_size))
        return x.permute(0, 2, 1)  # [n, seq, hidden]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._process_input(x)
        batch_class_token = self.class_token.expand(x.shape[0], -1, -1)
        x = torch.cat([batch_class_token, x], dim=1)
        x = self.encoder(x)
        x = x[:, 0]  # the class token
        return self.heads(x)


def vit_b_16() -> VisionTransformer:
    return VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072)


# name -> (builder, input shape without the batch)
MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "vit_b_16": (vit_b_16, (3, 224, 224)),
}

# name -> the shape the model returns, without the batch
OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {"vit_b_16": (1000,)}
