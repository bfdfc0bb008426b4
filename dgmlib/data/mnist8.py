"""MNIST with its 8-bit pixels and its labels (LeCun, Cortes & Burges), for weeks 4-8.

60,000 training images (of which the last 10,000 are held out as "valid") and 10,000 test
images, 28x28, pixels 0..255, labels 0..9. The first call downloads Keras's copy
(``mnist.npz``: keys x_train, y_train, x_test, y_test), checks the SHA-256 of every array
against the published data, and caches it as ``mnist.npz`` in :func:`dgmlib.data.data_dir`
(``$DGMLIB_DATA``). Offline, put a ``mnist.npz`` of that layout in that folder: its arrays are
checked, not its file hash (any .npz container of the same arrays will do).
"""
from __future__ import annotations

import hashlib
import io
import os
import zipfile

import numpy as np
import torch
from torch import Tensor

from .cache import DataUnavailableError, atomic_write, data_dir, fetch

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
CACHE_FILE = "mnist.npz"
N_VALID = 10_000  # the last 10,000 training images, held out for validation
# key -> (shape, SHA-256 of the uint8 array's bytes), from the four original IDX files
ARRAYS = {
    "x_train": ((60000, 28, 28), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}
SPLITS = ("train", "valid", "test", "train_full")

_loaded: dict[tuple[str, float], dict[str, np.ndarray]] = {}  # (cache path, mtime) -> arrays


def mnist(split: str = "train", *, binarize: bool = False, root: str | os.PathLike | None = None,
          download: bool = True) -> tuple[Tensor, Tensor]:
    """Return ``(x, y)``: images (N, 1, 28, 28) float32 and labels (N,) int64.

    split: "train" (the first 50,000 training images), "valid" (the last 10,000), "test"
    (10,000) or "train_full" (all 60,000). x holds the 8-bit values 0., 1., ..., 255.: divide by
    255 for [0, 1], or dequantize (week 4). ``binarize=True`` thresholds them at 128 into {0, 1}
    (a deterministic binarization, not the stochastic one of :func:`binarized_mnist`, whose
    likelihood figures it cannot be compared with).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    arrays = load_arrays(root=root, download=download)
    if split == "test":
        x, y = arrays["x_test"], arrays["y_test"]
    else:
        x, y = arrays["x_train"], arrays["y_train"]
        cut = len(x) - N_VALID
        if split == "train":
            x, y = x[:cut], y[:cut]
        elif split == "valid":
            x, y = x[cut:], y[cut:]
    images = torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1)
    images = (images >= 128).float() if binarize else images.float()
    return images, torch.from_numpy(np.ascontiguousarray(y)).long()


def load_arrays(root: str | os.PathLike | None = None, download: bool = True) -> dict[str, np.ndarray]:
    """The four uint8 arrays, from the cache or freshly downloaded, each checked against its checksum."""
    folder = data_dir(root)
    path = folder / CACHE_FILE
    if not path.exists():
        if not download:
            raise DataUnavailableError(_offline_message(folder, "download=False"))
        try:
            raw = fetch(URL)
        except OSError as error:
            raise DataUnavailableError(_offline_message(folder, error)) from error
        _verify(_read_npz(io.BytesIO(raw), URL, "download it again"), URL, "download it again (the file is corrupt)")
        with atomic_write(path) as f:  # only a verified download reaches the cache
            f.write(raw)
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _loaded:
        fix = f"delete {path} and run again to download it afresh, or copy a complete one there"
        arrays = _read_npz(path, f"cache file {path}", fix)
        _verify(arrays, f"cache file {path}", fix)
        _loaded[key] = arrays
    return _loaded[key]


def _read_npz(source, name: str, fix: str) -> dict[str, np.ndarray]:
    try:
        with np.load(source, allow_pickle=False) as archive:
            return {key: archive[key] for key in ARRAYS if key in archive}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # truncated or not an .npz
        raise DataUnavailableError(f"{name} cannot be read as an .npz ({error}); {fix}") from error


def _verify(arrays: dict[str, np.ndarray], source: str, fix: str) -> None:
    for key, (shape, checksum) in ARRAYS.items():
        array = arrays.get(key)
        if array is None:
            raise DataUnavailableError(f"{source} has no '{key}' array; {fix}")
        if array.shape != shape or array.dtype != np.uint8:
            raise DataUnavailableError(f"{source}: '{key}' has shape {array.shape} and dtype {array.dtype}, "
                                       f"expected {shape} uint8; {fix}")
        if hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() != checksum:
            raise DataUnavailableError(f"{source}: '{key}' does not match the published SHA-256 checksum; {fix}")


def _offline_message(folder, reason) -> str:
    return (f"MNIST is not in {folder} and could not be downloaded from {URL} ({reason}). Provide it by "
            f"hand: copy mnist.npz (keys x_train, y_train, x_test, y_test, uint8, as keras.datasets.mnist "
            f"has them) into {folder}, or set the environment variable DGMLIB_DATA to a folder that holds it.")


__all__ = ["mnist"]
