"""Invertible transforms and the flow model built from them (week 4).

A :class:`Transform` maps data towards noise and back, each direction with its log-determinant,
per example (nflows' semantics, torch.distributions' names):

    forward(x) -> (z, log|det dz/dx|)        inverse(z) -> (x, log|det dx/dz|)

A :class:`Flow` is a transform plus a standard normal base density:

    log p(x) = log N(f(x); 0, I) + log|det df/dx|       (change of variables, exact)
    sample:    z ~ N(0, I),  x = f^{-1}(z)
"""
from __future__ import annotations

import math
from typing import ClassVar, Iterable, Sequence

import torch
from torch import Tensor, nn

from ...nn.state import eval_mode
from ..base import GenerativeModel


class Transform(nn.Module):
    """An invertible map with log-determinants. x: (B, *shape) -> (z: (B, *shape'), logdet: (B,))."""

    #: False for transforms whose inverse has no closed form (planar, radial): ``inverse`` raises.
    has_inverse: ClassVar[bool] = True

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} has no inverse")


class CompositeTransform(Transform):
    """Transforms applied in order; the log-determinants add up (the chain rule)."""

    def __init__(self, transforms: Iterable[Transform]):
        super().__init__()
        self.transforms = nn.ModuleList(transforms)

    @property
    def has_inverse(self) -> bool:  # type: ignore[override]
        return all(t.has_inverse for t in self.transforms)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        total = x.new_zeros(x.shape[0])
        for t in self.transforms:
            x, log_det = t(x)
            total = total + log_det
        return x, total

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        total = z.new_zeros(z.shape[0])
        for t in reversed(self.transforms):
            z, log_det = t.inverse(z)
            total = total + log_det
        return z, total

    def layers(self, x: Tensor) -> list[Tensor]:
        """x after each transform in turn (the lecture's layer-by-layer pictures): [x, f_1(x), ...]."""
        out = [x]
        for t in self.transforms:
            x, _ = t(x)
            out.append(x)
        return out


class InverseTransform(Transform):
    """The inverse of a transform: its inverse becomes the forward pass (IAF = the inverse of MAF)."""

    def __init__(self, transform: Transform):
        super().__init__()
        self.base_transform = transform

    @property
    def has_inverse(self) -> bool:  # type: ignore[override]
        return True  # the wrapped transform's forward always exists

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.base_transform.inverse(x)

    def inverse(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self.base_transform(z)


@torch.no_grad()
def latent_shape(transform: Transform, event_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of z = transform(x) for one example, known at construction (transforms may reshape).

    The probe runs in eval mode, so a data-dependent initialisation (ActNorm) never sees it.
    """
    with eval_mode(transform):
        z, _ = transform(torch.full((1, *event_shape), 0.5))
    return tuple(z.shape[1:])


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over all but the batch dimension: (B, ...) -> (B,)."""
    return -0.5 * (z.flatten(1) ** 2 + math.log(2 * math.pi)).sum(1)


class Flow(GenerativeModel):
    """A normalizing flow on continuous data: exact ``log_prob`` and sampling through the inverse.

    transform: maps data x (B, *event_shape) to noise z; the base is N(0, I) over z.
    """

    log_prob_kind = "exact"

    def __init__(self, transform: Transform, event_shape: Sequence[int]):
        super().__init__(event_shape)
        self.transform = transform
        self.latent_shape = latent_shape(transform, self.event_shape)

    def _log_prob(self, x: Tensor) -> Tensor:
        z, log_det = self.transform(x)
        return standard_normal_log_prob(z) + log_det

    def _sample(self, n: int, temperature: float = 1.0) -> Tensor:
        """z ~ N(0, T^2 I), x = f^{-1}(z); ``temperature`` T < 1 draws from the typical set's core."""
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if not self.transform.has_inverse:
            raise NotImplementedError(f"{type(self.transform).__name__} has no analytic inverse, so this flow "
                                      "cannot sample; use it as InverseTransform(...) to sample instead")
        z = temperature * torch.randn(n, *self.latent_shape, device=self.device, dtype=self.dtype)
        return self.transform.inverse(z)[0]

    def rsample_and_log_prob(self, n: int) -> tuple[Tensor, Tensor]:
        """Differentiable samples and their log-densities, for fitting by reverse KL: (n, *event), (n,).

        log q(x) = log N(z) - log|det dx/dz| with x = f^{-1}(z): one inverse pass, no forward pass.
        """
        z = torch.randn(n, *self.latent_shape, device=self.device, dtype=self.dtype)
        x, log_det_inverse = self.transform.inverse(z)
        return x, standard_normal_log_prob(z) - log_det_inverse

    def encode(self, x: Tensor) -> Tensor:
        """z = f(x), the latent code of x (for interpolations): (B, *latent_shape)."""
        self.check_input(x)
        return self.transform(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        """x = f^{-1}(z): (B, *event_shape)."""
        return self.transform.inverse(z)[0]

