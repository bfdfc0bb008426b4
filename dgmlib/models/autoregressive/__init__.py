"""Week 2: autoregressive models (notebooks/02_autoregressive_models.ipynb).

| file | models | lecture section |
| --- | --- | --- |
| base.py | ``AutoregressiveModel``: exact log_prob and ancestral sampling from ``conditional_logits`` (labels for a conditional model; completion with ``given``/``n_given``) | the chain rule; sampling cost and temperature |
| fvsbn.py | ``FVSBN``, a logistic regression per pixel | FVSBN |
| nade.py | ``NADE``, shared hidden weights, O(DH) | NADE |
| made.py | ``MADE`` (masks from degrees, direct connections, order/mask ensembles) | MADE; the autoregressive property through gradients |
| pixelcnn.py | ``PixelCNN`` (masks A/B, the blind spot), ``GatedPixelCNN`` (class-conditional with ``num_classes``) | PixelCNN and its blind spot; Gated PixelCNN; a class-conditional Gated PixelCNN |
| colour.py | ``colour_causal_mask``: masks A/B over R, G, B channel groups; ``colour_pixelcnn_net`` | colour images: masks that order the channels |
| transformer.py | ``PixelTransformer``, causal self-attention over pixels, key/value cache for sampling | a pixel Transformer; the cost of sampling |

Masked layers and MADE's masks are in :mod:`dgmlib.nn.masked`; the lecture's figures in
:mod:`dgmlib.viz.autoregressive`.
"""
from .base import AutoregressiveModel
from .colour import channel_groups, colour_causal_mask, colour_pixelcnn_net
from .fvsbn import FVSBN
from .made import MADE, MADEConfig
from .nade import NADE
from .pixelcnn import GatedPixelCNN, GatedPixelCNNConfig, PixelCNN, PixelCNNConfig
from .transformer import PixelTransformer, TransformerConfig

__all__ = ["AutoregressiveModel", "FVSBN", "NADE", "MADE", "MADEConfig", "PixelCNN", "PixelCNNConfig",
           "GatedPixelCNN", "GatedPixelCNNConfig", "PixelTransformer", "TransformerConfig", "channel_groups",
           "colour_causal_mask", "colour_pixelcnn_net"]
