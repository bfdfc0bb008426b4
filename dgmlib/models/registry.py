"""Registry of model families, so that one contract test covers all of them.

A model module registers a *tiny* configuration of each class it defines
together with a function that makes valid inputs for it (and labels, for a
conditional model). The contract tests
(tests/test_model_contract.py) then check every registered model alike:
sample shapes, log_prob shapes, a finite backward pass, a state_dict round
trip, and the same on CUDA where there is one. A new family joins by
registering, not by copying tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from .base import GenerativeModel


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable[[], GenerativeModel]  # a tiny configuration, seconds to run on a CPU
    example: Callable[[int, torch.Generator], Tensor]  # n valid inputs for that configuration
    labels: Callable[[int, torch.Generator], Tensor] | None = None  # n valid labels, for a conditional model


REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, *, build: Callable[[], GenerativeModel],
             example: Callable[[int, torch.Generator], Tensor],
             labels: Callable[[int, torch.Generator], Tensor] | None = None) -> None:
    if name in REGISTRY:
        raise ValueError(f"model {name!r} is registered twice")
    REGISTRY[name] = ModelSpec(name, build, example, labels)


def class_labels(num_classes: int) -> Callable[[int, torch.Generator], Tensor]:
    """Labels for conditional models: uniform integers in 0..num_classes - 1, shape (n,)."""
    def make(n: int, generator: torch.Generator) -> Tensor:
        return torch.randint(0, num_classes, (n,), generator=generator)
    return make


def binary_example(event_shape: tuple[int, ...]) -> Callable[[int, torch.Generator], Tensor]:
    """Inputs for models of binary data: uniform {0, 1} tensors of that shape."""
    def make(n: int, generator: torch.Generator) -> Tensor:
        return torch.randint(0, 2, (n, *event_shape), generator=generator).float()
    return make


def gaussian_example(event_shape: tuple[int, ...]) -> Callable[[int, torch.Generator], Tensor]:
    """Inputs for models of continuous data: standard normal tensors of that shape."""
    def make(n: int, generator: torch.Generator) -> Tensor:
        return torch.randn((n, *event_shape), generator=generator)
    return make


def unit_interval_example(event_shape: tuple[int, ...]) -> Callable[[int, torch.Generator], Tensor]:
    """Inputs for models of images in [0, 1]: uniform values of that shape."""
    def make(n: int, generator: torch.Generator) -> Tensor:
        return torch.rand((n, *event_shape), generator=generator)
    return make
