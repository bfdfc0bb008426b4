"""Property checks that unit tests, lectures and hidden grading tests all use, written once.

Each ``check_*`` raises an ``AssertionError`` that says what was expected and what was found,
and returns what it measured, so a lecture can print it and a test can assert on it.

* :func:`dependency_matrix`, :func:`check_autoregressive`: which inputs each output depends
  on, measured through gradients (so the check tests the network that runs, not the masks
  that were meant), and the autoregressive property in a given order.
* :func:`enumerate_binary`, :func:`check_normalized`: log p summed over every binary input of
  a small event shape must be log 1 = 0 (per label for a conditional model).
* :func:`check_invertible`, :func:`check_log_det`: a transform ``forward(x) -> (z, log|det dz/dx|)``
  undone by its inverse, and its log-determinant against the slogdet of the autograd Jacobian
  in float64 (week 4).
"""
from __future__ import annotations

import itertools
import math
from typing import Callable

import torch
from torch import Tensor
from torch.autograd.functional import jacobian

Transform = Callable[[Tensor], tuple[Tensor, Tensor]]


# -- autoregressive structure -------------------------------------------------------------------
def dependency_matrix(fn: Callable[[Tensor], Tensor], num_dims: int, inputs: Tensor | None = None,
                      n_inputs: int = 4, outputs: Tensor | list[int] | None = None, seed: int = 0,
                      dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> Tensor:
    """Sum over input points of |d fn(x)_i / d x_j|: (len(outputs), D), zero where output i ignores input j.

    fn: (B, D) -> (B, D), treating each row of the batch on its own (a model in eval mode).
    inputs: (N, D) points to differentiate at; default ``n_inputs`` points uniform in [0, 1]
    (not binary, so that no ReLU or gate is switched off at every point by accident).
    outputs: the output indices to measure (default all D). One backward pass per point: row k
    of a batch of copies of the point carries the derivatives of output ``outputs[k]``.
    """
    dtype = dtype or (inputs.dtype if isinstance(inputs, Tensor) and inputs.is_floating_point()
                      else torch.get_default_dtype())
    if inputs is None:
        inputs = torch.rand(n_inputs, num_dims, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    inputs = torch.as_tensor(inputs).to(device=device, dtype=dtype)
    if inputs.dim() != 2 or inputs.shape[1] != num_dims:
        raise ValueError(f"inputs must have shape (N, {num_dims}), got {tuple(inputs.shape)}")
    outputs = torch.arange(num_dims) if outputs is None else torch.as_tensor(outputs).long()
    rows = torch.arange(len(outputs))
    total = torch.zeros(len(outputs), num_dims, dtype=torch.float64)
    for point in inputs:
        copies = point.repeat(len(outputs), 1).requires_grad_(True)
        out = fn(copies)
        if out.shape != copies.shape:
            raise ValueError(f"fn must map (B, {num_dims}) to (B, {num_dims}), got {tuple(out.shape)}")
        (grad,) = torch.autograd.grad(out[rows, outputs.to(out.device)].sum(), copies, allow_unused=True)
        if grad is not None:
            total += grad.detach().abs().double().cpu()
    return total


def check_autoregressive(model_or_fn, num_dims: int | None = None, order: Tensor | None = None,
                         inputs: Tensor | None = None, n_inputs: int = 4, seed: int = 0) -> Tensor:
    """Assert that output i depends only on inputs strictly before i in ``order``; return the dependencies.

    model_or_fn: an autoregressive model (its ``conditional_logits``, ``order``, ``num_dims`` and dtype
    are used) or a function (B, D) -> (B, D) with ``num_dims`` and ``order`` (default raster order).
    Returns the (D, D) boolean matrix of measured dependencies, out[i, j] = output i depends on input j.
    """
    fn, dtype, device = model_or_fn, None, None
    if hasattr(model_or_fn, "conditional_logits"):
        model = model_or_fn
        fn, num_dims = model.conditional_logits, model.num_dims
        order = model.order if order is None else order
        dtype, device = model.dtype, model.device
    if num_dims is None:
        raise ValueError("give num_dims for a function")
    order = torch.arange(num_dims) if order is None else torch.as_tensor(order).cpu().long()
    rank = torch.argsort(order)
    seen = dependency_matrix(fn, num_dims, inputs, n_inputs, seed=seed, dtype=dtype, device=device) > 0
    allowed = rank[None, :] < rank[:, None]  # allowed[i, j]: input j comes before output i
    leaks = (seen & ~allowed).nonzero().tolist()
    assert not leaks, (f"not autoregressive: {len(leaks)} (output, input) pairs depend on the present or the "
                       f"future in the order, e.g. {leaks[:5]}")
    return seen


# -- normalisation --------------------------------------------------------------------------------
def enumerate_binary(event_shape: tuple[int, ...] | torch.Size, dtype: torch.dtype | None = None) -> Tensor:
    """Every binary tensor of ``event_shape``: (2^D, *event_shape), D at most 20."""
    d = math.prod(event_shape)
    if d > 20:
        raise ValueError(f"enumerating 2^{d} binary inputs is too many; use an event shape with D <= 20")
    rows = torch.tensor(list(itertools.product((0.0, 1.0), repeat=d)), dtype=dtype or torch.get_default_dtype())
    return rows.view(-1, *event_shape)


@torch.no_grad()
def check_normalized(model, atol: float = 1e-4) -> float:
    """Assert that a binary model's probabilities over all 2^D inputs sum to 1 (per label); return log of the sum.

    For a conditional model every label is checked, and the largest deviation is returned.
    """
    x = enumerate_binary(tuple(model.event_shape), model.dtype).to(model.device)
    labels = [None] if not getattr(model, "conditional", False) else range(model.num_classes)
    worst = 0.0
    for label in labels:
        if label is None:
            log_p = model.log_prob(x)
        else:
            log_p = model.log_prob(x, torch.full((len(x),), label, dtype=torch.long, device=model.device))
        total = torch.logsumexp(log_p.double(), 0).item()
        where = "" if label is None else f" for label {label}"
        assert abs(total) <= atol, (f"log of the total probability over all {len(x)} binary inputs{where} is "
                                    f"{total:.3g}, expected 0 (within {atol})")
        worst = total if abs(total) > abs(worst) else worst
    return worst


# -- invertible transforms (week 4) ----------------------------------------------------------------
def check_invertible(forward: Transform, inverse: Transform, x: Tensor, atol: float = 1e-6) -> float:
    """Assert inverse(forward(x)) == x and that the two log-determinants cancel; return the largest error.

    forward: x (B, ...) -> (z, log|det dz/dx|: (B,)); inverse: z -> (x, log|det dx/dz|: (B,)).
    Run it in float64 for tight tolerances.
    """
    z, log_det = forward(x)
    x_back, log_det_back = inverse(z)
    assert log_det.shape == (len(x),) and log_det_back.shape == (len(x),), (
        f"log-determinants must have shape ({len(x)},), got {tuple(log_det.shape)} and {tuple(log_det_back.shape)}")
    error = (x_back - x).abs().max().item()
    assert error <= atol, f"inverse(forward(x)) differs from x by up to {error:.3g} (tolerance {atol})"
    cancel = (log_det + log_det_back).abs().max().item()
    assert cancel <= atol, f"log|det| of forward and inverse should cancel; their sum is up to {cancel:.3g}"
    return max(error, cancel)


def check_log_det(forward: Transform, x: Tensor, atol: float = 1e-6) -> Tensor:
    """Assert that ``forward``'s log|det| equals slogdet of its autograd Jacobian, example by example.

    x: (B, *shape), best in float64; forward must treat examples independently. Returns the
    (B,) log|det| computed from the Jacobians.
    """
    _, claimed = forward(x)
    exact = []
    for example in x:
        def flat(v: Tensor) -> Tensor:
            return forward(v.view(1, *example.shape))[0].reshape(-1)
        J = jacobian(flat, example.reshape(-1))
        if J.shape[0] != J.shape[1]:
            raise ValueError(f"the transform changes the dimension ({J.shape[1]} -> {J.shape[0]}): no determinant")
        sign, log_abs = torch.linalg.slogdet(J)
        assert sign != 0, "the Jacobian is singular: the transform is not invertible at this point"
        exact.append(log_abs)
    exact = torch.stack(exact)
    error = (claimed.detach().to(exact) - exact).abs().max().item()
    assert error <= atol, (f"log|det J| differs from slogdet of the autograd Jacobian by up to {error:.3g}: "
                           f"claimed {claimed.detach().tolist()[:4]}, exact {exact.tolist()[:4]}")
    return exact


__all__ = ["dependency_matrix", "check_autoregressive", "enumerate_binary", "check_normalized",
           "check_invertible", "check_log_det"]
