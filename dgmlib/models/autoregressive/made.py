"""Week 2: MADE, the masked autoencoder for distribution estimation (Germain et al., 2015).

An MLP whose weights are masked (:func:`dgmlib.nn.made_masks`) so that output d sees only
inputs earlier in the order, with optional direct connections, several orders and
connectivities cycled during training, and an ensemble over them at test time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...nn.masked import MaskedLinear, made_degrees, made_masks
from ..registry import binary_example, register
from .base import AutoregressiveModel, ranks


@dataclass
class MADEConfig:
    hidden_sizes: tuple[int, ...] = (500,)  # one hidden layer of 500 units, as in the paper's Figure 2 (MNIST)
    n_masks: int = 1  # number of order/connectivity masks cycled during training
    resample_order: bool = False  # True: each mask has its own random order (order-agnostic training)
    ensemble: bool = True  # at test time average p(x) over all masks (a mixture: still exact)
    direct: bool = False  # also a masked linear map from inputs straight to the output logits (an FVSBN term)
    seed: int = 0  # seeds the degrees and orders, so a checkpoint reproduces its masks


class MADE(AutoregressiveModel):
    """Masked autoencoder for distribution estimation.

    An MLP whose weights are masked so that output d depends only on inputs
    earlier in the order. With ``n_masks > 1`` each training call of ``loss``
    moves on to the next of ``n_masks`` precomputed masks (connectivity, and the
    order if ``resample_order``); ``log_prob`` in eval mode averages the
    probabilities of all masks when ``ensemble`` (log-mean-exp), which is the
    exact likelihood of the uniform mixture of those autoregressive models.
    With ``direct`` the logits also get a linear function of the earlier inputs,
    ``logits = MLP(x) + A x`` with A masked strictly below the diagonal in the order
    (an FVSBN added to the MADE, D^2/2 more weights): on binarized MNIST it is worth
    about 10 nats early in training, because neighbouring pixels need no hidden unit.
    """

    def __init__(self, event_shape: Sequence[int], config: MADEConfig | None = None):
        config = config or MADEConfig()
        super().__init__(event_shape)
        self.config = config
        d = self.num_dims
        sizes = [d, *config.hidden_sizes, d]
        self.layers = nn.ModuleList(MaskedLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.direct = MaskedLinear(d, d, bias=False) if config.direct else None
        if self.direct is not None:
            nn.init.zeros_(self.direct.weight)  # start as a plain MADE
        generator = torch.Generator().manual_seed(config.seed)
        orders, masks = [], [[] for _ in self.layers]
        for k in range(config.n_masks):
            order = torch.randperm(d, generator=generator) if (config.resample_order and k > 0) else torch.arange(d)
            degrees = torch.empty(d, dtype=torch.long)
            degrees[order] = torch.arange(1, d + 1)
            orders.append(order)
            hidden = made_degrees(degrees, config.hidden_sizes, generator)
            for layer_masks, mask in zip(masks, made_masks(degrees, hidden)):
                layer_masks.append(mask)
        self.register_buffer("all_orders", torch.stack(orders))  # (n_masks, D)
        for i, layer_masks in enumerate(masks):
            self.register_buffer(f"all_masks_{i}", torch.stack(layer_masks))  # (n_masks, out, in)
        self.register_buffer("current_mask", torch.zeros((), dtype=torch.long))
        self.use_mask(0)
        # a checkpoint restores the mask that was in use when it was saved
        self.register_load_state_dict_post_hook(lambda module, _: module.use_mask(int(module.current_mask)))

    @property
    def mask_index(self) -> int:
        return int(self.current_mask)

    def use_mask(self, k: int) -> None:
        """Switch to mask (and order) number k.

        The buffers are rebound to fresh copies, never written in place: a graph
        built with the previous mask stays valid for its backward pass.
        """
        k = k % self.config.n_masks
        self.current_mask = torch.tensor(k, device=self.current_mask.device)
        self.order = self.all_orders[k].clone()
        for i, layer in enumerate(self.layers):
            layer.mask = getattr(self, f"all_masks_{i}")[k].clone()
        if self.direct is not None:  # made from the order, not stored: (D, D) per mask would be large
            rank = ranks(self.order)
            self.direct.mask = (rank[None, :] < rank[:, None]).to(self.direct.weight.dtype)

    def conditional_logits(self, x: Tensor) -> Tensor:
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        logits = self.layers[-1](h)
        return logits if self.direct is None else logits + self.direct(x)

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.training and self.config.n_masks > 1:
            self.use_mask(self.mask_index + 1)  # connectivity-agnostic training: a new mask per step
        return -self.log_prob(x, y).mean()

    def _log_prob(self, x: Tensor) -> Tensor:
        if self.training or not self.config.ensemble or self.config.n_masks == 1:
            return super()._log_prob(x)
        current = self.mask_index
        per_mask = []
        for k in range(self.config.n_masks):
            self.use_mask(k)
            per_mask.append(super()._log_prob(x))
        self.use_mask(current)
        return torch.logsumexp(torch.stack(per_mask), dim=0) - math.log(self.config.n_masks)

    def _sample(self, n: int, **options) -> Tensor:
        if self.training or not self.config.ensemble or self.config.n_masks == 1:
            return super()._sample(n, **options)
        if options.get("n_given"):
            raise ValueError("completion (n_given) needs one autoregressive model, and the ensemble mixes "
                             "several; set model.config.ensemble = False to complete with the current mask")
        # a sample of the mixture: a mask chosen uniformly for each example
        current, out = self.mask_index, []
        choice = torch.randint(0, self.config.n_masks, (n,))
        for k in range(self.config.n_masks):
            count = int((choice == k).sum())
            if count:
                self.use_mask(k)
                out.append(super()._sample(count, **options))
        self.use_mask(current)
        return torch.cat(out)[torch.randperm(n, device=self.device)]

register("made", build=lambda: MADE((1, 3, 3), MADEConfig(hidden_sizes=(16, 16))),
         example=binary_example((1, 3, 3)))
register("made_direct", build=lambda: MADE((1, 3, 3), MADEConfig(hidden_sizes=(16,), direct=True)),
         example=binary_example((1, 3, 3)))
register("made_ensemble", example=binary_example((1, 3, 3)),
         build=lambda: MADE((1, 3, 3), MADEConfig(hidden_sizes=(16,), n_masks=3, resample_order=True)).eval())
