"""Week-1 models: normalisation by enumeration or on a grid, MLEs, sampling frequencies."""
import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from dgmlib.models import GaussianMixture, IndependentBernoulli, MarkovChainBernoulli


def all_binary(shape):
    d = math.prod(shape)
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=d))).view(-1, *shape)


@pytest.mark.parametrize("cls", [IndependentBernoulli, MarkovChainBernoulli])
def test_bernoulli_models_sum_to_one_over_all_binary_vectors(cls):
    torch.manual_seed(0)
    model = cls((1, 2, 3))
    with torch.no_grad():
        model.logits.normal_(0, 2)
    x = all_binary((1, 2, 3))  # all 64 vectors
    total = torch.logsumexp(model.log_prob(x), dim=0)
    assert abs(total.item()) < 1e-5


@pytest.mark.parametrize("cls", [IndependentBernoulli, MarkovChainBernoulli])
def test_sample_frequencies_match_log_prob(cls):
    torch.manual_seed(1)
    model = cls((3,))
    with torch.no_grad():
        model.logits.normal_(0, 1.5)
    x = all_binary((3,))
    p = model.log_prob(x).exp()
    samples = model.sample(40_000)
    index = (samples * torch.tensor([4.0, 2.0, 1.0])).sum(1).long()
    freq = torch.bincount(index, minlength=8).float() / len(samples)
    # total variation: the sampling noise is ~0.01, a wrong sampler is far above 0.03
    assert 0.5 * (freq - p).abs().sum() < 0.03


@pytest.mark.parametrize("cls", [IndependentBernoulli, MarkovChainBernoulli])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_samples_come_out_in_the_models_dtype(cls, dtype):
    model = cls((1, 2, 3)).to(dtype)
    samples = model.sample(4)
    assert samples.dtype == dtype and samples.shape == (4, 1, 2, 3)
    assert model.log_prob(samples).dtype == dtype


def test_markov_chain_counts_2d_minus_1_parameters():
    assert MarkovChainBernoulli((1, 28, 28)).num_free_parameters == 2 * 784 - 1


def _binary_data(n=500, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    # correlated pixels, every pixel and every transition seen both ways
    z = torch.rand(n, 1, generator=g)
    return (torch.rand(n, d, generator=g) < 0.3 + 0.4 * z).float()


@pytest.mark.parametrize("cls", [IndependentBernoulli, MarkovChainBernoulli])
def test_fit_mle_is_a_stationary_point_of_the_likelihood(cls):
    x = _binary_data()
    model = cls((5,)).fit_mle(x)
    model.log_prob(x).sum().backward()
    grad = model.logits.grad
    if cls is MarkovChainBernoulli:
        grad = grad.flatten()[torch.arange(grad.numel()) != 1]  # logits[0, 1] is unused
    assert grad.abs().max() < 1e-3
    # and it beats any perturbed parameters
    best = model.log_prob(x).sum()
    with torch.no_grad():
        model.logits.add_(0.05 * torch.randn_like(model.logits))
    assert model.log_prob(x).sum() < best


def test_independent_bernoulli_mle_is_pixel_frequency():
    x = _binary_data()
    model = IndependentBernoulli((5,)).fit_mle(x, pseudo_count=1.0)
    expected = (x.sum(0) + 1) / (len(x) + 2)
    assert torch.allclose(torch.sigmoid(model.logits), expected, atol=1e-6)


def test_smoothing_keeps_unseen_pixels_finite():
    x = torch.zeros(10, 3)
    x[:, 0] = 1
    test = torch.ones(1, 3)
    assert model_log_prob(IndependentBernoulli((3,)).fit_mle(x), test) == -math.inf
    assert math.isfinite(model_log_prob(IndependentBernoulli((3,)).fit_mle(x, pseudo_count=1), test))


def model_log_prob(model, x):
    return model.log_prob(x).item()


def test_gaussian_mixture_matches_scipy_and_integrates_to_one():
    torch.manual_seed(2)
    gmm = GaussianMixture(dim=2, n_components=3)
    with torch.no_grad():
        gmm.raw_scale_tril.add_(0.3 * torch.randn_like(gmm.raw_scale_tril))
        gmm.mixture_logits.normal_()
    x = torch.randn(20, 2)
    weights = torch.softmax(gmm.mixture_logits, 0).detach().numpy()
    cov = (gmm.scale_tril @ gmm.scale_tril.transpose(-1, -2)).detach().numpy()
    means = gmm.means.detach().numpy()
    expected = np.log(sum(w * multivariate_normal(m, c).pdf(x.numpy()) for w, m, c in zip(weights, means, cov)))
    assert np.allclose(gmm.log_prob(x).detach().numpy(), expected, atol=1e-4)
    lo, hi, n = -8.0, 8.0, 400
    xs = torch.linspace(lo, hi, n)
    grid = torch.cartesian_prod(xs, xs)
    mass = gmm.log_prob(grid).exp().sum().item() * ((hi - lo) / (n - 1)) ** 2
    assert abs(mass - 1) < 1e-3


def test_bernoulli_models_reject_non_binary_input():
    with pytest.raises(ValueError, match="binarize"):
        IndependentBernoulli((3,)).log_prob(torch.full((2, 3), 0.5))


# -- EM for the Gaussian mixture (week 3) ---------------------------------------------------
def _three_blobs(n=1500, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    z = torch.multinomial(torch.tensor([0.5, 0.3, 0.2]), n, replacement=True, generator=g)
    return means[z] + 0.5 * torch.randn(n, 2, generator=g, dtype=torch.float64), means


def test_em_never_decreases_the_likelihood_and_recovers_the_blobs():
    x, means = _three_blobs()
    torch.manual_seed(0)
    gmm = GaussianMixture(dim=2, n_components=3).double()
    history = gmm.fit_em(x, n_iter=200, generator=torch.Generator().manual_seed(3))
    assert all(b >= a - 1e-9 for a, b in zip(history, history[1:])), "EM decreased the likelihood"
    assert history[-1] > history[0]
    found = gmm.means.detach()
    nearest = torch.cdist(means, found).min(1).values
    assert nearest.max() < 0.1
    weights = torch.softmax(gmm.mixture_logits, 0).detach().sort().values
    assert torch.allclose(weights, torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64), atol=0.04)
    assert gmm.log_prob(x).mean().item() == pytest.approx(history[-1], abs=1e-4)


def test_posterior_is_bayes_rule():
    torch.manual_seed(1)
    gmm = GaussianMixture(dim=2, n_components=3).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    r = gmm.posterior(x)
    weights = torch.softmax(gmm.mixture_logits, 0).detach().numpy()
    cov = (gmm.scale_tril @ gmm.scale_tril.transpose(-1, -2)).detach().numpy()
    joint = np.stack([w * multivariate_normal(m, c).pdf(x.numpy())
                      for w, m, c in zip(weights, gmm.means.detach().numpy(), cov)], 1)
    assert np.allclose(r.detach().numpy(), joint / joint.sum(1, keepdims=True), atol=1e-10)
