"""Week 2: the neural autoregressive density estimator (Larochelle & Murray, 2011)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..registry import binary_example, register
from .base import AutoregressiveModel, ranks


class NADE(AutoregressiveModel):
    """Neural autoregressive density estimator (Larochelle & Murray, 2011).

    h_k = sigmoid(c + W[:, o_<k] x_{o_<k}),  logit_{o_k} = b_{o_k} + V[o_k] . h_k.
    The hidden weights W are shared across all conditionals, so the pre-activations
    of every k come from one cumulative sum: O(DH) per example instead of O(D^2 H).
    """

    def __init__(self, event_shape: Sequence[int], hidden: int = 500, order: Tensor | None = None):
        super().__init__(event_shape, order)
        d = self.num_dims
        self.W = nn.Parameter(torch.randn(hidden, d) * 0.01)
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(d, hidden) * 0.01)
        self.b = nn.Parameter(torch.zeros(d))

    def conditional_logits(self, x: Tensor) -> Tensor:
        x_o = x[:, self.order]  # (B, D) in generation order
        contributions = x_o.unsqueeze(-1) * self.W[:, self.order].T  # (B, D, H): W[:, o_k] x_{o_k}
        # sum over k' < k only: the inclusive cumsum shifted by one, not cumsum - contributions,
        # whose rounding would let x_{o_k} leak into its own logit
        before = F.pad(torch.cumsum(contributions, dim=1)[:, :-1], (0, 0, 1, 0))
        h = torch.sigmoid(self.c + before)  # (B, D, H)
        logits_o = (h * self.V[self.order]).sum(-1) + self.b[self.order]  # (B, D)
        return logits_o[:, ranks(self.order)]  # back to pixel positions


register("nade", build=lambda: NADE((1, 3, 3), hidden=8), example=binary_example((1, 3, 3)))
