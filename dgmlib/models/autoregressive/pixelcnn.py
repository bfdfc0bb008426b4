"""Week 2: convolutional autoregressive models of binary images.

* :class:`PixelCNN` (van den Oord et al., 2016a): masked convolutions. A mask of
  type A (first layer) hides the centre pixel and everything after it in raster
  order; type B (later layers) shows the centre, which by then only carries
  information about earlier pixels. Stacked 3x3 masks grow a receptive field
  with a *blind spot*: pixels up and to the right that the output never sees.
* :class:`GatedPixelCNN` (van den Oord et al., 2016b): a vertical stack that sees
  every row above, and a horizontal stack that sees the pixels to the left in
  the current row, joined by a down-shift so no future pixel leaks in; gated
  tanh * sigmoid units. No blind spot. With ``num_classes`` it models p(x | y): a learned
  embedding of the label is added to the pre-activations of both stacks in every layer,
  tanh(W_f * x + V_f e_y) * sigmoid(W_g * x + V_g e_y), as in the conditional PixelCNN of
  van den Oord et al. (2016b).

Both predict one Bernoulli logit per pixel: logits (B, 1, H, W) for x (B, 1, H, W).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...nn.masked import MaskedConv2d, causal_mask
from ..registry import binary_example, class_labels, register
from .base import AutoregressiveModel


def _check_odd_kernels(config) -> None:
    """Refuse even kernel sizes at construction: they have no centre pixel, so the logits would be read
    one position off the pixels they predict (and sampling would draw from the wrong conditionals)."""
    for f in fields(config):
        value = getattr(config, f.name)
        if "kernel" in f.name and (not isinstance(value, int) or value < 1 or value % 2 == 0):
            raise ValueError(f"{type(config).__name__}.{f.name} must be an odd positive integer "
                             f"(3, 5, 7, ...), got {value!r}")


class ImageAutoregressive(AutoregressiveModel):
    """Raster-order autoregressive model over (1, H, W) binary images, defined by ``logits_image``."""

    def logits_image(self, x: Tensor) -> Tensor:
        """x: (B, 1, H, W) -> logits (B, 1, H, W)."""
        raise NotImplementedError

    def conditional_logits(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        image = x.view(-1, *self.event_shape)
        return (self.logits_image(image, y) if self.conditional else self.logits_image(image)).flatten(1)


@dataclass
class PixelCNNConfig:
    channels: int = 64  # feature maps per layer (2h in the residual blocks' terms)
    n_blocks: int = 12  # residual blocks of 3x3 type-B convolutions
    first_kernel: int = 7  # the type-A input convolution


class ResidualBlock(nn.Module):
    """ReLU -> 1x1 (2h -> h) -> ReLU -> 3x3 masked B (h -> h) -> ReLU -> 1x1 (h -> 2h), plus the input."""

    def __init__(self, channels: int):
        super().__init__()
        h = channels // 2
        self.net = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, h, 1),
            nn.ReLU(), MaskedConv2d(h, h, 3, causal_mask((3, 3), "B")),
            nn.ReLU(), nn.Conv2d(h, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class PixelCNN(ImageAutoregressive):
    """PixelCNN over binary images (B, 1, H, W)."""

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), config: PixelCNNConfig | None = None):
        super().__init__(event_shape)
        if self.event_shape[0] != 1:
            raise ValueError("this PixelCNN models single-channel binary images (1, H, W)")
        self.config = config = config or PixelCNNConfig()
        _check_odd_kernels(config)
        c, k = config.channels, config.first_kernel
        self.net = nn.Sequential(
            MaskedConv2d(1, c, k, causal_mask((k, k), "A")),
            *[ResidualBlock(c) for _ in range(config.n_blocks)],
            nn.ReLU(), nn.Conv2d(c, c, 1),
            nn.ReLU(), nn.Conv2d(c, 1, 1))

    def logits_image(self, x: Tensor) -> Tensor:
        # centring the input at 0 helps optimisation; it changes no dependency
        return self.net(2 * x - 1)


@dataclass
class GatedPixelCNNConfig:
    channels: int = 64  # feature maps in each stack
    n_layers: int = 12  # gated layers after the first
    kernel: int = 5  # vertical stack kernel k x k (lower half masked), horizontal 1 x k
    first_kernel: int = 7


class GatedLayer(nn.Module):
    """One gated layer with a vertical and a horizontal stack.

    The vertical stack sees rows up to and including the current one; only its
    down-shifted output (rows strictly above) enters the horizontal stack, which
    sees the current row to the left (type A) or up to the centre (type B).
    """

    def __init__(self, in_channels: int, channels: int, kernel: int, mask_type: str, num_classes: int | None = None):
        super().__init__()
        v_mask = torch.zeros(kernel, kernel)
        v_mask[: kernel // 2 + 1, :] = 1  # rows above and the current row, all columns
        self.v_conv = MaskedConv2d(in_channels, 2 * channels, kernel, v_mask)
        self.h_conv = MaskedConv2d(in_channels, 2 * channels, (1, kernel), causal_mask((1, kernel), mask_type))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)
        self.residual = mask_type == "B"  # the first layer's input still holds the current pixel
        if num_classes is not None:  # V e_y of each stack: a per-layer bias that depends on the label only
            self.v_label = nn.Embedding(num_classes, 2 * channels)
            self.h_label = nn.Embedding(num_classes, 2 * channels)

    @staticmethod
    def gate(a: Tensor) -> Tensor:
        value, gate = a.chunk(2, dim=1)
        return torch.tanh(value) * torch.sigmoid(gate)

    def forward(self, v: Tensor, h: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        v_pre = self.v_conv(v)
        if y is not None:  # the label's bias, the same at every position: (B, 2C) -> (B, 2C, 1, 1)
            v_pre = v_pre + self.v_label(y)[:, :, None, None]
        v_above = F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1, :]  # shift down one row: rows strictly above
        h_pre = self.h_conv(h) + self.v_to_h(v_above)
        if y is not None:
            h_pre = h_pre + self.h_label(y)[:, :, None, None]
        h_new = self.h_out(self.gate(h_pre))
        return self.gate(v_pre), (h + h_new if self.residual else h_new)


class GatedPixelCNN(ImageAutoregressive):
    """Gated PixelCNN over binary images (B, 1, H, W): no blind spot.

    num_classes: None for p(x); an integer for the class-conditional p(x | y), y: (B,) in 0..num_classes - 1.
    """

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), config: GatedPixelCNNConfig | None = None,
                 num_classes: int | None = None):
        super().__init__(event_shape, num_classes=num_classes)
        if self.event_shape[0] != 1:
            raise ValueError("this Gated PixelCNN models single-channel binary images (1, H, W)")
        self.config = config = config or GatedPixelCNNConfig()
        _check_odd_kernels(config)
        c = config.channels
        self.layers = nn.ModuleList(
            [GatedLayer(1, c, config.first_kernel, "A", self.num_classes)]
            + [GatedLayer(c, c, config.kernel, "B", self.num_classes) for _ in range(config.n_layers)])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, 1, 1))

    def logits_image(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """x: (B, 1, H, W), y: (B,) labels of a conditional model -> logits (B, 1, H, W)."""
        v = h = 2 * x - 1
        for layer in self.layers:
            v, h = layer(v, h, y)
        return self.head(h)


register("pixelcnn", example=binary_example((1, 5, 5)),
         build=lambda: PixelCNN((1, 5, 5), PixelCNNConfig(channels=8, n_blocks=2, first_kernel=5)))
register("gated_pixelcnn", example=binary_example((1, 5, 5)),
         build=lambda: GatedPixelCNN((1, 5, 5), GatedPixelCNNConfig(channels=8, n_layers=2, kernel=3, first_kernel=5)))
register("gated_pixelcnn_conditional", example=binary_example((1, 5, 5)), labels=class_labels(10),
         build=lambda: GatedPixelCNN((1, 5, 5), GatedPixelCNNConfig(channels=8, n_layers=2, kernel=3, first_kernel=5),
                                     num_classes=10))
