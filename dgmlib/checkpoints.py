"""Trained checkpoints of the benchmarks' models, so that a lecture can show a trained model without training it.

A checkpoint is two files in one folder, by default ``$DGMLIB_DATA/checkpoints`` (never in git: ``*.pt``
is ignored)::

    autoregressive-made-full.pt     the state_dict, on the CPU (torch.save)
    autoregressive-made-full.json   its manifest: how to rebuild the model (benchmark script, model, tier),
                                    the data, steps, minutes, device and seed of the training run, the test
                                    metrics the benchmark printed, the .pt's SHA-256 and size, the torch and
                                    dgmlib versions and the UTC time

Names are ``<benchmark>-<model>-<tier>``, so that a quick-mode checkpoint never stands in for a full one.
The benchmark that trains a model saves it::

    python benchmarks/autoregressive.py --models made --save $DGMLIB_DATA/checkpoints

A lecture calls :func:`pretrained`, which loads the full (else the tier in force's) checkpoint, or returns None so
that the notebook trains instead. With ``$DGMLIB_CHECKPOINT_URL`` set (the base URL of a release), a
checkpoint missing from the folder is downloaded from ``<url>/<name>.json`` and ``<url>/<name>.pt``,
checked against the manifest's SHA-256 and kept in the folder.

Loading runs no pickled code: the SHA-256 is checked first, then ``torch.load(weights_only=True)``; the
architecture comes from the benchmark script of this checkout, built at the manifest's tier. On the same
device and test images the loaded model reproduces the benchmark's test figures exactly.
"""
from __future__ import annotations

import datetime
import hashlib
import importlib.util
import io
import json
import os
import re
import sys
import warnings
from collections import OrderedDict
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from .data.cache import atomic_write, data_dir, fetch
from .device import get_device
from .quick import MODES, mode, use_mode

URL_VARIABLE = "DGMLIB_CHECKPOINT_URL"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"  # the checkout's scripts, which build the models
_PART = re.compile(r"[a-z0-9_]+")  # a benchmark or model name: also a file name and a module name


class CheckpointError(RuntimeError):
    """A checkpoint is corrupt or no longer fits its benchmark's model; the message says what to do."""


def checkpoint_name(benchmark: str, model: str, tier: str | None = None) -> str:
    """``<benchmark>-<model>-<tier>``, e.g. ``autoregressive-made-full``; tier: the one in force by default."""
    tier = mode() if tier is None else tier
    for part in (benchmark, model):
        if not isinstance(part, str) or not _PART.fullmatch(part):
            raise ValueError(f"benchmark and model names are lower-case letters, digits and '_' (like 'made' or "
                             f"'gated_pixelcnn'), got {part!r}")
    if tier not in MODES:
        raise ValueError(f"tier must be one of {MODES}, got {tier!r}")
    return f"{benchmark}-{model}-{tier}"


def default_directory() -> Path:
    """``$DGMLIB_DATA/checkpoints`` (``~/.cache/dgmlib/checkpoints`` when DGMLIB_DATA is unset)."""
    return data_dir() / "checkpoints"


def save_checkpoint(model: nn.Module, directory: str | os.PathLike, name: str, *, recipe: dict, metrics: dict,
                    **details) -> Path:
    """Write ``<name>.pt`` (the state_dict, on the CPU) and ``<name>.json`` (its manifest) into ``directory``.

    recipe: ``{"benchmark": script stem, "model": its entry, "mode": tier it was built at}``, what
    :func:`load_checkpoint` rebuilds the architecture from. metrics: the test figures as the benchmark's
    row has them (floats are stored with ``repr``, which reads back exactly). details: the rest of the
    manifest (data, steps, minutes, device, seed, ...), as plain values. Both files are serialized in
    memory first and then written atomically, the .pt before the .json, so a failure leaves no half file
    and never a manifest without its weights. Returns the path of the .pt.
    """
    from . import __version__  # here, not at import time: dgmlib/__init__ may import this module one day

    missing = {"benchmark", "model", "mode"} - set(recipe)
    if missing:
        raise ValueError(f"recipe lacks {sorted(missing)}; it needs the benchmark script, the model and the tier")
    checkpoint_name(recipe["benchmark"], recipe["model"], recipe["mode"])  # validates the three
    reserved = {"name", "recipe", "model_class", "parameters", "metrics", "rebuilt_buffers", "sha256", "size", "torch", "dgmlib",
                "saved_utc"} & set(details)
    if reserved:
        raise ValueError(f"details may not override the manifest's own fields {sorted(reserved)}")
    state = model.state_dict()
    rebuilt = _rebuilt_buffers(model, state, recipe, details.get("seed", 0))
    # clone: a view would drag its whole storage into the file
    on_cpu = OrderedDict((key, value.detach().cpu().clone()) for key, value in state.items() if key not in rebuilt)
    if hasattr(state, "_metadata"):
        on_cpu._metadata = state._metadata  # module versions, which some layers' loading reads
    buffer = io.BytesIO()
    torch.save(on_cpu, buffer)
    raw = buffer.getvalue()
    manifest = {"name": name, "recipe": {key: recipe[key] for key in ("benchmark", "model", "mode")},
                "model_class": _qualified_name(model), "parameters": sum(p.numel() for p in model.parameters()),
                **details, "metrics": metrics, "rebuilt_buffers": rebuilt,
                "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw),
                "torch": torch.__version__, "dgmlib": __version__,
                "saved_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    text = json.dumps(manifest, indent=2, default=_json_value) + "\n"  # fails here, before any file is touched
    directory = Path(directory)
    path = directory / f"{name}.pt"
    with atomic_write(path) as f:
        f.write(raw)
    with atomic_write(directory / f"{name}.json", "w") as f:
        f.write(text)
    return path


def load_checkpoint(name: str, *, directory: str | os.PathLike | None = None,
                    device: str | torch.device | None = None) -> tuple[nn.Module, dict]:
    """(model in eval mode on ``device``, manifest) of checkpoint ``name`` (see :func:`checkpoint_name`).

    Looks in ``directory`` (default :func:`default_directory`), else downloads it from
    ``$DGMLIB_CHECKPOINT_URL`` when that is set. Raises ``FileNotFoundError`` when it is in neither place,
    :class:`CheckpointError` when it is corrupt or no longer fits the model its benchmark builds.
    """
    directory = default_directory() if directory is None else Path(directory)
    loaded = _load(name, directory, device)
    if loaded is None:
        benchmark, model, tier = (name.split("-") + ["?", "?", "full"])[:3]
        raise FileNotFoundError(f"no checkpoint {name} in {directory}{_url_note(name)}; make one with "
                                f"`{_command(benchmark, model, tier, directory)}`")
    return loaded


def pretrained(benchmark: str, model: str, *, device: str | torch.device | None = None,
               directory: str | os.PathLike | None = None) -> tuple[nn.Module, dict] | None:
    """The benchmark's trained ``model`` and its manifest, or None (train it in the lecture then).

    Takes the full tier's checkpoint, else the one of the tier in force (a laptop run's in laptop mode, a quick
    one only in quick mode: a model trained for seconds is no stand-in for a trained one). Prints one line either way:
    the test figure and training run of the checkpoint it loaded, or where it looked and how to make one.
    """
    directory = default_directory() if directory is None else Path(directory)
    tiers = ["full"] + ([mode()] if mode() != "full" else [])
    names = [checkpoint_name(benchmark, model, tier) for tier in tiers]
    if not (BENCHMARKS / f"{benchmark}.py").exists() and BENCHMARKS.is_dir():
        raise ValueError(f"there is no benchmark {benchmark!r}; choose from {_benchmark_names()}")
    for name in names:
        loaded = _load(name, directory, device)
        if loaded is not None:
            print(describe(loaded[1]))
            return loaded
    print(f"no checkpoint {' or '.join(names)} in {directory}{_url_note(names[0])}: train it here, or make one with "
          f"`{_command(benchmark, model, 'full', directory)}`")
    return None


def describe(manifest: dict) -> str:
    """One line: the checkpoint's test figure (next to the published one) and how it was trained."""
    metrics, data = manifest.get("metrics", {}), manifest.get("data", {})
    if metrics.get("test_nll") is not None:
        figure = f"test NLL {metrics['test_nll']:.2f} nats"
        if metrics.get("bits_per_dim") is not None:
            figure += f" ({metrics['bits_per_dim']:.4f} bits/dim)"
    elif metrics.get("bits_per_dim") is not None:
        figure = f"test bits/dim {metrics['bits_per_dim']:.3f}"
    elif metrics.get("fid") is not None:
        figure = f"FID {metrics['fid']:.2f}"
    else:
        figure = "no test figure"
    published = manifest.get("published") or {}
    if published.get("figure") is not None:
        figure += f", published {published['figure']:.2f}{' bits/dim' if published.get('unit') == 'bits/dim' else ''}"
    trained = f"{manifest.get('steps', '?')} steps in {manifest.get('minutes', float('nan')):.1f} min on " \
              f"{manifest.get('device', '?')}"
    if data:
        trained += f", {data.get('train_images', '?')} training images of {data.get('name', '?')}"
    return f"loaded {manifest['name']} ({manifest['model_class'].rsplit('.', 1)[-1]}): {figure}; {trained}"


def benchmark_script(benchmark: str) -> ModuleType:
    """``benchmarks/<benchmark>.py`` of this checkout, imported; its ``entries()`` or ``build(name)`` build models."""
    if not BENCHMARKS.is_dir():
        raise CheckpointError(f"{BENCHMARKS} is missing: checkpoints are rebuilt by the benchmark scripts, which live "
                              "in the course repository, not in the installed package; load them from a checkout "
                              "(pip install -e .)")
    path = BENCHMARKS / f"{benchmark}.py"
    if not _PART.fullmatch(benchmark) or not path.exists():
        raise CheckpointError(f"there is no benchmark script {path}; choose from {_benchmark_names()}")
    spec = importlib.util.spec_from_file_location(f"benchmark_{benchmark}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def build_model(recipe: dict, seed: int = 0) -> nn.Module:
    """The untrained model that ``recipe`` names, built by its benchmark script at the recipe's tier.

    Seeded like the benchmark (randomness of construction outside the state_dict comes out the same),
    without disturbing the caller's random state.
    """
    script, name = benchmark_script(recipe["benchmark"]), recipe["model"]
    with use_mode(recipe["mode"]), torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)  # the CPU's only: the model is built there
        if hasattr(script, "entries"):
            table = script.entries()
            if name not in table:
                raise CheckpointError(f"benchmarks/{recipe['benchmark']}.py has no model {name!r} any more "
                                      f"(it has {list(table)})")
            return table[name].build()
        try:
            return script.build(name)[0]
        except ValueError as error:
            raise CheckpointError(f"benchmarks/{recipe['benchmark']}.py cannot build {name!r}: {error}") from error


def _load(name: str, directory: Path, device) -> tuple[nn.Module, dict] | None:
    found = _read_local(name, directory) or _download(name, directory)
    if found is None:
        return None
    raw, manifest = found
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    model = build_model(manifest["recipe"], seed=manifest.get("seed", 0))
    if _qualified_name(model) != manifest.get("model_class"):
        raise CheckpointError(_changed(manifest, directory) + f" (it holds a {manifest.get('model_class')}, the "
                              f"script now builds a {_qualified_name(model)})")
    _size_lazy_buffers(model, state)
    built = model.state_dict()
    for key, digest in manifest.get("rebuilt_buffers", {}).items():
        if key not in built or _tensor_digest(built[key]) != digest:
            raise CheckpointError(_changed(manifest, directory) + f" (its buffer {key!r}, which the script rebuilds, "
                                  "came out different)")
        state[key] = built[key]
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{_changed(manifest, directory)}. PyTorch says: {error}") from error
    device = get_device(None if device is None else str(device))
    return model.to(device).eval(), manifest


def _changed(manifest: dict, directory: Path) -> str:
    recipe = manifest["recipe"]
    return (f"{directory / manifest['name']}.pt no longer fits the model that benchmarks/{recipe['benchmark']}.py "
            f"builds for {recipe['model']!r} at the {recipe['mode']} tier: the benchmark's configuration changed since "
            f"the checkpoint was saved ({manifest.get('saved_utc', '?')}, dgmlib {manifest.get('dgmlib', '?')}). Make "
            f"a new one with `{_command(recipe['benchmark'], recipe['model'], recipe['mode'], directory)}`, or load it "
            "from the commit it was saved with")


def _read_local(name: str, directory: Path) -> tuple[bytes, dict] | None:
    """(the .pt's bytes, checked against the manifest, and the manifest), or None when there is no manifest."""
    pt, js = directory / f"{name}.pt", directory / f"{name}.json"
    if not js.exists():
        if pt.exists():
            raise CheckpointError(f"{pt} has no manifest {js.name} beside it, so it cannot be verified: copy the .json "
                                  f"too, or delete {pt}")
        return None
    manifest = _parse_manifest(js.read_bytes(), js)
    if not pt.exists():
        raise CheckpointError(f"{js} has no weights {pt.name} beside it: copy the .pt too, or delete {js}")
    raw = pt.read_bytes()
    _verify(raw, manifest, pt, directory)
    return raw, manifest


def _download(name: str, directory: Path) -> tuple[bytes, dict] | None:
    """Fetch ``<url>/<name>.json`` and ``.pt`` from the release, check them, keep them; None when unavailable."""
    base = os.environ.get(URL_VARIABLE, "").strip()
    if not base:
        return None
    url = f"{base.rstrip('/')}/{name}"
    try:
        manifest_raw = fetch(url + ".json")
        manifest = _parse_manifest(manifest_raw, url + ".json")
        raw = fetch(url + ".pt")
    except OSError:  # offline, or the release has no such checkpoint: as if it were absent
        return None
    _verify(raw, manifest, url + ".pt", directory)  # before anything is written
    try:
        with atomic_write(directory / f"{name}.pt") as f:
            f.write(raw)
        with atomic_write(directory / f"{name}.json") as f:
            f.write(manifest_raw)
    except OSError as error:
        warnings.warn(f"could not keep the downloaded checkpoint {name} in {directory} ({error}); using it from "
                      "memory. Set DGMLIB_DATA to a writable folder to keep it.", stacklevel=3)
    return raw, manifest


def _parse_manifest(raw: bytes, where) -> dict:
    try:
        manifest = json.loads(raw)
        recipe = manifest["recipe"]
        checkpoint_name(recipe["benchmark"], recipe["model"], recipe["mode"])
        if not isinstance(manifest["sha256"], str) or not isinstance(manifest["name"], str):
            raise TypeError("sha256 and name must be strings")
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"the manifest {where} is unreadable ({error!r}): copy or download it again, or make the "
                              "checkpoint again with its benchmark's --save") from error
    return manifest


def _verify(raw: bytes, manifest: dict, where, directory: Path) -> None:
    actual = hashlib.sha256(raw).hexdigest()
    if actual != manifest["sha256"]:
        recipe = manifest["recipe"]
        raise CheckpointError(f"{where} does not match the SHA-256 in its manifest (expected {manifest['sha256']}, got "
                              f"{actual}; {len(raw)} bytes, the manifest says {manifest.get('size')}): it is corrupt, "
                              f"truncated or from another checkpoint. Delete {manifest['name']}.pt and .json from "
                              f"{directory} and copy or download them again, or make a new one with "
                              f"`{_command(recipe['benchmark'], recipe['model'], recipe['mode'], directory)}`")


def _tensor_digest(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and values."""
    value = tensor.detach().cpu().contiguous().reshape(-1)  # 1-D: a 0-d tensor cannot be viewed as bytes
    digest = hashlib.sha256(f"{tensor.dtype} {tuple(tensor.shape)} ".encode())
    digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def _rebuilt_buffers(model: nn.Module, state: dict, recipe: dict, seed: int) -> dict[str, str]:
    """{key: digest} of the buffers that the recipe's builder makes again exactly (MADE's masks, say).

    They are left out of the .pt, which halves a MADE's checkpoint; their digests in the manifest make
    :func:`load_checkpoint` refuse a builder that no longer makes them.
    """
    buffers = {key for key, _ in model.named_buffers()}
    fresh = build_model(recipe, seed=seed).state_dict()
    return {key: _tensor_digest(value) for key, value in state.items()
            if key in buffers and key in fresh and fresh[key].shape == value.shape
            and fresh[key].dtype == value.dtype and torch.equal(fresh[key].cpu(), value.detach().cpu())}


def _size_lazy_buffers(model: nn.Module, state: dict) -> None:
    """Give buffers that start empty and are sized in training (a PCD RBM's persistent chains) the saved shape."""
    for key, buffer in list(model.named_buffers()):
        saved = state.get(key)
        if saved is not None and buffer.numel() == 0 and buffer.shape != saved.shape:
            owner, _, attribute = key.rpartition(".")
            setattr(model.get_submodule(owner), attribute, torch.empty(saved.shape, dtype=buffer.dtype))


def _command(benchmark: str, model: str, tier: str, directory: Path) -> str:
    prefix = "" if tier == "full" else f"DGM_MODE={tier} "
    return f"{prefix}python benchmarks/{benchmark}.py --models {model} --save {directory}"


def _url_note(name: str) -> str:
    base = os.environ.get(URL_VARIABLE, "").strip()
    if not base:
        return f" (set {URL_VARIABLE} to a release's base URL to download checkpoints)"
    return f" nor at {base.rstrip('/')}/{name}.json (or it could not be reached)"


def _benchmark_names() -> list[str]:
    return sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "all")


def _qualified_name(model: nn.Module) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


def _json_value(value):
    """NumPy and 0-d torch numbers as Python numbers, paths as strings; anything else is refused."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"a {type(value).__name__} cannot be stored in a checkpoint's manifest; pass numbers, strings, "
                    "lists or dicts")


__all__ = ["CheckpointError", "checkpoint_name", "default_directory", "save_checkpoint", "load_checkpoint",
           "pretrained", "describe", "benchmark_script", "build_model", "URL_VARIABLE"]
