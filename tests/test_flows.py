"""Week 4: every transform is invertible with the right log-determinant; flows are normalised densities.

The transform contract runs over every entry of dgmlib.models.flows.TRANSFORMS (a new transform joins
by registering): finite outputs and shapes, inverse(forward(x)) == x in float64, and log|det| equal to
the slogdet of the autograd Jacobian. The flow models themselves are in the model registry, so
tests/test_model_contract.py covers them too.
"""
import math

import pytest
import torch

from dgmlib.data import toy_density
from dgmlib.metrics import nll
from dgmlib.models.flows import (TRANSFORMS, ActNorm, CompositeTransform, DequantizedFlow, Flow, ImageFlowConfig,
                                 InverseTransform, InvertibleConv1x1, MaskedAffineAutoregressive, MultiscaleConfig,
                                 PlanarFlow, RadialFlow, VariationalDequantizer, iaf_layers, maf_layers,
                                 rational_quadratic_spline, vector_coupling_stack)
from dgmlib.testing import check_autoregressive, check_invertible, check_log_det
from dgmlib.train import fit

NAMES = sorted(TRANSFORMS)


def _build(name, n=5, seed=0):
    """The transform in float64 with random (not initial) parameters, and an input batch for it."""
    torch.manual_seed(seed)
    build, shape = TRANSFORMS[name]
    transform = build().double()
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, *shape, generator=generator, dtype=torch.float64)
    if name == "logit":
        x = torch.rand(n, *shape, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        for p in transform.parameters():
            p.add_(0.3 * torch.randn_like(p))
    transform.train()
    transform(x)  # runs any data-dependent initialisation (ActNorm) on this batch
    return transform.eval(), x


@pytest.mark.parametrize("name", NAMES)
def test_forward_gives_finite_outputs_and_one_log_det_per_example(name):
    transform, x = _build(name)
    z, log_det = transform(x)
    assert z.shape[0] == len(x) and z[0].numel() == x[0].numel() and torch.isfinite(z).all()
    assert log_det.shape == (len(x),) and torch.isfinite(log_det).all()


@pytest.mark.parametrize("name", NAMES)
def test_log_det_equals_the_autograd_jacobian(name):
    transform, x = _build(name, n=3)
    check_log_det(transform, x, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_inverse_undoes_forward(name):
    transform, x = _build(name)
    if not transform.has_inverse:
        with pytest.raises(NotImplementedError, match="no analytic inverse"):
            transform.inverse(x)
        return
    check_invertible(transform, transform.inverse, x, atol=1e-8)
    z, _ = transform(x)
    check_invertible(transform.inverse, transform, z, atol=1e-8)  # and the other way round


def test_the_contract_catches_a_wrong_log_det():
    class Doubling(torch.nn.Module):  # z = 2x, claiming log|det| = log 2 instead of D log 2
        def forward(self, x):
            return 2 * x, torch.full((len(x),), math.log(2.0), dtype=x.dtype)
    with pytest.raises(AssertionError, match="slogdet"):
        check_log_det(Doubling(), torch.randn(2, 3, dtype=torch.float64))


@pytest.mark.parametrize("name", ["maf", "iaf"])
def test_maf_and_iaf_shift_and_scale_are_autoregressive_in_their_order(name):
    transform, _ = _build(name)
    maf = transform if isinstance(transform, MaskedAffineAutoregressive) else transform.base_transform
    d = maf.shape.numel()
    for k in range(2):  # mu, then alpha
        seen = check_autoregressive(lambda v: maf.shift_and_log_scale(v)[k], d, order=maf.order,
                                    inputs=torch.randn(4, d, dtype=torch.float64))
        assert seen.any(), "the network should use the earlier coordinates"


def test_maf_density_is_one_pass_and_its_inverse_takes_d_passes():
    maf = MaskedAffineAutoregressive((6,), (16,))
    calls = []
    maf.net.register_forward_hook(lambda *_: calls.append(1))
    z, _ = maf(torch.randn(3, 6))
    assert len(calls) == 1
    calls.clear()
    maf.inverse(z)
    assert len(calls) == 6 + 1  # one pass per coordinate, and one for the log-det
    calls.clear()
    iaf = InverseTransform(maf)
    iaf.inverse(torch.randn(3, 6))  # IAF samples in one pass
    assert len(calls) == 1


def test_planar_flow_keeps_w_dot_u_above_minus_one_and_stays_invertible():
    torch.manual_seed(0)
    layer = PlanarFlow(2)
    with torch.no_grad():  # a u that would make the raw map fold over: w.u = -3
        layer.w.copy_(torch.tensor([1.0, 0.0]))
        layer.u.copy_(torch.tensor([-3.0, 0.5]))
    assert (layer.w @ layer.u_hat).item() >= -1.0
    # along w the map is strictly increasing (1 + u_hat.psi > 0 everywhere), so it is one-to-one
    t = torch.linspace(-6, 6, 2001)
    line = torch.stack([t, torch.zeros_like(t)], dim=1)
    out, log_det = layer(line)
    assert torch.isfinite(log_det).all() and (out[1:, 0] > out[:-1, 0]).all()
    raw = line + layer.u * torch.tanh(line @ layer.w + layer.b)[:, None]  # without the fix it folds
    assert not (raw[1:, 0] > raw[:-1, 0]).all()


def test_radial_flow_has_an_analytic_inverse_even_when_contracting():
    torch.manual_seed(1)
    layer = RadialFlow(3).double()
    with torch.no_grad():
        layer.beta_raw.fill_(-5.0)  # beta close to -alpha: strong contraction towards z0
    x = torch.randn(50, 3, dtype=torch.float64)
    check_invertible(layer, layer.inverse, x, atol=1e-9)


def test_rational_quadratic_spline_is_monotone_identity_outside_and_matches_its_knots():
    generator = torch.Generator().manual_seed(0)
    widths, heights, derivs = (torch.randn(1, 6, generator=generator, dtype=torch.float64),
                               torch.randn(1, 6, generator=generator, dtype=torch.float64),
                               torch.randn(1, 5, generator=generator, dtype=torch.float64))
    x = torch.linspace(-4, 4, 4001, dtype=torch.float64)
    y, log_det = rational_quadratic_spline(x, widths.expand(len(x), 6), heights.expand(len(x), 6),
                                           derivs.expand(len(x), 5), bound=3.0)
    assert (y[1:] > y[:-1]).all()
    outside = x.abs() > 3
    assert torch.equal(y[outside], x[outside]) and (log_det[outside] == 0).all()
    # the log-derivative agrees with central differences (step 1e-6: some bins are narrow and steep)
    h = 1e-6
    params = (widths.expand(len(x), 6), heights.expand(len(x), 6), derivs.expand(len(x), 5))
    y_plus, _ = rational_quadratic_spline(x + h, *params, bound=3.0)
    y_minus, _ = rational_quadratic_spline(x - h, *params, bound=3.0)
    assert torch.allclose(log_det, ((y_plus - y_minus) / (2 * h)).log(), atol=1e-4)  # 2e-5 at the kink of y'' at +-B
    # and the inverse undoes it, with the opposite log-derivative
    x_back, log_det_back = rational_quadratic_spline(y, *params, inverse=True, bound=3.0)
    assert torch.allclose(x_back, x, atol=1e-10) and torch.allclose(log_det_back, -log_det, atol=1e-10)


# -- flows as models -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["realnvp", "maf", "iaf", "spline"])
def test_a_flow_fitted_to_two_moons_improves_and_is_normalised(kind):
    from dgmlib.models.flows import spline_coupling_stack
    torch.manual_seed(0)
    layers = {"realnvp": lambda: vector_coupling_stack(2, 6, hidden=32),
              "maf": lambda: maf_layers((2,), 4, (32,)), "iaf": lambda: iaf_layers((2,), 4, (32,)),
              "spline": lambda: spline_coupling_stack(2, 4, hidden=32, bins=6, bound=4.0)}[kind]
    flow = Flow(CompositeTransform(layers()), (2,))
    moons = toy_density("moons")
    x = moons.sample(4000, generator=torch.Generator().manual_seed(0))
    before = nll(flow, x[:1000])
    fit(flow, x, steps=300, lr=3e-3, batch_size=256, device="cpu", progress=False, seed=0)
    after = nll(flow, x[:1000])
    assert after < before - 0.5, (before, after)
    # normalisation: the density integrates to 1 on a grid that holds its mass
    grid = torch.linspace(-5, 5, 301)
    gx, gy = torch.meshgrid(grid, grid, indexing="ij")
    with torch.no_grad():
        p = flow.log_prob(torch.stack([gx.flatten(), gy.flatten()], 1)).exp()
    mass = p.sum().item() * (grid[1] - grid[0]).item() ** 2
    assert mass == pytest.approx(1.0, abs=0.03)
    # samples follow the density: the mean log-density of samples is minus the entropy, as for data
    samples = flow.sample(2000)
    assert abs(nll(flow, samples) - after) < 0.5


def test_temperature_scales_the_latent_and_rsample_gives_log_densities():
    torch.manual_seed(0)
    flow = Flow(CompositeTransform(vector_coupling_stack(2, 2, hidden=8)), (2,))
    x, log_q = flow.rsample_and_log_prob(64)
    assert torch.allclose(log_q, flow.log_prob(x), atol=1e-4)  # the same density, computed the other way
    x.sum().backward()  # differentiable samples, for fitting by reverse KL
    assert flow.transform.transforms[0].conditioner[0].weight.grad is not None
    with pytest.raises(ValueError, match="temperature"):
        flow.sample(2, temperature=0.0)
    planar_flow = Flow(PlanarFlow(2), (2,))
    with pytest.raises(NotImplementedError, match="InverseTransform"):
        planar_flow.sample(3)


def test_actnorm_initialises_from_the_first_training_batch_only():
    layer = ActNorm(3)
    x = 5 + 2 * torch.randn(64, 3, 4, 4)
    z, _ = layer(x)
    assert z.mean((0, 2, 3)).abs().max() < 1e-5 and (z.std((0, 2, 3)) - 1).abs().max() < 1e-3
    z2, _ = layer(10 * x)  # later batches do not re-initialise
    assert not torch.allclose(z2.std((0, 2, 3)), torch.ones(3), atol=0.1)
    fresh = ActNorm(3).eval()
    assert torch.equal(fresh(x)[0], x)  # in eval mode an uninitialised actnorm is the identity


def test_invertible_conv_log_det_is_hw_times_log_abs_det_w():
    conv = InvertibleConv1x1(4, torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        conv.L.add_(0.2)
        conv.log_s.add_(0.3)
    W = conv.weight()
    _, log_det = conv(torch.randn(2, 4, 3, 5, dtype=torch.float64))
    assert torch.allclose(log_det, torch.full((2,), 15 * torch.linalg.slogdet(W)[1].item(), dtype=torch.float64))


# -- dequantization ------------------------------------------------------------------------------
def _one_pixel_flow(dequantization="uniform"):
    torch.manual_seed(3)
    model = DequantizedFlow((1, 1, 1), ImageFlowConfig(MultiscaleConfig("realnvp", 0, 2, 4),
                                                       dequantization=dequantization)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn_like(p))
    return model.eval()


def _bin_probabilities(model, nodes=64):
    """P(x) = integral of the continuous density over x's bin [x/256, (x+1)/256), by Gauss-Legendre."""
    t, w = torch.tensor([]), torch.tensor([])
    import numpy as np
    t_np, w_np = np.polynomial.legendre.leggauss(nodes)
    t, w = torch.tensor(t_np), torch.tensor(w_np)
    probs = []
    for k in range(256):
        y = (k + 0.5 * (t + 1)) / 256  # nodes mapped into the bin
        with torch.no_grad():
            p = model.continuous_log_prob(y.view(-1, 1, 1, 1)).exp()
        probs.append((p * w).sum() / 2 / 256)
    return torch.stack(probs)


def test_a_dequantized_flow_gives_a_lower_bound_on_normalised_discrete_probabilities():
    model = _one_pixel_flow()
    P = _bin_probabilities(model)
    assert P.sum().item() == pytest.approx(1.0, abs=1e-6)  # the continuous density lives on [0, 1]
    x = torch.tensor([0.0, 17.0, 128.0, 255.0], dtype=torch.float64).view(-1, 1, 1, 1)
    torch.manual_seed(0)
    bounds = torch.stack([model.log_prob(x) for _ in range(400)]).mean(0)
    exact = P[x.view(-1).long()].log()
    assert (bounds <= exact + 1e-6).all()  # Jensen: the bound never exceeds log P(x)
    # inside [0, 1] a smooth density is nearly flat across one bin, so the bound is tight there; in the
    # end bins the logit transform makes the density steep (it diverges at 0 and 1) and the gap is real
    assert (exact - bounds)[1:3].max() < 0.01 and (exact - bounds).max() < 1.0
    assert model.log_prob_kind == "lower_bound"
    with pytest.raises(ValueError):
        model.log_prob(torch.full((1, 1, 1, 1), 0.5, dtype=torch.float64))  # not an 8-bit value


def test_variational_dequantizer_log_density_matches_its_jacobian():
    torch.manual_seed(0)
    dequantizer = VariationalDequantizer(1, 2, 2, n_layers=2, hidden=4).double()
    with torch.no_grad():
        for p in dequantizer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randint(0, 256, (3, 1, 2, 2)).double()
    eps = torch.randn(3, 1, 2, 2, dtype=torch.float64)
    u, log_det = dequantizer.flow(eps, x)
    assert ((u > 0) & (u < 1)).all()
    exact = check_log_det(lambda e: dequantizer.flow(e, x[:1].expand(len(e), -1, -1, -1)), eps[:1], atol=1e-8)
    assert torch.allclose(log_det[:1], exact)


def test_image_flows_sample_8_bit_images_and_round_trip_their_codes():
    torch.manual_seed(0)
    model = DequantizedFlow((1, 4, 4), ImageFlowConfig(MultiscaleConfig("glow", 1, 2, 8)))
    x = torch.randint(0, 256, (6, 1, 4, 4)).float()
    model.train()
    model.loss(x)  # ActNorm's first batch
    model.eval()
    samples = model.sample(5)
    assert samples.shape == (5, 1, 4, 4) and torch.equal(samples, samples.round())
    assert samples.min() >= 0 and samples.max() <= 255
    assert torch.equal(model.decode(model.encode(x)), x)  # the bin centre's code decodes into the same bin
