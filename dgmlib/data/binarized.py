"""Statically binarized MNIST (Larochelle & Murray, 2011).

The benchmark on which NADE, MADE, PixelCNN and VAE/IWAE report test NLL in
nats: 50,000 / 10,000 / 10,000 images of 28x28 pixels in {0, 1}.

The published files are three text files (one image per line, 784 values).
They are downloaded once, checked against SHA-256 checksums of their pixel
arrays, and cached as one ``binarized_mnist.npz`` (keys train/valid/test,
uint8 (N, 28, 28)) in :func:`dgmlib.data.data_dir` (``$DGMLIB_DATA``). Without
internet, place that .npz or the three .amat files in the data folder.
"""
from __future__ import annotations

import hashlib
import os
import zipfile

import numpy as np
import torch
from torch import Tensor

from .cache import DataUnavailableError, atomic_write, data_dir, fetch

URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
CACHE_FILE = "binarized_mnist.npz"
IMAGE_SHAPE = (28, 28)
# split -> (number of images, SHA-256 of the uint8 (N, 28, 28) array's bytes)
SPLITS = {
    "train": (50000, "43490d4d6ac9002727af4426d8748609fdb7e4094fa65ad8d681ea60082a7a5a"),
    "valid": (10000, "069b4f0beb389b776478c3e872b4df71c95ac4be64d7cbe6d32e24ebac8e6d5e"),
    "test": (10000, "ca0294c3b8d984c7a1dc891015a8eea6f37bae59a34e35ea0fc8c47110a8dd86"),
}

_loaded: dict[tuple[str, float], dict[str, np.ndarray]] = {}  # (cache path, mtime) -> arrays


def binarized_mnist(split: str = "train", *, root: str | os.PathLike | None = None,
                    download: bool = True) -> Tensor:
    """Return one split as a float tensor of shape (N, 1, 28, 28) with values in {0, 1}.

    ``split`` is "train" (50,000), "valid" (10,000) or "test" (10,000). The test file is
    sorted by digit (its first 1,000 images are zeros): for a subset of it, draw the
    images at random rather than taking the first n.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    array = load_arrays(root=root, download=download)[split]
    return torch.from_numpy(array).float().unsqueeze(1)


def load_arrays(root: str | os.PathLike | None = None, download: bool = True) -> dict[str, np.ndarray]:
    """All three splits as uint8 arrays (N, 28, 28), from the cache or freshly downloaded."""
    folder = data_dir(root)
    path = folder / CACHE_FILE
    if not path.exists():
        _build_cache(folder, download)
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _loaded:
        try:
            with np.load(path) as archive:
                arrays = {split: archive[split] for split in SPLITS if split in archive}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # truncated or not an .npz
            raise DataUnavailableError(f"cache file {path} cannot be read ({error}); delete it and run "
                                       "again to download it afresh, or copy a complete one there") from error
        for split in SPLITS:
            _verify(arrays.get(split), split, source=f"cache file {path}",
                    fix=f"delete {path} and run again to download it afresh")
        _loaded[key] = arrays
    return _loaded[key]


def _verify(array: np.ndarray | None, split: str, source: str, fix: str) -> None:
    n, checksum = SPLITS[split]
    if array is None:
        raise DataUnavailableError(f"{source} has no '{split}' split; {fix}")
    if array.shape != (n, *IMAGE_SHAPE) or array.dtype != np.uint8:
        raise DataUnavailableError(f"{source}: split '{split}' has shape {array.shape} and dtype "
                                   f"{array.dtype}, expected ({n}, 28, 28) uint8; {fix}")
    if hashlib.sha256(array.tobytes()).hexdigest() != checksum:
        raise DataUnavailableError(f"{source}: split '{split}' does not match the published "
                                   f"SHA-256 checksum; {fix}")


def _build_cache(folder, download: bool) -> None:
    arrays = {}
    for split in SPLITS:
        name = f"binarized_mnist_{split}.amat"
        local = folder / name
        if local.exists():  # placed by hand, e.g. on an offline machine
            text, source = local.read_bytes(), str(local)
        elif download:
            try:
                text, source = fetch(URL + name), URL + name
            except OSError as error:
                raise DataUnavailableError(_offline_message(folder, error)) from error
        else:
            raise DataUnavailableError(_offline_message(folder, "download=False"))
        arrays[split] = parse_amat(text, split)
        _verify(arrays[split], split, source=source, fix="download it again (the file is corrupt)")
    with atomic_write(folder / CACHE_FILE) as f:
        np.savez_compressed(f, **arrays)


def parse_amat(text: bytes, split: str) -> np.ndarray:
    """Parse the published text format (rows of 784 space-separated 0/1) into uint8 (N, 28, 28)."""
    chars = np.frombuffer(text, dtype=np.uint8)
    is_digit = (chars == ord("0")) | (chars == ord("1"))
    if not np.isin(chars[~is_digit], np.frombuffer(b" \t\r\n", dtype=np.uint8)).all():
        raise DataUnavailableError(f"binarized_mnist_{split}.amat holds characters other than "
                                   "0, 1 and white space; download it again")
    pixels = chars[is_digit] - ord("0")
    per_image = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    if pixels.size % per_image:
        raise DataUnavailableError(f"binarized_mnist_{split}.amat holds {pixels.size} pixels, "
                                   f"not a multiple of {per_image}; download it again")
    return pixels.reshape(-1, *IMAGE_SHAPE).astype(np.uint8)


def _offline_message(folder, reason) -> str:
    return (f"Binarized MNIST is not in {folder} and could not be downloaded from {URL} "
            f"({reason}). Provide it by hand: copy binarized_mnist.npz (keys train/valid/test, "
            f"uint8 arrays (N, 28, 28)) or the three files binarized_mnist_{{train,valid,test}}.amat "
            f"into {folder}, or set the environment variable DGMLIB_DATA to a folder that holds them.")
