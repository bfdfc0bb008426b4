"""Latent-variable models: KL, ELBO and IWAE bounds against exact answers (PPCA, a 1-D-latent VAE
integrated by quadrature), importance-sampled likelihoods, the gradient estimators (and where each one
wins), the rate decomposition, the Gaussian and autoregressive decoders, the VQ-VAE's code prior, and the
samplers checked against the densities they claim to draw from."""
import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import chi2, multivariate_normal
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from dgmlib.data import digits
from dgmlib.models.latent import (ARDecoderVAE, ARDecoderVAEConfig, CodePixelCNN, GaussianVAE, GaussianVAEConfig,
                                  categorical_score_function_gradients, exact_categorical_gradient,
                                  gumbel_softmax_gradients, rate_decomposition, reparameterized_gradients,
                                  score_function_gradients, straight_through_gradients)
from dgmlib.metrics import mean_loss
from dgmlib.models import GaussianMixture, PPCA, VAE, VAEConfig, VQVAE, VQVAEConfig
from dgmlib.models.latent import iwae_bound
from dgmlib.nn import diagonal_gaussian_log_prob, gaussian_kl
from dgmlib.testing import check_autoregressive, enumerate_binary
from dgmlib.train import fit


def test_analytic_kl_matches_torch_distributions_and_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    q, p = Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(gaussian_kl(mu, logvar), kl_divergence(q, p).sum(-1))
    z = q.sample((200_000,))
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1)
    assert torch.allclose(mc.mean(0), gaussian_kl(mu, logvar), atol=4 * mc.std(0).max().item() / math.sqrt(2e5))
    assert torch.allclose(diagonal_gaussian_log_prob(z[:5], mu, logvar), q.log_prob(z[:5]).sum(-1))


# -- PPCA: everything has a closed form --------------------------------------------------------
@pytest.fixture
def ppca():
    torch.manual_seed(0)
    model = PPCA(dim=5, latent_dim=2, noise_std=0.7).double()
    x = model.sample(64)
    return model, x


def test_ppca_marginal_is_the_gaussian_with_covariance_wwt_plus_sigma2(ppca):
    model, x = ppca
    cov = (model.W @ model.W.T).detach().numpy() + model.sigma2.item() * np.eye(5)
    expected = multivariate_normal(model.mu.detach().numpy(), cov).logpdf(x.numpy())
    assert np.allclose(model.log_prob(x).detach().numpy(), expected)


def test_elbo_equals_log_likelihood_exactly_at_the_true_posterior(ppca):
    model, x = ppca
    log_p = model.log_prob(x)
    posterior = model.posterior(x)
    assert torch.allclose(model.elbo(x, posterior), log_p, atol=1e-10)
    # with q = p(z|x) every importance weight equals p(x): a single sample is exact
    z = posterior.sample()
    assert torch.allclose(model.log_joint(x, z) - posterior.log_prob(z), log_p, atol=1e-10)


def test_elbo_is_below_the_log_likelihood_for_any_other_q(ppca):
    model, x = ppca
    exact = model.posterior(x)
    for shift, scale in [(0.3, 1.0), (0.0, 2.0), (0.0, 0.3), (1.0, 0.5)]:
        q = MultivariateNormal(exact.mean + shift, covariance_matrix=scale * exact.covariance_matrix)
        gap = model.log_prob(x) - model.elbo(x, q)
        assert (gap > 1e-6).all()
        # the gap is exactly KL(q || p(z|x))
        assert torch.allclose(gap, kl_divergence(q, exact), atol=1e-8)


def test_iwae_bounds_increase_with_k_towards_the_exact_value(ppca):
    model, x = ppca
    exact = model.posterior(x)
    q = MultivariateNormal(exact.mean + 0.5, covariance_matrix=2 * exact.covariance_matrix)  # a poor q
    log_p = model.log_prob(x).mean().item()
    torch.manual_seed(1)
    bounds = []
    for k in (1, 10, 100, 1000):
        z = q.sample((k,))  # (k, B, L)
        bounds.append(iwae_bound(model.log_joint(x, z) - q.log_prob(z)).mean().item())
    assert all(a < b for a, b in zip(bounds, bounds[1:])), bounds
    assert bounds[-1] < log_p + 1e-3 and log_p - bounds[-1] < 0.02
    assert log_p - bounds[0] > 0.3  # the ELBO of this q is far off


def test_ppca_samples_have_mean_mu_and_covariance_wwt_plus_sigma2():
    torch.manual_seed(0)
    model = PPCA(dim=4, latent_dim=2, noise_std=0.6).double()  # sigma != sigma2, so swapping them shows
    with torch.no_grad():
        model.mu.copy_(torch.randn(4, dtype=torch.float64))
    mu = model.mu.detach()
    cov = (model.W @ model.W.T + model.sigma2 * torch.eye(4, dtype=torch.float64)).detach()
    n = 200_000
    x = model.sample(n)
    mean = x.mean(0)
    sample_cov = (x - mean).T @ (x - mean) / n
    # standard errors of Gaussian sample moments: Var(mean_i) = C_ii / n, Var(S_ij) = (C_ii C_jj + C_ij^2) / n
    se_mean = (cov.diagonal() / n).sqrt()
    se_cov = ((cov.diagonal()[:, None] * cov.diagonal()[None, :] + cov ** 2) / n).sqrt()
    z_mean = ((mean - mu) / se_mean).abs().max().item()
    z_cov = ((sample_cov - cov) / se_cov).abs().max().item()
    assert z_mean < 5 and z_cov < 5, (z_mean, z_cov)  # sigma2 as the noise std: z_cov ~90, N(0, 4) prior ~850


def test_ppca_refuses_a_latent_dimension_without_noise_directions_left():
    for latent_dim in (0, 3, 4):  # fit_ml estimates sigma2 from the dim - latent_dim smallest eigenvalues
        with pytest.raises(ValueError, match="latent_dim"):
            PPCA(dim=3, latent_dim=latent_dim)


def test_ppca_closed_form_ml_is_a_stationary_point():
    torch.manual_seed(2)
    data = PPCA(dim=6, latent_dim=2, noise_std=0.5).double().sample(2000)
    model = PPCA(dim=6, latent_dim=2).double().fit_ml(data)
    model.log_prob(data).mean().backward()
    assert max(p.grad.abs().max().item() for p in model.parameters()) < 1e-6


# -- a VAE small enough to integrate exactly: one latent dimension, four pixels ------------------
@pytest.fixture
def tiny_vae():
    torch.manual_seed(0)
    model = VAE((4,), VAEConfig(latent_dim=1, hidden=16, eval_samples=5000)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn_like(p))
        # a broad q(z|x) = N(0, 4) covers every posterior, so importance weights stay bounded and
        # K = 5000 samples pin log p(x) down (with a random, narrow q the estimate is biased low)
        last = model.encoder[-1]
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, math.log(4.0)]))
    x = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)), dtype=torch.float64)  # all 16
    z = torch.linspace(-10, 10, 20_001, dtype=torch.float64)[:, None, None].expand(-1, 16, 1)
    log_joint = model.log_likelihood_given_z(x, z) + Normal(0.0, 1.0).log_prob(z[..., 0])
    exact = torch.logsumexp(log_joint, 0) + math.log(20 / 20_000)  # quadrature over z
    return model, x, exact.detach()


def test_the_quadrature_reference_is_a_distribution(tiny_vae):
    _, _, exact = tiny_vae
    assert abs(torch.logsumexp(exact, 0).item()) < 1e-6


def test_vae_samples_follow_the_quadrature_probabilities(tiny_vae):
    model, _, exact = tiny_vae  # a float64 model: sampling has to follow its dtype
    p = exact.exp()
    n = 200_000
    torch.manual_seed(5)
    x = model.sample(n)
    assert x.dtype == torch.float64
    index = (x * torch.tensor([8.0, 4.0, 2.0, 1.0], dtype=x.dtype)).sum(1).long()  # itertools.product order
    freq = torch.bincount(index, minlength=16).double() / n
    tv = 0.5 * (freq - p).abs().sum().item()
    # E[TV] <= 0.5 sum_k sqrt(p_k (1 - p_k) / n), and TV exceeds its mean by t with probability
    # <= exp(-2 n t^2) (McDiarmid): t for 1e-6. Threshold ~0.0096, TV ~0.003; a N(0, 4) prior gives 0.146
    threshold = 0.5 * (p * (1 - p) / n).sqrt().sum().item() + math.sqrt(math.log(1e6) / (2 * n))
    assert tv < threshold, (tv, threshold)


def test_vae_bounds_and_estimate_against_the_exact_likelihood(tiny_vae):
    model, x, exact = tiny_vae
    torch.manual_seed(3)
    with torch.no_grad():
        elbos = torch.stack([model.elbo(x) for _ in range(4000)])
        log_w = model.log_weights(x, 20_000)  # IWAE_1 draws: the ELBO with a sampled KL
        draws = [torch.stack([model.iwae_bound(x, k) for _ in range(400)]) for k in (1, 5, 50)]
        estimate = model.log_prob(x)
    elbo = elbos.mean(0)
    assert (elbo < exact).all()
    se = (elbos.var(0) / 4000 + log_w.var(0) / 20_000).sqrt()
    assert ((log_w.mean(0) - elbo).abs() < 4 * se).all()  # IWAE_1 is the ELBO
    iwae = [d.mean(0) for d in draws]
    assert (iwae[1] > iwae[0]).all() and (iwae[2] > iwae[1]).all()
    assert (iwae[2] < exact + 4 * draws[2].std(0) / 20).all()  # a lower bound, up to its MC error
    assert (exact - iwae[2]).max() < 0.05
    # delta method: the standard error of log(mean w) is std(w) / (sqrt(K) mean(w))
    w = (log_w[:5000] - log_w[:5000].max(0).values).exp()
    se_log = w.std(0) / (math.sqrt(5000) * w.mean(0))
    assert ((estimate - exact).abs() < 4 * se_log + 1e-3).all()
    assert (estimate - exact).abs().max() < 0.05
    assert model.log_prob_kind == "estimate"


def test_importance_estimate_is_stable_where_a_naive_log_of_a_sum_underflows():
    torch.manual_seed(4)
    model = VAE((1, 28, 28), VAEConfig(latent_dim=8, hidden=32, eval_samples=200, eval_chunk=64))
    x = torch.bernoulli(torch.full((3, 1, 28, 28), 0.5))
    with torch.no_grad():
        log_w = model.log_weights(x, 200)
        naive = torch.log(torch.exp(log_w).mean(0))
        estimate = model.importance_log_likelihood(x)
    assert torch.isinf(naive).all()  # log weights around -540 nats: exp underflows to 0
    assert torch.isfinite(estimate).all() and (estimate > log_w.max(0).values - math.log(200) - 1e-4).all()


def test_vae_and_iwae_train_on_digits():
    x, _ = digits("train", binarize=True)
    for config in (VAEConfig(latent_dim=4, hidden=64), VAEConfig(latent_dim=4, hidden=64, architecture="conv", k=5)):
        torch.manual_seed(0)
        model = VAE((1, 8, 8), config)
        before = mean_loss(model, x)
        fit(model, x, steps=300, lr=3e-3, device="cpu", progress=False, seed=0)
        assert mean_loss(model, x) < before - 10  # from ~45 nats to ~25


def test_double_models_sample_float64():
    for model in (VAE((4,), VAEConfig(latent_dim=2, hidden=8)),
                  VAE((1, 8, 8), VAEConfig(latent_dim=2, hidden=8, architecture="conv")),
                  VQVAE((1, 8, 8), VQVAEConfig(n_codes=6, code_dim=3, hidden=8))):
        for mean in (False, True):
            assert model.double().sample(3, mean=mean).dtype == torch.float64


def test_bad_vae_configurations_are_refused():
    with pytest.raises(ValueError, match="beta"):
        VAE((4,), VAEConfig(k=5, beta=4.0))
    with pytest.raises(ValueError, match="divisible by 4"):
        VAE((1, 6, 6), VAEConfig(architecture="conv"))


# -- gradient estimators -------------------------------------------------------------------------
def test_reparameterised_and_score_function_gradients_agree_in_expectation():
    mu, log_sigma, n = 0.7, math.log(1.3), 200_000
    exact = torch.tensor([2 * mu, 2 * 1.3 ** 2], dtype=torch.float64)  # d/dphi of E[z^2] = mu^2 + sigma^2
    g = torch.Generator().manual_seed(0)
    rep = reparameterized_gradients(lambda z: z ** 2, mu, log_sigma, n, generator=g)
    sf = score_function_gradients(lambda z: z ** 2, mu, log_sigma, n, generator=g)
    for est in (rep, sf):
        assert ((est.mean(0) - exact).abs() < 4 * est.std(0) / math.sqrt(n)).all()
    assert (sf.var(0) > 4 * rep.var(0)).all()  # the variance gap the lecture plots (4.7x and 9.5x here)


# -- VQ-VAE --------------------------------------------------------------------------------------
def _vqvae():
    torch.manual_seed(0)
    return VQVAE((1, 8, 8), VQVAEConfig(n_codes=6, code_dim=3, hidden=8))


def test_quantize_picks_the_nearest_code():
    model = _vqvae()
    z_e = torch.randn(2, 3, 2, 2)
    z_q, idx = model.quantize(z_e)
    codes = model.codebook.weight.detach()
    for b, i, j in itertools.product(range(2), range(2), range(2)):
        brute = min(range(6), key=lambda k: ((z_e[b, :, i, j] - codes[k]) ** 2).sum().item())
        assert idx[b, i, j].item() == brute and torch.equal(z_q[b, :, i, j], codes[brute])


def test_straight_through_gradient_reaches_the_encoder_and_codes_get_their_own():
    model = _vqvae()
    x = torch.bernoulli(torch.full((4, 1, 8, 8), 0.3))
    model.loss(x).backward()
    assert model.encoder[0].weight.grad.abs().sum() > 0  # only possible through the straight-through copy
    used = model.encode(x).unique()
    grad = model.codebook.weight.grad.abs().sum(1)
    assert (grad[used] > 0).all() and (grad[[k for k in range(6) if k not in used.tolist()]] == 0).all()


def test_vqvae_log_prob_is_the_uniform_prior_elbo():
    model = _vqvae()
    x = torch.bernoulli(torch.full((3, 1, 8, 8), 0.3))
    logits = model.decode(model.encode(x))
    recon = torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(model.log_prob(x), recon - 4 * math.log(6))  # 2 x 2 codes, K = 6
    assert model.log_prob_kind == "lower_bound"


def test_vqvae_samples_decode_uniform_codes():
    # The sampler's law is (1/6^4) sum over the 6^4 = 1296 code grids of Bernoulli(sigmoid(decode(grid))):
    # enumerate the grids, find the grid behind each sample(mean=True) image, test the grid counts for
    # uniformity, and test the pixel means of sample() against the mixture's.
    model = _vqvae().double()  # float64: grids are told apart by exact distances, not float32 cdist rounding
    with torch.no_grad():
        model.codebook.weight.normal_()  # the initial codes are within 1/6 of 0 and decode almost alike
        grids = torch.tensor(list(itertools.product(range(6), repeat=4))).view(-1, 2, 2)
        table = torch.sigmoid(model.decode(grids)).flatten(1)  # (1296, 64)
    exact = "donot_use_mm_for_euclid_dist"
    gaps = torch.cdist(table, table, compute_mode=exact) + torch.eye(len(table))
    assert gaps.min() > 1e-3  # every grid decodes to its own image
    n = 30_000
    torch.manual_seed(6)
    distance, grid = torch.cdist(model.sample(n, mean=True).flatten(1), table, compute_mode=exact).min(1)
    assert distance.max() < 1e-9
    counts = torch.bincount(grid, minlength=1296).double()
    statistic = ((counts - n / 1296) ** 2 / (n / 1296)).sum().item()
    # chi2 ~1240 (p ~0.9) here; one code left out gives ~3e4, code 0 twice as likely ~1.6e4 (p = 0)
    assert chi2.sf(statistic, 1295) > 1e-6, statistic
    x = model.sample(n).flatten(1)
    assert ((x == 0) | (x == 1)).all()
    p = table.mean(0)
    z = ((x.mean(0) - p) / (p * (1 - p) / n).sqrt()).abs().max().item()
    assert z < 5, z  # thresholding the probabilities at 0.5 instead of drawing: z ~170


def test_vqvae_trains_on_digits():
    model = _vqvae()
    x, _ = digits("train", binarize=True)
    before = mean_loss(model, x)
    fit(model, x, steps=300, lr=3e-3, device="cpu", progress=False, seed=0)
    assert mean_loss(model, x) < before - 10


# -- Gaussian mixture EM -------------------------------------------------------------------------
def test_em_refuses_fewer_points_than_components():
    with pytest.raises(ValueError, match="at least n_components = 5 points, got 3"):
        GaussianMixture(dim=2, n_components=5).fit_em(torch.randn(3, 2))


# -- where the score function beats reparameterisation (Mohamed et al., 2020) -----------------------
@pytest.mark.parametrize("omega, reparameterisation_wins", [(0.5, True), (10.0, False)])
def test_which_estimator_has_the_lower_variance_depends_on_the_integrand(omega, reparameterisation_wins):
    mu, n = 0.3, 200_000
    generator = torch.Generator().manual_seed(0)
    f = lambda z: torch.cos(omega * z)  # noqa: E731
    # E_q[cos(omega z)] = cos(omega mu) exp(-omega^2 sigma^2 / 2) for q = N(mu, sigma^2), here sigma = 1
    damping = math.exp(-omega ** 2 / 2)
    exact = torch.tensor([-omega * math.sin(omega * mu) * damping, -omega ** 2 * math.cos(omega * mu) * damping],
                         dtype=torch.float64)
    variances = {}
    for name, estimator in {"reparam": reparameterized_gradients, "score": score_function_gradients}.items():
        g = estimator(f, mu, 0.0, n, generator=generator)
        assert ((g.mean(0) - exact).abs() < 5 * g.std(0) / math.sqrt(n)).all(), name  # both unbiased
        variances[name] = g[:, 0].var().item()
    # omega = 10: pathwise variance ~ omega^2 / 2 = 50 against ~0.5 for the score function;
    # omega = 0.5: ~0.1 against ~0.6
    if reparameterisation_wins:
        assert variances["reparam"] < variances["score"] / 3, variances
    else:
        assert variances["reparam"] > 30 * variances["score"], variances


# -- categorical latents: exact gradient, Gumbel-softmax, straight-through ---------------------------
LOGITS = torch.tensor([0.5, -1.0, 0.2, 1.0])
COSTS = torch.tensor([1.0, 3.0, -2.0, 0.5], dtype=torch.float64)


def _cost(y):
    return (y @ COSTS - 1) ** 2  # nonlinear in the relaxed y; at a vertex e_k it is (c_k - 1)^2


def test_exact_categorical_gradient_matches_finite_differences():
    grad = exact_categorical_gradient(_cost, LOGITS)
    values = (COSTS - 1) ** 2
    for k in range(4):
        step = torch.zeros(4, dtype=torch.float64)
        step[k] = 1e-6
        plus = (torch.softmax(LOGITS.double() + step, 0) * values).sum()
        minus = (torch.softmax(LOGITS.double() - step, 0) * values).sum()
        assert abs(grad[k] - (plus - minus) / 2e-6) < 1e-6


def test_score_function_is_unbiased_and_the_relaxations_are_biased():
    exact, n = exact_categorical_gradient(_cost, LOGITS), 200_000
    generator = torch.Generator().manual_seed(0)
    score = categorical_score_function_gradients(_cost, LOGITS, n, generator)
    assert ((score.mean(0) - exact).abs() < 5 * score.std(0) / math.sqrt(n)).all()
    st = straight_through_gradients(_cost, LOGITS, n, generator)
    assert ((st.mean(0) - exact).abs() > 10 * st.std(0) / math.sqrt(n)).any()  # biased, far beyond noise
    bias, variance = [], []
    for tau in (2.0, 0.5, 0.1):
        g = gumbel_softmax_gradients(_cost, LOGITS, tau, n, generator)
        bias.append((g.mean(0) - exact).norm().item())
        variance.append(g.var(0).sum().item())
    # the trade-off of the temperature: lower tau, less bias (0.78 -> 0.08 here), more variance (0.2 -> 47)
    assert bias[0] > bias[1] > bias[2] and variance[0] < variance[1] < variance[2], (bias, variance)
    assert bias[0] > 10 * math.sqrt(variance[0] / n)


def test_gumbel_softmax_refuses_a_non_positive_temperature():
    with pytest.raises(ValueError, match="temperature tau must be positive"):
        gumbel_softmax_gradients(_cost, LOGITS, 0.0, 10)


# -- rate = I_q(x; z) + KL(q(z) || p(z))  (Alemi et al., 2018) ---------------------------------------
def test_rate_splits_into_information_and_prior_mismatch():
    generator = torch.Generator().manual_seed(0)
    mu, logvar = 1.5 * torch.randn(300, 8, dtype=torch.float64), 0.5 * torch.randn(300, 8, dtype=torch.float64) - 1
    terms = rate_decomposition(mu, logvar, 20, generator)
    assert 0 < terms.mutual_information < math.log(300) and terms.marginal_kl > 0
    assert abs(terms.mutual_information + terms.marginal_kl - terms.rate) < 4 * terms.standard_error
    # one encoding for every x: the code says nothing (I = 0) and the whole rate is prior mismatch
    same = rate_decomposition(torch.full((50, 3), 0.7), torch.full((50, 3), -1.0), 20, generator)
    assert abs(same.mutual_information) < 1e-5
    assert abs(same.marginal_kl - same.rate) < 4 * same.standard_error
    # far-apart, sharp encodings: the code identifies x, I = log N
    apart = rate_decomposition(10 * torch.randn(50, 4, dtype=torch.float64), torch.full((50, 4), -8.0,
                               dtype=torch.float64), 5, generator)
    assert abs(apart.mutual_information - math.log(50)) < 1e-3
    with pytest.raises(ValueError, match=r"\(N, L\)"):
        rate_decomposition(torch.zeros(5), torch.zeros(5))


# -- a Gaussian decoder: samples are the mean plus noise ---------------------------------------------
def test_gaussian_vae_likelihood_is_the_diagonal_gaussian_and_samples_add_its_noise():
    torch.manual_seed(0)
    model = GaussianVAE((1, 2, 3), GaussianVAEConfig(latent_dim=2, hidden=8, min_std=0.05)).double()
    with torch.no_grad():
        model.raw_std.copy_(torch.randn(1, 2, 3))
    x, z = torch.randn(5, 1, 2, 3, dtype=torch.float64), torch.randn(7, 5, 2, dtype=torch.float64)
    mean, std = model.decode(z), model.decoder_std
    by_hand = (-0.5 * ((x - mean) / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).flatten(2).sum(-1)
    assert torch.allclose(model.log_likelihood_given_z(x, z), by_hand)
    assert (std >= 0.05).all()
    # x ~ p(x|z) = m(z) + s eps: fix z by reusing the generator state, compare with the mean
    with torch.random.fork_rng():
        samples = model.sample(100_000)
    means = model.sample(100_000, mean=True)
    eps = (samples - means) / std
    assert eps.mean().abs() < 5 / math.sqrt(6e5) and abs(eps.var().item() - 1) < 0.02
    with pytest.raises(ValueError, match="min_std must be positive"):
        GaussianVAE((4,), GaussianVAEConfig(min_std=0.0))


def test_gaussian_vae_trains_on_continuous_digits():
    x = digits("train")[0].float()  # grey levels in [0, 1], not binarized
    torch.manual_seed(0)
    model = GaussianVAE((1, 8, 8), GaussianVAEConfig(latent_dim=4, hidden=64, eval_samples=50))
    before = mean_loss(model, x)
    fit(model, x, steps=300, lr=3e-3, device="cpu", progress=False, seed=0)
    assert mean_loss(model, x) < before - 35  # 54 -> 7 nats here
    samples = model.sample(500)
    assert (samples - model.sample(500, mean=True)).std() > 0.05  # the noise is there, and not small


# -- an autoregressive decoder: posterior collapse and its remedies ----------------------------------
def _ar_vae(**kw):
    torch.manual_seed(0)
    return ARDecoderVAE((1, 2, 2), ARDecoderVAEConfig(latent_dim=1, hidden=16, eval_samples=2000, **kw)).double()


def test_ar_decoder_is_autoregressive_in_x_and_sees_z():
    model = _ar_vae()
    z = torch.randn(1, 1, dtype=torch.float64)
    check_autoregressive(lambda x: model.decoder(x.double(), z.expand(len(x), -1)), num_dims=4)
    zz = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model.decoder(torch.rand(3, 4, dtype=torch.float64), zz).sum(), zz)
    assert (grad != 0).all()


def test_ar_decoder_likelihood_is_normalised_and_samples_follow_the_marginal():
    model = _ar_vae()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.7 * torch.randn_like(p))
    x = enumerate_binary((1, 2, 2), torch.float64)  # all 16 images, in itertools.product order
    with torch.no_grad():
        z = torch.randn(3, 1, 1, dtype=torch.float64).expand(3, 16, 1)  # three codes, each with all 16 images
        total = torch.logsumexp(model.log_likelihood_given_z(x, z), dim=1)  # log sum_x p(x | z), per code
        assert torch.allclose(total, torch.zeros(3, dtype=torch.float64))
        grid = torch.linspace(-10, 10, 20_001, dtype=torch.float64)[:, None, None].expand(-1, 16, 1)
        log_joint = model.log_likelihood_given_z(x, grid) + Normal(0.0, 1.0).log_prob(grid[..., 0])
        p = (torch.logsumexp(log_joint, 0) + math.log(20 / 20_000)).exp()  # p(x) by quadrature over z
    n = 100_000
    torch.manual_seed(5)
    index = (model.sample(n).flatten(1) * torch.tensor([8.0, 4.0, 2.0, 1.0], dtype=torch.float64)).sum(1).long()
    freq = torch.bincount(index, minlength=16).double() / n
    threshold = 0.5 * (p * (1 - p) / n).sqrt().sum().item() + math.sqrt(math.log(1e6) / (2 * n))
    assert 0.5 * (freq - p).abs().sum().item() < threshold  # TV distance, as for the plain VAE above


def test_free_bits_and_annealing_change_only_the_kl_term():
    x = enumerate_binary((1, 2, 2), torch.float64)
    plain, free, annealed = _ar_vae(), _ar_vae(free_bits=0.3), _ar_vae(kl_anneal_steps=4)
    free.load_state_dict(plain.state_dict())
    annealed.load_state_dict(plain.state_dict())
    mu, logvar = plain.encode(x)
    kl_per_dim = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1)  # (16, 1)
    losses = {}
    for name, model in {"plain": plain, "free": free}.items():
        torch.manual_seed(1)
        losses[name] = model.loss(x)
    difference = losses["free"] - losses["plain"]  # the same noise, so the reconstructions cancel
    expected = kl_per_dim.mean(0).clamp(min=0.3).sum() - kl_per_dim.sum(1).mean()
    assert torch.allclose(difference, expected)
    weights = []
    for _ in range(6):
        weights.append(annealed.kl_weight)
        annealed.loss(x)
    assert weights == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    annealed.eval()
    annealed.loss(x)
    assert annealed.kl_weight == 1.0 and int(annealed.steps_done) == 6  # evaluation does not advance it
    with pytest.raises(ValueError, match="k=1, beta=1"):
        ARDecoderVAE((1, 2, 2), ARDecoderVAEConfig(k=5))


# -- VQ-VAE with an autoregressive prior over its codes -----------------------------------------------
def test_code_pixelcnn_is_causal_normalised_and_samples_from_its_probabilities():
    torch.manual_seed(0)
    prior = CodePixelCNN(3, (2, 2), channels=8, n_layers=2).double()
    with torch.no_grad():
        for p in prior.parameters():
            p.add_(0.5 * torch.randn_like(p))
    grids = torch.tensor(list(itertools.product(range(3), repeat=4))).view(81, 2, 2)  # every grid
    log_p = prior.log_prob(grids)
    assert abs(torch.logsumexp(log_p, 0).item()) < 1e-10
    # causality: changing the code at raster position m changes no logits at positions <= m
    base = prior.logits(grids[:1]).flatten(2)
    for m in range(4):
        changed = grids[:1].clone().flatten(1)
        changed[0, m] = (changed[0, m] + 1) % 3
        moved = (prior.logits(changed.view(1, 2, 2)).flatten(2) - base).abs().amax(1)[0]
        assert (moved[: m + 1] == 0).all() and (m == 3 or (moved[m + 1:] > 0).any())
    n = 50_000
    torch.manual_seed(3)
    codes = prior.sample(n).flatten(1)
    index = (codes * torch.tensor([27, 9, 3, 1])).sum(1)
    counts = torch.bincount(index, minlength=81).double()
    expected = n * log_p.exp()
    statistic = ((counts - expected) ** 2 / expected).sum().item()
    assert chi2.sf(statistic, 80) > 1e-6, statistic
    with pytest.raises(ValueError, match="long tensor"):
        prior.log_prob(grids.float())
    with pytest.raises(ValueError, match="indices in 0..2"):
        prior.log_prob(grids + 1)


def test_vqvae_with_a_trained_code_prior_tightens_the_bound_and_samples_from_it():
    model = VQVAE((1, 8, 8), VQVAEConfig(n_codes=8, code_dim=4, hidden=16))
    x, _ = digits("train", binarize=True)
    fit(model, x, steps=200, lr=3e-3, device="cpu", progress=False, seed=0)
    with torch.no_grad():
        codes = model.encode(x)
        uniform_bound = model.log_prob(x)
    torch.manual_seed(0)
    prior = CodePixelCNN(8, model.latent_shape, channels=16, n_layers=2)
    optimizer = torch.optim.Adam(prior.parameters(), lr=1e-2)
    for _ in range(150):  # the second stage: the autoencoder is frozen, the prior fits its codes
        loss = -prior.log_prob(codes[torch.randint(len(codes), (100,))]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.prior = prior
    with torch.no_grad():
        bound = model.log_prob(x)
        prior_nats = -prior.log_prob(codes)
    # log p(x) >= log p(x | z_q) + log p(z_q): same reconstruction term, better prior term
    assert torch.allclose(bound - uniform_bound, -prior_nats + 4 * math.log(8), atol=1e-4)
    assert prior_nats.mean() < 4 * math.log(8) - 1.0
    samples = model.sample(64)
    assert samples.shape == (64, 1, 8, 8) and ((samples == 0) | (samples == 1)).all()
    with pytest.raises(ValueError, match="prior must be 'uniform' or 'pixelcnn'"):
        VQVAE((1, 8, 8), VQVAEConfig(prior="transformer"))


def test_free_bits_keep_the_rate_that_the_plain_elbo_gives_up():
    x, x_test = digits("train", binarize=True)[0], digits("test", binarize=True)[0]
    rates = {}
    for free_bits in (0.0, 0.5):
        torch.manual_seed(0)
        model = ARDecoderVAE((1, 8, 8), ARDecoderVAEConfig(latent_dim=8, hidden=200, free_bits=free_bits))
        fit(model, x, steps=300, lr=3e-3, device="cpu", progress=False, seed=0)
        rates[free_bits] = model.eval().validation_metrics(x_test)["rate"]
    # lambda L = 4 nats are free: the rate stays above them (4.8 here); the plain ELBO keeps 2.7 and falling
    assert rates[0.5] > 0.5 * 8 and rates[0.5] > rates[0.0] + 1.5, rates
