"""Week 2: a small decoder-only Transformer over pixel sequences.

The same recipe as a language model: the image, read in raster order, is a
sequence of D binary tokens; the input is that sequence shifted right by one
(a learned start token in front), and causal self-attention lets position i
attend only to positions <= i of the shifted input, that is, to pixels < i.

Tokens are embedded linearly, e(x) = x * e_1 + (1 - x) * e_0, which is the
same as a lookup table for x in {0, 1} but differentiable in x, so the
autoregressive property can be checked through gradients like every other model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from ...nn.attention import Block
from ..registry import binary_example, register
from .base import AutoregressiveModel


@dataclass
class TransformerConfig:
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads per block
    n_embd: int = 128  # embedding width (divisible by n_head)
    dropout: float = 0.0  # on attention weights and residual branches


class PixelTransformer(AutoregressiveModel):
    """Decoder-only Transformer over the D pixels of a binary image, in raster order."""

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), config: TransformerConfig | None = None):
        super().__init__(event_shape)
        self.config = config = config or TransformerConfig()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd={config.n_embd} must be divisible by n_head={config.n_head}")
        d, c = self.num_dims, config.n_embd
        self.embed_zero = nn.Parameter(0.02 * torch.randn(c))
        self.embed_one = nn.Parameter(0.02 * torch.randn(c))
        self.start = nn.Parameter(0.02 * torch.randn(c))  # the token before the first pixel
        self.position = nn.Parameter(0.02 * torch.randn(d, c))
        self.blocks = nn.ModuleList(Block(c, config.n_head, config.dropout) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(c)
        self.head = nn.Linear(c, 1)

    def conditional_logits(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        tokens = x[:, :-1, None] * self.embed_one + (1 - x[:, :-1, None]) * self.embed_zero
        h = torch.cat([self.start.expand(b, 1, -1), tokens], dim=1) + self.position  # shifted right
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln_f(h)).squeeze(-1)  # (B, D)


register("pixel_transformer", example=binary_example((1, 3, 3)),
         build=lambda: PixelTransformer((1, 3, 3), TransformerConfig(n_layer=2, n_head=2, n_embd=16)))
