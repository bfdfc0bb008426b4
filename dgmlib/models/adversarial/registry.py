"""Tiny configurations of every GAN, for the contract tests (tests/test_model_contract.py)."""
from __future__ import annotations

from ..registry import class_labels, gaussian_example, register, unit_interval_example
from .base import GANConfig
from .bigan import BiGAN, BiGANConfig
from .cyclegan import CycleGAN, CycleGANConfig
from .dcgan import DCGAN, DCGANConfig
from .infogan import InfoGAN, InfoGANConfig
from .mlp import MLPGAN
from .pix2pix import Pix2Pix, Pix2PixConfig

_IMAGE = (1, 28, 28)

register("mlp_gan", build=lambda: MLPGAN(2, 2, hidden=8, depth=2), example=gaussian_example((2,)))
register("mlp_wgan_gp", build=lambda: MLPGAN(2, 2, hidden=8, depth=2, config=GANConfig(
    "wasserstein", n_critic=1, gp_weight=10.0, betas=(0.0, 0.9))), example=gaussian_example((2,)))
register("mlp_wgan_clip", build=lambda: MLPGAN(2, 2, hidden=8, depth=2, config=GANConfig(
    "wasserstein", clip=0.01)), example=gaussian_example((2,)))
register("conditional_mlp_gan", build=lambda: MLPGAN(2, 2, hidden=8, depth=2, num_classes=3),
         example=gaussian_example((2,)), labels=class_labels(3))
register("dcgan", build=lambda: DCGAN(DCGANConfig(latent_dim=4, width=2)), example=unit_interval_example(_IMAGE))
register("conditional_dcgan", build=lambda: DCGAN(DCGANConfig(latent_dim=4, width=2, label_dim=3),
                                                  GANConfig("hinge", spectral_norm=True), num_classes=3),
         example=unit_interval_example(_IMAGE), labels=class_labels(3))
register("infogan", build=lambda: InfoGAN(InfoGANConfig(latent_dim=3, width=2, categories=3, continuous=1)),
         example=unit_interval_example(_IMAGE))
register("bigan", build=lambda: BiGAN(BiGANConfig(latent_dim=3, width=2, hidden=8)),
         example=unit_interval_example(_IMAGE))
register("pix2pix", build=lambda: Pix2Pix(Pix2PixConfig(width=2)), example=unit_interval_example(_IMAGE),
         labels=unit_interval_example(_IMAGE))
register("cyclegan", build=lambda: CycleGAN(CycleGANConfig(width=2)), example=unit_interval_example(_IMAGE),
         labels=unit_interval_example(_IMAGE))
