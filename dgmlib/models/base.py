"""The one interface shared by every model family in the course.

A model is an ``nn.Module`` with

* ``log_prob(x) -> (B,)``: per-example log-likelihood in nats. Whether it is
  exact, a lower bound (an ELBO) or a stochastic estimate (importance sampling)
  is stated by the class attribute ``log_prob_kind``; families with no
  likelihood at all (GANs) raise ``NotImplementedError`` with an explanation.
* ``sample(n) -> (n, *event_shape)``: draws from the model, without gradients.
* ``loss(x) -> ()``: the scalar objective that training minimises. By default
  the mean negative log-likelihood (maximum likelihood); latent-variable
  models use the negative ELBO, adversarial models add a ``train_step``.

``event_shape`` is fixed at construction, so ``sample`` works before the first
forward pass, and the public methods check their input against it and then
call the private ``_log_prob``/``_sample`` that a subclass writes.
Training (``dgmlib.train.fit``), evaluation, plotting, benchmarks and the
contract tests use only this interface.
"""
from __future__ import annotations

import numbers
from typing import ClassVar, Literal, Sequence

import torch
from torch import Tensor, nn

LogProbKind = Literal["exact", "lower_bound", "estimate", "none"]


class GenerativeModel(nn.Module):
    """Base class of every model in dgmlib (see the module docstring)."""

    #: What ``log_prob`` returns: the exact log-likelihood, a lower bound on it,
    #: a stochastic estimate of it, or nothing ("none": log_prob raises).
    log_prob_kind: ClassVar[LogProbKind] = "exact"

    def __init__(self, event_shape: Sequence[int]):
        super().__init__()
        self.event_shape = torch.Size(event_shape)

    @property
    def num_dims(self) -> int:
        """Number of dimensions D of one example (e.g. 784 for a 28x28 image)."""
        return self.event_shape.numel()

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters (or buffers); CPU for a model with neither."""
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the parameters, which samples come out in (float64 after ``.double()``)."""
        for tensor in self.parameters():
            return tensor.dtype
        return torch.get_default_dtype()

    def log_prob(self, x: Tensor) -> Tensor:
        """Per-example log p(x) in nats. x: (B, *event_shape) -> (B,)."""
        self.check_input(x)
        return self._log_prob(x)

    @torch.no_grad()
    def sample(self, n: int, **options) -> Tensor:
        """Draw n examples: (n, *event_shape) on the model's device.

        ``options`` are family-specific (e.g. ``temperature`` for autoregressive models).
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"sample(n) needs a positive integer n, got {n!r}")
        return self._sample(int(n), **options)

    def loss(self, x: Tensor) -> Tensor:
        """Scalar training objective: mean negative log-likelihood over the batch."""
        return -self.log_prob(x).mean()

    # -- subclasses implement these ------------------------------------------------
    def _log_prob(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _log_prob")

    def _sample(self, n: int, **options) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _sample")

    # -- input checks with messages that say what to do -----------------------------
    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless x is a floating batch of shape (B, *event_shape)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}; "
                            "convert with torch.as_tensor(x, dtype=torch.float32)")
        expected = (-1, *self.event_shape)
        if x.dim() != len(expected) or x.shape[1:] != self.event_shape:
            hint = ""
            if tuple(x.shape) == tuple(self.event_shape):
                hint = "; for a single example add a batch dimension with x.unsqueeze(0)"
            raise ValueError(f"{type(self).__name__} expects a batch of shape "
                             f"(B, {', '.join(map(str, self.event_shape))}), "
                             f"got {tuple(x.shape)}{hint}")
        if not x.is_floating_point():
            raise TypeError(f"expected a floating-point tensor, got {x.dtype}; use x.float()")
        if x.device != self.device:
            raise RuntimeError(f"x is on {x.device} but the model is on {self.device}; "
                               "move it with x.to(model.device)")

    def extra_repr(self) -> str:
        return f"event_shape={tuple(self.event_shape)}, log_prob_kind={self.log_prob_kind!r}"
