"""Evaluation through the model interface: log-likelihoods, NLL, bits per dimension."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .data.loader import Data, as_loader, batch_inputs


def _device_of(model: nn.Module) -> torch.device:
    return getattr(model, "device", None) or next(model.parameters()).device


@torch.no_grad()
def log_likelihood(model: nn.Module, data: Data, batch_size: int = 512) -> Tensor:
    """Per-example ``model.log_prob`` over ``data``, in nats: (N,) on the CPU."""
    was_training = model.training
    model.eval()
    try:
        device = _device_of(model)
        out = [model.log_prob(batch_inputs(b).to(device)).cpu() for b in as_loader(data, batch_size)]
    finally:  # an error (bad input, say) must not leave the model in eval mode
        model.train(was_training)
    if not out:
        raise ValueError("the data to evaluate is empty")
    return torch.cat(out)


def nll(model: nn.Module, data: Data, batch_size: int = 512) -> float:
    """Mean negative log-likelihood in nats per example (a bound or estimate for some models:
    see the model's ``log_prob_kind``)."""
    return -log_likelihood(model, data, batch_size).mean().item()


def bits_per_dim(nll_nats: float, num_dims: int) -> float:
    """Convert an NLL in nats per example to bits per dimension: nll / (D ln 2)."""
    return nll_nats / (num_dims * math.log(2))


@torch.no_grad()
def mean_loss(model: nn.Module, data: Data, batch_size: int = 512) -> float:
    """Mean of ``model.loss`` over ``data`` (weighted by batch size), without gradients."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        device = _device_of(model)
        for batch in as_loader(data, batch_size):
            x = batch_inputs(batch).to(device)
            total += model.loss(x).item() * len(x)
            count += len(x)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the data to evaluate is empty")
    return total / count
