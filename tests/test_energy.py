"""Week 7's energy-based models against ground truth: Langevin and MALA on Gaussians, score matching's
optimum, NCE's normaliser, the RBM's exact partition function, AIS on it, and CD's gradient."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import MultivariateNormal, Normal

from dgmlib.models.energy import (BernoulliRBM, EBMConfig, MLPEnergy, RBMConfig, denoising_score_matching_loss,
                                  nce_loss, score_matching_loss, score_of, sliced_score_matching_loss, toy_config)
from dgmlib.samplers.langevin import ReplayBuffer, langevin
from dgmlib.testing import enumerate_binary

F64 = torch.float64


def gaussian_energy(mean, precision):
    return lambda x: 0.5 * torch.einsum("bi,ij,bj->b", x - mean, precision, x - mean)


# -- Langevin and MALA ------------------------------------------------------------------------
def test_unadjusted_langevin_reaches_the_gaussian_with_its_known_discretisation_bias():
    torch.manual_seed(0)
    sigma2, eps = 0.25, 0.05
    energy = gaussian_energy(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64) / sigma2)
    x = langevin(energy, 3 * torch.randn(20000, 2, dtype=F64), 200, eps).x
    # ULA on N(0, s^2) is an AR(1) chain with stationary variance s^2 / (1 - eps / (2 s^2))
    assert torch.allclose(x.var(0), torch.full((2,), sigma2 / (1 - eps / (2 * sigma2)), dtype=F64), rtol=0.04)
    assert x.mean(0).abs().max() < 0.02


def test_mala_keeps_the_target_invariant_and_removes_the_bias():
    torch.manual_seed(1)
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    cov = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=F64)
    energy = gaussian_energy(mean, torch.linalg.inv(cov))
    start = MultivariateNormal(mean, cov).sample((20000,))  # exact samples: an invariant kernel keeps them so
    result = langevin(energy, start, 50, 0.2, metropolis=True)
    assert 0.3 < result.accept_rate.mean() < 0.99
    assert torch.allclose(result.x.mean(0), mean, atol=0.03)
    assert torch.allclose(torch.cov(result.x.T), cov, atol=0.04)
    # the unadjusted sampler at this step size inflates the spread visibly
    biased = langevin(energy, start, 50, 0.2).x
    assert torch.cov(biased.T).trace() > 1.2 * cov.trace()


def test_langevin_refuses_bad_settings():
    energy = gaussian_energy(torch.zeros(2), torch.eye(2))
    with pytest.raises(ValueError, match="step_size"):
        langevin(energy, torch.zeros(3, 2), 5, 0.0)
    with pytest.raises(ValueError, match="Metropolis"):
        langevin(energy, torch.zeros(3, 2), 5, 0.1, metropolis=True, noise_scale=0.5)
    with pytest.raises(ValueError, match="x0"):
        langevin(energy, torch.full((3, 2), float("nan")), 5, 0.1)


def test_the_replay_buffer_restarts_a_fraction_of_chains_and_keeps_the_newest():
    buffer = ReplayBuffer(lambda n: torch.zeros(n, 3), capacity=100, reinit=0.2)
    assert (buffer.sample(10) == 0).all()  # empty: noise
    buffer.push(torch.ones(150, 3))
    assert len(buffer) == 100
    torch.manual_seed(0)
    starts = buffer.sample(5000)
    assert abs((starts[:, 0] == 0).float().mean().item() - 0.2) < 0.03


# -- score matching and NCE on Gaussian families ---------------------------------------------------
class GaussianEnergy(nn.Module):
    """E(x) = (x - mu)^T P (x - mu) / 2 with P = L L^T: the family whose MLE is the sample mean and covariance."""

    def __init__(self, dim):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(dim, dtype=F64))
        self.raw = nn.Parameter(torch.eye(dim, dtype=F64))

    @property
    def precision(self):
        lower = torch.tril(self.raw)
        return lower @ lower.T

    def forward(self, x):
        return gaussian_energy(self.mu, self.precision)(x)


def minimise(loss_fn, module, steps=400):
    optimizer = torch.optim.LBFGS(module.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    optimizer.step(closure)
    return module


@pytest.fixture(scope="module")
def gaussian_data():
    torch.manual_seed(0)
    cov = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=F64)
    x = MultivariateNormal(torch.tensor([1.0, -1.0], dtype=F64), cov).sample((4000,))
    return x, x.mean(0), torch.cov(x.T, correction=0)


def test_score_matching_on_a_gaussian_family_recovers_the_maximum_likelihood_estimate(gaussian_data):
    x, mean, cov = gaussian_data
    model = GaussianEnergy(2)
    minimise(lambda: score_matching_loss(score_of(model), x), model)
    assert torch.allclose(model.mu, mean, atol=1e-5)
    assert torch.allclose(model.precision, torch.linalg.inv(cov), atol=1e-5)  # exactly the MLE, not approximately


def test_sliced_score_matching_is_unbiased_for_hyvarinens_objective(gaussian_data):
    x, _, _ = gaussian_data
    model = GaussianEnergy(2)
    with torch.no_grad():
        model.mu.copy_(torch.tensor([0.5, 0.2]))
        model.raw.copy_(torch.tensor([[1.3, 0.0], [0.4, 0.8]]))
    exact = score_matching_loss(score_of(model), x).item()
    torch.manual_seed(0)
    sliced = torch.stack([sliced_score_matching_loss(score_of(model), x, 4).detach() for _ in range(50)])
    assert abs(sliced.mean().item() - exact) < 4 * sliced.std().item() / math.sqrt(50) + 1e-3


def test_denoising_score_matching_learns_the_score_of_the_noised_data(gaussian_data):
    x, mean, cov = gaussian_data
    sigma = 0.5
    model = GaussianEnergy(2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    torch.manual_seed(0)
    for _ in range(1500):
        optimizer.zero_grad()
        denoising_score_matching_loss(score_of(model), x, sigma).backward()
        optimizer.step()
    noised = torch.linalg.inv(cov + sigma ** 2 * torch.eye(2, dtype=F64))  # the precision of x + sigma eps
    assert torch.allclose(model.precision, noised, atol=0.06)
    assert not torch.allclose(model.precision, torch.linalg.inv(cov), atol=0.15)
    assert torch.allclose(model.mu, mean, atol=0.05)


def test_nce_recovers_the_normaliser_of_a_1d_density():
    torch.manual_seed(0)
    x = 1.5 * torch.randn(20000, dtype=F64) + 0.5  # N(0.5, 1.5^2)
    noise = Normal(torch.tensor(0.0, dtype=F64), torch.tensor(3.0, dtype=F64))
    y = noise.sample((100000,))
    params = nn.ParameterDict({"mu": nn.Parameter(torch.tensor(0.0, dtype=F64)),
                               "log_precision": nn.Parameter(torch.tensor(0.0, dtype=F64)),
                               "c": nn.Parameter(torch.tensor(0.0, dtype=F64))})

    def log_model(u):  # -E(u) - c with E(u) = precision (u - mu)^2 / 2
        return -0.5 * params["log_precision"].exp() * (u - params["mu"]) ** 2 - params["c"]

    minimise(lambda: nce_loss(log_model, noise.log_prob, x, y), params)
    precision = params["log_precision"].exp().item()
    assert precision == pytest.approx(1 / 1.5 ** 2, rel=0.05) and params["mu"].item() == pytest.approx(0.5, abs=0.05)
    # c = log Z of the unnormalized Gaussian: log sqrt(2 pi / precision)
    assert params["c"].item() == pytest.approx(0.5 * math.log(2 * math.pi / precision), abs=0.03)


def test_an_mlp_energy_trained_by_sliced_score_matching_puts_its_samples_on_the_data():
    torch.manual_seed(0)
    data = 0.3 * torch.randn(2000, 2) + torch.tensor([1.5, -1.0])
    model = MLPEnergy(2, 64, 2, toy_config(objective="sliced", sample_steps=300, step_size=0.005))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(300):
        batch = data[torch.randint(len(data), (256,))]
        optimizer.zero_grad()
        model.loss(batch).backward()
        optimizer.step()
    samples = model.sample(500)
    assert torch.allclose(samples.mean(0), torch.tensor([1.5, -1.0]), atol=0.15)
    assert (samples.std(0) < 0.6).all()  # concentrated near the data, not spread over [-4, 4]


# -- the RBM --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_rbm():
    torch.manual_seed(0)
    model = BernoulliRBM((1, 3, 4), RBMConfig(hidden=5, init_std=1.0)).double()
    with torch.no_grad():
        model.b.normal_()
        model.c.normal_()
    return model


def test_the_free_energy_sums_the_joint_over_hidden_units(tiny_rbm):
    v = enumerate_binary((12,)).double()[::97]
    h = enumerate_binary((5,)).double()
    joint = v @ tiny_rbm.b + (h @ tiny_rbm.c)[:, None] + h @ tiny_rbm.W @ v.T  # -E(v, h): (2^H, V)
    assert torch.allclose(-tiny_rbm.free_energy(v), torch.logsumexp(joint, 0))
    # and the conditional p(h_j = 1 | v) is that of the joint
    p_h = torch.softmax(joint, 0)
    assert torch.allclose(tiny_rbm.hidden_probs(v), (p_h[:, :, None] * h[:, None, :]).sum(0))


def test_exact_log_partition_agrees_through_either_layer(tiny_rbm):
    through_hidden = tiny_rbm.exact_log_partition()  # H = 5 < D = 12: sums over the hidden states
    through_visible = torch.logsumexp(-tiny_rbm.free_energy(enumerate_binary((12,)).double()), 0)
    assert through_hidden.item() == pytest.approx(through_visible.item(), rel=1e-12)
    wide = BernoulliRBM((2,), RBMConfig(hidden=30, init_std=1.0)).double()  # D = 2: sums over visible states
    h = enumerate_binary((2,)).double()
    assert wide.exact_log_partition().item() == pytest.approx(torch.logsumexp(-wide.free_energy(h), 0).item())
    with pytest.raises(ValueError, match="ais_log_partition"):
        BernoulliRBM((1, 28, 28), RBMConfig(hidden=30)).exact_log_partition()


def test_ais_estimates_the_rbm_partition_function_within_its_error():
    torch.manual_seed(0)
    model = BernoulliRBM((1, 4, 4), RBMConfig(hidden=12, init_std=1.0)).double()
    with torch.no_grad():
        model.b.normal_()
        model.c.normal_()
    exact = model.exact_log_partition().item()
    result = model.ais_log_partition(300, n_chains=200)
    assert abs(result.log_normalizer.item() - exact) < 4 * result.std_error.item() + 0.01
    assert result.std_error.item() < 0.05
    # a base rate from "data" (here: the model's own marginals) works too
    base = torch.logit(torch.full((16,), 0.3, dtype=F64))
    other = model.ais_log_partition(300, n_chains=200, base_logits=base)
    assert abs(other.log_normalizer.item() - exact) < 4 * other.std_error.item() + 0.01


def exact_nll_gradient(model, data):
    """d/dtheta of mean -log p(v) = mean dF(data)/dtheta - E_model dF(v)/dtheta, by enumerating every v."""
    states = enumerate_binary((model.num_dims,)).to(model.W.dtype)
    model.zero_grad()
    p = torch.softmax(-model.free_energy(states), 0).detach()
    (model.free_energy(data).mean() - (p * model.free_energy(states)).sum()).backward()
    return [t.grad.clone() for t in (model.W, model.b, model.c)]


def test_cd_gradients_match_the_exact_gradient_in_expectation_when_the_chains_mix(tiny_rbm):
    torch.manual_seed(0)
    data = torch.bernoulli(torch.full((8, 12), 0.4, dtype=F64))
    exact = exact_nll_gradient(tiny_rbm, data)
    tiny_rbm.config.k = 30
    repeated = data.repeat(1000, 1)  # many CD chains from each data point: their mean is CD's expectation
    tiny_rbm.zero_grad()
    tiny_rbm.loss(repeated.view(-1, 1, 3, 4)).backward()
    cd = [t.grad.clone() for t in (tiny_rbm.W, tiny_rbm.b, tiny_rbm.c)]
    for g_cd, g_exact in zip(cd, exact):
        assert torch.allclose(g_cd, g_exact, atol=0.04), (g_cd - g_exact).abs().max()
    # CD-1 is biased: its chains stay near the data, and its error is several times that of the mixed chains
    tiny_rbm.config.k = 1
    tiny_rbm.zero_grad()
    tiny_rbm.loss(repeated.view(-1, 1, 3, 4)).backward()
    error_1 = (tiny_rbm.W.grad - exact[0]).norm()
    assert error_1 > 2.5 * (cd[0] - exact[0]).norm(), (error_1, (cd[0] - exact[0]).norm())
    tiny_rbm.zero_grad()


def test_pcd_keeps_its_chains_between_updates():
    torch.manual_seed(0)
    model = BernoulliRBM((6,), RBMConfig(hidden=3, persistent=True, chains=10, k=1))
    x = torch.bernoulli(torch.full((4, 6), 0.5))
    model.loss(x)
    first = model.chains.clone()
    model.loss(x)
    assert first.shape == (10, 6) and model.chains.shape == (10, 6) and not torch.equal(first, model.chains)
    with pytest.raises(ValueError, match="binary"):
        model.loss(torch.full((4, 6), 0.5))


def test_ebm_config_and_nce_noise_are_checked():
    with pytest.raises(ValueError, match="objective"):
        MLPEnergy(2, 8, 1, toy_config(objective="ml"))
    with pytest.raises(ValueError, match="nce_noise"):
        MLPEnergy(2, 8, 1, toy_config(objective="nce"))
    with pytest.raises(ValueError, match="step_size"):
        MLPEnergy(2, 8, 1, EBMConfig(step_size=0.0))
    assert F.softplus(torch.tensor(0.0)).item() == pytest.approx(math.log(2))
