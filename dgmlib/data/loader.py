"""Turn whatever a notebook holds (a tensor, a Dataset, a DataLoader) into batches."""
from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset

Data = Tensor | Dataset | DataLoader


def as_loader(data: Data, batch_size: int = 128, shuffle: bool = False,
              generator: torch.Generator | None = None) -> DataLoader:
    """A DataLoader over ``data``; a DataLoader passes through unchanged."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, Tensor):
        data = TensorDataset(data)
    if not isinstance(data, Dataset):
        raise TypeError(f"expected a Tensor, Dataset or DataLoader, got {type(data).__name__}")
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)


def batch_inputs(batch) -> Tensor:
    """The model input of a batch: the batch itself, or its first element for (x, y) pairs."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def split_batch(batch) -> tuple[Tensor, Tensor | None]:
    """(x, y) of a batch: (x, None) for unlabelled data (a tensor, or a 1-tuple from a TensorDataset)."""
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None
