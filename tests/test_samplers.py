"""dgmlib.samplers.mcmc: the chains reach the right distribution, and the ESS is the known one for AR(1)."""
import math

import pytest
import torch
from scipy.signal import lfilter
from torch.distributions import MultivariateNormal

from dgmlib.samplers import effective_sample_size, gibbs, metropolis_hastings

MEAN = torch.tensor([1.0, -2.0])
COV = torch.tensor([[1.0, 0.8], [0.8, 1.0]])


def gaussian_conditionals():
    # x_i | x_j ~ N(m_i + c (x_j - m_j), 1 - c^2) for unit variances and correlation c
    c = COV[0, 1].item()

    def conditional(i, j):
        def draw(x, generator):
            loc = MEAN[i] + c * (x[:, j] - MEAN[j])
            return loc + math.sqrt(1 - c ** 2) * torch.randn(len(x), generator=generator)
        return draw
    return [conditional(0, 1), conditional(1, 0)]


def assert_moments(samples, mean, cov, tol_mean, tol_cov):
    x = samples.reshape(-1, samples.shape[-1])
    assert torch.allclose(x.mean(0), mean, atol=tol_mean), f"mean {x.mean(0)}, expected {mean}"
    assert torch.allclose(torch.cov(x.T), cov, atol=tol_cov), f"covariance {torch.cov(x.T)}, expected {cov}"


def test_metropolis_hastings_reaches_a_correlated_gaussian():
    generator = torch.Generator().manual_seed(0)
    target = MultivariateNormal(MEAN, COV)
    x0 = torch.zeros(400, 2) + torch.tensor([4.0, 4.0])        # far from the mode: burn-in must forget it
    result = metropolis_hastings(target.log_prob, x0, n_steps=600, step_size=0.8, generator=generator)
    # 400 chains x 500 kept steps with an ESS of a few percent per step: thousands of effective draws
    assert_moments(result.samples[100:], MEAN, COV, tol_mean=0.06, tol_cov=0.08)
    assert 0.2 < result.accept_rate.mean() < 0.8


def test_metropolis_hastings_respects_a_support_and_skew():
    # Exponential(1): mean 1, variance 1; log p = -inf for x < 0 must never be accepted
    generator = torch.Generator().manual_seed(1)

    def log_prob(x):
        x = x[:, 0]
        return torch.where(x >= 0, -x, torch.full_like(x, -math.inf))

    result = metropolis_hastings(log_prob, torch.ones(500, 1), n_steps=500, step_size=1.5, generator=generator)
    kept = result.samples[100:].flatten()
    assert (kept >= 0).all()
    assert abs(kept.mean() - 1) < 0.05 and abs(kept.var() - 1) < 0.1, (kept.mean(), kept.var())


def test_metropolis_hastings_needs_only_an_unnormalised_density():
    target = MultivariateNormal(MEAN, COV)
    runs = [metropolis_hastings(lambda x, c=c: target.log_prob(x) + c, torch.zeros(8, 2), 50, 0.5,
                                generator=torch.Generator().manual_seed(2)).samples for c in (0.0, 123.0)]
    assert torch.allclose(runs[0], runs[1])


def test_gibbs_reaches_a_correlated_gaussian():
    generator = torch.Generator().manual_seed(3)
    result = gibbs(gaussian_conditionals(), torch.full((400, 2), 5.0), n_steps=300, generator=generator)
    assert_moments(result.samples[50:], MEAN, COV, tol_mean=0.06, tol_cov=0.08)
    assert (result.accept_rate == 1).all()


def test_gibbs_on_a_discrete_table_matches_the_joint():
    joint = torch.tensor([[0.1, 0.2], [0.3, 0.4]])              # p(a, b)
    generator = torch.Generator().manual_seed(4)

    def a_given_b(x, g):
        p = joint[:, x[:, 1].long()].T                           # (C, 2): p(a, b) for the current b
        return torch.multinomial(p / p.sum(1, keepdim=True), 1, generator=g)[:, 0].float()

    def b_given_a(x, g):
        p = joint[x[:, 0].long()]
        return torch.multinomial(p / p.sum(1, keepdim=True), 1, generator=g)[:, 0].float()

    result = gibbs([a_given_b, b_given_a], torch.zeros(2000, 2), n_steps=60, generator=generator)
    x = result.samples[10:].reshape(-1, 2).long()
    frequencies = torch.bincount(2 * x[:, 0] + x[:, 1], minlength=4).view(2, 2) / len(x)
    assert torch.allclose(frequencies, joint, atol=0.01), frequencies


def test_effective_sample_size_of_independent_and_ar1_chains():
    generator = torch.Generator().manual_seed(5)
    T = 100_000
    independent = torch.randn(T, generator=generator, dtype=torch.float64)
    assert abs(effective_sample_size(independent) / T - 1) < 0.1
    rho = 0.9                                                    # x_t = rho x_{t-1} + sqrt(1 - rho^2) eps_t
    noise = torch.randn(T, generator=generator, dtype=torch.float64) * math.sqrt(1 - rho ** 2)
    noise[0] = torch.randn(1, generator=generator, dtype=torch.float64)   # start in the stationary N(0, 1)
    ar = torch.from_numpy(lfilter([1.0], [1.0, -rho], noise.numpy()))
    expected = T * (1 - rho) / (1 + rho)                         # 1 + 2 sum_k rho^k = (1 + rho) / (1 - rho)
    ess = effective_sample_size(torch.stack([ar, independent], 1))
    assert ess.shape == (2,)
    assert abs(ess[0] / expected - 1) < 0.15, (ess[0].item(), expected)
    assert abs(ess[1] / T - 1) < 0.1


@pytest.mark.parametrize("call, message", [
    (lambda: metropolis_hastings(lambda x: -x.pow(2).sum(1), torch.zeros(2), 10, 0.5), "chains, dims"),
    (lambda: metropolis_hastings(lambda x: -x.pow(2).sum(1), torch.zeros(2, 1), 10, 0.0), "step_size"),
    (lambda: metropolis_hastings(lambda x: -x.pow(2).sum(1), torch.zeros(2, 1), 0, 0.5), "n_steps"),
    (lambda: metropolis_hastings(lambda x: -x.pow(2), torch.zeros(2, 1), 10, 0.5), "to (C,)"),
    (lambda: metropolis_hastings(lambda x: torch.log(x[:, 0]), torch.zeros(2, 1) - 1, 10, 0.5), "p(x0) > 0"),
    (lambda: metropolis_hastings(lambda x: -x.sum(1), torch.zeros(2, 1, dtype=torch.long), 10, 0.5), "float"),
    (lambda: gibbs(gaussian_conditionals()[:1], torch.zeros(3, 2), 10), "one conditional per coordinate"),
    (lambda: gibbs([lambda x, g: x, lambda x, g: x], torch.zeros(3, 2), 10), "must return (3,)"),
    (lambda: effective_sample_size(torch.ones(100)), "never changes"),
    (lambda: effective_sample_size(torch.ones(2, 3, 4)), "(T,) or (T, D)"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
