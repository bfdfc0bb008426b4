"""Week 3: latent variable models and VAEs (notebooks/03_variational_autoencoders.ipynb).

| file | models and tools | lecture section |
| --- | --- | --- |
| mixture.py | ``GaussianMixture``: exact posterior, EM (also week 1's gradient-trained mixture) | mixtures and EM |
| ppca.py | ``PPCA``: closed-form marginal, posterior, ELBO and maximum likelihood | PPCA; the ELBO against the truth |
| estimators.py | reparameterised and score-function gradient estimators | the reparameterisation trick vs REINFORCE |
| vae.py | ``VAE`` (MLP or conv), beta-VAE, ``iwae_bound``, importance-sampled log p(x) | the ELBO; IWAE; beta-VAE and posterior collapse |
| vqvae.py | ``VQVAE``: codebook, straight-through estimator, commitment loss | VQ-VAE |

Shared numerics (``gaussian_kl``, ``diagonal_gaussian_log_prob``, ``log_mean_exp``) are in
:mod:`dgmlib.nn.functional`; the lecture's latent-space figures in :mod:`dgmlib.viz.latent`.
"""
from .estimators import reparameterized_gradients, score_function_gradients
from .mixture import GaussianMixture
from .ppca import PPCA
from .vae import VAE, VAEConfig, iwae_bound
from .vqvae import VQVAE, VQVAEConfig

__all__ = ["GaussianMixture", "PPCA", "VAE", "VAEConfig", "iwae_bound", "VQVAE", "VQVAEConfig",
           "reparameterized_gradients", "score_function_gradients"]
