"""The training loop, evaluation helpers and checkpoints."""
import math
import os

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from dgmlib.data import digits, toy_density
from dgmlib.metrics import bits_per_dim, log_likelihood, mean_loss, nll
from dgmlib.models import Batch, GaussianMixture, GenerativeModel, IndependentBernoulli
from dgmlib.train import History, fit, load_checkpoint, save_checkpoint


def test_fit_decreases_the_loss_of_a_mixture_on_moons():
    torch.manual_seed(0)
    x = toy_density("moons").sample(2000, generator=torch.Generator().manual_seed(0))
    model = GaussianMixture(dim=2, n_components=8)
    before = mean_loss(model, x)
    history = fit(model, x, steps=300, lr=3e-2, batch_size=256, device="cpu", progress=False,
                  valid_data=x[:500], seed=0)
    after = mean_loss(model, x)
    assert isinstance(history, History) and len(history.train_loss) == 300
    assert history.valid_step[-1] == 300 and len(history.valid_loss) == 10
    assert after < before - 1.0 and after < 3.0  # from ~4.5 nats at initialisation


def test_gradient_training_reaches_the_closed_form_mle():
    x, _ = digits("train", binarize=True)
    mle = IndependentBernoulli((1, 8, 8)).fit_mle(x, pseudo_count=1.0)
    model = IndependentBernoulli((1, 8, 8))
    fit(model, x, epochs=60, lr=0.1, batch_size=256, device="cpu", progress=False, seed=0)
    assert nll(model, x) == pytest.approx(nll(mle, x), rel=0.01)


def test_fit_accepts_labelled_datasets_and_counts_epochs():
    x, y = digits("train", binarize=True)
    model = IndependentBernoulli((1, 8, 8))
    history = fit(model, TensorDataset(x, y), epochs=2, batch_size=500, device="cpu", progress=False)
    assert len(history.train_loss) == 2 * math.ceil(len(x) / 500)
    assert history.valid_loss == [] and history.device == "cpu"


def test_fit_reports_bad_arguments_and_diverging_losses():
    model = IndependentBernoulli((3,))
    x = torch.ones(8, 3)
    with pytest.raises(ValueError, match="exactly one"):
        fit(model, x, epochs=1, steps=1, progress=False)
    with pytest.raises(ValueError, match="exactly one"):
        fit(model, x, progress=False)

    class Diverging(IndependentBernoulli):
        def loss(self, x):
            return self.logits.sum() * float("nan")
    with pytest.raises(FloatingPointError, match="loss became nan at step 1"):
        fit(Diverging((3,)), x, steps=3, device="cpu", progress=False)


def test_evaluation_in_nats_and_bits():
    model = IndependentBernoulli((1, 8, 8))  # logits 0: every pixel is a fair coin
    x, _ = digits("test", binarize=True)
    assert log_likelihood(model, x).shape == (len(x),)
    assert nll(model, x) == pytest.approx(64 * math.log(2), rel=1e-6)
    assert bits_per_dim(nll(model, x), 64) == pytest.approx(1.0, rel=1e-6)


def test_checkpoint_round_trip(tmp_path):
    x = toy_density("8gaussians").sample(512, generator=torch.Generator().manual_seed(0))
    model = GaussianMixture(dim=2, n_components=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = fit(model, x, steps=20, optimizer=optimizer, device="cpu", progress=False)
    path = save_checkpoint(tmp_path / "gmm.pt", model, optimizer, history=history, note="hi")
    assert os.listdir(tmp_path) == ["gmm.pt"]  # written atomically, no temporary left

    fresh = GaussianMixture(dim=2, n_components=8)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=1e-2)
    extra = load_checkpoint(path, fresh, fresh_opt)
    assert torch.allclose(fresh.log_prob(x), model.log_prob(x))
    assert extra["note"] == "hi" and extra["history"]["curves"]["loss"] == history.train_loss
    assert fresh_opt.state_dict()["state"][0]["step"] == 20
    with pytest.raises(ValueError, match="GaussianMixture"):
        load_checkpoint(path, IndependentBernoulli((2,)))
    with pytest.raises(FileNotFoundError, match="train the model first"):
        load_checkpoint(tmp_path / "missing.pt", fresh)


def test_checkpoint_extras_load_back_or_are_refused_when_saved(tmp_path):
    from dgmlib.models import MADEConfig
    model = IndependentBernoulli((2,))
    path = save_checkpoint(tmp_path / "m.pt", model, config=MADEConfig(hidden_sizes=(8,)),
                           score=np.float64(1.5), curve=np.zeros(2), best=torch.ones(3))
    extra = load_checkpoint(path, model)  # weights_only loading: no pickled objects inside
    assert extra["config"]["hidden_sizes"] == (8,) and extra["score"] == 1.5 and extra["curve"] == [0.0, 0.0]
    assert torch.equal(extra["best"], torch.ones(3))
    with pytest.raises(TypeError, match="extra optimizer_class"):
        save_checkpoint(tmp_path / "bad.pt", model, optimizer_class=torch.optim.Adam)
    assert not (tmp_path / "bad.pt").exists()


def test_time_limit_stops_training_early_and_still_validates():
    x = toy_density("moons").sample(256, generator=torch.Generator().manual_seed(0))
    history = fit(GaussianMixture(dim=2), x, steps=10_000_000, time_limit=0.5, device="cpu",
                  progress=False, valid_data=x[:64], valid_every=10_000_000)
    assert 0 < len(history.train_loss) < 10_000_000 and history.seconds < 5
    assert history.valid_step == [history.step[-1]]


def test_evaluation_restores_training_mode_after_an_error_and_refuses_empty_data():
    model = IndependentBernoulli((4,)).train()
    with pytest.raises(ValueError, match="expects a batch"):
        nll(model, torch.zeros(3, 5))  # wrong shape
    assert model.training
    with pytest.raises(ValueError, match="empty"):
        nll(model, torch.zeros(0, 4))
    with pytest.raises(ValueError, match="valid_every"):
        fit(model, torch.zeros(8, 4), steps=2, valid_data=torch.zeros(2, 4), valid_every=0, progress=False)


# -- the training contract: train_step, several optimizers, EMA, logging ------------------------------
class ToyGAN(GenerativeModel):
    """A 1-D GAN: generator x = a z + b, discriminator logit = w x + c; two optimizers, two visible steps.

    The generator is updated every ``n_critic``-th step only, so the test can see that fit runs
    exactly the steps that train_step says.
    """

    log_prob_kind = "none"

    def __init__(self, n_critic=2):
        super().__init__((1,))
        self.n_critic = n_critic
        self.generator = torch.nn.Linear(1, 1)
        self.discriminator = torch.nn.Linear(1, 1)

    def _sample(self, n):
        return self.generator(torch.randn(n, 1, device=self.device))

    def _log_prob(self, x):
        raise NotImplementedError("a GAN has no likelihood")

    def configure_optimizers(self, lr):
        return {"discriminator": torch.optim.SGD(self.discriminator.parameters(), lr=lr),
                "generator": torch.optim.SGD(self.generator.parameters(), lr=lr)}

    def train_step(self, batch, optimizers, step, *, clip_grad_norm=None):
        x, _ = batch
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        fake = self.generator(torch.randn(len(x), 1, device=x.device))
        real_logits, fake_logits = self.discriminator(x), self.discriminator(fake.detach())
        loss_D = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        optimizers["discriminator"].zero_grad()
        loss_D.backward()
        optimizers["discriminator"].step()
        out = {"loss_D": loss_D.detach()}
        if step % self.n_critic == 0:
            fake_logits = self.discriminator(fake)
            loss_G = bce(fake_logits, torch.ones_like(fake_logits))  # non-saturating
            optimizers["generator"].zero_grad()
            loss_G.backward()
            optimizers["generator"].step()
            out["loss_G"] = loss_G.detach()
        else:  # no generator step: report the generator's loss without a step, so every curve has each step
            with torch.no_grad():
                fake_logits = self.discriminator(fake)
                out["loss_G"] = bce(fake_logits, torch.ones_like(fake_logits))
        return out

    def validation_metrics(self, x, y=None):
        return {"mean_gap": (self.sample(len(x)).mean() - x.mean()).abs().item()}


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return [not torch.equal(b, p) for b, p in zip(before, module.parameters())]


def test_fit_runs_a_two_optimizer_model_and_updates_each_group_as_its_train_step_says():
    torch.manual_seed(0)
    model = ToyGAN(n_critic=2)
    x = 3.0 + 0.5 * torch.randn(64, 1)
    d0, g0 = _params(model.discriminator), _params(model.generator)
    fit(model, x, steps=1, lr=0.05, device="cpu", progress=False)  # step index 0: both networks move
    assert all(_changed(d0, model.discriminator)) and all(_changed(g0, model.generator))
    d1, g1 = _params(model.discriminator), _params(model.generator)
    optimizers = model.configure_optimizers(0.05)
    fit(model, x, steps=2, optimizer=optimizers, device="cpu", progress=False, batch_size=64)
    # step indices 0 and 1: the discriminator moves twice, the generator once; check the single
    # generator update against a replay of the same step by hand
    assert all(_changed(d1, model.discriminator)) and all(_changed(g1, model.generator))
    d2, g2 = _params(model.discriminator), _params(model.generator)
    model.train_step(Batch(x, None), optimizers, 1)  # an odd step: the generator must stay put
    assert all(_changed(d2, model.discriminator)) and not any(_changed(g2, model.generator))


def test_history_records_every_curve_of_a_two_optimizer_model_and_its_validation_metrics():
    torch.manual_seed(0)
    model = ToyGAN(n_critic=1)
    x = 3.0 + 0.5 * torch.randn(256, 1)
    history = fit(model, x, steps=40, lr=0.05, device="cpu", progress=False, valid_data=x, valid_every=20,
                  batch_size=64)
    assert set(history.curves) == {"loss_D", "loss_G"} and all(len(v) == 40 for v in history.curves.values())
    assert history.train_loss == [] and history.valid_step == [20, 40] and len(history.valid["mean_gap"]) == 2
    with pytest.raises(NotImplementedError, match="no likelihood"):
        model.log_prob(x)
    with pytest.raises(ValueError, match="no likelihood"):
        nll(model, x)
    import matplotlib
    matplotlib.use("Agg")
    from dgmlib.viz import plot_history
    ax = plot_history(history)
    labels = {line.get_label() for line in ax.get_lines()}
    assert {"loss_D (per step)", "loss_G (per step)"} <= labels


def test_ema_is_the_exponential_moving_average_of_the_weights():
    class Counter(GenerativeModel):
        """train_step sets the weight to the step number + 1, so the average has a closed form."""

        def __init__(self):
            super().__init__((1,))
            self.w = torch.nn.Parameter(torch.zeros(1))

        def _log_prob(self, x):
            return -((x - self.w) ** 2).sum(1)

        def train_step(self, batch, optimizers, step, *, clip_grad_norm=None):
            with torch.no_grad():
                self.w.fill_(step + 1.0)
            return {"loss": self.w.detach().sum()}

    model, decay = Counter(), 0.9
    history = fit(model, torch.zeros(4, 1), steps=5, ema=decay, device="cpu", progress=False, batch_size=4)
    expected = 1.0  # AveragedModel copies the first weights, then averages: e_k = d e_{k-1} + (1 - d) w_k
    for w in range(2, 6):
        expected = decay * expected + (1 - decay) * w
    assert model.w.item() == 5.0  # the model keeps its own weights
    assert history.ema_model.w.item() == pytest.approx(expected, rel=1e-6)
    # passing the AveragedModel back goes on averaging across calls
    fit(model, torch.zeros(4, 1), steps=1, ema=history.ema, device="cpu", progress=False, batch_size=4)
    assert history.ema_model.w.item() == pytest.approx(decay * expected + (1 - decay) * 1.0, rel=1e-6)
    with pytest.raises(ValueError, match="decay"):
        fit(model, torch.zeros(4, 1), steps=1, ema=1.5, device="cpu", progress=False)


def test_ema_of_a_real_model_tracks_it_and_keeps_its_buffers():
    x, _ = digits("train", binarize=True)
    from dgmlib.models import MADE, MADEConfig
    torch.manual_seed(0)
    model = MADE((1, 8, 8), MADEConfig(hidden_sizes=(32,), n_masks=2, resample_order=True))
    history = fit(model, x, steps=30, lr=1e-2, ema=0.5, device="cpu", progress=False, seed=0)
    averaged = history.ema_model
    assert not averaged.training and averaged.mask_index == model.mask_index
    assert torch.equal(averaged.order, model.order)
    assert abs(nll(averaged, x) - nll(model, x)) < 5.0  # a short-memory average stays near the model


def test_fit_reads_the_device_once_per_log_interval(monkeypatch):
    x, _ = digits("train", binarize=True)
    model = IndependentBernoulli((1, 8, 8))
    transfers = []
    original = torch.Tensor.cpu

    def counting_cpu(self, *args, **kwargs):
        transfers.append(tuple(self.shape))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "cpu", counting_cpu)
    history = fit(model, x, steps=100, batch_size=32, device="cpu", progress=False, log_every=50)
    # one transfer of a (50 steps, 1 key) block per interval, not one read per step
    assert transfers == [(50, 1), (50, 1)] and len(history.train_loss) == 100


def test_a_conditional_model_gets_its_labels_through_fit():
    x, y = digits("train", binarize=True)
    model = IndependentBernoulli((1, 8, 8), num_classes=10)
    fit(model, TensorDataset(x, y), epochs=40, lr=0.1, batch_size=256, device="cpu", progress=False, seed=0)
    mle = IndependentBernoulli((1, 8, 8), num_classes=10).fit_mle(x, pseudo_count=1.0, y=y)
    # per-class pixel frequencies, which the labels alone make possible: gradient training reaches them
    data = TensorDataset(x, y)
    assert nll(model, data) == pytest.approx(nll(mle, data), rel=0.02)
    assert nll(mle, data) < nll(IndependentBernoulli((1, 8, 8)).fit_mle(x, pseudo_count=1.0), x) - 5
    with pytest.raises(ValueError, match="give fit \\(x, y\\) data"):
        fit(model, x, steps=1, device="cpu", progress=False)
    # samples of class 0 look like zeros: closer to the class-0 mean than to any other class mean
    torch.manual_seed(0)
    means = torch.stack([x[y == k].mean(0) for k in range(10)])
    samples = mle.sample(200, 0).mean(0)
    assert ((means - samples) ** 2).sum((1, 2, 3)).argmin().item() == 0


def test_validation_refuses_bad_data_before_it_reaches_the_device():
    model = IndependentBernoulli((4,))
    with pytest.raises(ValueError, match="binarize first"):
        fit(model, torch.full((8, 4), 0.5), steps=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="log_every"):
        fit(model, torch.zeros(8, 4), steps=1, log_every=0, progress=False)


# -- metrics -----------------------------------------------------------------------------------------
def test_nll_carries_its_95_percent_interval():
    x, _ = digits("test", binarize=True)
    model = IndependentBernoulli((1, 8, 8)).fit_mle(digits("train", binarize=True)[0], pseudo_count=1.0)
    result = nll(model, x)
    log_p = log_likelihood(model, x).double()
    assert float(result) == pytest.approx(-log_p.mean().item())
    se = log_p.std().item() / math.sqrt(len(x))
    assert result.std_error == pytest.approx(se) and result.n == len(x)
    assert result.low == pytest.approx(float(result) - 1.96 * se) and result.high == pytest.approx(float(result) + 1.96 * se)
    assert f"{result:.1f}" == f"{float(result):.1f}" and "±" in repr(result)
    import copy
    import pickle
    assert pickle.loads(pickle.dumps(result)).std_error == result.std_error == copy.deepcopy(result).std_error


def test_bits_per_dim_with_and_without_the_discretisation_term():
    assert bits_per_dim(64 * math.log(2), 64) == pytest.approx(1.0)
    # a uniform density on [0, 1]^D has NLL 0 nats; on 8-bit data that is 8 bits per dimension
    assert bits_per_dim(0.0, 784, levels=256) == pytest.approx(8.0)
    assert bits_per_dim(-784 * math.log(2), 784, levels=256) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="levels"):
        bits_per_dim(1.0, 4, levels=1)
    with pytest.raises(ValueError, match="num_dims"):
        bits_per_dim(1.0, 0)
    with pytest.raises(ValueError, match="nll"):
        bits_per_dim(float("nan"), 4)


def test_model_bits_per_dim_knows_which_models_need_the_discretisation_term():
    from dgmlib.metrics import model_bits_per_dim
    x, _ = digits("test", binarize=True)
    coin = IndependentBernoulli((1, 8, 8))
    assert model_bits_per_dim(coin, x) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match="drop levels"):
        model_bits_per_dim(coin, x, levels=256)
    gmm = GaussianMixture(dim=2)
    points = toy_density("moons").sample(64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="levels=256"):
        model_bits_per_dim(gmm, points)
    assert model_bits_per_dim(gmm, points, levels=256) == pytest.approx(bits_per_dim(nll(gmm, points), 2, 256))


def test_unnormalized_models_are_refused_by_likelihood_metrics():
    class Energy(GenerativeModel):
        log_prob_kind = "unnormalized"

        def __init__(self):
            super().__init__((2,))
            self.w = torch.nn.Parameter(torch.ones(2))

        def _log_prob(self, x):
            return -(self.w * x ** 2).sum(1)  # minus the energy; log Z unknown to the model

    model = Energy()
    x = torch.randn(8, 2)
    assert model.log_prob(x).shape == (8,)
    for metric in (nll, log_likelihood):
        with pytest.raises(ValueError, match="unnormalized"):
            metric(model, x)


def test_sample_needs_grad_lets_a_sampler_differentiate_with_respect_to_x():
    class GaussianLangevin(GenerativeModel):
        """Energy E(x) = |x - mu|^2 / 2; Langevin steps x <- x - eps grad E + sqrt(2 eps) noise."""

        log_prob_kind = "unnormalized"
        sample_needs_grad = True

        def __init__(self):
            super().__init__((2,))
            self.mu = torch.nn.Parameter(torch.tensor([3.0, -1.0]))

        def _log_prob(self, x):
            return -0.5 * ((x - self.mu) ** 2).sum(1)

        def _sample(self, n, steps=200, eps=0.05):
            x = torch.zeros(n, 2)
            for _ in range(steps):
                x = x.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(self._log_prob(x).sum(), x)
                x = x + eps * grad + math.sqrt(2 * eps) * torch.randn_like(x)
            return x

    torch.manual_seed(0)
    model = GaussianLangevin()
    with torch.no_grad():  # even inside no_grad, as in an evaluation loop
        samples = model.sample(2000)
    assert not samples.requires_grad and samples.grad_fn is None
    assert torch.allclose(samples.mean(0), model.mu.detach(), atol=0.1)
    assert torch.allclose(samples.var(0), torch.ones(2), atol=0.15)  # N(mu, I), up to the step-size bias

    class NoGrad(GaussianLangevin):
        sample_needs_grad = False
    with pytest.raises(RuntimeError):  # the default samples without a graph: autograd.grad has nothing to follow
        NoGrad().sample(3, steps=1)
