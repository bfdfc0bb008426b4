"""Networks that take a noise level or time t (and optionally a class): for score, noise and velocity models.

* :func:`sinusoidal_embedding`: t -> [sin(t w_k), cos(t w_k)] with geometric frequencies (Vaswani et al.; Ho et al.).
* :class:`TimeMLP`: an MLP on (x, t) for 2-D data.
* :class:`UNet`: a small U-Net for 28x28 images (two downsamplings, residual blocks that add the time and
  class embeddings, a self-attention-free bottleneck), the backbone of week 8's image models.

Class conditioning has ``num_classes + 1`` embeddings: the last is the "no label" token that
classifier-free guidance trains with (labels of -1 select it).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sinusoidal_embedding(t: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """Embed times t (B,) (any real values, e.g. 0..1000) as (B, dim): sines and cosines of t times dim / 2
    frequencies from 1 down to 1 / max_period."""
    if dim % 2:
        raise ValueError(f"the embedding dimension must be even, got {dim}")
    half = dim // 2
    dtype = t.dtype if t.is_floating_point() else torch.get_default_dtype()
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=dtype) / half)
    angles = t.to(dtype)[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class ConditionEmbedding(nn.Module):
    """Time (and optional class) -> one vector (B, dim) that every block of the network adds."""

    def __init__(self, dim: int, num_classes: int | None = None, time_scale: float = 1.0):
        super().__init__()
        self.dim, self.time_scale = dim, time_scale
        self.time = nn.Sequential(nn.Linear(dim, 4 * dim), nn.SiLU(), nn.Linear(4 * dim, dim))
        self.num_classes = num_classes
        self.label = None if num_classes is None else nn.Embedding(num_classes + 1, dim)  # + the null token

    def forward(self, t: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.time(sinusoidal_embedding(t * self.time_scale, self.dim))
        if self.label is not None:
            if y is None:
                y = torch.full((len(t),), -1, dtype=torch.long, device=t.device)
            h = h + self.label(torch.where(y < 0, self.num_classes, y))  # -1: no label (guidance's null)
        return h


class TimeMLP(nn.Module):
    """f(x, t, y): (B, D), (B,), (B,) or None -> (B, D). SiLU units, the condition added to every hidden layer."""

    def __init__(self, dim: int = 2, hidden: int = 128, layers: int = 3, num_classes: int | None = None,
                 time_scale: float = 1.0):
        super().__init__()
        self.embed = ConditionEmbedding(hidden, num_classes, time_scale)
        self.inp = nn.Linear(dim, hidden)
        self.hidden = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        c = self.embed(t, y)
        h = F.silu(self.inp(x) + c)
        for layer in self.hidden:
            h = F.silu(layer(h) + c)
        return self.out(h)


class ResidualBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, plus the condition, twice, with a skip connection."""

    def __init__(self, c_in: int, c_out: int, c_cond: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.cond = nn.Linear(c_cond, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.cond(c)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """eps(x, t, y) for images (B, C, 28, 28) (any H, W divisible by 4): 28 -> 14 -> 7 and back, with skips.

    width: channels at full resolution (x2 at each downsampling; a multiple of 8 for GroupNorm).
    """

    def __init__(self, channels: int = 1, width: int = 32, num_classes: int | None = None, time_scale: float = 1.0):
        super().__init__()
        if width % 8:
            raise ValueError(f"width must be a multiple of 8 (GroupNorm groups), got {width}")
        w1, w2, w3, cond = width, 2 * width, 2 * width, 4 * width
        self.embed = ConditionEmbedding(cond, num_classes, time_scale)
        self.inp = nn.Conv2d(channels, w1, 3, padding=1)
        self.down1, self.pool1 = ResidualBlock(w1, w1, cond), nn.Conv2d(w1, w1, 3, 2, 1)
        self.down2, self.pool2 = ResidualBlock(w1, w2, cond), nn.Conv2d(w2, w2, 3, 2, 1)
        self.mid1, self.mid2 = ResidualBlock(w2, w3, cond), ResidualBlock(w3, w3, cond)
        self.up2 = ResidualBlock(w3 + w2, w2, cond)
        self.up1 = ResidualBlock(w2 + w1, w1, cond)
        self.out = nn.Sequential(nn.GroupNorm(8, w1), nn.SiLU(), nn.Conv2d(w1, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)  # start as the zero function: the loss starts at E|eps|^2
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        c = self.embed(t, y)
        h1 = self.down1(self.inp(x), c)  # (B, w1, H, W)
        h2 = self.down2(self.pool1(h1), c)  # (B, w2, H/2, W/2)
        h = self.mid2(self.mid1(self.pool2(h2), c), c)  # (B, w3, H/4, W/4)
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h2], 1), c)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h1], 1), c)
        return self.out(h)


__all__ = ["sinusoidal_embedding", "ConditionEmbedding", "TimeMLP", "ResidualBlock", "UNet"]
