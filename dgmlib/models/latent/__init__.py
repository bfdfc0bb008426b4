"""Week 3: latent variable models and VAEs (notebooks/03_variational_autoencoders.ipynb).

| file | models and tools | lecture section |
| --- | --- | --- |
| mixture.py | ``GaussianMixture``: exact posterior, EM (also week 1's gradient-trained mixture) | mixtures and EM |
| ppca.py | ``PPCA``: closed-form marginal, posterior, ELBO and maximum likelihood | PPCA; the ELBO against the truth |
| estimators.py | reparameterised and score-function gradients (and where each wins); Gumbel-softmax, straight-through and the exact gradient for a categorical latent | the reparameterisation trick vs REINFORCE; discrete latents |
| vae.py | ``VAE`` (MLP or conv), beta-VAE, ``iwae_bound``, importance-sampled log p(x) | the ELBO; IWAE; beta-VAE and posterior collapse |
| gaussian_vae.py | ``GaussianVAE``: a Gaussian decoder for continuous data; a sample versus the decoder mean | what a VAE sample is |
| information.py | ``rate_decomposition``: E_x[rate] = I_q(x; z) + KL(q(z) \\|\\| p(z)) (Alemi et al., 2018) | rate and distortion |
| ar_decoder.py | ``ARDecoderVAE``: a MADE decoder given z; posterior collapse, free bits, KL annealing | posterior collapse |
| vqvae.py | ``VQVAE``: codebook, straight-through estimator, commitment loss; uniform or PixelCNN prior | VQ-VAE |
| code_prior.py | ``CodePixelCNN``: an autoregressive prior over the grid of VQ-VAE codes | VQ-VAE with a learned prior |

Shared numerics (``gaussian_kl``, ``diagonal_gaussian_log_prob``, ``log_mean_exp``) are in
:mod:`dgmlib.nn.functional`; the lecture's latent-space figures in :mod:`dgmlib.viz.latent`.
"""
from .ar_decoder import ARDecoderVAE, ARDecoderVAEConfig
from .code_prior import CodePixelCNN
from .estimators import (categorical_score_function_gradients, exact_categorical_gradient, gumbel_softmax_gradients,
                         reparameterized_gradients, score_function_gradients, straight_through_gradients)
from .gaussian_vae import GaussianVAE, GaussianVAEConfig
from .information import RateTerms, rate_decomposition
from .mixture import GaussianMixture
from .ppca import PPCA
from .vae import VAE, VAEConfig, iwae_bound
from .vqvae import VQVAE, VQVAEConfig

__all__ = ["GaussianMixture", "PPCA", "VAE", "VAEConfig", "iwae_bound", "VQVAE", "VQVAEConfig",
           "GaussianVAE", "GaussianVAEConfig", "ARDecoderVAE", "ARDecoderVAEConfig", "CodePixelCNN",
           "RateTerms", "rate_decomposition",
           "reparameterized_gradients", "score_function_gradients", "exact_categorical_gradient",
           "gumbel_softmax_gradients", "straight_through_gradients", "categorical_score_function_gradients"]
