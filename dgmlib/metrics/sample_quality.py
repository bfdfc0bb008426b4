"""Sample-quality metrics for models without a likelihood (GANs, week 5) and for all of them (week 6).

Both metrics compare the features f(x) of the course's MNIST classifier
(:mod:`dgmlib.metrics.classifier`) on generated samples and on real images:

    FID = ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)    (Heusel et al. 2017)
          the Frechet (2-Wasserstein) distance between Gaussians fitted to the two feature sets
    KID = unbiased MMD^2 with the kernel k(x, y) = (x.y / F + 1)^3,          (Binkowski et al. 2018)
          averaged over random subsets of both sets

FID is biased: with N samples it overestimates by roughly O(1/N), so compare FIDs only at the same
N (a few thousand or more). KID is unbiased (it can come out slightly negative) and works for
small N. Both are lower for better samples and are 0 for identical distributions. These use the
course's own classifier, so their values are comparable within the course only, never with
published Inception-based FIDs.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..device import module_device
from ..nn.state import eval_mode
from .features import Array, _check_features, _float64
from .precision_recall import density_coverage, precision_recall

def _sqrt_psd(matrix: Tensor) -> Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix, by eigen-decomposition."""
    eigenvalues, vectors = torch.linalg.eigh(matrix)
    # rounding leaves eigenvalues of a singular covariance at -1e-12 or so: they are zeros
    return (vectors * eigenvalues.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: Array, sigma1: Array, mu2: Array, sigma2: Array) -> float:
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), computed in float64.

    mu1, mu2: (F,); sigma1, sigma2: (F, F) symmetric positive semi-definite covariances.

        d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)

    S1^1/2 S2 S1^1/2 is symmetric PSD, so its square root's trace is the sum of the square roots
    of its eigenvalues: real by construction, with no imaginary rounding residue to drop, unlike
    ``scipy.linalg.sqrtm(S1 @ S2)``, which has the same trace.
    """
    mu1, mu2 = _float64(mu1, "mu1"), _float64(mu2, "mu2")
    sigma1, sigma2 = _float64(sigma1, "sigma1"), _float64(sigma2, "sigma2")
    if mu1.dim() != 1 or mu1.shape != mu2.shape:
        raise ValueError(f"mu1 and mu2 must be vectors of the same length (F,), got {tuple(mu1.shape)} and "
                         f"{tuple(mu2.shape)}")
    f = mu1.shape[0]
    for name, sigma in (("sigma1", sigma1), ("sigma2", sigma2)):
        if sigma.shape != (f, f):
            raise ValueError(f"{name} must be a covariance of shape ({f}, {f}) to match the means, got "
                             f"{tuple(sigma.shape)}")
        if not torch.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-9 * (1 + sigma.abs().max().item())):
            raise ValueError(f"{name} is not symmetric: pass a covariance matrix, e.g. "
                             "np.cov(features, rowvar=False)")
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    middle = (middle + middle.T) / 2  # exactly symmetric, so eigvalsh sees what the math says
    trace_sqrt = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()
    distance = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return max(distance.item(), 0.0)  # a distance; rounding can push FID(X, X) to -1e-12


def fid(features_a: Array, features_b: Array) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_a, F) and (N_b, F).

    Means and unbiased covariances in float64. Biased upward for small N: compare at equal N.
    """
    a, b = _check_features(features_a, features_b)
    return frechet_distance(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


def polynomial_kernel(x: Tensor, y: Tensor) -> Tensor:
    """k(x, y) = (x.y / F + 1)^3 for every pair: x (N, F), y (M, F) -> (N, M)."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def _mmd2_unbiased(x: Tensor, y: Tensor) -> Tensor:
    """Unbiased MMD^2 of two equal-size samples (m, F): k(x, x') and k(y, y') averaged over pairs i != j,
    k(x, y) over all m^2 pairs (Binkowski et al. 2018; torch-fidelity and torchmetrics compute the same)."""
    m = len(x)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return within - 2 * k_xy.mean()


class KID(NamedTuple):
    """KID's estimate and its uncertainty: ``mean`` over the subsets, ``std`` the spread of the per-subset
    estimates, ``std_error`` the standard error of ``mean`` (see :func:`kid`)."""

    mean: float
    std: float
    std_error: float


def _pair_kernel(x: Tensor, y: Tensor) -> Tensor:
    """H_ij = k(x_i, x_j) + k(y_i, y_j) - k(x_i, y_j) - k(x_j, y_i) for pairs z_i = (x_i, y_i): (m, m).

    The unbiased MMD^2 of two equal-size samples is the mean of H over i != j: a U-statistic."""
    k_xy = polynomial_kernel(x, y)
    return polynomial_kernel(x, x) + polynomial_kernel(y, y) - k_xy - k_xy.T


def _hoeffding_terms(h: Tensor) -> tuple[Tensor, Tensor]:
    """(sigma_1^2, sigma_2^2) of the U-statistic mean_{i != j} H_ij of a symmetric (m, m) kernel matrix H.

    sigma_2^2 = Var H(Z_1, Z_2) and sigma_1^2 = Cov(H(Z_1, Z_2), H(Z_1, Z_3)), the two terms of Hoeffding's
    variance of a U-statistic of order 2:  Var U_m = (4 (m - 2) sigma_1^2 + 2 sigma_2^2) / (m (m - 1)).
    """
    m = len(h)
    off = h - torch.diag_embed(h.diagonal())
    u = off.sum() / (m * (m - 1))
    row_means = off.sum(1) / (m - 1)
    # sum over i != j of (H_ij - u)^2: the zero diagonal of `off` adds m u^2 to the full sum
    sigma2 = ((off - u).square().sum() - m * u.square()) / (m * (m - 1))
    # Var(row mean) = sigma_1^2 + (sigma_2^2 - sigma_1^2) / (m - 1): solve for sigma_1^2
    var_rows = row_means.var()
    sigma1 = ((m - 1) * var_rows - sigma2) / (m - 2) if m > 2 else torch.zeros_like(u)
    return sigma1, sigma2  # unclamped: each is noisy, their mean over subsets is not


def _u_variance(sigma1: Tensor, sigma2: Tensor, m: int) -> Tensor:
    return (4 * (m - 2) * sigma1 + 2 * sigma2) / (m * (m - 1))


def kid(features_a: Array, features_b: Array, *, num_subsets: int = 100, subset_size: int | None = None,
        generator: torch.Generator | None = None) -> KID:
    """Kernel Inception Distance of two feature sets (N_a, F), (N_b, F): a :class:`KID` (mean, std, std_error).

    Each subset draws ``subset_size`` rows of each set without replacement (default: min(1000, N_a,
    N_b)) and computes the unbiased MMD^2 with the cubic polynomial kernel; ``mean`` averages them.
    ``std`` is the spread of the per-subset estimates (what torch-fidelity reports as kid_std), not an
    error bar: the subsets overlap. ``std_error`` is the standard error of ``mean`` from Hoeffding's
    variance of U-statistics, Var U_m = (4 (m - 2) s1 + 2 s2) / (m (m - 1)) with s1, s2 estimated on the
    subsets: the mean of S subset estimates from n = min(N_a, N_b) pairs has variance about
    Var U_n + (Var U_m - Var U_n) / S. ``generator`` picks the subsets (default: seeded with 0, so the
    same features give the same KID).
    """
    a, b = _check_features(features_a, features_b)
    if subset_size is None:
        subset_size = min(1000, len(a), len(b))
    if isinstance(subset_size, bool) or not isinstance(subset_size, int) or subset_size < 2:
        raise ValueError(f"subset_size must be an integer >= 2 (the unbiased estimate needs pairs), got "
                         f"{subset_size!r}")
    if subset_size > min(len(a), len(b)):
        raise ValueError(f"subset_size={subset_size} is larger than a feature set ({len(a)} and {len(b)} rows); "
                         f"use subset_size <= {min(len(a), len(b))} or pass more samples")
    if isinstance(num_subsets, bool) or not isinstance(num_subsets, int) or num_subsets < 1:
        raise ValueError(f"num_subsets must be a positive integer, got {num_subsets!r}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    estimates, terms = [], []
    for _ in range(num_subsets):
        x = a[torch.randperm(len(a), generator=generator)[:subset_size]]
        y = b[torch.randperm(len(b), generator=generator)[:subset_size]]
        estimates.append(_mmd2_unbiased(x, y))
        terms.append(torch.stack(_hoeffding_terms(_pair_kernel(x, y))))
    estimates = torch.stack(estimates)
    sigma1, sigma2 = torch.stack(terms).mean(0).clamp(min=0)
    m, n = subset_size, min(len(a), len(b))
    var_n = _u_variance(sigma1, sigma2, n)
    variance = var_n + (_u_variance(sigma1, sigma2, m) - var_n) / num_subsets
    # with pairs only (m = 2) the variance's two terms cannot be told apart: no error bar rather than 0
    std_error = variance.sqrt().item() if m > 2 else float("nan")
    return KID(estimates.mean().item(), estimates.std(correction=0).item(), std_error)


def inception_score(probabilities: Array, splits: int = 10) -> tuple[float, float]:
    """Inception-style score exp(E_x KL(p(y | x) || p(y))) of class probabilities (N, C): (mean, std) over splits.

    Salimans et al. (2016), here with the course's MNIST classifier instead of Inception-v3: between
    1 (every sample gives the same prediction, or every prediction is uniform) and C (confident and
    evenly spread over the C classes). The N rows are cut, in order, into ``splits`` equal parts
    (shuffle first if the order means something); p(y) is each part's mean prediction; std is over
    the parts (with Bessel's correction, as torchmetrics reports it). It never looks at real data.
    """
    p = _float64(probabilities, "probabilities")
    if p.dim() != 2 or (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype), atol=1e-4):
        raise ValueError("probabilities must be an (N, C) matrix whose rows are distributions (softmax "
                         "outputs), e.g. extract_features(images)[1]")
    if isinstance(splits, bool) or not isinstance(splits, int) or not 1 <= splits <= len(p):
        raise ValueError(f"splits must be an integer between 1 and N = {len(p)}, got {splits!r}")
    scores = []
    for part in p.chunk(splits):
        marginal = part.mean(0, keepdim=True)
        kl = (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(1)
        scores.append(kl.mean().exp())
    scores = torch.stack(scores)
    return scores.mean().item(), (scores.std().item() if splits > 1 else 0.0)


def check_images(images: Tensor, name: str = "images") -> None:
    """Raise a ValueError unless ``images`` is a float tensor (N, 1, 28, 28), N >= 2, finite, in [0, 1]."""
    if not isinstance(images, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor (N, 1, 28, 28), got {type(images).__name__}")
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        hint = " (add the channel axis: images.unsqueeze(1))" if tuple(images.shape[1:]) == (28, 28) else ""
        raise ValueError(f"{name} must have shape (N, 1, 28, 28), got {tuple(images.shape)}{hint}")
    if len(images) < 2:
        raise ValueError(f"{name} holds {len(images)} image(s): FID needs at least 2 for a covariance (and is "
                         "biased upward for small N: use a few thousand)")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be a float tensor with values in [0, 1], got dtype {images.dtype}: "
                         "divide 8-bit pixels by 255")
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} holds NaN or infinite values; check the model that produced them")
    low, high = images.min().item(), images.max().item()
    if low < 0 or high > 1:
        raise ValueError(f"{name} must lie in [0, 1], got values in [{low:.3g}, {high:.3g}]: divide 8-bit pixels "
                         "by 255; map [-1, 1] (tanh) outputs with (x + 1) / 2")


@torch.no_grad()
def extract_features(images: Tensor, classifier: nn.Module | None = None, *,
                     batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """The classifier's features (N, F) and class probabilities (N, 10) of images (N, 1, 28, 28) in [0, 1].

    Computed in batches without gradients on the classifier's device; returned on the CPU.
    ``classifier`` defaults to :func:`dgmlib.metrics.classifier.load_classifier`.
    """
    check_images(images)
    if classifier is None:
        from .classifier import load_classifier  # lazily: only this path may need to train one
        classifier = load_classifier()
    device = module_device(classifier)
    features, probabilities = [], []
    with eval_mode(classifier):
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device, torch.float32)
            h = classifier.features(x)
            features.append(h.cpu())
            probabilities.append(classifier.head(h).softmax(-1).cpu() if hasattr(classifier, "head")
                                 else classifier(x).softmax(-1).cpu())
    return torch.cat(features), torch.cat(probabilities)


def sample_quality(samples: Tensor, reference: Tensor, *, classifier: nn.Module | None = None,
                   num_subsets: int = 100, subset_size: int | None = None, batch_size: int = 500, k: int = 3,
                   generator: torch.Generator | None = None) -> dict[str, float]:
    """Every sample-quality figure of ``samples`` against ``reference`` images, in the classifier's features.

    samples, reference: (N, 1, 28, 28) float in [0, 1] (e.g. ``mnist("test")[0] / 255``).
    Returns a dict of floats:
      "fid": Frechet distance of the classifier features (lower is better; biased for small N);
      "kid", "kid_std", "kid_se": KID's mean, the spread of its subsets and its standard error (:func:`kid`);
      "precision", "recall": improved precision and recall with k-NN radii (:mod:`.precision_recall`);
      "density", "coverage": Naeem et al.'s robust versions (k = 5), which outliers cannot inflate;
      "inception_score": exp E KL(p(y|x) || p(y)) in 10 splits (:func:`inception_score`; at most 10);
      "confidence": the classifier's mean max-probability on the samples (blurry or odd digits: low);
      "class_entropy": entropy in nats of the samples' predicted-class histogram (log 10 = 2.30 when
      all ten digits are equally frequent; mode collapse: low).
    """
    check_images(samples, "samples")
    check_images(reference, "reference")
    if classifier is None:
        from .classifier import load_classifier
        classifier = load_classifier()
    feats_s, probs_s = extract_features(samples, classifier, batch_size=batch_size)
    feats_r, _ = extract_features(reference, classifier, batch_size=batch_size)
    return scores_from_features(feats_s, probs_s, feats_r, num_subsets=num_subsets, subset_size=subset_size,
                                k=k, generator=generator)


def scores_from_features(features: Tensor, probabilities: Tensor, reference_features: Tensor, *,
                         num_subsets: int = 100, subset_size: int | None = None, k: int = 3,
                         generator: torch.Generator | None = None) -> dict[str, float]:
    """:func:`sample_quality` from features already extracted: samples' features (N, F) and class
    probabilities (N, C), the reference's features (M, F). A benchmark that scores several models against
    one test set extracts the test set's features once."""
    kid_mean, kid_std, kid_se = kid(features, reference_features, num_subsets=num_subsets,
                                    subset_size=subset_size, generator=generator)
    histogram = torch.bincount(probabilities.argmax(-1), minlength=probabilities.shape[-1]).double() / len(probabilities)
    # entr(p) = -p log p, and 0 at p = 0; adding 0.0 turns a collapsed set's -0.0 into 0.0
    class_entropy = torch.special.entr(histogram).sum().item() + 0.0
    return {"fid": fid(features, reference_features), "kid": kid_mean, "kid_std": kid_std, "kid_se": kid_se,
            **precision_recall(reference_features, features, k=k),
            **density_coverage(reference_features, features, k=min(5, len(reference_features) - 1)),
            "inception_score": inception_score(probabilities, splits=min(10, len(probabilities)))[0],
            "confidence": probabilities.max(-1).values.mean().item(), "class_entropy": class_entropy}


__all__ = ["frechet_distance", "fid", "KID", "kid", "polynomial_kernel", "inception_score", "check_images",
           "extract_features", "sample_quality", "scores_from_features"]
