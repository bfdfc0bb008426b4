"""The base of week 2's binary autoregressive models.

All of them factorise p(x) = prod_k p(x_{o_k} | x_{o_1}, ..., x_{o_{k-1}}) in an
order o (a permutation of the D pixels; raster order by default), with each
conditional a Bernoulli whose logit comes from a network that sees only the
earlier pixels. A subclass writes one method,

    conditional_logits(x: (B, D)) -> (B, D)   # logit i may depend only on pixels before i in the order

and inherits the exact log-likelihood and ancestral sampling (one network
evaluation per pixel, the cost that week 2's lecture measures).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch.distributions import constraints

from ...nn.functional import bernoulli_log_prob
from ..base import GenerativeModel


class AutoregressiveModel(GenerativeModel):
    """Base of the binary autoregressive models. x: (B, *event_shape) in {0, 1}.

    ``order`` is a buffer: order[k] is the (flattened) index of the k-th pixel
    generated. Subclasses implement ``conditional_logits`` on flattened inputs.
    """

    support = constraints.boolean

    def __init__(self, event_shape: Sequence[int], order: Tensor | None = None):
        super().__init__(event_shape)
        order = torch.arange(self.num_dims) if order is None else torch.as_tensor(order)
        if sorted(order.tolist()) != list(range(self.num_dims)):
            raise ValueError(f"order must be a permutation of 0..{self.num_dims - 1}")
        self.register_buffer("order", order.long())

    def conditional_logits(self, x: Tensor) -> Tensor:
        """x: (B, D) -> (B, D) logits of p(x_i = 1 | pixels before i in the order)."""
        raise NotImplementedError

    def _log_prob(self, x: Tensor) -> Tensor:
        x_flat = x.flatten(1)
        return bernoulli_log_prob(self.conditional_logits(x_flat), x_flat).sum(1)

    def _sample(self, n: int, temperature: float = 1.0) -> Tensor:
        """Ancestral sampling: D network evaluations, pixel by pixel in the model's order.

        ``temperature`` divides the logits: below 1 sharpens every conditional
        (cleaner, less diverse samples), above 1 flattens it.
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        x = torch.zeros(n, self.num_dims, device=self.device, dtype=self.dtype)
        for i in self.order.tolist():
            logits = self.conditional_logits(x)[:, i]
            x[:, i] = torch.bernoulli(torch.sigmoid(logits / temperature))
        return x.view(n, *self.event_shape)


def ranks(order: Tensor) -> Tensor:
    """rank[i] = position of pixel i in the order (the inverse permutation)."""
    return torch.argsort(order)
