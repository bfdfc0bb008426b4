"""Layers and numerics shared by several model families.

* :mod:`dgmlib.nn.masked`: masked linear and convolutional layers, MADE's masks, PixelCNN's kernel masks.
* :mod:`dgmlib.nn.attention`: causal self-attention and the Transformer block.
* :mod:`dgmlib.nn.functional`: stable log-densities, KLs and log-mean-exp.
* :mod:`dgmlib.nn.time_conditioned`: networks of (x, t, label): ``TimeMLP`` (2-D) and ``UNet`` (28x28), week 8.
* :mod:`dgmlib.nn.state`: ``eval_mode(module)``, evaluation mode for a block, the training flag restored.
"""
from .attention import Block, CausalSelfAttention
from .functional import (bernoulli_log_prob, check_binary, diagonal_gaussian_log_prob, gaussian_kl, log_mean_exp,
                         logit)
from .state import eval_mode
from .time_conditioned import ConditionEmbedding, TimeMLP, UNet, sinusoidal_embedding
from .masked import MaskedConv2d, MaskedLinear, causal_mask, made_degrees, made_masks

__all__ = ["Block", "CausalSelfAttention", "bernoulli_log_prob", "check_binary", "diagonal_gaussian_log_prob",
           "gaussian_kl", "log_mean_exp", "logit", "MaskedConv2d", "MaskedLinear", "causal_mask", "made_degrees",
           "made_masks", "eval_mode", "ConditionEmbedding", "TimeMLP", "UNet", "sinusoidal_embedding"]
