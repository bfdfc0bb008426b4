"""Week 6's two models that pull likelihood and sample quality apart (Theis, van den Oord & Bethge 2016).

* :class:`Mixture`: p(x) = sum_k w_k p_k(x) of any models of the same data. With a good model at
  weight 0.01 and uniform noise at 0.99, log p(x) >= log 0.01 + log p_good(x): the NLL grows by at
  most log 100 = 4.6 nats per image, while 99% of the samples are noise.
* :class:`TrainingSetKernel`: a kernel density on the training images, p(x) = (1/N) sum_n
  prod_d Bernoulli(x_d; x_nd flipped with probability ``flip``). Its samples are training images
  with a few pixels flipped: the best samples by FID and precision, a poor test likelihood, and the
  nearest-neighbour check of :mod:`dgmlib.metrics.memorization` finds every sample in the training set.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import constraints

from .base import GenerativeModel
from .baselines import IndependentBernoulli
from .registry import binary_example, register

_NORMALIZED = ("exact", "lower_bound", "estimate")


class Mixture(GenerativeModel):
    """p(x) = sum_k weights_k p_k(x) over models with one event_shape.  x: (B, *event_shape).

    ``log_prob`` is exact when every component's is; otherwise it inherits the first component's kind
    that is not exact (a bound or an estimate of each term gives one of the sum).
    """

    def __init__(self, components: Sequence[GenerativeModel], weights: Sequence[float]):
        components = list(components)
        if not components or len(components) != len(weights):
            raise ValueError(f"a mixture needs one weight per component, got {len(components)} components and "
                             f"{len(weights)} weights")
        shapes = {tuple(c.event_shape) for c in components}
        if len(shapes) != 1:
            raise ValueError(f"every component must model the same event_shape, got {sorted(shapes)}")
        kinds = [getattr(c, "log_prob_kind", "exact") for c in components]
        if any(kind not in _NORMALIZED for kind in kinds):
            raise ValueError(f"every component needs a normalized log_prob to mix likelihoods, got kinds {kinds}")
        weights = torch.as_tensor(weights, dtype=torch.float64)
        if (weights <= 0).any() or not math.isclose(weights.sum().item(), 1.0, rel_tol=1e-9):
            raise ValueError(f"weights must be positive and sum to 1, got {weights.tolist()}")
        super().__init__(next(iter(shapes)))
        self.components = nn.ModuleList(components)
        self.register_buffer("log_weights", weights.log().float())
        self.log_prob_kind = next((kind for kind in kinds if kind != "exact"), "exact")
        self.support = getattr(components[0], "support", constraints.real)

    def _log_prob(self, x: Tensor) -> Tensor:
        terms = torch.stack([c.log_prob(x) for c in self.components])  # (K, B)
        return torch.logsumexp(terms + self.log_weights.to(terms.dtype)[:, None], dim=0)

    def _sample(self, n: int) -> Tensor:
        which = torch.multinomial(self.log_weights.exp(), n, replacement=True)  # (n,)
        out = None
        for k, component in enumerate(self.components):
            chosen = (which == k).nonzero().flatten()
            if len(chosen) == 0:
                continue
            samples = component.sample(len(chosen)).to(self.log_weights.device)
            out = samples.new_zeros(n, *self.event_shape) if out is None else out
            out[chosen.to(out.device)] = samples
        return out


class TrainingSetKernel(GenerativeModel):
    """A kernel density on binary training images: each pixel of a copy flips with probability ``flip``.

    ``flip`` is the model's one parameter (through its logit): ``fit`` it on validation images.

    train: (N, *event_shape) in {0, 1}. log p(x) = logsumexp_n [h_n log f + (D - h_n) log (1 - f)] - log N,
    with h_n the Hamming distance from x to training image n. Exact, and O(N D) per image.
    """

    support = constraints.boolean

    def __init__(self, train: Tensor, flip: float = 0.05):
        if not 0 < flip < 0.5:
            raise ValueError(f"flip must lie in (0, 0.5): 0 gives -inf off the training set, 0.5 is uniform noise; "
                             f"got {flip}")
        super().__init__(train.shape[1:])
        self.check_input(train)
        self.check_values(train)
        self.register_buffer("train_images", train.detach().flatten(1).float().clone())
        # the one parameter, the bandwidth: fit it by maximum likelihood on held-out images, never on
        # the training set itself (there flip -> 0 and every image is its own perfect match)
        self.flip_logit = nn.Parameter(torch.tensor(math.log(flip) - math.log1p(-flip)))

    @property
    def flip(self) -> Tensor:
        return torch.sigmoid(self.flip_logit)

    def _log_prob(self, x: Tensor) -> Tensor:
        t = self.train_images.to(x.dtype)
        x = x.flatten(1)
        hamming = x @ (1 - t).T + (1 - x) @ t.T  # (B, N)
        d = x.shape[1]
        log_terms = hamming * F.logsigmoid(self.flip_logit) + (d - hamming) * F.logsigmoid(-self.flip_logit)
        return torch.logsumexp(log_terms, dim=1) - math.log(len(t))

    def _sample(self, n: int) -> Tensor:
        t = self.train_images
        copies = t[torch.randint(len(t), (n,), device=t.device)]
        flips = torch.rand(copies.shape, device=t.device) < self.flip
        return torch.where(flips, 1 - copies, copies).view(n, *self.event_shape)


def noisy_mixture(model: GenerativeModel, weight: float = 0.01) -> Mixture:
    """Theis et al.'s example: ``model`` at ``weight``, uniform binary noise (every pixel a fair coin) at the rest."""
    noise = IndependentBernoulli(model.event_shape).to(model.device)  # logits 0: every p = 1/2
    return Mixture([model, noise], [weight, 1 - weight])


def _kernel_example() -> TrainingSetKernel:
    return TrainingSetKernel(torch.randint(0, 2, (6, 1, 4, 4), generator=torch.Generator().manual_seed(0)).float())


register("mixture", build=lambda: noisy_mixture(IndependentBernoulli((1, 4, 4)), 0.3),
         example=binary_example((1, 4, 4)))
register("training_set_kernel", build=_kernel_example, example=binary_example((1, 4, 4)))

__all__ = ["Mixture", "TrainingSetKernel", "noisy_mixture"]
