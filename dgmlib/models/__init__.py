"""Reference implementations of the course's models, one folder per family, all behind one contract.

* :mod:`dgmlib.models.base`: the contract (``log_prob``, ``sample``, ``loss``, ``train_step``, ...).
* :mod:`dgmlib.models.registry`: tiny configurations of every model for the contract tests.
* :mod:`dgmlib.models.baselines`: week 1's independent and Markov-chain Bernoulli models.
* :mod:`dgmlib.models.autoregressive`: week 2 (FVSBN, NADE, MADE, PixelCNN, Gated PixelCNN, Transformer).
* :mod:`dgmlib.models.latent`: week 3 (Gaussian mixture, PPCA, VAE/IWAE, VQ-VAE).
* :mod:`dgmlib.models.flows`: week 4 (planar to Glow, MAF/IAF, spline couplings, dequantization).
* :mod:`dgmlib.models.adversarial`: week 5 (MLP GAN, DCGAN, conditional GAN, InfoGAN, BiGAN, pix2pix, CycleGAN).
* :mod:`dgmlib.models.energy`: week 7 (RBM, Langevin-trained EBMs, score matching, NCE).
* :mod:`dgmlib.models.diffusion`: week 8 (noise schedules, DDPM with its ELBO, DDIM, guidance, flow matching).
* :mod:`dgmlib.models.contrasts`: week 6's models that pull likelihood and sample quality apart (a mixture
  with noise, a kernel density on the training set).

"""
from .base import Batch, GenerativeModel, InputDtypeError, LogProbKind, maximum_likelihood_step
from .baselines import IndependentBernoulli, MarkovChainBernoulli
from .autoregressive import (FVSBN, MADE, NADE, AutoregressiveModel, GatedPixelCNN, GatedPixelCNNConfig,
                             MADEConfig, PixelCNN, PixelCNNConfig, PixelTransformer, TransformerConfig)
from .latent import PPCA, VAE, VQVAE, GaussianMixture, VAEConfig, VQVAEConfig
from .flows import DequantizedFlow, Flow, ImageFlowConfig, MultiscaleConfig
from .adversarial import (GAN, MLPGAN, DCGAN, BiGAN, CycleGAN, GANConfig, InfoGAN, Pix2Pix)
from .contrasts import Mixture, TrainingSetKernel, noisy_mixture
from .diffusion import DDPM, DDPMConfig, FlowMatching, FlowMatchingConfig
from .energy import BernoulliRBM, ConvEnergy, EBMConfig, EnergyModel, MLPEnergy, RBMConfig
from .registry import REGISTRY, ModelSpec, register

__all__ = [
    "GenerativeModel", "LogProbKind", "Batch", "InputDtypeError", "maximum_likelihood_step",
    "REGISTRY", "ModelSpec", "register",
    "IndependentBernoulli", "MarkovChainBernoulli", "GaussianMixture",
    "AutoregressiveModel", "FVSBN", "NADE", "MADE", "MADEConfig",
    "PixelCNN", "PixelCNNConfig", "GatedPixelCNN", "GatedPixelCNNConfig",
    "PixelTransformer", "TransformerConfig", "PPCA", "VAE", "VAEConfig", "VQVAE", "VQVAEConfig",
    "Flow", "DequantizedFlow", "ImageFlowConfig", "MultiscaleConfig",
    "GAN", "GANConfig", "MLPGAN", "DCGAN", "InfoGAN", "BiGAN", "Pix2Pix", "CycleGAN",
    "Mixture", "TrainingSetKernel", "noisy_mixture",
    "DDPM", "DDPMConfig", "FlowMatching", "FlowMatchingConfig",
    "EnergyModel", "EBMConfig", "MLPEnergy", "ConvEnergy", "BernoulliRBM", "RBMConfig",
]
