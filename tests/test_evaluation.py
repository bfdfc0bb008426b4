"""Week 6's metrics against closed forms, brute force and torchmetrics: importance sampling, AIS, KID's error,
the Inception-style score, precision/recall, MMD, the memorisation check, the contrast models and one table row."""
import math

import pytest
import torch
from torch import nn
from torch.distributions import Independent, MultivariateNormal, Normal

from dgmlib.metrics import (AISResult, ais_log_likelihood, annealed_importance_sampling, density_coverage,
                            evaluate_model, fid,
                            floor_row, format_table, importance_log_likelihood, inception_score, kid, knn_radii,
                            memorization_report, mmd, precision_recall, sigmoid_schedule)
from dgmlib.metrics.ais import hmc_step
from dgmlib.models import (DCGAN, PPCA, VAE, IndependentBernoulli, Mixture, TrainingSetKernel, VAEConfig,
                           noisy_mixture)
from dgmlib.models.adversarial import DCGANConfig
from dgmlib.testing import check_normalized, enumerate_binary

F64 = torch.float64


def standard_normal(d):
    return Independent(Normal(torch.zeros(d, dtype=F64), torch.ones(d, dtype=F64)), 1)


def gaussian_energy(seed=0, d=3):
    """log f(z) = -(z - m)^T A (z - m) / 2 with Z = (2 pi)^(d/2) |A|^(-1/2): (log f, log Z)."""
    g = torch.Generator().manual_seed(seed)
    b = torch.randn(d, d, generator=g, dtype=F64)
    a = b @ b.T + 2 * torch.eye(d, dtype=F64)
    m = 2 * torch.randn(d, generator=g, dtype=F64)
    log_z = d / 2 * math.log(2 * math.pi) - 0.5 * torch.logdet(a).item()
    return (lambda z: -0.5 * torch.einsum("...i,ij,...j->...", z - m, a, z - m)), log_z, (m, a)


@pytest.fixture(scope="module")
def ppca():
    torch.manual_seed(0)
    model = PPCA(dim=8, latent_dim=3, noise_std=0.3).double()
    x = model.sample(6).detach()
    return model, x, model.log_prob(x).detach()


# -- importance sampling ----------------------------------------------------------------------
def test_importance_sampling_with_the_exact_posterior_is_exact_for_every_k(ppca):
    model, x, exact = ppca
    with torch.no_grad():
        estimate = importance_log_likelihood(lambda z: model.log_joint(x, z), model.posterior(x), k=1)
    assert torch.allclose(estimate, exact, atol=1e-8)


def test_importance_sampling_climbs_towards_log_p_as_k_grows(ppca):
    model, x, exact = ppca
    with torch.no_grad():
        q = model.posterior(x)
        wide = MultivariateNormal(q.mean, covariance_matrix=4 * q.covariance_matrix)  # a worse proposal
        torch.manual_seed(1)
        means = [torch.stack([importance_log_likelihood(lambda z: model.log_joint(x, z), wide, k)
                              for _ in range(200)]).mean(0) for k in (1, 10, 1000)]
    gaps = [(exact - m).mean().item() for m in means]
    assert gaps[0] > gaps[1] > gaps[2] > -0.01  # biased low (Jensen), less so with more samples
    assert gaps[2] < 0.02 and gaps[0] > 0.3


def test_importance_sampling_does_not_depend_on_the_chunk_size(ppca):
    model, x, _ = ppca
    q = model.posterior(x)
    torch.manual_seed(3)
    one = importance_log_likelihood(lambda z: model.log_joint(x, z), q.expand(q.batch_shape), 12)
    torch.manual_seed(3)
    chunks = importance_log_likelihood(lambda z: model.log_joint(x, z), q, 12, chunk=5)
    assert torch.allclose(one, chunks, atol=1e-10)
    with pytest.raises(ValueError, match="positive integer"):
        importance_log_likelihood(lambda z: model.log_joint(x, z), q, 0)


def test_the_vae_estimate_is_the_generic_importance_sampler_with_the_encoder_as_proposal():
    torch.manual_seed(0)
    model = VAE((1, 4, 4), VAEConfig(latent_dim=2, hidden=8, eval_samples=64, eval_chunk=16))
    x = torch.randint(0, 2, (5, 1, 4, 4)).float()
    torch.manual_seed(7)
    theirs = model.importance_log_likelihood(x)
    torch.manual_seed(7)
    with torch.no_grad():
        ours = importance_log_likelihood(lambda z: model.log_joint(x, z), model.posterior(x), 64, 16)
    assert torch.allclose(theirs, ours)
    # and log_joint is the prior plus the decoder's likelihood, with the prior N(0, I)
    z = torch.randn(3, 5, 2)
    expected = Normal(0.0, 1.0).log_prob(z).sum(-1) + model.log_likelihood_given_z(x, z)
    assert torch.allclose(model.log_joint(x, z), expected, atol=1e-5)


# -- annealed importance sampling -------------------------------------------------------------
@pytest.mark.parametrize("adapt", [False, True])
def test_ais_recovers_the_partition_function_of_a_gaussian_energy(adapt):
    log_f, log_z, _ = gaussian_energy()
    torch.manual_seed(0)
    result = annealed_importance_sampling(log_f, standard_normal(3), 100, n_chains=500, step_size=0.2,
                                          leapfrog_steps=5, adapt=adapt)
    assert isinstance(result, AISResult) and result.log_weights.shape == (500,)
    assert abs(result.log_normalizer.item() - log_z) < 4 * result.std_error.item() + 0.01
    assert result.std_error.item() < 0.05 and 0.3 < result.acceptance <= 1


def test_ais_weights_are_unbiased_for_z_even_with_few_temperatures():
    """E[w] = Z for any schedule: with 3 temperatures the chains are poor, but the mean weight is still Z.
    (Updating the weight after the move instead of before it breaks this.)"""
    log_f, log_z, _ = gaussian_energy(seed=1, d=2)
    torch.manual_seed(0)
    result = annealed_importance_sampling(log_f, standard_normal(2), 3, n_chains=20000, step_size=0.3,
                                          leapfrog_steps=3, adapt=False)
    w = torch.exp(result.log_weights - log_z)  # w / Z: mean 1
    assert abs(w.mean().item() - 1) < 4 * w.std().item() / math.sqrt(len(w))
    assert result.effective_sample_size.item() < 0.9 * 20000  # three temperatures leave unequal weights


def test_ais_with_exact_moves_has_almost_no_variance():
    """A transition that samples f_t exactly (possible for a Gaussian path) gives low-variance weights."""
    log_f, log_z, (m, a) = gaussian_energy(seed=2, d=2)

    betas = iter(sigmoid_schedule(200)[1:].tolist())  # the move at step t targets f_t, in order

    def exact_move(z, log_f_t, b):
        # f_t = N(0, I)^(1 - b) f^b is Gaussian with precision (1 - b) I + b A and mean P^-1 b A m
        assert b == next(betas)
        precision = (1 - b) * torch.eye(2, dtype=F64) + b * a
        mean = torch.linalg.solve(precision, b * a @ m)
        return MultivariateNormal(mean, precision_matrix=precision).sample(z.shape[:1])

    torch.manual_seed(0)
    result = annealed_importance_sampling(log_f, standard_normal(2), 200, n_chains=64, transition=exact_move)
    assert result.log_normalizer.item() == pytest.approx(log_z, abs=0.02)
    assert result.step_size is None and math.isnan(result.acceptance)


def test_ais_follows_a_custom_path_of_intermediate_densities():
    """A path that moves a unit Gaussian's mean from 0 to m and scales it by e^(3b): log Z = 3 exactly."""
    m = torch.tensor([3.0, -2.0], dtype=F64)

    def path(z, b):
        return Independent(Normal(b * m, torch.ones(2, dtype=F64)), 1).log_prob(z) + 3 * b

    torch.manual_seed(0)
    result = annealed_importance_sampling(lambda z: path(z, 1.0), standard_normal(2), 50, n_chains=200, path=path,
                                          step_size=0.5, leapfrog_steps=3)
    assert result.log_normalizer.item() == pytest.approx(3.0, abs=0.02)
    assert result.std_error.item() < 0.02  # the path moves slowly: nearly equal weights


def test_ais_is_exact_on_ppca_from_the_prior(ppca):
    model, x, exact = ppca
    torch.manual_seed(0)
    result = ais_log_likelihood(model, x, 200, n_chains=100, step_size=0.05)
    assert result.log_normalizer.shape == (6,)
    assert (result.log_normalizer - exact).abs().max().item() < 0.2
    assert ((result.log_normalizer - exact).abs() < 4 * result.std_error + 0.02).all()
    # plain importance sampling from the prior, the T = 1 case, is far worse on a narrow posterior
    one = ais_log_likelihood(model, x, 1, n_chains=100, step_size=0.05)
    assert (exact - one.log_normalizer).mean() > 5 * (exact - result.log_normalizer).abs().mean()
    assert all(p.requires_grad for p in model.parameters())  # restored


def test_hmc_leaves_a_gaussian_invariant():
    log_f, _, (m, a) = gaussian_energy(seed=3, d=2)
    torch.manual_seed(0)
    z = MultivariateNormal(m, precision_matrix=a).sample((20000,))
    for _ in range(5):
        z, accept = hmc_step(z, log_f, torch.tensor(0.3, dtype=F64), 4)
    assert 0.5 < accept.mean() < 1
    assert torch.allclose(z.mean(0), m, atol=0.03)
    assert torch.allclose(torch.cov(z.T), torch.linalg.inv(a), atol=0.03)


def test_the_sigmoid_schedule_and_bad_settings():
    betas = sigmoid_schedule(10)
    assert betas[0] == 0 and betas[-1] == 1 and (betas.diff() > 0).all() and len(betas) == 11
    log_f, _, _ = gaussian_energy()
    for bad in (torch.tensor([0.0, 0.7, 0.5, 1.0]), torch.tensor([0.1, 1.0]), 0):
        with pytest.raises(ValueError, match="betas|steps"):
            annealed_importance_sampling(log_f, standard_normal(3), bad)
    with pytest.raises(ValueError, match="non-finite"):
        annealed_importance_sampling(lambda z: torch.full(z.shape[:-1], float("nan"), dtype=F64),
                                     standard_normal(3), 2, n_chains=2)
    with pytest.raises(TypeError, match="prior"):
        ais_log_likelihood(IndependentBernoulli((4,)), torch.zeros(2, 4))


# -- KID's standard error, the Inception-style score, torchmetrics --------------------------
@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_kid_standard_error_matches_the_spread_over_repeated_experiments(shift):
    means, errors = [], []
    g = torch.Generator().manual_seed(0)
    for r in range(150):
        x, y = torch.randn(300, 8, generator=g), torch.randn(300, 8, generator=g) + shift
        result = kid(x, y, num_subsets=10, subset_size=100, generator=torch.Generator().manual_seed(r))
        means.append(result.mean)
        errors.append(result.std_error)
    spread, reported = torch.tensor(means).std().item(), torch.tensor(errors).mean().item()
    assert 0.75 < reported / spread < 1.4
    assert abs(torch.tensor(means).mean().item() - (0.0 if shift == 0 else 0.0)) < 5 * spread or shift > 0


def test_inception_score_closed_forms():
    confident = torch.eye(10).repeat(30, 1)  # every class equally often, each prediction certain
    assert inception_score(confident, splits=3)[0] == pytest.approx(10.0, rel=1e-9)
    assert inception_score(torch.full((50, 10), 0.1), splits=5)[0] == pytest.approx(1.0)
    one_class = torch.zeros(40, 10)
    one_class[:, 3] = 1
    assert inception_score(one_class, splits=4) == pytest.approx((1.0, 0.0))
    # two classes, each prediction 0.9 / 0.1: exp(KL(p(y|x) || (1/2, 1/2))) = exp(log 2 - H(0.9))
    p = torch.tensor([[0.9, 0.1], [0.1, 0.9]], dtype=F64).repeat(20, 1)
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert inception_score(p, splits=1)[0] == pytest.approx(math.exp(math.log(2) - h), rel=1e-9)
    with pytest.raises(ValueError, match="distributions"):
        inception_score(torch.rand(10, 3))


class TinyFeatures(nn.Module):
    """A fixed random CNN on (N, 1, 28, 28): the same feature extractor for both implementations."""

    num_features = 16

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(1, 4, 5, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 16))
        self.head = nn.Linear(16, 10)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.body(x)


class TinyLogits(TinyFeatures):
    def forward(self, x):
        return self.head(self.body(x))


def test_fid_kid_and_inception_score_agree_with_torchmetrics():
    pytest.importorskip("torchmetrics")
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore
    from torchmetrics.image.kid import KernelInceptionDistance
    g = torch.Generator().manual_seed(0)
    real = torch.rand(300, 1, 28, 28, generator=g)
    fake = (torch.rand(300, 1, 28, 28, generator=g) * 0.8) ** 2
    net = TinyFeatures().double()
    with torch.no_grad():
        f_real, f_fake = net.features(real.double()), net.features(fake.double())

    theirs = FrechetInceptionDistance(feature=net)
    theirs.update(real.double(), real=True)
    theirs.update(fake.double(), real=False)
    assert fid(f_fake, f_real) == pytest.approx(theirs.compute().item(), rel=1e-6)

    torch.manual_seed(0)  # torchmetrics draws its subsets from the global generator
    their_kid = KernelInceptionDistance(feature=net, subsets=1, subset_size=300)
    their_kid.update(real.double(), real=True)
    their_kid.update(fake.double(), real=False)
    assert kid(f_fake, f_real, num_subsets=1, subset_size=300).mean == pytest.approx(
        their_kid.compute()[0].item(), rel=1e-6)

    logits_net = TinyLogits().double()
    their_is = InceptionScore(feature=logits_net, splits=1)
    their_is.update(fake.double())
    with torch.no_grad():
        probabilities = logits_net(fake.double()).softmax(-1)
    assert inception_score(probabilities, splits=1)[0] == pytest.approx(their_is.compute()[0].item(), rel=1e-6)


# -- precision and recall ---------------------------------------------------------------------
def brute_force_precision_recall(real, fake, k):
    def radii(points):
        return [sorted(float((p - q).norm()) for j, q in enumerate(points) if j != i)[k - 1]
                for i, p in enumerate(points)]

    def covered(points, centres, r):
        return sum(any(float((p - c).norm()) <= rc for c, rc in zip(centres, r)) for p in points) / len(points)
    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


def test_precision_and_recall_match_a_brute_force_double_loop():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(40, 3, generator=g, dtype=F64), torch.randn(30, 3, generator=g, dtype=F64) * 1.5 + 0.5
    for k in (1, 3):
        expected = brute_force_precision_recall(real, fake, k)
        got = precision_recall(real, fake, k=k)
        assert (got["precision"], got["recall"]) == pytest.approx(expected)


def test_the_radius_is_the_kth_neighbour_other_than_the_point_itself():
    points = torch.tensor([[0.0], [1.0], [3.0]], dtype=F64)
    assert knn_radii(points, 1).tolist() == [1.0, 1.0, 2.0]
    assert knn_radii(points, 2).tolist() == [3.0, 2.0, 3.0]


def test_precision_recall_see_collapse_and_noise_apart():
    g = torch.Generator().manual_seed(1)
    centres = torch.tensor([[10.0 * i, 0.0] for i in range(4)], dtype=F64)
    real = centres[torch.arange(800) % 4] + 0.5 * torch.randn(800, 2, generator=g, dtype=F64)
    same = centres[torch.arange(800) % 4] + 0.5 * torch.randn(800, 2, generator=g, dtype=F64)
    collapsed = centres[torch.arange(800) % 2] + 0.5 * torch.randn(800, 2, generator=g, dtype=F64)
    noisy = 30 * torch.rand(800, 2, generator=g, dtype=F64) - 5
    both = precision_recall(real, same)
    assert both["precision"] > 0.9 and both["recall"] > 0.9
    half = precision_recall(real, collapsed)
    assert half["precision"] > 0.9 and 0.4 < half["recall"] < 0.6  # two of four modes: recall about 1/2
    off = precision_recall(real, noisy)
    assert off["precision"] < 0.3 and off["recall"] > 0.6  # noise covers everything, rarely lands on data
    assert precision_recall(real, real + 1000) == {"precision": 0.0, "recall": 0.0}
    with pytest.raises(ValueError, match="k="):
        precision_recall(real[:3], same[:3], k=3)


def test_density_and_coverage_are_not_fooled_by_an_outlying_real_point():
    g = torch.Generator().manual_seed(2)
    real = torch.cat([0.3 * torch.randn(500, 2, generator=g, dtype=F64),
                      torch.tensor([[40.0, 40.0]], dtype=F64)])  # one outlier: its ball covers the whole plane
    noise = 60 * torch.rand(500, 2, generator=g, dtype=F64) - 10
    like_data = 0.3 * torch.randn(500, 2, generator=g, dtype=F64)
    assert precision_recall(real, noise)["precision"] > 0.9  # precision is fooled
    fooled = density_coverage(real, noise)
    # one ball holding every sample adds at most 1 / k = 0.2 to the density; samples like the data score about 1
    assert fooled["density"] < 1 / 5 + 0.02 and fooled["coverage"] < 0.2
    good = density_coverage(real, like_data)
    assert 0.7 < good["density"] < 1.3 and good["coverage"] > 0.9
    # brute force on a small case: sum of ball memberships / (k M), and the fraction of balls hit
    r, f = real[:20], like_data[:15]
    radii = [sorted(float((p - q).norm()) for j, q in enumerate(r) if j != i)[2] for i, p in enumerate(r)]
    hits = [[float((y - x).norm()) <= rad for x, rad in zip(r, radii)] for y in f]
    expected = {"density": sum(map(sum, hits)) / (3 * 15),
                "coverage": sum(any(h[i] for h in hits) for i in range(20)) / 20}
    assert density_coverage(r, f, k=3) == pytest.approx(expected)


# -- MMD, memorisation -------------------------------------------------------------------------
def gaussian_mmd2(mu1, s1, mu2, s2, l, d):
    """Closed-form MMD^2 of N(mu1, s1^2 I) and N(mu2, s2^2 I) with k = exp(-|x - y|^2 / (2 l^2))."""
    def e_k(m_a, v_a, m_b, v_b):
        t = l ** 2 + v_a + v_b
        return (l ** 2 / t) ** (d / 2) * math.exp(-sum((a - b) ** 2 for a, b in zip(m_a, m_b)) / (2 * t))
    return e_k(mu1, s1 ** 2, mu1, s1 ** 2) + e_k(mu2, s2 ** 2, mu2, s2 ** 2) - 2 * e_k(mu1, s1 ** 2, mu2, s2 ** 2)


def test_mmd_is_unbiased_for_the_gaussian_closed_form():
    g = torch.Generator().manual_seed(0)
    expected = gaussian_mmd2([0.0, 0.0], 1.0, [1.0, 0.5], 0.7, 1.2, 2)
    estimates = torch.tensor([mmd(torch.randn(200, 2, generator=g),
                                  torch.randn(200, 2, generator=g) * 0.7 + torch.tensor([1.0, 0.5]), 1.2)
                              for _ in range(100)])
    assert abs(estimates.mean().item() - expected) < 4 * estimates.std().item() / 10
    same = torch.tensor([mmd(torch.randn(200, 2, generator=g), torch.randn(200, 2, generator=g), [0.5, 2.0])
                         for _ in range(100)])
    assert abs(same.mean().item()) < 4 * same.std().item() / 10 and (same < 0).any()  # unbiased: it dips below 0
    with pytest.raises(ValueError, match="bandwidths"):
        mmd(torch.zeros(5, 2), torch.zeros(5, 2))  # median distance 0


def test_memorization_report_flags_copies_and_not_fresh_samples():
    g = torch.Generator().manual_seed(0)
    train, test, fresh = (torch.randn(n, 20, generator=g) for n in (500, 200, 200))
    copies = train[:200] + 0.01 * torch.randn(200, 20, generator=g)
    copied = memorization_report(copies, train, test)
    assert copied["fraction_copied"] == 1.0 and copied["median_ratio"] < 0.05
    assert torch.equal(copied["sample_neighbours"], torch.arange(200))
    novel = memorization_report(fresh, train, test)
    assert novel["fraction_copied"] < 0.06 and 0.8 < novel["median_ratio"] < 1.25


# -- the two contrast models --------------------------------------------------------------------
def test_the_mixture_is_normalized_and_loses_at_most_log_one_over_w():
    torch.manual_seed(0)
    good = IndependentBernoulli((1, 3, 4))
    with torch.no_grad():
        good.logits.normal_(0, 2)
    mixed = noisy_mixture(good, 0.01)
    check_normalized(mixed)
    x = enumerate_binary((1, 3, 4))
    gap = good.log_prob(x) - mixed.log_prob(x)
    assert (gap <= math.log(100) + 1e-6).all() and gap.max() > 4.0  # the bound holds and is nearly reached
    samples = mixed.sample(4000)
    assert samples.shape == (4000, 1, 3, 4)
    # 99% of the samples are fair coins: the mean pixel is near 1/2 whatever the good model says
    assert samples.mean().item() == pytest.approx(0.5 * 0.99 + 0.01 * torch.sigmoid(good.logits).mean().item(),
                                                  abs=0.01)
    with pytest.raises(ValueError, match="sum to 1"):
        Mixture([good, good], [0.5, 0.6])


def test_the_training_set_kernel_is_normalized_and_samples_near_its_training_images():
    train = torch.randint(0, 2, (5, 1, 3, 4), generator=torch.Generator().manual_seed(0)).float()
    model = TrainingSetKernel(train, flip=0.1)
    check_normalized(model)
    assert model.flip.item() == pytest.approx(0.1)
    # at a training image (far from the others) the density is about (1 - f)^D / N
    assert model.log_prob(train[:1]).item() >= 12 * math.log(0.9) - math.log(5)
    samples = model.sample(500).flatten(1)
    hamming = (samples[:, None] != train.flatten(1)[None]).sum(-1).min(1).values.float()
    assert hamming.mean().item() < 12 * 0.1 + 0.3
    with pytest.raises(ValueError, match="flip"):
        TrainingSetKernel(train, flip=0.0)


# -- one row of the table ----------------------------------------------------------------------
class TinyClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.Tanh())
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        return self.head(self.features(x))


def test_evaluate_model_reports_nll_only_where_the_model_has_one():
    torch.manual_seed(0)
    classifier = TinyClassifier()
    x = (torch.rand(120, 1, 28, 28) < 0.2).float()
    reference, _ = classifier.features(x).detach(), None
    bernoulli = IndependentBernoulli((1, 28, 28)).fit_mle(x, pseudo_count=1.0)
    row = evaluate_model(bernoulli, x, reference, classifier, n_samples=60, num_subsets=5, subset_size=50)
    assert row["log_prob_kind"] == "exact"
    assert row["nll"] == pytest.approx(-bernoulli.log_prob(x).mean().item(), rel=1e-5)
    assert row["bits_per_dim"] == pytest.approx(row["nll"] / (784 * math.log(2)), rel=1e-9)  # no levels term
    assert {"fid", "kid", "kid_se", "precision", "recall", "density", "coverage", "inception_score"} <= set(row)
    only = evaluate_model(bernoulli, x, reference, classifier, n_samples=0)
    assert only["nll"] == pytest.approx(row["nll"]) and "fid" not in only
    gan = DCGAN(DCGANConfig(latent_dim=8, width=4))
    gan_row = evaluate_model(gan, x, reference, classifier, n_samples=60, num_subsets=5, subset_size=50)
    assert gan_row["nll"] is None and gan_row["bits_per_dim"] is None and gan_row["fid"] > 0
    floor = floor_row(x[:60], reference, classifier, num_subsets=5, subset_size=50)
    table = format_table([{"model": "bernoulli", **row}, {"model": "dcgan", **gan_row}, {"model": "floor", **floor}])
    assert table.count("\n") == 4 and "| dcgan | - | - |" in table
