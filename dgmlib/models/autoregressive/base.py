"""The base of week 2's binary autoregressive models.

All of them factorise p(x) = prod_k p(x_{o_k} | x_{o_1}, ..., x_{o_{k-1}}) in an
order o (a permutation of the D pixels; raster order by default), with each
conditional a Bernoulli whose logit comes from a network that sees only the
earlier pixels. A subclass writes one method,

    conditional_logits(x: (B, D)) -> (B, D)   # logit i may depend only on pixels before i in the order

(``conditional_logits(x, y)`` with labels y: (B,) for a class-conditional model) and inherits the
exact log-likelihood and ancestral sampling: one network evaluation per pixel, the cost that week 2's
lecture measures, unless the subclass offers a cheaper step (``has_cache``: the Transformer's
key/value cache). ``sample(n, given=x, n_given=k)`` keeps the first k pixels of x in the order and
draws the rest: an exact sample of p(x_rest | x_first k), e.g. the bottom half of a digit given its top.
"""
from __future__ import annotations

from typing import Callable, ClassVar, Sequence

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
    #: True when ``_sampler(..., cache=True)`` gives each step's logit without a whole network pass.
    has_cache: ClassVar[bool] = False

    def __init__(self, event_shape: Sequence[int], order: Tensor | None = None, num_classes: int | None = None):
        super().__init__(event_shape, num_classes)
        order = torch.arange(self.num_dims) if order is None else torch.as_tensor(order)
        if sorted(order.tolist()) != list(range(self.num_dims)):
            raise ValueError(f"order must be a permutation of 0..{self.num_dims - 1}")
        self.register_buffer("order", order.long())

    def conditional_logits(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """x: (B, D) -> (B, D) logits of p(x_i = 1 | pixels before i in the order[, y])."""
        raise NotImplementedError

    def logits(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """``conditional_logits`` with the labels passed only to a conditional model. x: (B, D) -> (B, D)."""
        return self.conditional_logits(x, y) if self.conditional else self.conditional_logits(x)

    def _log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        x_flat = x.flatten(1)
        return bernoulli_log_prob(self.logits(x_flat, y), x_flat).sum(1)

    def _sampler(self, n: int, y: Tensor | None, cache: bool) -> Callable[[Tensor, int], Tensor]:
        """The function (x: (n, D), i) -> (n,) logits of pixel i given the pixels of x before i.

        By default one whole network pass per pixel; a model with ``has_cache`` returns a stateful
        step that reuses the work done for the earlier pixels when ``cache`` is True.
        """
        return lambda x, i: self.logits(x, y)[:, i]

    def _sample(self, n: int, y: Tensor | None = None, *, temperature: float = 1.0, given: Tensor | None = None,
                n_given: int = 0, cache: bool | None = None) -> Tensor:
        """Ancestral sampling: one step per pixel, pixel by pixel in the model's order.

        ``temperature`` divides the logits: below 1 sharpens every conditional
        (cleaner, less diverse samples), above 1 flattens it.
        ``given``: (n, *event_shape) in {0, 1} whose first ``n_given`` pixels in the order are kept
        (completion); the others are drawn. ``cache``: use the model's cache (default: if it has one).
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if cache and not self.has_cache:
            raise ValueError(f"{type(self).__name__} has no sampling cache: drop cache=True")
        d = self.num_dims
        if isinstance(n_given, bool) or not isinstance(n_given, int) or not 0 <= n_given <= d:
            raise ValueError(f"n_given must be an integer in 0..{d}, got {n_given!r}")
        if given is not None and not n_given:
            raise ValueError("given= needs n_given=k, the number of its pixels (in the order) to keep")
        x = torch.zeros(n, d, device=self.device, dtype=self.dtype)
        if n_given:
            if given is None:
                raise ValueError(f"n_given={n_given} needs the pixels: pass given=(n, {tuple(self.event_shape)})")
            self.check_input(given)
            if len(given) != n:
                raise ValueError(f"given holds {len(given)} images but {n} samples were asked for")
            known = self.order[:n_given]
            x[:, known] = given.flatten(1)[:, known]
        step = self._sampler(n, y, self.has_cache if cache is None else cache)
        for i in self.order[n_given:].tolist():
            x[:, i] = torch.bernoulli(torch.sigmoid(step(x, i) / temperature))
        return x.view(n, *self.event_shape)


def ranks(order: Tensor) -> Tensor:
    """rank[i] = position of pixel i in the order (the inverse permutation)."""
    return torch.argsort(order)
