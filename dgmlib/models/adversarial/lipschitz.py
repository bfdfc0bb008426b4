"""Ways to keep a critic Lipschitz, which the Wasserstein objective needs (and which steadies every GAN).

* weight clipping (Arjovsky et al. 2017): crude; the critic ends up near a function of its clipped
  weights' signs, and its gradients explode or vanish with depth (the lecture plots them);
* the gradient penalty (Gulrajani et al. 2017): lambda E (||grad_x f(x_hat)|| - 1)^2 on random
  interpolates x_hat between real and fake points, where the optimal critic has unit gradient norm;
* spectral normalisation (Miyato et al. 2018): divide each weight by its largest singular value
  (estimated by power iteration), so every layer, and so the network, is 1-Lipschitz.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn


@torch.no_grad()
def clip_weights_(module: nn.Module, clip: float) -> None:
    """Clamp every parameter of ``module`` to [-clip, clip], in place (WGAN's critic, after each step)."""
    if not clip > 0:
        raise ValueError(f"clip must be positive, got {clip}")
    for p in module.parameters():
        p.clamp_(-clip, clip)


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     epsilon: Tensor | None = None) -> Tensor:
    """E (||grad f(x_hat)||_2 - 1)^2 with x_hat = eps real + (1 - eps) fake, eps ~ U(0, 1) per example.

    real, fake: (B, *event); critic: (B, *event) -> (B,) (or any shape whose sum is per example).
    epsilon: (B,) interpolation weights (drawn uniformly when None). The norm is per example, over
    every non-batch dimension. The graph is kept (create_graph) so the penalty trains the critic.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    if epsilon is None:
        epsilon = torch.rand(len(real), device=real.device, dtype=real.dtype)
    epsilon = epsilon.reshape(-1, *([1] * (real.dim() - 1)))
    x_hat = (epsilon * real.detach() + (1 - epsilon) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)
    return ((norms - 1) ** 2).mean()


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectrally normalise every Linear and Conv layer of ``module`` (in place; returns it).

    Uses ``torch.nn.utils.parametrizations.spectral_norm``: one power-iteration step per forward
    pass in training mode, so the top singular value of each weight converges to 1 as training runs.
    """
    for child in list(module.modules()):
        if isinstance(child, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.utils.parametrizations.spectral_norm(child)
    return module


def top_singular_value(layer: nn.Module) -> float:
    """The largest singular value of a layer's (effective) weight, reshaped to a matrix (out, rest)."""
    weight = layer.weight
    return float(torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2))
