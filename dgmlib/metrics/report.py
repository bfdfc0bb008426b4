"""One row of week 6's table for any model of the course: its likelihood where it has one, its samples' scores always.

Every model goes through the same contract: ``log_prob_kind`` says whether an NLL can be reported
(exact, a bound or an estimate) or not (GANs: "none"; EBMs: "unnormalized"), and ``sample`` gives
images for FID, KID, precision and recall in the course classifier's features. Samples are scored
against the test images *of the data the model was trained on* (binarized MNIST for weeks 2-3,
8-bit MNIST scaled to [0, 1] for weeks 4-5), so each family is compared like for like, and each
data set has its own floor (real held-out images scored the same way).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.distributions import constraints
from torch.utils.data import TensorDataset

from ..nn.state import eval_mode
from .likelihood import bits_per_dim, is_density, nll
from .sample_quality import check_images, extract_features, scores_from_features

LIKELIHOOD_KINDS = ("exact", "lower_bound", "estimate")


@torch.no_grad()
def draw_samples(model: nn.Module, n: int, labels: Tensor | None = None, batch_size: int = 500) -> Tensor:
    """n samples (n, *event_shape) on the CPU, drawn ``batch_size`` at a time in eval mode.

    A class-conditional model draws for ``labels`` (n,) (e.g. the test labels, so that the classes are
    as frequent as in the test set); without labels it draws them uniformly.
    """
    out = []
    conditional = getattr(model, "conditional", False)
    if conditional and labels is None:
        labels = torch.randint(model.num_classes, (n,))
    with eval_mode(model):
        for start in range(0, n, batch_size):
            k = min(batch_size, n - start)
            y = labels[start:start + k].to(model.device) if conditional else None
            x = model.sample(k, y) if y is not None else model.sample(k)
            out.append(x.float().cpu())
    return torch.cat(out)


def evaluate_model(model: nn.Module, x_test: Tensor, reference_features: Tensor, classifier: nn.Module, *,
                   n_samples: int, y_test: Tensor | None = None, levels: int | None = 256,
                   num_subsets: int = 100, subset_size: int | None = None, k: int = 3,
                   batch_size: int = 100, samples: Tensor | None = None) -> dict:
    """Likelihood (where ``log_prob_kind`` allows) and sample quality of a trained model: a dict.

    x_test: (N, *event_shape) test inputs in the model's own units (binary, or [0, 1] for a density;
    y_test their labels for a conditional model). reference_features: classifier features (M, F) of the
    real test images the samples are compared with. levels: the discretisation of continuous data (256
    for 8-bit images in [0, 1]; ignored for models of discrete values). samples: images already drawn
    (e.g. through a truncation trick), in [0, 1]; default ``n_samples`` from ``model.sample``, divided by
    the top value of a model of integers (255 for 8-bit images). n_samples=0 and no samples: likelihood only
    (autoregressive sampling is slow on a CPU).
    Keys: "log_prob_kind", "nll", "nll_interval", "bits_per_dim" (None without a likelihood), then
    those of :func:`dgmlib.metrics.scores_from_features` (fid, kid, kid_se, precision, recall, ...).
    """
    kind = getattr(model, "log_prob_kind", "exact")
    row: dict = {"log_prob_kind": kind, "nll": None, "nll_interval": None, "bits_per_dim": None}
    if kind in LIKELIHOOD_KINDS:
        data = x_test if y_test is None or not getattr(model, "conditional", False) else TensorDataset(x_test, y_test)
        value = nll(model, data, batch_size=batch_size)
        row.update(nll=float(value), nll_interval=value.half_width,
                   bits_per_dim=bits_per_dim(value, x_test[0].numel(), levels if is_density(model) else None))
    if samples is None and n_samples == 0:
        return row
    if samples is None:
        samples = draw_samples(model, n_samples, y_test[:n_samples] if y_test is not None else None)
        support = getattr(model, "support", constraints.real)
        if isinstance(support, constraints._IntegerInterval):
            samples = samples / support.upper_bound
    if samples.dim() == 3:
        samples = samples.unsqueeze(1)
    check_images(samples, f"samples of {type(model).__name__}")
    features, probabilities = extract_features(samples, classifier)
    row.update(scores_from_features(features, probabilities, reference_features, num_subsets=num_subsets,
                                    subset_size=subset_size, k=k))
    return row


def floor_row(real: Tensor, reference_features: Tensor, classifier: nn.Module, **options) -> dict:
    """The scores of real held-out images (N, 1, 28, 28): what a perfect model would get at this sample size."""
    features, probabilities = extract_features(real, classifier)
    return {"log_prob_kind": "-", "nll": None, "nll_interval": None, "bits_per_dim": None,
            **scores_from_features(features, probabilities, reference_features, **options)}


def format_table(rows: list[dict], columns: tuple[str, ...] = ("nll", "bits_per_dim", "fid", "kid", "precision",
                                                                "recall")) -> str:
    """A markdown table of rows (each with "model" and the columns); missing values print as "-"."""
    def cell(value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
        return str(value)
    names = ["model", *columns]
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join("---" for _ in names) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in names) + " |" for row in rows]
    return "\n".join(lines)


__all__ = ["LIKELIHOOD_KINDS", "draw_samples", "evaluate_model", "floor_row", "format_table"]
