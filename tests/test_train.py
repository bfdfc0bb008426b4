"""The training loop, evaluation helpers and checkpoints."""
import math
import os

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from dgmlib.data import digits, toy_density
from dgmlib.evaluate import bits_per_dim, log_likelihood, mean_loss, nll
from dgmlib.models import GaussianMixture, IndependentBernoulli
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
    with pytest.raises(FloatingPointError, match="step 0"):
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
    assert extra["note"] == "hi" and extra["history"]["train_loss"] == history.train_loss
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
