"""One training loop for every model in the course, and checkpoints.

``fit`` only needs ``model.loss(x)``: the same loop trains a Bernoulli baseline,
a PixelCNN, a VAE or a flow. It moves the model to a device (the best one by
default), shuffles, clips gradients if asked, validates periodically, shows a
tqdm progress bar that works in Jupyter and in a terminal, and returns the
history of losses.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data.cache import atomic_write
from .data.loader import Data, as_loader, batch_inputs
from .device import get_device
from .evaluate import mean_loss


@dataclass
class History:
    """What happened during ``fit``: per-step training loss and periodic validation loss."""

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    valid_step: list[int] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    device: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def fit(model: nn.Module, data: Data, *, epochs: int | None = None, steps: int | None = None,
        batch_size: int = 128, lr: float = 1e-3, optimizer: torch.optim.Optimizer | None = None,
        device: torch.device | str | None = None, clip_grad_norm: float | None = None,
        valid_data: Data | None = None, valid_every: int | None = None,
        progress: bool | None = None, seed: int | None = None, desc: str | None = None,
        time_limit: float | None = None) -> History:
    """Minimise ``model.loss(x)`` over ``data`` for ``epochs`` passes or ``steps`` updates.

    data, valid_data: a tensor (N, *event_shape), a Dataset or a DataLoader; for
        (x, y) batches the labels are ignored.
    optimizer: defaults to Adam(lr) over the model's parameters; pass your own
        to change it (it must already hold the model's parameters).
    device: defaults to :func:`dgmlib.get_device` (CUDA, MPS, then CPU).
    clip_grad_norm: clip the global gradient norm to this value if given.
    valid_every: validate every this many steps (default: at the end of each
        epoch, or every ``steps // 10`` steps), and always at the end.
    progress: show a progress bar (default: yes, except under nbgrader, where
        anything written to stderr costs a student the points of a test).
    seed: seeds the shuffling order, for reproducible runs.
    time_limit: stop early after this many seconds of training (benchmarks use it
        to give every model the same budget); the last step is still validated.

    Raises ``FloatingPointError`` as soon as the loss is not finite.
    """
    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs= or steps=")
    if (epochs is not None and epochs < 1) or (steps is not None and steps < 1):
        raise ValueError(f"epochs/steps must be positive, got epochs={epochs}, steps={steps}")
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
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    if progress is None:
        progress = "NBGRADER_EXECUTION" not in os.environ

    history = History(device=str(device))
    start = time.perf_counter()
    bar = tqdm(total=total, desc=desc or type(model).__name__, disable=not progress, leave=True)
    step, smoothed = 0, None
    while step < total:
        for batch in loader:
            x = batch_inputs(batch).to(device, non_blocking=True)
            model.train()
            loss = model.loss(x)
            if not torch.isfinite(loss):
                bar.close()
                raise FloatingPointError(f"the loss became {loss.item()} at step {step}; "
                                         "try a smaller lr or clip_grad_norm=1.0")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()

            step += 1
            value = loss.item()
            history.step.append(step)
            history.train_loss.append(value)
            smoothed = value if smoothed is None else 0.95 * smoothed + 0.05 * value
            postfix = {"loss": f"{smoothed:.4g}"}
            if time_limit is not None and time.perf_counter() - start > time_limit:
                total = step  # out of time: finish here, validating this last step
            if valid_data is not None and (step % valid_every == 0 or step == total):
                history.valid_step.append(step)
                history.valid_loss.append(mean_loss(model, valid_data, batch_size=max(batch_size, 256)))
            if history.valid_loss:
                postfix["valid"] = f"{history.valid_loss[-1]:.4g}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            if step >= total:
                break
    bar.close()
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


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
    state = torch.load(path, map_location=_device_of(model), weights_only=True)
    if state["model_class"] != type(model).__name__:
        raise ValueError(f"{path} holds a {state['model_class']}, not a {type(model).__name__}")
    model.load_state_dict(state["model"])
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    return state["extra"]


def _plain(value, name: str):
    """``value`` as plain Python values and tensors, which load without unpickling code."""
    if is_dataclass(value) and not isinstance(value, type):  # a config, a History
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


def _device_of(model: nn.Module) -> torch.device:
    for tensor in model.state_dict().values():
        return tensor.device
    return torch.device("cpu")


__all__ = ["History", "fit", "save_checkpoint", "load_checkpoint"]
