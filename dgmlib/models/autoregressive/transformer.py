"""Week 2: a small decoder-only Transformer over pixel sequences.

The same recipe as a language model: the image, read in raster order, is a
sequence of D binary tokens; the input is that sequence shifted right by one
(a learned start token in front), and causal self-attention lets position i
attend only to positions <= i of the shifted input, that is, to pixels < i.

Tokens are embedded linearly, e(x) = x * e_1 + (1 - x) * e_0, which is the
same as a lookup table for x in {0, 1} but differentiable in x, so the
autoregressive property can be checked through gradients like every other model.

Sampling keeps a **key/value cache**: the keys and values of positions < t do not change
when pixel t is drawn, so step t runs the network on one new position (attending to the
cached ones) instead of on all D: O(D) positions per sample instead of O(D^2), with the
same logits and, under the same seed, the same samples (``sample(n, cache=False)`` recomputes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
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

    has_cache = True

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

    def embed(self, x: Tensor) -> Tensor:
        """x: (B, D) -> (B, D, C): position t holds the embedding of pixel t - 1 (the start token at t = 0)."""
        b = x.shape[0]
        tokens = x[:, :-1, None] * self.embed_one + (1 - x[:, :-1, None]) * self.embed_zero
        return torch.cat([self.start.expand(b, 1, -1), tokens], dim=1) + self.position  # shifted right

    def conditional_logits(self, x: Tensor) -> Tensor:
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln_f(h)).squeeze(-1)  # (B, D)

    def cached_logits(self, x: Tensor, start: int, stop: int, cache: list[tuple[Tensor, Tensor]]) -> Tensor:
        """Logits of positions start..stop-1 (B, stop - start), reusing the keys and values of positions < start.

        cache: one (keys, values) pair per block, each (B, n_head, start, C / n_head), extended in place
        of the list to stop positions. The same arithmetic as ``conditional_logits`` (the blocks'
        own layers, applied to the new positions only), so the logits agree up to rounding.
        """
        b, c = x.shape[0], self.config.n_embd
        h = self.embed(x)[:, start:stop]  # (B, T, C): the new positions
        t, n_head = stop - start, self.config.n_head
        # query start + j may attend to keys 0 .. start + j: the causal mask, offset by the cached positions
        allowed = torch.arange(stop, device=x.device)[None, :] <= torch.arange(start, stop, device=x.device)[:, None]
        for k, block in enumerate(self.blocks):
            q, key, value = block.attn.qkv(block.ln1(h)).split(c, dim=2)
            q, key, value = (z.view(b, t, n_head, c // n_head).transpose(1, 2) for z in (q, key, value))
            if start:
                key, value = torch.cat([cache[k][0], key], dim=2), torch.cat([cache[k][1], value], dim=2)
            if k < len(cache):
                cache[k] = (key, value)
            else:
                cache.append((key, value))
            y = F.scaled_dot_product_attention(q, key, value, attn_mask=allowed,
                                               dropout_p=block.attn.dropout if self.training else 0.0)
            h = h + block.drop(block.attn.proj(y.transpose(1, 2).reshape(b, t, c)))
            h = h + block.drop(block.mlp(block.ln2(h)))
        return self.head(self.ln_f(h)).squeeze(-1)

    def _sampler(self, n: int, y: Tensor | None, cache: bool) -> Callable[[Tensor, int], Tensor]:
        if not cache:
            return super()._sampler(n, y, cache)
        kv: list[tuple[Tensor, Tensor]] = []
        done = 0  # positions whose keys and values are in the cache

        def step(x: Tensor, i: int) -> Tensor:
            # raster order: pixel i's logit sits at position i; positions done..i are new (several at once
            # after a completion's given prefix, one per step afterwards)
            nonlocal done
            logits = self.cached_logits(x, done, i + 1, kv)[:, -1]
            done = i + 1
            return logits

        return step


register("pixel_transformer", example=binary_example((1, 3, 3)),
         build=lambda: PixelTransformer((1, 3, 3), TransformerConfig(n_layer=2, n_head=2, n_embd=16)))
