"""dgmlib.testing's property checks pass on correct objects and fail on the mistakes they exist to catch."""
import math

import pytest
import torch
from torch.distributions import transforms as T

from dgmlib.models import IndependentBernoulli, MarkovChainBernoulli
from dgmlib.testing import (check_autoregressive, check_invertible, check_log_det, check_normalized,
                            dependency_matrix, enumerate_binary)


def test_dependency_matrix_matches_the_jacobian_of_a_linear_map():
    W = torch.randn(5, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    W[1, 3] = 0.0
    seen = dependency_matrix(lambda v: v @ W.T, 5, dtype=torch.float64)
    assert torch.allclose(seen, 4 * W.abs())  # 4 points, each contributing |W|
    row = dependency_matrix(lambda v: v @ W.T, 5, outputs=[1], dtype=torch.float64)
    assert row.shape == (1, 5) and torch.equal(row[0] > 0, W[1] != 0)


def test_check_autoregressive_accepts_strict_lower_triangles_in_any_order_and_rejects_leaks():
    W = torch.randn(6, 6, generator=torch.Generator().manual_seed(1))
    check_autoregressive(lambda v: v @ torch.tril(W, -1).T, 6)
    with pytest.raises(AssertionError, match="not autoregressive"):
        check_autoregressive(lambda v: v @ torch.tril(W).T, 6)  # the diagonal: logit i sees x_i
    order = torch.tensor([3, 1, 5, 0, 2, 4])
    rank = torch.argsort(order)
    allowed = (rank[None, :] < rank[:, None]).float()
    check_autoregressive(lambda v: v @ (W * allowed).T, 6, order=order)
    with pytest.raises(AssertionError, match="not autoregressive"):
        check_autoregressive(lambda v: v @ (W * allowed).T, 6)  # right mask, wrong order


def test_check_autoregressive_catches_a_dependence_that_vanishes_at_zero():
    def leak(v):  # logit 0 depends on x_0 * x_3, invisible at x = 0 but not at random points
        out = torch.zeros_like(v)
        out[:, 0] = v[:, 0] * v[:, 3]
        return out
    with pytest.raises(AssertionError):
        check_autoregressive(leak, 4)


def test_check_normalized_by_enumeration():
    x = enumerate_binary((2, 2))
    assert x.shape == (16, 2, 2) and len({tuple(r.flatten().tolist()) for r in x}) == 16
    model = IndependentBernoulli((1, 2, 2))
    with torch.no_grad():
        model.logits.normal_()
    check_normalized(model, atol=1e-6)
    check_normalized(IndependentBernoulli((1, 2, 2), num_classes=3), atol=1e-6)

    class Unnormalized(MarkovChainBernoulli):
        def _log_prob(self, x):
            return super()._log_prob(x) + 0.01
    with pytest.raises(AssertionError, match="expected 0"):
        check_normalized(Unnormalized((3,)), atol=1e-3)
    with pytest.raises(ValueError, match="too many"):
        enumerate_binary((1, 5, 5))


def _flow(transform):
    """A torch.distributions transform as forward/inverse returning (output, log|det|) per example."""
    def forward(x):
        return transform(x), transform.log_abs_det_jacobian(x, transform(x)).sum(-1)

    def inverse(z):
        x = transform.inv(z)
        return x, -transform.log_abs_det_jacobian(x, z).sum(-1)
    return forward, inverse


def test_invertibility_and_log_det_checks_pass_for_correct_transforms_and_fail_for_wrong_ones():
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    affine_exp = T.ComposeTransform([T.AffineTransform(0.5, torch.tensor([2.0, -1.0, 0.3], dtype=torch.float64)),
                                     T.TanhTransform()])
    forward, inverse = _flow(affine_exp)
    check_invertible(forward, inverse, x, atol=1e-9)
    exact = check_log_det(forward, x, atol=1e-9)
    assert exact.shape == (4,)

    def wrong_log_det(v):  # forgets the affine scale's log|det| = sum log|s|
        z, log_det = forward(v)
        return z, log_det - math.log(2.0) - math.log(0.3)
    with pytest.raises(AssertionError, match="slogdet"):
        check_log_det(wrong_log_det, x, atol=1e-6)

    def wrong_inverse(z):
        v, log_det = inverse(z)
        return v * 1.001, log_det
    with pytest.raises(AssertionError, match="inverse\\(forward\\(x\\)\\)"):
        check_invertible(forward, wrong_inverse, x)

    # a Jacobian that mixes coordinates (a linear map) is checked as a whole, not elementwise
    A = torch.tensor([[2.0, 1.0], [0.5, 3.0]], dtype=torch.float64)
    check_log_det(lambda v: (v @ A.T, torch.full((len(v),), torch.logdet(A).item(), dtype=torch.float64)),
                  torch.randn(3, 2, dtype=torch.float64))
