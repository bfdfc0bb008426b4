"""Week 2: the fully visible sigmoid belief network, a logistic regression per pixel."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..registry import binary_example, register
from .base import AutoregressiveModel, ranks


class FVSBN(AutoregressiveModel):
    """Fully visible sigmoid belief network: a logistic regression per pixel.

    logit_i = b_i + sum_{j before i} W_ij x_j, with W masked to the strictly
    earlier pixels: D(D+1)/2 parameters in effect.
    """

    def __init__(self, event_shape: Sequence[int], order: Tensor | None = None):
        super().__init__(event_shape, order)
        d = self.num_dims
        self.weight = nn.Parameter(torch.zeros(d, d))
        self.bias = nn.Parameter(torch.zeros(d))
        rank = ranks(self.order)
        self.register_buffer("mask", (rank[None, :] < rank[:, None]).float())  # mask[i, j]: j before i

    def conditional_logits(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


register("fvsbn", build=lambda: FVSBN((1, 3, 3)), example=binary_example((1, 3, 3)))
