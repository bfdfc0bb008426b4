"""The GAN objectives, each as the few lines on the slide.

Every function takes discriminator (critic) outputs, logits of any shape (B,) or patches (B, 1, h, w),
and returns the scalar mean over them. "D" minimises ``*_d_loss``, "G" minimises ``*_g_loss``.

With D(x) = sigmoid(l(x)): log D = -softplus(-l) and log(1 - D) = -softplus(l), written with
``softplus`` so that logits of +-100 give finite losses and gradients.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch.nn.functional as F
from torch import Tensor


# -- Goodfellow et al. (2014): the minimax game V(D, G) = E log D(x) + E log(1 - D(G(z))) ----------------
def minimax_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """-V(D, G): D maximises log D(x) + log(1 - D(G(z))), a binary cross-entropy (real 1, fake 0)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_g_loss(fake: Tensor) -> Tensor:
    """G minimises E log(1 - D(G(z))): saturates (vanishing gradient) while D rejects the fakes."""
    return -F.softplus(fake).mean()


def non_saturating_g_loss(fake: Tensor) -> Tensor:
    """G maximises E log D(G(z)) instead: same fixed point, strong gradients early in training."""
    return F.softplus(-fake).mean()


# -- Mao et al. (2017), least-squares GAN with targets a = 0 (fake), b = 1 (real), c = 1 -----------------
def least_squares_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()


def least_squares_g_loss(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1) ** 2).mean()


# -- Arjovsky et al. (2017): the critic estimates W1 = sup_{||f||_L <= 1} E f(x) - E f(G(z)) -------------
def wasserstein_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Minus the critic's estimate of the Wasserstein-1 distance (needs a Lipschitz constraint)."""
    return fake.mean() - real.mean()


def wasserstein_g_loss(fake: Tensor) -> Tensor:
    return -fake.mean()


# -- Lim & Ye (2017), Miyato et al. (2018): the hinge loss, used with spectral normalisation -------------
def hinge_d_loss(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def hinge_g_loss(fake: Tensor) -> Tensor:
    return -fake.mean()


class Objective(NamedTuple):
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]


OBJECTIVES: dict[str, Objective] = {
    "minimax": Objective(minimax_d_loss, minimax_g_loss),
    "non_saturating": Objective(minimax_d_loss, non_saturating_g_loss),
    "least_squares": Objective(least_squares_d_loss, least_squares_g_loss),
    "wasserstein": Objective(wasserstein_d_loss, wasserstein_g_loss),
    "hinge": Objective(hinge_d_loss, hinge_g_loss),
}


def objective(name: str) -> Objective:
    """The (d_loss, g_loss) pair of a named objective; a clear error for an unknown name."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown GAN objective {name!r}; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]
