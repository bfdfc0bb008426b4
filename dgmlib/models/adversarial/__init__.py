"""Week 5: generative adversarial networks, in the order of the lecture (notebooks/05_gans.ipynb).

* :mod:`.losses`: the objectives as small functions of D's logits: minimax, non-saturating, least
  squares, Wasserstein, hinge.
* :mod:`.lipschitz`: keeping the critic Lipschitz: weight clipping, the gradient penalty, spectral norm.
* :mod:`.base`: ``GAN``, the contract's adversarial member: ``log_prob_kind = "none"``, and a
  ``train_step`` with the two visible steps (D on detached fakes; G with D frozen), ``GANConfig``.
* :mod:`.mlp`: ``MLPGAN`` for 2-D densities (mode collapse, the losses side by side).
* :mod:`.dcgan`: ``DCGAN`` for MNIST, and the class-conditional GAN (``num_classes=10``, a
  projection discriminator).
* :mod:`.infogan`: ``InfoGAN``, codes made recoverable by a mutual-information term.
* :mod:`.bigan`: ``BiGAN``, an encoder learned adversarially beside the generator.
* :mod:`.pix2pix`: ``Pix2Pix``, paired translation (edges -> digits): U-Net, PatchGAN, L1.
* :mod:`.cyclegan`: ``CycleGAN``, unpaired translation (thin <-> thick strokes) with cycle losses.

StyleGAN is discussed in the lecture, not implemented.
"""
from .base import GAN, GANConfig, frozen
from .bigan import BiGAN, BiGANConfig
from .cyclegan import CycleGAN, CycleGANConfig
from .dcgan import DCGAN, DCGANConfig
from .infogan import InfoGAN, InfoGANConfig
from .lipschitz import clip_weights_, gradient_penalty, spectral_norm_all, top_singular_value
from .losses import (OBJECTIVES, hinge_d_loss, hinge_g_loss, least_squares_d_loss, least_squares_g_loss,
                     minimax_d_loss, minimax_g_loss, non_saturating_g_loss, objective, wasserstein_d_loss,
                     wasserstein_g_loss)
from .mlp import MLPGAN
from .pix2pix import Pix2Pix, Pix2PixConfig
from . import registry as _registry  # noqa: F401  (registers tiny configurations for the contract tests)

__all__ = [
    "GAN", "GANConfig", "frozen", "MLPGAN", "DCGAN", "DCGANConfig", "InfoGAN", "InfoGANConfig", "BiGAN",
    "BiGANConfig", "Pix2Pix", "Pix2PixConfig", "CycleGAN", "CycleGANConfig",
    "OBJECTIVES", "objective", "minimax_d_loss", "minimax_g_loss", "non_saturating_g_loss",
    "least_squares_d_loss", "least_squares_g_loss", "wasserstein_d_loss", "wasserstein_g_loss",
    "hinge_d_loss", "hinge_g_loss", "clip_weights_", "gradient_penalty", "spectral_norm_all",
    "top_singular_value",
]
