"""Multi-scale architectures for images (RealNVP, Glow): squeeze, transform, factor half out, repeat.

After each scale half of the channels are *factored out*: they are final latent coordinates, and the
rest of the flow works on the other half only, at a quarter of the resolution. Every image dimension
ends in z (D in, D out), but the deep layers are cheap, and the early-out coordinates model local
detail. :class:`FactorOut` outputs flat (B, D) codes so that scales nest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from .base import CompositeTransform, Transform
from .coupling import AffineCoupling, Squeeze, channel_mask, checkerboard_mask, conv_conditioner
from .glow import glow_step


class FactorOut(Transform):
    """Apply ``first``; keep the first half of its channels for ``rest``; output flat codes (B, D).

    mid_shape: the shape (C, H, W) that ``first`` produces. ``rest`` maps (B, C // 2, H, W) either to
    flat codes (another FactorOut) or to the same shape (the last scale).
    """

    def __init__(self, first: Transform, rest: Transform, mid_shape: Sequence[int]):
        super().__init__()
        self.first, self.rest = first, rest
        self.mid_shape = tuple(mid_shape)
        self.keep = self.mid_shape[0] // 2
        if self.keep < 1:
            raise ValueError(f"FactorOut needs at least 2 channels after the first transform, got {mid_shape}")

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        y, log_det = self.first(x)
        kept, out = y[:, : self.keep], y[:, self.keep:]
        z_rest, log_det_rest = self.rest(kept)
        return torch.cat([out.flatten(1), z_rest.flatten(1)], dim=1), log_det + log_det_rest

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        c, h, w = self.mid_shape
        n_out = (c - self.keep) * h * w
        out = z[:, :n_out].view(-1, c - self.keep, h, w)
        rest_in = z[:, n_out:]
        if not isinstance(self.rest, FactorOut):
            rest_in = rest_in.reshape(-1, self.keep, h, w)
        kept, log_det_rest = self.rest.inverse(rest_in)
        x, log_det = self.first.inverse(torch.cat([kept, out], dim=1))
        return x, log_det + log_det_rest


@dataclass
class MultiscaleConfig:
    kind: str = "realnvp"  # "realnvp": checkerboard then channel couplings; "glow": actnorm/1x1 conv/coupling steps
    n_scales: int = 2  # squeezes (28x28 -> 14x14 -> 7x7 for MNIST)
    steps: int = 4  # coupling layers (RealNVP) or steps of flow (Glow) per scale
    hidden: int = 64  # channels of the coupling networks
    seed: int = 0  # seeds the 1x1 convolutions' initial rotations


def multiscale_transform(event_shape: Sequence[int], config: MultiscaleConfig) -> Transform:
    """The RealNVP or Glow transform for images (C, H, W) whose sides halve ``n_scales`` times."""
    if config.kind not in ("realnvp", "glow"):
        raise ValueError(f"kind must be 'realnvp' or 'glow', got {config.kind!r}")
    generator = torch.Generator().manual_seed(config.seed)
    return _scale(tuple(event_shape), config, config.n_scales, generator)


def _checkerboards(c: int, h: int, w: int, n: int, hidden: int) -> list[Transform]:
    return [AffineCoupling(checkerboard_mask(h, w, k % 2), conv_conditioner(c, hidden, 2)) for k in range(n)]


def _scale(shape: tuple[int, int, int], config: MultiscaleConfig, scales_left: int,
           generator: torch.Generator) -> Transform:
    c, h, w = shape
    if scales_left == 0:  # the last scale: no squeeze, no split
        if config.kind == "realnvp" or c < 2:
            return CompositeTransform(_checkerboards(c, h, w, config.steps, config.hidden))
        return CompositeTransform([glow_step(c, config.hidden, generator) for _ in range(config.steps)])
    if h % 2 or w % 2:
        raise ValueError(f"{config.n_scales} squeezes need sides divisible by 2^{config.n_scales}; "
                         f"got {h}x{w} at a scale that must still halve")
    c2, h2, w2 = 4 * c, h // 2, w // 2
    if config.kind == "realnvp":
        layers = _checkerboards(c, h, w, max(config.steps - 1, 1), config.hidden) + [Squeeze()]
        layers += [AffineCoupling(channel_mask(c2, k % 2), conv_conditioner(c2, config.hidden, 2))
                   for k in range(config.steps - 1)]
    else:
        layers = [Squeeze()] + [glow_step(c2, config.hidden, generator) for _ in range(config.steps)]
    rest = _scale((c2 // 2, h2, w2), config, scales_left - 1, generator)
    return FactorOut(CompositeTransform(layers), rest, (c2, h2, w2))


__all__ = ["FactorOut", "MultiscaleConfig", "multiscale_transform"]
