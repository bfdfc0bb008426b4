"""What every benchmark command shares: the command line and the data (binarized or 8-bit MNIST), a time-boxed
training run with early stopping on validation NLL, a test evaluation (NLL, and since week 6 the samples'
FID, KID, precision and recall against the test images), and one printed table next to the published figures.

``python -m dgmlib.benchmark --all`` runs every week's benchmark and writes one table (benchmarks/all.py).
``--save DIR`` keeps each trained model as a checkpoint with its test figures (:mod:`dgmlib.checkpoints`), e.g.
``python benchmarks/autoregressive.py --models made --save $DGMLIB_DATA/checkpoints``.
"""
from __future__ import annotations

import argparse
import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from .checkpoints import checkpoint_name, save_checkpoint
from .data import binarized_mnist, mnist
from .device import get_device
from .metrics.likelihood import NLL, bits_per_dim, nll
from .metrics.report import draw_samples
from .metrics.sample_quality import extract_features, scores_from_features
from .models.base import GenerativeModel
from .quick import is_quick, mode, setting
from .train import fit

DATA = {"binarized_mnist": "binarized MNIST (Larochelle & Murray's static binarization, pixels in {0, 1})",
        "mnist": "8-bit MNIST (pixels 0..255)"}
TEST_BATCH = 100  # of the test NLL: a batch's size can change the last bits of a float sum


@dataclass
class Entry:
    """One benchmarked model: how to build it, how long to train it, what the paper reported."""

    build: Callable[[], GenerativeModel]
    published: float | None  # the test figure reported in the literature (None: no figure), in ``unit``
    source: str
    steps: int
    lr: float = 1e-3
    batch_size: int = 100
    extra_metrics: dict[str, Callable[[GenerativeModel, Tensor], float]] = field(default_factory=dict)
    unit: str = "nats"  # of ``published``: "nats" (test NLL per image) or "bits/dim"


@dataclass
class Setup:
    """What a benchmark command was asked to do, and the binarized MNIST it runs on (on ``device``)."""

    names: list[str]
    minutes: float
    device: torch.device
    x_train: Tensor  # (N, 1, 28, 28), left on the CPU: fit moves each batch
    x_valid: Tensor
    x_test: Tensor
    pixel_scale: float = 1.0  # images / pixel_scale lie in [0, 1]: 1 for binary data, 255 for 8-bit
    classifier: torch.nn.Module | None = None  # the course classifier: sample-quality columns when set
    reference_features: Tensor | None = None  # its features of x_test / pixel_scale
    data: str = "binarized_mnist"  # a key of DATA
    benchmark: str | None = None  # the script's stem, e.g. "autoregressive": what a checkpoint is rebuilt from
    save_dir: Path | None = None  # --save: where each trained model is kept as a checkpoint (None: not kept)


def parse_arguments(argv: list[str] | None, models: list[str], description: str, *,
                    quick_minutes: float) -> tuple[list[str], float, torch.device, Path | None]:
    """``--models/--minutes/--device/--save`` of every benchmark command: (models, minutes, device, save folder)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(models), help=f"comma-separated subset of {models}")
    parser.add_argument("--minutes", type=float, default=setting(15.0, quick=quick_minutes),
                        help=f"training time budget per model (default: 15, quick mode {quick_minutes:g})")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--save", default=None, metavar="DIR",
                        help="keep each trained model there as <benchmark>-<model>-<tier>.pt with a JSON manifest "
                             "(lectures load them from $DGMLIB_DATA/checkpoints); default: keep none")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(models))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {models}")
    return names, args.minutes, get_device(args.device), None if args.save is None else Path(args.save).expanduser()


def command_line(argv: list[str] | None, table: dict[str, Entry], description: str, *,
                 quick_minutes: float, quick_eval: int, quick_note: str, data: str = "binarized_mnist",
                 benchmark: str | None = None) -> Setup:
    """Parse ``--models/--minutes/--device/--save`` and load the data: full size, or quick-mode subsets.

    data: "binarized_mnist" (Larochelle & Murray's static binarization, weeks 2-3) or "mnist" (8-bit
    pixels 0..255, weeks 4-8; validation is the last 10,000 training images). benchmark: the calling
    script's stem, which ``--save`` needs so that a checkpoint can be rebuilt.
    """
    names, minutes, device, save_dir = parse_arguments(argv, list(table), description, quick_minutes=quick_minutes)
    if save_dir is not None and benchmark is None:
        raise ValueError("--save needs command_line(benchmark=<the script's stem>) to name the checkpoints")
    x_train, x_valid, x_test = benchmark_data(data, setting(50_000, quick=2_000), setting(10_000, quick=quick_eval))
    setup = Setup(names, minutes, device, x_train, x_valid.to(device), x_test.to(device),
                  pixel_scale=1.0 if data == "binarized_mnist" else 255.0, data=data, benchmark=benchmark,
                  save_dir=save_dir)
    add_sample_quality(setup)
    tier = {"quick": f"quick (DGM_MODE=quick: {quick_note})", "laptop": f"laptop (DGM_MODE=laptop: {quick_note})",
            "full": "full"}[mode()]
    name = "binarized MNIST" if data == "binarized_mnist" else "8-bit MNIST"
    print(f"{name}, {tier}; device {device}; {len(setup.x_train)} train / {len(setup.x_test)} test images")
    return setup


def benchmark_data(data: str, n_train: int, n_eval: int) -> tuple[Tensor, Tensor, Tensor]:
    """(x_train, x_valid, x_test) on the CPU: the first n_train training images, n_eval random valid and test ones.

    The test images are the first n_eval of ``torch.randperm`` of the test split with a generator seeded 0,
    the same for every benchmark and for a checkpoint's re-evaluation (its manifest records n_eval).
    """
    if data not in DATA:
        raise ValueError(f"data must be one of {list(DATA)}, got {data!r}")
    if data == "binarized_mnist":
        train, valid, test = binarized_mnist("train"), binarized_mnist("valid"), binarized_mnist("test")
    else:
        train, valid, test = mnist("train")[0], mnist("valid")[0], mnist("test")[0]
    # binarized MNIST's test file is sorted by digit: a subset must be drawn at random (from every split)
    pick = torch.Generator().manual_seed(0)
    x_test = test[torch.randperm(len(test), generator=pick)[:n_eval]]
    x_valid = valid[torch.randperm(len(valid), generator=pick)[:n_eval]]
    return train[:n_train], x_valid, x_test


def data_record(data: str, n_train: int, n_test: int, note: str = "") -> dict:
    """What a checkpoint's manifest says about its data: which set, how many training and test images."""
    return {"name": data, "about": DATA[data] + note, "train_images": n_train, "test_images": n_test,
            "test_selection": "the first test_images of torch.randperm(len(test split)) with a generator seeded 0 "
                              "(dgmlib.benchmark.benchmark_data)"}


def benchmark_nll(model: GenerativeModel, x_test: Tensor) -> NLL:
    """The benchmark's test NLL, in batches of TEST_BATCH after seeding torch's generators with 0.

    The seed makes stochastic figures (a VAE's importance sampling, a flow's dequantization noise) functions
    of the parameters, so a saved checkpoint reproduces them exactly on the same device and images.
    """
    torch.manual_seed(0)
    return nll(model, x_test, batch_size=TEST_BATCH)


ROW_DETAILS = ("model", "published", "unit", "source", "steps", "minutes", "params", "device")  # not test figures


def save_trained(model: GenerativeModel, directory: Path | None, benchmark: str, name: str, row: dict,
                 data: dict, seed: int = 0) -> Path | None:
    """Keep a trained model as the checkpoint ``<benchmark>-<name>-<tier>`` in ``directory`` (``--save``).

    The manifest's metrics are the row's test figures exactly; its details the data (:func:`data_record`),
    steps, minutes, device, seed and the published figure. Returns the .pt's path, or None when
    ``directory`` is None (no ``--save``).
    """
    if directory is None:
        return None
    published = {} if "published" not in row else {
        "published": {"figure": row["published"], "unit": row.get("unit", "nats"), "source": row.get("source", "-")}}
    path = save_checkpoint(model, directory, checkpoint_name(benchmark, name),
                           recipe={"benchmark": benchmark, "model": name, "mode": mode()},
                           metrics={key: value for key, value in row.items() if key not in ROW_DETAILS},
                           data=data, steps=row["steps"], minutes=row["minutes"], device=row["device"], seed=seed,
                           **published)
    print(f"saved {path} and its manifest {path.with_suffix('.json').name}")
    return path


def add_sample_quality(setup: Setup) -> None:
    """Load the course classifier and the test images' features, so that ``run`` scores samples too."""
    from .metrics.classifier import load_classifier  # trains the quick one on first use (about 10 s)
    setup.classifier = load_classifier(device=setup.device)
    setup.reference_features, _ = extract_features(setup.x_test.cpu() / setup.pixel_scale, setup.classifier)


def sample_scores(model: GenerativeModel, setup: Setup) -> dict[str, float]:
    """FID, KID (with its standard error), precision and recall of len(x_test) samples against the test images.

    Quick mode draws 200 (an autoregressive model samples pixel by pixel: 784 passes per batch).
    """
    return score_images(draw_samples(model, n_samples(setup)) / setup.pixel_scale, setup)


def n_samples(setup: Setup) -> int:
    return setting(len(setup.x_test), quick=min(200, len(setup.x_test)))


def score_images(images: Tensor, setup: Setup) -> dict[str, float]:
    """FID, KID (with its standard error), precision and recall of images (N, 1, 28, 28) in [0, 1]."""
    scores = scores_from_features(*extract_features(images, setup.classifier), setup.reference_features,
                                  num_subsets=setting(100, quick=10), subset_size=min(1000, len(images) // 2))
    return {key: scores[key] for key in ("fid", "kid", "kid_se", "precision", "recall")}


def floor_scores(setup: Setup) -> dict[str, float]:
    """The scores of as many real validation images as a model's samples: the best any model can do here."""
    return score_images(setup.x_valid[:n_samples(setup)].cpu() / setup.pixel_scale, setup)


def train_with_early_stopping(model: GenerativeModel, x_train: Tensor, x_valid: Tensor, entry: Entry,
                              seconds: float, device, valid_nll: Callable | None = None) -> tuple[int, float]:
    """Train in rounds of ``fit`` within ``seconds``, keeping the parameters with the best validation NLL.

    ``valid_nll(model, x)`` defaults to :func:`dgmlib.metrics.nll`; pass a cheaper
    proxy (e.g. a small-K estimate) for models whose ``log_prob`` is expensive.
    Returns (steps taken, seconds spent).
    """
    valid_nll = valid_nll or nll
    optimizer = torch.optim.Adam(model.parameters(), lr=entry.lr)
    rounds = setting(20, quick=2)
    per_round = max(1, entry.steps // rounds)
    best, best_state, steps, start = float("inf"), None, 0, time.perf_counter()
    while steps < entry.steps and time.perf_counter() - start < seconds:
        history = fit(model, x_train, steps=per_round, optimizer=optimizer, batch_size=entry.batch_size,
                      device=device, clip_grad_norm=10.0, time_limit=seconds - (time.perf_counter() - start),
                      desc=f"{type(model).__name__} {steps}+")
        steps += len(history.step)
        valid = valid_nll(model, x_valid)
        if valid < best:
            best, best_state = valid, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return steps, time.perf_counter() - start


def run(name: str, entry: Entry, setup: Setup, valid_nll: Callable | None = None) -> dict:
    """Build, train and test one entry; returns a row of the results table."""
    device, x_test = setup.device, setup.x_test
    model = entry.build().to(device)
    steps, seconds = train_with_early_stopping(model, setup.x_train, setup.x_valid, entry, 60 * setup.minutes,
                                               device, valid_nll)
    test_nll = benchmark_nll(model, x_test)  # seeds 0 first: the figures below are functions of the parameters too
    row = {"model": name, "test_nll": float(test_nll), "interval": test_nll.half_width,
           "bits_per_dim": bits_per_dim(test_nll, x_test[0].numel()),
           "published": entry.published, "unit": entry.unit, "source": entry.source, "steps": steps, "minutes": seconds / 60,
           "params": sum(p.numel() for p in model.parameters()), "device": str(device)}
    row.update({key: metric(model, x_test) for key, metric in entry.extra_metrics.items()})
    if setup.classifier is not None:
        row.update(sample_scores(model, setup))
    data = data_record(setup.data, len(setup.x_train), len(x_test))
    save_trained(model, setup.save_dir, setup.benchmark, name, row, data)  # with --save only
    return row


def print_table(rows: list[dict], extra: tuple[str, ...] = ()) -> None:
    extra = tuple(extra) + tuple(key for key in ("fid", "precision", "recall") if all(key in r for r in rows))
    head = f"{'model':<16}{'test NLL':>10}{'± 95%':>7}{'bits/dim':>10}{'published':>11}"
    head += "".join(f"{key:>12}" for key in extra)
    print("\n" + head + f"  {'train min':>9}{'steps':>8}{'params':>10}  device  source")
    for r in rows:
        published = "-" if r["published"] is None else (
            f"{r['published']:.2f}" + (" b/d" if r.get("unit") == "bits/dim" else ""))
        line = f"{r['model']:<16}{r['test_nll']:>10.2f}{r['interval']:>7.2f}{r['bits_per_dim']:>10.4f}{published:>11}"
        line += "".join(f"{r[key]:>12.2f}" for key in extra)
        print(line + f"  {r['minutes']:>9.1f}{r['steps']:>8}{r['params']:>10}  {r['device']:<6}  {r['source']}")


def main(argv: list[str] | None = None) -> None:
    """``python -m dgmlib.benchmark --all [--minutes M] [--device D]``: every week's benchmark, one table."""
    import runpy
    from pathlib import Path
    argv = list(argv) if argv is not None else __import__("sys").argv[1:]
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "all.py"
    if "--all" not in argv:
        raise SystemExit("usage: python -m dgmlib.benchmark --all [--minutes M] [--device D]; each week alone: "
                         "python benchmarks/<week>.py")
    if not script.exists():
        raise SystemExit(f"{script} is missing: the benchmarks live in the course repository, not in the "
                         "installed package; run this from a checkout")
    argv.remove("--all")
    __import__("sys").argv = [str(script), *argv]
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
