"""Toy densities: each log-density integrates to one and its sampler draws from it."""
import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from dgmlib.data import TOY_DENSITIES, toy_density

NAMES = sorted(TOY_DENSITIES)
REQUIRED = {"moons", "8gaussians", "checkerboard", "swissroll", "rings"}


def grid(bounds, n):
    lo, hi = bounds
    h = (hi - lo) / n
    centers = lo + h * (torch.arange(n, dtype=torch.float64) + 0.5)  # midpoints of n x n cells
    return torch.cartesian_prod(centers, centers), h


def test_the_five_required_densities_exist():
    assert REQUIRED <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_density_integrates_to_one_over_its_bounds(name):
    density = toy_density(name)
    points, h = grid(density.bounds, 500)  # fine enough for the moons' cut ends
    mass = density.log_prob(points).exp().sum().item() * h * h
    assert abs(mass - 1) < 2e-3, mass


@pytest.mark.parametrize("name", NAMES)
def test_samples_follow_the_density(name):
    """Histogram of 400k samples against the density's mass in each of 25 x 25 bins."""
    density = toy_density(name)
    lo, hi = density.bounds
    n_bins, sub = 25, 8
    x = density.sample(400_000, generator=torch.Generator().manual_seed(0)).double()
    assert x.shape == (400_000, 2) and torch.isfinite(x).all()
    inside = ((x > lo) & (x < hi)).all(1)
    assert inside.float().mean() > 0.999  # the bounds hold the mass
    cell = ((x[inside] - lo) / (hi - lo) * n_bins).long().clamp(0, n_bins - 1)
    freq = torch.bincount(cell[:, 0] * n_bins + cell[:, 1], minlength=n_bins ** 2).double() / len(x)
    points, h = grid(density.bounds, n_bins * sub)  # sub x sub midpoints per bin
    mass = (density.log_prob(points).exp() * h * h).view(n_bins, sub, n_bins, sub).sum((1, 3)).flatten()
    tv = 0.5 * (freq - mass).abs().sum().item()
    assert tv < 0.02, tv  # sampling noise is ~0.005 here; a wrong density or sampler is far off


def test_eight_gaussians_matches_torch_distributions():
    density = toy_density("8gaussians", radius=2.0, std=0.3)
    angles = torch.arange(8) * (2 * math.pi / 8)
    centers = 2.0 * torch.stack([angles.cos(), angles.sin()], 1)
    reference = MixtureSameFamily(Categorical(torch.ones(8)), Independent(Normal(centers, 0.3), 1))
    x = 3 * torch.randn(100, 2)
    assert torch.allclose(density.log_prob(x), reference.log_prob(x), atol=1e-5)


def test_checkerboard_is_zero_on_light_squares_and_outside():
    density = toy_density("checkerboard")
    x = torch.tensor([[-1.5, -1.5], [-0.5, -1.5], [0.5, 0.5], [2.5, 0.0]])
    assert torch.equal(torch.isinf(density.log_prob(x)), torch.tensor([False, True, False, True]))
    assert density.log_prob(x)[0].item() == pytest.approx(-math.log(8))


def test_swissroll_quadrature_has_converged():
    x = toy_density("swissroll").sample(500, generator=torch.Generator().manual_seed(1)).double()
    coarse = toy_density("swissroll").log_prob(x)
    fine = toy_density("swissroll", n_panels=256).log_prob(x)
    assert (coarse - fine).abs().max() < 1e-6


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="moons"):
        toy_density("banana")


def test_integer_points_are_refused_not_rounded():
    with pytest.raises(TypeError, match="float"):
        toy_density("8gaussians").log_prob(torch.tensor([[2, 0], [1, 1]]))
