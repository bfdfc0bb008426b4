"""Week 1 baselines: the simplest models of images and of points in the plane.

* :class:`IndependentBernoulli`: every pixel on its own, D parameters.
* :class:`MarkovChainBernoulli`: each pixel (in raster order) depends on the one
  before it, 2D - 1 parameters; the first step from independence towards the
  autoregressive models of week 2.
(The Gaussian mixture of the week-1 lecture is in mixture.py, with EM.)

Both have exact log-likelihoods and cheap ancestral sampling.
The Bernoulli models also have closed-form maximum-likelihood fits (frequencies),
which the week-1 lecture compares with gradient training through ``fit``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import GenerativeModel
from .registry import binary_example, register


def _logit(p: Tensor) -> Tensor:
    return torch.log(p) - torch.log1p(-p)


def bernoulli_log_prob(logits: Tensor, x: Tensor) -> Tensor:
    """Elementwise log Bernoulli(x; sigmoid(logits)) for x in {0, 1}, same shape as x.

    log sigmoid(l) if x = 1 and log sigmoid(-l) if x = 0: stable for large |l|,
    and exact (0 or -inf) for the infinite logits of an unsmoothed MLE, where
    the cross-entropy formula would give NaN.
    """
    if ((x != 0) & (x != 1)).any():
        raise ValueError("Bernoulli models need binary inputs in {0, 1}; binarize first, "
                         "e.g. (x > 0.5).float()")
    return torch.where(x == 1, F.logsigmoid(logits), F.logsigmoid(-logits))


class IndependentBernoulli(GenerativeModel):
    """p(x) = prod_i Bernoulli(x_i; sigmoid(logits_i)).  x: (B, *event_shape) in {0, 1}."""

    def __init__(self, event_shape: Sequence[int]):
        super().__init__(event_shape)
        self.logits = nn.Parameter(torch.zeros(self.event_shape))

    def _log_prob(self, x: Tensor) -> Tensor:
        return bernoulli_log_prob(self.logits.expand_as(x), x).flatten(1).sum(1)

    def _sample(self, n: int) -> Tensor:
        return torch.bernoulli(torch.sigmoid(self.logits).expand(n, *self.event_shape))

    @torch.no_grad()
    def fit_mle(self, x: Tensor, pseudo_count: float = 0.0) -> "IndependentBernoulli":
        """Set the parameters to the (smoothed) maximum-likelihood estimate, in place.

        theta_i = (sum_n x_ni + a) / (N + 2a). With a = 0 a pixel never on in
        the training set gets theta = 0 and any test image with that pixel on
        gets log-likelihood -inf; a > 0 (Laplace smoothing) avoids that.
        """
        self.check_input(x)
        theta = (x.sum(0) + pseudo_count) / (x.shape[0] + 2 * pseudo_count)
        self.logits.copy_(_logit(theta))  # theta in {0, 1} gives -inf/+inf logits, as it should
        return self


class MarkovChainBernoulli(GenerativeModel):
    """First-order Markov chain over pixels in raster order.

    p(x) = p(x_1) prod_{i>1} p(x_i | x_{i-1}),  p(x_i = 1 | x_{i-1} = v) = sigmoid(logits[i, v]).
    The first pixel has no predecessor and uses logits[0, 0] only, so the model
    has 2D - 1 free parameters. x: (B, *event_shape) in {0, 1}.
    """

    def __init__(self, event_shape: Sequence[int]):
        super().__init__(event_shape)
        self.logits = nn.Parameter(torch.zeros(self.num_dims, 2))

    @property
    def num_free_parameters(self) -> int:
        return 2 * self.num_dims - 1

    def _conditional_logits(self, x_flat: Tensor) -> Tensor:
        """x_flat: (B, D) -> logits of p(x_i = 1 | x_{i-1}): (B, D)."""
        previous = F.pad(x_flat[:, :-1], (1, 0)).long()  # x_0 := 0 for the first pixel
        positions = torch.arange(self.num_dims, device=x_flat.device)
        return self.logits[positions, previous]

    def _log_prob(self, x: Tensor) -> Tensor:
        x_flat = x.flatten(1)
        logits = self._conditional_logits(x_flat)
        return bernoulli_log_prob(logits, x_flat).sum(1)

    def _sample(self, n: int) -> Tensor:
        x = torch.zeros(n, self.num_dims, device=self.device, dtype=self.dtype)
        previous = torch.zeros(n, dtype=torch.long, device=self.device)
        for i in range(self.num_dims):  # ancestral sampling, one pixel at a time
            x[:, i] = torch.bernoulli(torch.sigmoid(self.logits[i, previous]))
            previous = x[:, i].long()
        return x.view(n, *self.event_shape)

    @torch.no_grad()
    def fit_mle(self, x: Tensor, pseudo_count: float = 0.0) -> "MarkovChainBernoulli":
        """Set the transition probabilities to their (smoothed) empirical frequencies, in place."""
        self.check_input(x)
        x_flat = x.flatten(1)
        previous = F.pad(x_flat[:, :-1], (1, 0))
        for v in (0, 1):
            given = (previous == v).float()  # (N, D): rows where x_{i-1} = v
            ones = (x_flat * given).sum(0)
            total = given.sum(0)
            self.logits[:, v] = _logit((ones + pseudo_count) / (total + 2 * pseudo_count))
        self.logits[0, 1] = 0.0  # unused: the first pixel has no predecessor
        return self


register("independent_bernoulli", build=lambda: IndependentBernoulli((1, 4, 4)),
         example=binary_example((1, 4, 4)))
register("markov_chain_bernoulli", build=lambda: MarkovChainBernoulli((1, 4, 4)),
         example=binary_example((1, 4, 4)))
