"""One training loop for every model in the course, and checkpoints.

``fit`` calls ``model.train_step(batch, optimizers, step)`` (see :mod:`dgmlib.models.base`):
the same loop trains a Bernoulli baseline, a PixelCNN, a VAE or a flow with the default
maximum-likelihood step, and a GAN with its own two-optimizer step. It moves the model to a
device (the best one by default), shuffles, clips gradients if asked, validates periodically,
keeps an exponential moving average of the weights if asked, shows a tqdm progress bar that
works in Jupyter and in a terminal, and returns the history of every curve that
``train_step`` reports. It reads those values from the device once per ``log_every`` steps,
not at every step, so a GPU is never made to wait for Python.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, is_dataclass, asdict
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .data.cache import atomic_write
from .data.loader import Data, as_loader, split_batch
from .device import get_device, module_device
from .metrics.likelihood import mean_metrics
from .models.base import Batch, maximum_likelihood_step


@dataclass
class History:
    """What happened during ``fit``.

    step: the update numbers 1, 2, ...; curves: one list per key of ``train_step``'s result
    ("loss", or "loss_D", "loss_G", ...), one value per step; valid_step and valid: the steps at
    which the model was validated and one list per key of ``validation_metrics``; ema: the
    ``AveragedModel`` when ``fit(ema=...)`` kept one (its ``.module`` is the averaged model).
    """

    step: list[int] = field(default_factory=list)
    curves: dict[str, list[float]] = field(default_factory=dict)
    valid_step: list[int] = field(default_factory=list)
    valid: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    device: str = ""
    ema: AveragedModel | None = field(default=None, repr=False, compare=False)

    @property
    def train_loss(self) -> list[float]:
        """The "loss" curve (empty for a model whose ``train_step`` reports other names)."""
        return self.curves.get("loss", [])

    @property
    def valid_loss(self) -> list[float]:
        return self.valid.get("loss", [])

    @property
    def ema_model(self) -> nn.Module | None:
        """The averaged model (an independent copy of the trained one), or None."""
        return None if self.ema is None else self.ema.module

    def as_dict(self) -> dict:
        """Plain values (the averaged model left out), e.g. for a checkpoint."""
        return {"step": list(self.step), "curves": {k: list(v) for k, v in self.curves.items()},
                "valid_step": list(self.valid_step), "valid": {k: list(v) for k, v in self.valid.items()},
                "seconds": self.seconds, "device": self.device}


def fit(model: nn.Module, data: Data, *, epochs: int | None = None, steps: int | None = None,
        batch_size: int = 128, lr: float = 1e-3,
        optimizer: torch.optim.Optimizer | dict[str, torch.optim.Optimizer] | None = None,
        device: torch.device | str | None = None, clip_grad_norm: float | None = None,
        valid_data: Data | None = None, valid_every: int | None = None,
        progress: bool | None = None, seed: int | None = None, desc: str | None = None,
        time_limit: float | None = None, ema: float | AveragedModel | None = None,
        log_every: int = 50) -> History:
    """Train ``model`` with its ``train_step`` over ``data`` for ``epochs`` passes or ``steps`` updates.

    data, valid_data: a tensor (N, *event_shape), a Dataset or a DataLoader; (x, y) batches
        give their labels to a conditional model (``model.conditional``) and are ignored otherwise.
    optimizer: defaults to ``model.configure_optimizers(lr)`` (one Adam for likelihood models);
        pass your own optimizer (or a dict of them, by the names the model's ``train_step`` uses).
    device: defaults to :func:`dgmlib.get_device` (CUDA, MPS, then CPU).
    clip_grad_norm: clip the global gradient norm to this value if given.
    valid_every: validate every this many steps (default: at the end of each
        epoch, or every ``steps // 10`` steps), and always at the end; validation averages
        ``model.validation_metrics`` (default: the loss) over ``valid_data``.
    progress: show a progress bar (default: yes, except under nbgrader, where
        anything written to stderr costs a student the points of a test).
    seed: seeds the shuffling order, for reproducible runs.
    time_limit: stop early after this many seconds of training (benchmarks use it
        to give every model the same budget); the last step is still validated.
    ema: keep an exponential moving average of the weights with this decay (e.g. 0.999), in
        ``history.ema`` (torch's ``AveragedModel``); pass a previous ``history.ema`` to go on
        averaging across calls. The model itself keeps its trained weights.
    log_every: read the values ``train_step`` returns from the device every this many steps.

    Raises ``FloatingPointError`` when a reported value is not finite, naming the first
    such step (found at the next read, so the weights may already hold NaNs by then).
    """
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs= or steps=")
    if (epochs is not None and epochs < 1) or (steps is not None and steps < 1):
        raise ValueError(f"epochs/steps must be positive, got epochs={epochs}, steps={steps}")
    if log_every < 1:
        raise ValueError(f"log_every must be a positive number of steps, got {log_every}")
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    loader = as_loader(data, batch_size, shuffle=True, generator=generator)
    if len(loader) == 0:
        raise ValueError("the training data is empty")
    total = steps if steps is not None else epochs * len(loader)
    if valid_every is None:
        valid_every = len(loader) if epochs is not None else max(1, total // 10)
    if valid_every < 1:
        raise ValueError(f"valid_every must be a positive number of steps, got {valid_every}")
    optimizers = _optimizers(model, optimizer, lr)
    train_step = getattr(model, "train_step", None)
    if train_step is None:  # a plain nn.Module with a loss: the maximum-likelihood step
        def train_step(batch, optimizers, step, *, clip_grad_norm=None):
            return maximum_likelihood_step(model, batch, optimizers, clip_grad_norm)
    averaged = _averaged_model(model, ema, device)
    conditional = getattr(model, "conditional", False)
    if progress is None:
        progress = "NBGRADER_EXECUTION" not in os.environ

    history = History(device=str(device), ema=averaged)
    pending: list[dict[str, Tensor | float]] = []  # values not yet read from the device
    smoothed: dict[str, float] = {}
    start = time.perf_counter()
    bar = tqdm(total=total, desc=desc or type(model).__name__, disable=not progress, leave=True)

    def flush() -> None:
        """Read the pending values in one transfer; record them; refuse non-finite ones."""
        if not pending:
            return
        first = history.step[-1] - len(pending) + 1 if history.step else 1
        keys = list(pending[0])
        if any(list(v) != keys for v in pending):
            raise ValueError("train_step must return the same keys at every step, got "
                             f"{sorted({tuple(v) for v in pending})}")
        # stacked where they are, then one transfer: the only wait for the device in this interval
        values = torch.stack([torch.stack([torch.as_tensor(v[k], device=device).detach().float().reshape(())
                                           for k in keys]) for v in pending]).cpu().double().tolist()
        pending.clear()
        for offset, row in enumerate(values):
            for key, value in zip(keys, row):
                if not np.isfinite(value):
                    bar.close()
                    raise FloatingPointError(f"{key} became {value} at step {first + offset}; "
                                             "try a smaller lr or clip_grad_norm=1.0")
                history.curves.setdefault(key, []).append(value)
                smoothed[key] = value if key not in smoothed else 0.95 * smoothed[key] + 0.05 * value

    step = 0
    try:
        while step < total:
            for raw in loader:
                x, y = split_batch(raw)
                if hasattr(model, "check_values"):
                    model.check_values(x)  # on the CPU, before the transfer: no device sync
                if conditional and y is None:
                    raise ValueError(f"{type(model).__name__} is conditional: give fit (x, y) data, "
                                     "e.g. TensorDataset(x, y)")
                batch = Batch(x.to(device, non_blocking=True),
                              y.to(device, non_blocking=True) if conditional else None)
                model.train()
                result = train_step(batch, optimizers, step, clip_grad_norm=clip_grad_norm)
                if averaged is not None:
                    averaged.update_parameters(model)
                step += 1
                history.step.append(step)
                pending.append(result)
                if time_limit is not None and time.perf_counter() - start > time_limit:
                    total = step  # out of time: finish here, validating this last step
                validate = valid_data is not None and (step % valid_every == 0 or step == total)
                if step % log_every == 0 or step == total or validate:
                    flush()
                    postfix = {k: f"{v:.4g}" for k, v in list(smoothed.items())[:3]}
                    if validate:
                        metrics = mean_metrics(model, valid_data, batch_size=max(batch_size, 256))
                        history.valid_step.append(step)
                        for key, value in metrics.items():
                            history.valid.setdefault(key, []).append(value)
                    for key, values in list(history.valid.items())[:2]:
                        postfix["valid" if key == "loss" else f"valid_{key}"] = f"{values[-1]:.4g}"
                    bar.set_postfix(postfix, refresh=False)
                bar.update(1)
                if step >= total:
                    break
        flush()
    finally:
        bar.close()
    if averaged is not None:  # buffers (masks, statistics) are not averaged: take the model's
        for mine, theirs in zip(averaged.module.buffers(), model.buffers()):
            mine.copy_(theirs)
        averaged.module.eval()
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


def _optimizers(model: nn.Module, optimizer, lr: float) -> dict[str, torch.optim.Optimizer]:
    if isinstance(optimizer, dict):
        return optimizer
    if optimizer is not None:
        return {"model": optimizer}
    if hasattr(model, "configure_optimizers"):
        optimizers = model.configure_optimizers(lr)
        if not isinstance(optimizers, dict) or not optimizers:
            raise TypeError(f"{type(model).__name__}.configure_optimizers must return a dict of optimizers by name")
        return optimizers
    return {"model": torch.optim.Adam(model.parameters(), lr=lr)}


def _averaged_model(model: nn.Module, ema, device: torch.device) -> AveragedModel | None:
    if ema is None:
        return None
    if isinstance(ema, AveragedModel):
        return ema.to(device)
    if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0.0 < ema < 1.0:
        raise ValueError(f"ema is the decay of the moving average, a number in (0, 1) such as 0.999; got {ema!r}")
    return AveragedModel(model, device=device, multi_avg_fn=get_ema_multi_avg_fn(float(ema)))


def save_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, **extra) -> Path:
    """Save the model (and optimizer) state atomically.

    ``extra`` holds plain values that ``load_checkpoint`` returns: numbers, strings, tensors, and
    lists/tuples/dicts of them; a dataclass (a model config, a ``History``) is stored as its dict
    and a NumPy value as a list or number. Anything else is refused here, not at load time,
    because loading (``torch.load(weights_only=True)``) runs no pickled code.
    """
    path = Path(path)
    state = {"model_class": type(model).__name__, "model": model.state_dict(),
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "extra": {key: _plain(value, key) for key, value in extra.items()}}
    with atomic_write(path) as f:
        torch.save(state, f)
    return path


def load_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Load a checkpoint written by ``save_checkpoint`` into ``model`` (on its device); return ``extra``."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no checkpoint at {path}; train the model first or check the path")
    state = torch.load(path, map_location=module_device(model), weights_only=True)
    if state["model_class"] != type(model).__name__:
        raise ValueError(f"{path} holds a {state['model_class']}, not a {type(model).__name__}")
    model.load_state_dict(state["model"])
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    return state["extra"]


def _plain(value, name: str):
    """``value`` as plain Python values and tensors, which load without unpickling code."""
    if isinstance(value, History):  # its curves, not the averaged model
        return _plain(value.as_dict(), name)
    if is_dataclass(value) and not isinstance(value, type):  # a config
        return _plain(asdict(value), name)
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, f"{name}[{i}]") for i, v in enumerate(value))
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, torch.Tensor)):
        return value
    raise TypeError(f"checkpoint extra {name} is a {type(value).__name__}, which cannot be stored; "
                    "pass plain values (numbers, strings, tensors, lists, dicts) or a dataclass")


__all__ = ["History", "fit", "save_checkpoint", "load_checkpoint"]
