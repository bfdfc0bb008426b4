"""Reference implementations of the course's models, all behind one interface.

See :mod:`dgmlib.models.base` for the interface and
:mod:`dgmlib.models.registry` for how families join the contract tests.
"""
from .base import GenerativeModel, LogProbKind
from .autoregressive import FVSBN, MADE, NADE, AutoregressiveModel, MADEConfig
from .baselines import IndependentBernoulli, MarkovChainBernoulli
from .mixture import GaussianMixture
from .ppca import PPCA
from .vae import VAE, VAEConfig
from .vqvae import VQVAE, VQVAEConfig
from .pixelcnn import GatedPixelCNN, GatedPixelCNNConfig, PixelCNN, PixelCNNConfig
from .transformer import PixelTransformer, TransformerConfig
from .registry import REGISTRY, ModelSpec, register

__all__ = [
    "GenerativeModel", "LogProbKind", "REGISTRY", "ModelSpec", "register",
    "IndependentBernoulli", "MarkovChainBernoulli", "GaussianMixture",
    "AutoregressiveModel", "FVSBN", "NADE", "MADE", "MADEConfig",
    "PixelCNN", "PixelCNNConfig", "GatedPixelCNN", "GatedPixelCNNConfig",
    "PixelTransformer", "TransformerConfig", "PPCA", "VAE", "VAEConfig", "VQVAE", "VQVAEConfig",
]
