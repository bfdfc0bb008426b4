"""Week 7: energy-based models, p(x) = exp(-E(x)) / Z with Z unknown (``log_prob_kind = "unnormalized"``).

| file | what | lecture section |
| --- | --- | --- |
| base.py | ``EnergyModel`` (``energy(x)``, CD with persistent Langevin chains), ``MLPEnergy`` (2-D), ``ConvEnergy`` (MNIST) | maximum likelihood and its model term |
| objectives.py | score matching (exact, denoising, sliced) and noise-contrastive estimation | around the partition function |
| rbm.py | ``BernoulliRBM``: free energy, block Gibbs, CD-k / PCD, exact log Z (small) and AIS log Z | the RBM |

Samplers (Langevin, MALA, the replay buffer) are in :mod:`dgmlib.samplers.langevin`; AIS in :mod:`dgmlib.metrics.ais`.
"""
from .base import OBJECTIVES, ConvEnergy, EBMConfig, EnergyModel, MLPEnergy, toy_config
from .objectives import (denoising_score_matching_loss, nce_loss, score_matching_loss, score_of,
                         sliced_score_matching_loss)
from .rbm import BernoulliRBM, RBMConfig

__all__ = ["OBJECTIVES", "ConvEnergy", "EBMConfig", "EnergyModel", "MLPEnergy", "toy_config",
           "denoising_score_matching_loss", "nce_loss", "score_matching_loss", "score_of",
           "sliced_score_matching_loss", "BernoulliRBM", "RBMConfig"]
