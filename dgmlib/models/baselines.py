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

from torch.distributions import constraints

from ..nn.functional import bernoulli_log_prob, logit
from .base import GenerativeModel
from .registry import binary_example, class_labels, register


def _check_pseudo_count(pseudo_count: float) -> None:
    if not pseudo_count >= 0 or pseudo_count == float("inf"):
        raise ValueError(f"pseudo_count must be a finite number >= 0, got {pseudo_count}")


class IndependentBernoulli(GenerativeModel):
    """p(x) = prod_i Bernoulli(x_i; sigmoid(logits_i)).  x: (B, *event_shape) in {0, 1}.

    With ``num_classes`` it is class-conditional, p(x | y) = prod_i Bernoulli(x_i; sigmoid(logits[y, i])):
    one independent model per class (the generative half of naive Bayes).
    """

    support = constraints.boolean

    def __init__(self, event_shape: Sequence[int], num_classes: int | None = None):
        super().__init__(event_shape, num_classes)
        classes = () if num_classes is None else (self.num_classes,)
        self.logits = nn.Parameter(torch.zeros(*classes, *self.event_shape))

    def _logits_for(self, y: Tensor | None, n: int) -> Tensor:
        """(n, *event_shape) logits: the same for every example, or those of each example's class."""
        return self.logits.expand(n, *self.event_shape) if y is None else self.logits[y]

    def _log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return bernoulli_log_prob(self._logits_for(y, len(x)), x).flatten(1).sum(1)

    def _sample(self, n: int, y: Tensor | None = None) -> Tensor:
        return torch.bernoulli(torch.sigmoid(self._logits_for(y, n)))

    @torch.no_grad()
    def fit_mle(self, x: Tensor, pseudo_count: float = 0.0, y: Tensor | None = None) -> "IndependentBernoulli":
        """Set the parameters to the (smoothed) maximum-likelihood estimate, in place.

        theta_i = (sum_n x_ni + a) / (N + 2a), per class when the model is conditional. With
        a = 0 a pixel never on in the training set gets theta = 0 and any test image with that
        pixel on gets log-likelihood -inf; a = 1 (Laplace smoothing), or any a > 0 (add-a, or
        Lidstone, smoothing) avoids that.
        """
        self.check_input(x)
        self.check_values(x)  # also on an accelerator: a fit from grey images would be silently wrong
        y = self.check_labels(y, len(x), x.device)
        _check_pseudo_count(pseudo_count)
        if y is None:
            theta = (x.sum(0) + pseudo_count) / (x.shape[0] + 2 * pseudo_count)
        else:
            counts = torch.bincount(y, minlength=self.num_classes).to(x.dtype)
            if pseudo_count == 0 and (counts == 0).any():
                missing = torch.nonzero(counts == 0).flatten().tolist()
                raise ValueError(f"classes {missing} have no examples, so their maximum-likelihood estimate "
                                 "is undefined; pass pseudo_count > 0 or data of every class")
            ones = torch.zeros_like(self.logits).index_add_(0, y, x)
            theta = (ones + pseudo_count) / (counts.view(-1, *[1] * len(self.event_shape)) + 2 * pseudo_count)
        self.logits.copy_(logit(theta))  # theta in {0, 1} gives -inf/+inf logits, as it should
        return self


class MarkovChainBernoulli(GenerativeModel):
    """First-order Markov chain over pixels in raster order.

    p(x) = p(x_1) prod_{i>1} p(x_i | x_{i-1}),  p(x_i = 1 | x_{i-1} = v) = sigmoid(logits[i, v]).
    The first pixel has no predecessor and uses logits[0, 0] only, so the model
    has 2D - 1 free parameters. x: (B, *event_shape) in {0, 1}.
    """

    support = constraints.boolean

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
        """Set the transition probabilities to their (smoothed) empirical frequencies, in place.

        A context that never occurs (x_{i-1} = v in no training image) has no frequency, 0/0,
        when pseudo_count = 0. Its logit is set to 0, and that choice changes nothing: the
        context itself has maximum-likelihood probability 0 (an earlier factor is exactly 0),
        so an image that contains it gets log p(x) = -inf, and the probabilities of all images
        still sum to 1.
        """
        self.check_input(x)
        self.check_values(x)
        _check_pseudo_count(pseudo_count)
        x_flat = x.flatten(1)
        previous = F.pad(x_flat[:, :-1], (1, 0))
        for v in (0, 1):
            given = (previous == v).to(x.dtype)  # (N, D): rows where x_{i-1} = v
            ones = (x_flat * given).sum(0)
            total = given.sum(0) + 2 * pseudo_count
            theta = (ones + pseudo_count) / total.clamp_min(1e-300)
            self.logits[:, v] = torch.where(total > 0, logit(theta), torch.zeros_like(theta))
        self.logits[0, 1] = 0.0  # unused: the first pixel has no predecessor
        return self


register("independent_bernoulli", build=lambda: IndependentBernoulli((1, 4, 4)),
         example=binary_example((1, 4, 4)))
register("independent_bernoulli_conditional", build=lambda: IndependentBernoulli((1, 4, 4), num_classes=3),
         example=binary_example((1, 4, 4)), labels=class_labels(3))
register("markov_chain_bernoulli", build=lambda: MarkovChainBernoulli((1, 4, 4)),
         example=binary_example((1, 4, 4)))
