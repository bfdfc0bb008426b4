"""The course's own MNIST classifier: the feature extractor of FID and KID (weeks 5-6).

FID and KID compare samples through the features of a pretrained classifier. Papers on natural
images use Inception-v3; the course has neither torchvision nor the internet, and Inception's
ImageNet features say little about digits anyway, so it trains a small CNN on MNIST itself and
uses its penultimate layer. FIDs computed with it are comparable within the course only, never
with published (Inception) FIDs.

Architecture (x: (B, 1, 28, 28) in [0, 1])::

    conv 3x3, 1 -> 32,  ReLU, max-pool 2    (B, 32, 14, 14)
    conv 3x3, 32 -> 64, ReLU, max-pool 2    (B, 64, 7, 7)
    flatten, dropout, linear 3136 -> 128, ReLU   (B, 128)  <- features(x)
    dropout, linear 128 -> 10                     (B, 10)   <- forward(x), logits

The trained weights are cached in :func:`dgmlib.data.data_dir` as ``mnist_classifier.pt`` (quick
mode: ``mnist_classifier_quick.pt``, so a quick build never replaces the full one) with a JSON
manifest beside it (SHA-256 of the weights, training settings, seed, torch version, test
accuracy). Rebuild with ``python -m dgmlib.metrics.classifier [--root DIR] [--quick]``.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..nn.state import eval_mode

from ..data.cache import atomic_write, data_dir
from ..data.mnist8 import mnist
from ..device import get_device, module_device, seed_everything
from ..quick import is_quick, setting

FULL_FILE = "mnist_classifier.pt"
QUICK_FILE = "mnist_classifier_quick.pt"
REBUILD = "python -m dgmlib.metrics.classifier"

# path of a cache that could not be written -> (state_dict, manifest) trained in this process,
# so that a read-only data folder costs one training run per process, not one per call
_unsaved: dict[str, tuple[dict, dict]] = {}


class ClassifierCacheError(RuntimeError):
    """The cached classifier is missing its manifest or does not match its SHA-256; the message says how to rebuild."""


class MNISTClassifier(nn.Module):
    """A two-layer CNN for MNIST digits; ``features`` are its penultimate activations, for FID/KID."""

    def __init__(self, channels: tuple[int, int] = (32, 64), num_features: int = 128, dropout: float = 0.3):
        super().__init__()
        c1, c2 = channels
        self.channels, self.num_features, self.dropout = (int(c1), int(c2)), int(num_features), float(dropout)
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.hidden = nn.Linear(c2 * 7 * 7, num_features)
        self.head = nn.Linear(num_features, 10)

    def architecture(self) -> dict:
        """The constructor's arguments, as the manifest records them: ``MNISTClassifier(**architecture)``."""
        return {"channels": list(self.channels), "num_features": self.num_features, "dropout": self.dropout}

    def features(self, x: Tensor) -> Tensor:
        """x: (B, 1, 28, 28) in [0, 1] -> (B, num_features), the ReLU activations before the last layer."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"expected images of shape (B, 1, 28, 28), got {tuple(x.shape)}")
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.dropout(h.flatten(1), self.dropout, self.training)
        return F.relu(self.hidden(h))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 1, 28, 28) in [0, 1] -> logits (B, 10)."""
        return self.head(F.dropout(self.features(x), self.dropout, self.training))


def random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image by its own random (dy, dx) in [-max_shift, max_shift], filling with zeros.

    x: (B, 1, H, W) -> (B, 1, H, W). Digits are not centred exactly alike; small shifts are the one
    augmentation that keeps every image a valid digit of the same class.
    """
    b, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, b, 1), generator=generator)
    rows = (dy + torch.arange(h)).to(x.device)  # (B, H): the rows each image keeps
    cols = (dx + torch.arange(w)).to(x.device)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded[batch, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


@torch.no_grad()
def accuracy(classifier: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Fraction of images ``x`` (N, 1, 28, 28) in [0, 1] whose predicted class is ``y`` (N,)."""
    device = module_device(classifier)
    with eval_mode(classifier):
        correct = sum((classifier(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum().item()
                      for i in range(0, len(x), batch_size))
    return correct / len(x)


def train_classifier(*, steps: int | None = None, batch_size: int | None = None, seed: int = 0,
                     device: str | torch.device | None = None, progress: bool = False, lr: float | None = None,
                     augment: bool | None = None, test_images: int | None = None,
                     data_root: str | os.PathLike | None = None) -> MNISTClassifier:
    """Train an :class:`MNISTClassifier` on ``mnist("train") / 255`` and report its test accuracy.

    Adam with a cosine-decayed learning rate; ``augment`` shifts each training image by up to 2
    pixels. Defaults: 2,500 steps of 128 at lr 2e-3 with shifts (about 6 epochs, >= 99% test accuracy)
    in full mode; 400 steps of 64 at lr 3e-3 without shifts (about 97%, in 15-25 s on one CPU thread)
    under DGM_QUICK=1, tested on the first 2,000 test images instead of all 10,000. The returned classifier is in eval
    mode and carries ``.manifest``, the settings and test accuracy that :func:`load_classifier` records.
    """
    steps = setting(2500, quick=400) if steps is None else int(steps)
    batch_size = setting(128, quick=64) if batch_size is None else int(batch_size)
    lr = setting(2e-3, quick=3e-3) if lr is None else float(lr)  # a short run needs the larger steps
    augment = setting(True, quick=False) if augment is None else bool(augment)
    test_images = setting(10_000, quick=2_000) if test_images is None else int(test_images)
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got steps={steps}, batch_size={batch_size}")
    device = get_device(str(device)) if device is not None else get_device()
    generator = seed_everything(seed)
    x, y = mnist("train", root=data_root)
    x_test, y_test = mnist("test", root=data_root)
    x, x_test = x / 255, x_test[:test_images] / 255  # the classifier sees what samplers produce: [0, 1]

    start = time.perf_counter()
    model = MNISTClassifier().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    model.train()
    for _ in tqdm(range(steps), desc="MNIST classifier", disable=not progress):
        index = torch.randint(0, len(x), (batch_size,), generator=generator)
        xb = random_shift(x[index], 2, generator) if augment else x[index]
        loss = F.cross_entropy(model(xb.to(device)), y[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    seconds = time.perf_counter() - start

    model.eval().requires_grad_(False)
    test_accuracy = accuracy(model, x_test, y_test)
    model.manifest = {
        "architecture": model.architecture(), "seed": seed, "quick": is_quick(),
        "settings": {"steps": steps, "batch_size": batch_size, "lr": lr, "optimizer": "Adam, cosine decay",
                     "augment": "random shifts of up to 2 pixels" if augment else "none"},
        "test_accuracy": test_accuracy, "test_images": len(x_test), "train_seconds": round(seconds, 1),
        "torch": torch.__version__, "device": str(device),
    }
    if progress:
        print(f"MNIST classifier: test accuracy {test_accuracy:.4f} on {len(x_test)} images after {steps} steps "
              f"({seconds:.0f} s)")
    return model


def cache_path(root: str | os.PathLike | None = None, quick: bool | None = None) -> Path:
    """Where the classifier's weights live: the full one, or (quick mode) the quick one; the manifest is beside it."""
    quick = is_quick() if quick is None else quick
    return data_dir(root) / (QUICK_FILE if quick else FULL_FILE)


def manifest_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def save_classifier(model: MNISTClassifier, path: str | os.PathLike) -> dict:
    """Write the weights and then their manifest atomically; returns the manifest (with ``sha256``)."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    raw = buffer.getvalue()
    manifest = {**getattr(model, "manifest", {"architecture": model.architecture()}),
                "file": path.name, "sha256": hashlib.sha256(raw).hexdigest()}
    with atomic_write(path) as f:
        f.write(raw)
    with atomic_write(manifest_path(path), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def _read_verified(path: Path) -> tuple[dict, dict]:
    """(state_dict, manifest) of a cached classifier, after checking the weights' SHA-256 against the manifest."""
    how = f"rebuild it with `{REBUILD} --root {path.parent}{' --quick' if path.name == QUICK_FILE else ''}`"
    try:
        manifest = json.loads(manifest_path(path).read_text())
        expected = manifest["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ClassifierCacheError(f"the manifest {manifest_path(path)} of {path} is missing or unreadable "
                                   f"({error!r}), so the weights cannot be verified: {how}") from error
    raw = path.read_bytes()
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise ClassifierCacheError(f"{path} does not match the SHA-256 in its manifest (expected {expected}, got "
                                   f"{actual}); the file is corrupt or was changed: {how}")
    return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True), manifest


def _build(manifest: dict, state: dict, device: torch.device) -> MNISTClassifier:
    model = MNISTClassifier(**manifest.get("architecture", {}))
    model.load_state_dict(state)
    model.manifest = manifest
    return model.to(device).eval().requires_grad_(False)


def load_classifier(root: str | os.PathLike | None = None, *, device: str | torch.device | None = None,
                    build: bool = True, data_root: str | os.PathLike | None = None) -> MNISTClassifier:
    """The course's MNIST classifier, in eval mode and without gradients, on ``device`` (default: the best one).

    Read from ``data_dir(root)`` after checking its SHA-256 (quick mode reads the quick one). If it is
    missing and ``build`` is true, trains one (:func:`train_classifier`) and caches it; if the folder is
    not writable, warns once and keeps the trained one in memory for this process. Training reads
    MNIST from ``data_root`` (default: the usual data folder, ``$DGMLIB_DATA``), not from ``root``.
    """
    device = get_device(str(device)) if device is not None else get_device()
    path = cache_path(root)
    if path.exists():
        state, manifest = _read_verified(path)
        return _build(manifest, state, device)
    if str(path) in _unsaved:
        state, manifest = _unsaved[str(path)]
        return _build(manifest, state, device)
    if not build:
        command = f"{REBUILD} --root {path.parent}{' --quick' if is_quick() else ''}"
        raise FileNotFoundError(f"no cached MNIST classifier at {path}; build it with `{command}` or pass build=True")
    model = train_classifier(data_root=data_root, progress=True).cpu()
    try:
        manifest = save_classifier(model, path)
    except OSError as error:
        warnings.warn(f"could not cache the MNIST classifier in {path.parent} ({error}); using it from memory for "
                      "this process. Set DGMLIB_DATA (or root=) to a writable folder to keep it.", stacklevel=2)
        manifest = model.manifest
        _unsaved[str(path)] = ({k: v.clone() for k, v in model.state_dict().items()}, manifest)
    return _build(manifest, model.state_dict(), device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the course's MNIST classifier (the FID/KID feature "
                                     "extractor) and cache it in the data folder, replacing any cached one.")
    parser.add_argument("--root", default=None, help="folder to cache it in (default: $DGMLIB_DATA or ~/.cache/dgmlib)")
    parser.add_argument("--data-root", default=None, help="where mnist.npz is (default: $DGMLIB_DATA or "
                        "~/.cache/dgmlib)")
    parser.add_argument("--quick", action="store_true", help="build the quick-mode classifier (also when DGM_QUICK=1)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["DGM_QUICK"] = "1"  # one switch: every setting() below then picks its quick value
    path = cache_path(args.root)
    model = train_classifier(data_root=args.data_root, device=args.device, progress=True).cpu()
    manifest = save_classifier(model, path)
    _unsaved.pop(str(path), None)
    print(f"wrote {path} ({'quick' if is_quick() else 'full'} mode)")
    print(f"test accuracy {manifest['test_accuracy']:.4f} on {manifest['test_images']} test images; "
          f"trained in {manifest['train_seconds']:.0f} s")
    print(f"sha256 {manifest['sha256']}")


__all__ = ["MNISTClassifier", "ClassifierCacheError", "train_classifier", "load_classifier", "save_classifier",
           "cache_path", "accuracy", "FULL_FILE", "QUICK_FILE"]

if __name__ == "__main__":
    main()
