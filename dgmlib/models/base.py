"""The one contract shared by every model family in the course.

A model is an ``nn.Module`` with

* ``log_prob(x, y=None) -> (B,)``: per-example log-likelihood in nats. What it is
  says the class attribute ``log_prob_kind``: ``"exact"``, a ``"lower_bound"`` (an
  ELBO), a stochastic ``"estimate"`` (importance sampling), ``"unnormalized"``
  (an energy-based model: minus the energy, off by an unknown log Z), or ``"none"``
  (a GAN: ``log_prob`` raises ``NotImplementedError`` saying why).
* ``sample(n, y=None, **options) -> (n, *event_shape)``: draws from the model, without
  a graph unless the class needs input gradients while sampling (``sample_needs_grad``:
  Langevin dynamics, guidance); the samples never carry one.
* ``loss(x, y=None) -> ()``: the scalar that the default training step minimises
  (mean negative log-likelihood, or the negative ELBO for latent-variable models).
* ``support``: where the data live, as a ``torch.distributions.constraints`` object
  (``boolean`` for binary images, ``integer_interval(0, 255)``, ``real``), which input
  checks and bits-per-dimension use.
* ``conditional``: True for a model of p(x | y): y is a class label (``num_classes``) or, for
  image-to-image translation (pix2pix, CycleGAN), a source image of ``condition_shape``; then
  ``fit`` passes y to ``loss`` and ``sample(n, y=...)`` draws for the given labels or images.
* ``configure_optimizers(lr) -> {name: Optimizer}`` and
  ``train_step(batch, optimizers, step) -> {name: value}``: one training update. The
  default is the maximum-likelihood step (loss, backward, clip, step); a GAN overrides
  both with its discriminator and generator steps.
* ``validation_metrics(x, y=None) -> {name: float}`` (default ``{"loss": ...}``).

``event_shape`` is fixed at construction, so ``sample`` works before the first
forward pass. The public methods check their input and then call the private
``_log_prob``/``_sample`` that a subclass writes (with ``y`` only when conditional).
Training (``dgmlib.train.fit``), metrics, plotting, benchmarks and the contract
tests use only this interface.
"""
from __future__ import annotations

import numbers
from typing import ClassVar, Literal, NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.distributions import constraints

LogProbKind = Literal["exact", "lower_bound", "estimate", "unnormalized", "none"]
LOG_PROB_KINDS: tuple[str, ...] = ("exact", "lower_bound", "estimate", "unnormalized", "none")


class InputDtypeError(TypeError, ValueError):
    """An input of the wrong dtype: a TypeError, and a ValueError like every other bad input."""


class Batch(NamedTuple):
    """One training batch on the model's device: inputs (B, *event_shape) and labels (B,) or None."""

    x: Tensor
    y: Tensor | None = None


class GenerativeModel(nn.Module):
    """Base class of every model in dgmlib (see the module docstring)."""

    #: What ``log_prob`` returns (see the module docstring).
    log_prob_kind: ClassVar[LogProbKind] = "exact"
    #: Where one coordinate of x lives; the binary models say ``constraints.boolean``.
    support: ClassVar[constraints.Constraint] = constraints.real
    #: True for samplers that differentiate with respect to x (Langevin dynamics, guidance).
    sample_needs_grad: ClassVar[bool] = False

    def __init__(self, event_shape: Sequence[int], num_classes: int | None = None, *,
                 condition_shape: Sequence[int] | None = None):
        super().__init__()
        self.event_shape = torch.Size(event_shape)
        if num_classes is not None and condition_shape is not None:
            raise ValueError("a model is conditioned on labels (num_classes) or on inputs (condition_shape), "
                             "not both")
        self.condition_shape = None if condition_shape is None else torch.Size(condition_shape)
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)
                                        or num_classes < 1):
            raise ValueError(f"num_classes must be a positive integer (or None for an unconditional model), "
                             f"got {num_classes!r}")
        self.num_classes = None if num_classes is None else int(num_classes)

    @property
    def conditional(self) -> bool:
        """True when the model is of p(x | y): labels y in 0..num_classes - 1, or inputs of condition_shape."""
        return self.num_classes is not None or self.condition_shape is not None

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
        """Floating dtype of the parameters, which inputs must have and samples come out in."""
        for tensor in self.parameters():
            if tensor.is_floating_point():
                return tensor.dtype
        for tensor in self.buffers():
            if tensor.is_floating_point():
                return tensor.dtype
        return torch.get_default_dtype()

    # -- the public interface ------------------------------------------------------------
    def log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Per-example log p(x) (or log p(x | y)) in nats. x: (B, *event_shape), y: (B,) -> (B,)."""
        self.check_input(x)
        if self.conditional:
            return self._log_prob(x, self.check_labels(y, len(x), x.device))
        self.check_labels(y, len(x), x.device)  # refuses labels: an unconditional model has no use for them
        return self._log_prob(x)

    def sample(self, n: int, y: Tensor | int | None = None, **options) -> Tensor:
        """Draw n examples: (n, *event_shape) on the model's device, in the model's dtype.

        y: for a conditional model, the labels to draw for: (n,) integers, or one int for all;
            for a model conditioned on inputs, (n, *condition_shape) in the model's dtype.
        ``options`` are family-specific (e.g. ``temperature`` for autoregressive models).
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"sample(n) needs a positive integer n, got {n!r}")
        n = int(n)
        if self.num_classes is not None and isinstance(y, numbers.Integral) and not isinstance(y, bool):
            y = torch.full((n,), int(y), dtype=torch.long, device=self.device)
        labels = self.check_labels(y, n, self.device)
        with torch.enable_grad() if self.sample_needs_grad else torch.no_grad():
            x = self._sample(n, labels, **options) if self.conditional else self._sample(n, **options)
        return x.detach()

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Scalar training objective: mean negative log-likelihood over the batch."""
        return -self.log_prob(x, y).mean()

    def configure_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """The optimizers ``fit`` steps, by name: one Adam over every parameter by default."""
        return {"model": torch.optim.Adam(self.parameters(), lr=lr)}

    def train_step(self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], step: int, *,
                   clip_grad_norm: float | None = None) -> dict[str, Tensor]:
        """One update; returns detached scalars by name (``fit`` reads them once per log interval)."""
        return maximum_likelihood_step(self, batch, optimizers, clip_grad_norm)

    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """Metrics of one validation batch (``fit`` averages them over the validation data)."""
        return {"loss": (self.loss(x, y) if self.conditional else self.loss(x)).item()}

    # -- subclasses implement these ------------------------------------------------
    def _log_prob(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _log_prob")

    def _sample(self, n: int, y: Tensor | None = None, **options) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _sample")

    # -- input checks with messages that say what to do -----------------------------
    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless x is a non-empty batch (B, *event_shape) that the model can take.

        Checks type, shape, emptiness, dtype and device, which cost nothing, and, for a tensor on the
        CPU, that its values lie in ``support`` (NaN never does). On an accelerator that check would
        wait for the device at every call, so ``fit`` and the metrics check each batch on the CPU first.
        """
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
        if len(x) == 0:
            raise ValueError(f"{type(self).__name__} got an empty batch (0 examples); "
                             "pass at least one example")
        if not x.is_floating_point():
            raise InputDtypeError(f"expected a floating-point tensor, got {x.dtype}; use x.to(model.dtype)")
        if x.dtype != self.dtype:
            raise InputDtypeError(f"x is {x.dtype} but {type(self).__name__} has {self.dtype} parameters; "
                                  f"convert with x.to(model.dtype) (or the model with model.to({x.dtype}))")
        if x.device != self.device:
            raise RuntimeError(f"x is on {x.device} but the model is on {self.device}; "
                               "move it with x.to(model.device)")
        if x.device.type == "cpu":
            self.check_values(x)

    def check_values(self, x: Tensor) -> None:
        """Raise a ValueError unless every value of x lies in ``support`` (finite, binary, ...)."""
        inside = self.support.check(x)
        if self.support is constraints.real:
            inside = inside & torch.isfinite(x)  # constraints.real lets +-inf through
        if not bool(inside.all()):
            bad = x[~inside][0].item()
            if self.support is constraints.boolean:
                raise ValueError(f"{type(self).__name__} models binary data in {{0, 1}} but x holds {bad}; "
                                 "binarize first, e.g. (x > 0.5).float()")
            raise ValueError(f"{type(self).__name__} models data in {self.support} but x holds {bad}; "
                             "remove or fix the NaN, infinite or out-of-range values")

    def check_labels(self, y: Tensor | None, n: int, device: torch.device) -> Tensor | None:
        """Raise a clear error unless y suits the model: (n,) integer labels in 0..num_classes - 1 if
        conditional, None otherwise. Returns y."""
        name = type(self).__name__
        if not self.conditional:
            if y is not None:
                raise ValueError(f"{name} is unconditional and takes no labels; drop y "
                                 "(or build a conditional model with num_classes=...)")
            return None
        if self.condition_shape is not None:
            return self._check_condition(y, n, device)
        if y is None:
            raise ValueError(f"{name} is conditional (num_classes={self.num_classes}): pass the labels y, "
                             f"(B,) integers in 0..{self.num_classes - 1}")
        if not isinstance(y, Tensor) or y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
            raise ValueError(f"labels y must be an integer tensor (B,), got "
                             f"{y.dtype if isinstance(y, Tensor) else type(y).__name__}; use y.long()")
        if y.shape != (n,):
            raise ValueError(f"expected {n} labels, shape ({n},), got shape {tuple(y.shape)}")
        if y.device != device:
            raise RuntimeError(f"y is on {y.device} but x and the model are on {device}; use y.to(model.device)")
        if y.device.type == "cpu" and ((y < 0) | (y >= self.num_classes)).any():
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}, got values from {int(y.min())} "
                             f"to {int(y.max())}")
        return y

    def _check_condition(self, y: Tensor | None, n: int, device: torch.device) -> Tensor:
        """The checks of an input-conditioned model's y: (n, *condition_shape), float, finite."""
        name, shape = type(self).__name__, tuple(self.condition_shape)
        if y is None:
            raise ValueError(f"{name} is conditional on inputs of shape {shape}: pass them as y, "
                             f"a tensor (B, {', '.join(map(str, shape))})")
        if not isinstance(y, Tensor) or not y.is_floating_point():
            raise ValueError(f"{name}'s condition y must be a floating-point tensor (B, "
                             f"{', '.join(map(str, shape))}), got "
                             f"{y.dtype if isinstance(y, Tensor) else type(y).__name__}; use y.to(model.dtype)")
        if tuple(y.shape) != (n, *shape):
            raise ValueError(f"expected {n} conditions of shape {shape}, i.e. ({n}, {', '.join(map(str, shape))}), "
                             f"got {tuple(y.shape)}")
        if y.dtype != self.dtype:
            raise InputDtypeError(f"y is {y.dtype} but {name} has {self.dtype} parameters; use y.to(model.dtype)")
        if y.device != device:
            raise RuntimeError(f"y is on {y.device} but x and the model are on {device}; use y.to(model.device)")
        if y.device.type == "cpu" and not bool(torch.isfinite(y).all()):
            raise ValueError(f"{name}'s condition y holds NaN or infinite values; fix them first")
        return y

    def extra_repr(self) -> str:
        text = f"event_shape={tuple(self.event_shape)}, log_prob_kind={self.log_prob_kind!r}"
        if self.condition_shape is not None:
            return text + f", condition_shape={tuple(self.condition_shape)}"
        return text + (f", num_classes={self.num_classes}" if self.num_classes is not None else "")


def maximum_likelihood_step(model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                            clip_grad_norm: float | None = None) -> dict[str, Tensor]:
    """The training step of every likelihood model: loss, backward, clip, step.

    Works for any module with a ``loss``; the labels reach ``loss`` only for a conditional model.
    """
    x, y = batch
    loss = model.loss(x, y) if getattr(model, "conditional", False) else model.loss(x)
    for optimizer in optimizers.values():
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
    for optimizer in optimizers.values():
        optimizer.step()
    return {"loss": loss.detach()}
