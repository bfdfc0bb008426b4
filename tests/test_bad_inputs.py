"""Bad input gets a clear error that says what to do, or the right answer, never NaN or a wrong number.

(The contract test checks the cases every model shares: empty batches, float64 into float32,
NaN, labels. These are the model-specific ones.)
"""
import math

import pytest
import torch

from dgmlib.data import digits
from dgmlib.metrics import log_likelihood
from dgmlib.models import (PPCA, GatedPixelCNN, GatedPixelCNNConfig, GaussianMixture, IndependentBernoulli,
                           MarkovChainBernoulli, PixelCNN, PixelCNNConfig)
from dgmlib.testing import check_normalized, enumerate_binary

BASELINES = [IndependentBernoulli, MarkovChainBernoulli]


@pytest.mark.parametrize("cls", BASELINES)
def test_fit_mle_refuses_grey_and_empty_data(cls):
    x, _ = digits("train")  # intensities in [0, 1], not binarized
    model = cls((1, 8, 8))
    before = model.logits.detach().clone()
    with pytest.raises(ValueError, match="binarize first"):
        model.fit_mle(x)
    with pytest.raises(ValueError, match="empty batch"):
        model.fit_mle(x[:0])
    with pytest.raises(ValueError, match="pseudo_count"):
        model.fit_mle((x > 0.5).float(), pseudo_count=-1.0)
    assert torch.equal(model.logits.detach(), before)  # nothing half-fitted is left behind


def test_markov_chain_gives_minus_inf_not_nan_for_a_never_seen_context_and_stays_normalized():
    # pixel 1 is never on, so the context x_1 = 1 of pixel 2 never occurs: 0/0 in the counts
    x = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    model = MarkovChainBernoulli((3,)).fit_mle(x)
    all_x = enumerate_binary((3,))
    log_p = model.log_prob(all_x)
    assert not torch.isnan(log_p).any() and not torch.isnan(model.logits).any()
    uses_context = all_x[:, 1] == 1
    assert torch.isneginf(log_p[uses_context]).all()  # probability exactly 0, as the MLE says
    # the images without the context get the empirical frequencies: each training image has 1/4
    assert torch.allclose(log_p[~uses_context].exp(), torch.full((4,), 0.25))
    check_normalized(model, atol=1e-6)
    smoothed = MarkovChainBernoulli((3,)).fit_mle(x, pseudo_count=1.0)
    assert torch.isfinite(smoothed.log_prob(all_x)).all()
    check_normalized(smoothed, atol=1e-6)


def test_markov_chain_log_prob_of_non_binary_values_is_the_binary_input_error():
    model = MarkovChainBernoulli((4,))
    for bad in (2.0, float("nan"), 0.5, -1.0):
        x = torch.zeros(2, 4)
        x[1, 2] = bad
        with pytest.raises(ValueError, match="binarize first"):
            model.log_prob(x)


@pytest.mark.parametrize("cls,config", [
    (PixelCNN, PixelCNNConfig(channels=4, n_blocks=1, first_kernel=4)),
    (GatedPixelCNN, GatedPixelCNNConfig(channels=4, n_layers=1, kernel=4, first_kernel=5)),
    (GatedPixelCNN, GatedPixelCNNConfig(channels=4, n_layers=1, kernel=3, first_kernel=6)),
])
def test_even_kernel_sizes_are_refused_at_construction(cls, config):
    with pytest.raises(ValueError, match="odd"):
        cls((1, 6, 6), config)


def test_ppca_refuses_rank_deficient_data_with_the_cause():
    generator = torch.Generator().manual_seed(0)
    basis = torch.randn(2, 5, generator=generator)
    x = torch.randn(100, 2, generator=generator) @ basis + 3.0  # rank 2 in R^5
    model = PPCA(dim=5, latent_dim=2)
    before = model.W.detach().clone()
    with pytest.raises(ValueError, match="rank 2"):
        model.fit_ml(x)
    assert torch.equal(model.W.detach(), before)
    with pytest.raises(ValueError, match="rank"):
        PPCA(dim=5, latent_dim=3).fit_ml(x)
    with pytest.raises(ValueError, match="at least 2 points"):
        model.fit_ml(x[:1])
    fitted = PPCA(dim=5, latent_dim=1).fit_ml(x + 0.1 * torch.randn(100, 5, generator=generator))
    assert math.isfinite(fitted.sigma2.item()) and fitted.sigma2.item() > 1e-4  # noisy data: a proper fit


@pytest.mark.parametrize("model", [GaussianMixture(dim=2, n_components=3), PPCA(dim=3, latent_dim=1)],
                         ids=["gmm", "ppca"])
def test_empty_batches_and_float64_data_say_what_to_do(model):
    d = model.event_shape[0]
    with pytest.raises(ValueError, match="empty batch"):
        model.log_prob(torch.zeros(0, d))
    with pytest.raises(ValueError, match="empty"):
        log_likelihood(model, torch.zeros(0, d))
    with pytest.raises(ValueError, match=r"torch.float64 but .* torch.float32 parameters.*x.to\(model.dtype\)"):
        model.log_prob(torch.zeros(2, d, dtype=torch.float64))
    with pytest.raises(TypeError):  # the same error is also a TypeError, as a dtype error usually is
        model.log_prob(torch.zeros(2, d, dtype=torch.float64))
    assert torch.isfinite(model.double().log_prob(torch.zeros(2, d, dtype=torch.float64))).all()
