"""Likelihood metrics through the model contract: log-likelihoods, NLL with its interval, bits per dimension.

    NLL  = -(1/N) sum_n log p(x_n)                       nats per example
    95% interval: NLL +- 1.96 * std(log p(x_n)) / sqrt(N)  (the test set's sampling error)
    bits/dim = (NLL + D log L) / (D ln 2)               L = levels of discrete data under a
                                                        density on [0, 1]^D (e.g. 256); no term
                                                        for a model of the discrete values themselves
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.distributions import constraints

from ..data.loader import Data, as_loader, split_batch
from ..device import module_device
from ..nn.state import eval_mode

#: The normal quantile of a two-sided 95% interval, used everywhere the course states one.
Z_95 = 1.96


class NLL(float):
    """A mean negative log-likelihood in nats (a float) with its 95% interval over the test examples.

    ``half_width`` = 1.96 standard errors of the mean; ``low``/``high`` the interval's ends;
    ``n`` the number of examples. Prints as ``88.52 ± 0.41``; arithmetic treats it as a float.
    """

    def __new__(cls, value: float, std_error: float, n: int):
        self = super().__new__(cls, value)
        self.std_error, self.n = float(std_error), int(n)
        return self

    @property
    def half_width(self) -> float:
        return Z_95 * self.std_error

    @property
    def low(self) -> float:
        return float(self) - self.half_width

    @property
    def high(self) -> float:
        return float(self) + self.half_width

    def __repr__(self) -> str:
        return f"{float(self):.2f} ± {self.half_width:.2f}"

    def __reduce__(self):  # pickles (and copies) as an NLL, not a bare float
        return (NLL, (float(self), self.std_error, self.n))


def _check_normalized(model: nn.Module) -> None:
    kind = getattr(model, "log_prob_kind", "exact")
    if kind == "unnormalized":
        raise ValueError(f"{type(model).__name__}.log_prob is unnormalized (minus an energy, off by the unknown "
                         "log Z), so it is no likelihood: estimate log Z first (e.g. annealed importance "
                         "sampling) or compare models by sample-quality metrics")
    if kind == "none":
        raise ValueError(f"{type(model).__name__} defines no likelihood (log_prob_kind 'none'); evaluate it with "
                         "sample-quality metrics instead")


def _inputs(model: nn.Module, batch) -> tuple[Tensor, Tensor | None]:
    """A batch's inputs (checked on the CPU, where that costs no device sync) and labels, on the model's device."""
    x, y = split_batch(batch)
    if hasattr(model, "check_values") and x.device.type == "cpu" and len(x):
        model.check_values(x)
    device = module_device(model)
    labels = y.to(device) if (y is not None and getattr(model, "conditional", False)) else None
    return x.to(device), labels


@torch.no_grad()
def log_likelihood(model: nn.Module, data: Data, batch_size: int = 512) -> Tensor:
    """Per-example ``model.log_prob`` over ``data``, in nats: (N,) on the CPU.

    For a conditional model ``data`` must hold (x, y) pairs and the result is log p(x | y).
    """
    _check_normalized(model)
    out = []
    with eval_mode(model):  # restored even when an error (bad input, say) stops the loop
        for batch in as_loader(data, batch_size):
            x, y = _inputs(model, batch)
            out.append((model.log_prob(x, y) if y is not None else model.log_prob(x)).cpu())
    if not out:
        raise ValueError("the data to evaluate is empty")
    return torch.cat(out)


def nll(model: nn.Module, data: Data, batch_size: int = 512) -> NLL:
    """Mean negative log-likelihood in nats per example, with its 95% interval (see :class:`NLL`).

    A bound or an estimate for some models: see the model's ``log_prob_kind``. Refuses models
    whose ``log_prob`` is unnormalized or absent.
    """
    log_p = log_likelihood(model, data, batch_size).double()
    n = len(log_p)
    std_error = log_p.std().item() / math.sqrt(n) if n > 1 else float("nan")
    return NLL(-log_p.mean().item(), std_error, n)


def bits_per_dim(nll_nats: float, num_dims: int, levels: int | None = None) -> float:
    """Convert an NLL in nats per example to bits per dimension.

    levels=None: the model gives probabilities of the data's own values (binary or 8-bit
    integers): nll / (D ln 2). levels=L: the model is a density on data scaled from L discrete
    levels to [0, 1] (e.g. 256 for 8-bit images, after dequantization); each dimension's bin
    has width 1/L, so the discrete NLL is nll + D log L, and bits/dim = (nll + D log L) / (D ln 2).
    """
    if isinstance(num_dims, bool) or not isinstance(num_dims, int) or num_dims < 1:
        raise ValueError(f"num_dims must be a positive integer, got {num_dims!r}")
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int) or levels < 2):
        raise ValueError(f"levels must be an integer >= 2 (e.g. 256 for 8-bit data) or None, got {levels!r}")
    if not math.isfinite(nll_nats) and not nll_nats == float("inf"):
        raise ValueError(f"nll must be a number of nats, got {nll_nats}")
    offset = 0.0 if levels is None else num_dims * math.log(levels)
    return (float(nll_nats) + offset) / (num_dims * math.log(2))


def is_density(model: nn.Module) -> bool:
    """True when ``model.support`` is real-valued (a density, whose bits/dim of discrete data need ``levels``)."""
    support = getattr(model, "support", constraints.real)
    return support is constraints.real or isinstance(support, (constraints._Real, constraints._Interval))


def model_bits_per_dim(model: nn.Module, data: Data, levels: int | None = None, batch_size: int = 512) -> float:
    """Bits per dimension of ``model`` on ``data``, with the discretisation term where the model needs one.

    A model with real ``support`` (a density) must say how many levels the data had before they were
    scaled to [0, 1] (``levels=256`` for 8-bit images); a model of discrete values must not.
    """
    continuous = is_density(model)
    if continuous and levels is None:
        raise ValueError(f"{type(model).__name__} is a density on real values: bits per dimension of discrete "
                         "data need levels= (e.g. levels=256 for 8-bit images scaled to [0, 1])")
    if not continuous and levels is not None:
        raise ValueError(f"{type(model).__name__} gives probabilities of discrete values ({model.support}); "
                         "its bits per dimension need no discretisation term: drop levels=")
    return bits_per_dim(nll(model, data, batch_size), model.event_shape.numel(), levels)


@torch.no_grad()
def mean_metrics(model: nn.Module, data: Data, batch_size: int = 512) -> dict[str, float]:
    """Average of ``model.validation_metrics`` over ``data`` (weighted by batch size), without gradients."""
    totals: dict[str, float] = {}
    count = 0
    with eval_mode(model):
        for batch in as_loader(data, batch_size):
            x, y = _inputs(model, batch)
            if hasattr(model, "validation_metrics"):
                values = model.validation_metrics(x, y) if y is not None else model.validation_metrics(x)
            else:
                values = {"loss": model.loss(x).item()}
            for key, value in values.items():
                totals[key] = totals.get(key, 0.0) + float(value) * len(x)
            count += len(x)
    if count == 0:
        raise ValueError("the data to evaluate is empty")
    return {key: total / count for key, total in totals.items()}


def mean_loss(model: nn.Module, data: Data, batch_size: int = 512) -> float:
    """Mean of ``model.loss`` over ``data`` (weighted by batch size), without gradients."""
    total, count = 0.0, 0
    with eval_mode(model), torch.no_grad():
        for batch in as_loader(data, batch_size):
            x, y = _inputs(model, batch)
            total += (model.loss(x, y) if y is not None else model.loss(x)).item() * len(x)
            count += len(x)
    if count == 0:
        raise ValueError("the data to evaluate is empty")
    return total / count


__all__ = ["Z_95", "NLL", "log_likelihood", "nll", "bits_per_dim", "model_bits_per_dim", "mean_metrics",
           "mean_loss"]
