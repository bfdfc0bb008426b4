"""Week 2: autoregressive models of binary vectors, from FVSBN to MADE.

All of them factorise p(x) = prod_k p(x_{o_k} | x_{o_1}, ..., x_{o_{k-1}}) in an
order o (a permutation of the D pixels; raster order by default), with each
conditional a Bernoulli whose logit comes from a network that sees only the
earlier pixels. A subclass writes one method,

    conditional_logits(x: (B, D)) -> (B, D)   # logit i may depend only on pixels before i in the order

and inherits the exact log-likelihood and ancestral sampling (one network
evaluation per pixel, the cost that week 2's lecture measures).
The convolutional and Transformer models live in pixelcnn.py and transformer.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .baselines import bernoulli_log_prob
from .base import GenerativeModel
from .registry import binary_example, register


class AutoregressiveModel(GenerativeModel):
    """Base of the binary autoregressive models. x: (B, *event_shape) in {0, 1}.

    ``order`` is a buffer: order[k] is the (flattened) index of the k-th pixel
    generated. Subclasses implement ``conditional_logits`` on flattened inputs.
    """

    def __init__(self, event_shape: Sequence[int], order: Tensor | None = None):
        super().__init__(event_shape)
        order = torch.arange(self.num_dims) if order is None else torch.as_tensor(order)
        if sorted(order.tolist()) != list(range(self.num_dims)):
            raise ValueError(f"order must be a permutation of 0..{self.num_dims - 1}")
        self.register_buffer("order", order.long())

    def conditional_logits(self, x: Tensor) -> Tensor:
        """x: (B, D) -> (B, D) logits of p(x_i = 1 | pixels before i in the order)."""
        raise NotImplementedError

    def _log_prob(self, x: Tensor) -> Tensor:
        x_flat = x.flatten(1)
        return bernoulli_log_prob(self.conditional_logits(x_flat), x_flat).sum(1)

    def _sample(self, n: int, temperature: float = 1.0) -> Tensor:
        """Ancestral sampling: D network evaluations, pixel by pixel in the model's order.

        ``temperature`` divides the logits: below 1 sharpens every conditional
        (cleaner, less diverse samples), above 1 flattens it.
        """
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        x = torch.zeros(n, self.num_dims, device=self.device, dtype=self.dtype)
        for i in self.order.tolist():
            logits = self.conditional_logits(x)[:, i]
            x[:, i] = torch.bernoulli(torch.sigmoid(logits / temperature))
        return x.view(n, *self.event_shape)


def _ranks(order: Tensor) -> Tensor:
    """rank[i] = position of pixel i in the order (the inverse permutation)."""
    return torch.argsort(order)


class FVSBN(AutoregressiveModel):
    """Fully visible sigmoid belief network: a logistic regression per pixel.

    logit_i = b_i + sum_{j before i} W_ij x_j, with W masked to the strictly
    earlier pixels: D(D+1)/2 parameters in effect.
    """

    def __init__(self, event_shape: Sequence[int], order: Tensor | None = None):
        super().__init__(event_shape, order)
        d = self.num_dims
        self.weight = nn.Parameter(torch.zeros(d, d))
        self.bias = nn.Parameter(torch.zeros(d))
        rank = _ranks(self.order)
        self.register_buffer("mask", (rank[None, :] < rank[:, None]).float())  # mask[i, j]: j before i

    def conditional_logits(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class NADE(AutoregressiveModel):
    """Neural autoregressive density estimator (Larochelle & Murray, 2011).

    h_k = sigmoid(c + W[:, o_<k] x_{o_<k}),  logit_{o_k} = b_{o_k} + V[o_k] . h_k.
    The hidden weights W are shared across all conditionals, so the pre-activations
    of every k come from one cumulative sum: O(DH) per example instead of O(D^2 H).
    """

    def __init__(self, event_shape: Sequence[int], hidden: int = 500, order: Tensor | None = None):
        super().__init__(event_shape, order)
        d = self.num_dims
        self.W = nn.Parameter(torch.randn(hidden, d) * 0.01)
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(d, hidden) * 0.01)
        self.b = nn.Parameter(torch.zeros(d))

    def conditional_logits(self, x: Tensor) -> Tensor:
        x_o = x[:, self.order]  # (B, D) in generation order
        contributions = x_o.unsqueeze(-1) * self.W[:, self.order].T  # (B, D, H): W[:, o_k] x_{o_k}
        # sum over k' < k only: the inclusive cumsum shifted by one, not cumsum - contributions,
        # whose rounding would let x_{o_k} leak into its own logit
        before = F.pad(torch.cumsum(contributions, dim=1)[:, :-1], (0, 0, 1, 0))
        h = torch.sigmoid(self.c + before)  # (B, D, H)
        logits_o = (h * self.V[self.order]).sum(-1) + self.b[self.order]  # (B, D)
        return logits_o[:, _ranks(self.order)]  # back to pixel positions


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (a buffer)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made_masks(input_degrees: np.ndarray, hidden_sizes: Sequence[int],
               rng: np.random.RandomState) -> list[np.ndarray]:
    """MADE masks from degrees (Germain et al., 2015).

    input_degrees: (D,) with values 1..D (the rank of each input in the order).
    A hidden unit of degree m may see inputs of degree <= m (m drawn in
    [min degree of the previous layer, D - 1]); output d may see hidden units of
    degree < degree(d). Returns the masks, each (out_features, in_features).
    """
    d = len(input_degrees)
    degrees, masks = [np.asarray(input_degrees)], []
    for size in hidden_sizes:
        low = min(degrees[-1].min(), d - 1)
        m = rng.randint(low, d, size=size)  # in [low, D - 1]
        masks.append((m[:, None] >= degrees[-1][None, :]).astype(np.float32))
        degrees.append(m)
    masks.append((input_degrees[:, None] > degrees[-1][None, :]).astype(np.float32))
    return masks


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
        rng = np.random.RandomState(config.seed)
        orders, masks = [], [[] for _ in self.layers]
        for k in range(config.n_masks):
            order = rng.permutation(d) if (config.resample_order and k > 0) else np.arange(d)
            degrees = np.empty(d, dtype=np.int64)
            degrees[order] = np.arange(1, d + 1)
            orders.append(order)
            for layer_masks, mask in zip(masks, made_masks(degrees, config.hidden_sizes, rng)):
                layer_masks.append(mask)
        self.register_buffer("all_orders", torch.as_tensor(np.stack(orders)))  # (n_masks, D)
        for i, layer_masks in enumerate(masks):
            self.register_buffer(f"all_masks_{i}", torch.as_tensor(np.stack(layer_masks)))
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
            rank = _ranks(self.order)
            self.direct.mask = (rank[None, :] < rank[:, None]).to(self.direct.weight.dtype)

    def conditional_logits(self, x: Tensor) -> Tensor:
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(layer(h))
        logits = self.layers[-1](h)
        return logits if self.direct is None else logits + self.direct(x)

    def loss(self, x: Tensor) -> Tensor:
        if self.training and self.config.n_masks > 1:
            self.use_mask(self.mask_index + 1)  # connectivity-agnostic training: a new mask per step
        return -self.log_prob(x).mean()

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

    def _sample(self, n: int, temperature: float = 1.0) -> Tensor:
        if self.training or not self.config.ensemble or self.config.n_masks == 1:
            return super()._sample(n, temperature)
        # a sample of the mixture: a mask chosen uniformly for each example
        current, out = self.mask_index, []
        choice = torch.randint(0, self.config.n_masks, (n,))
        for k in range(self.config.n_masks):
            count = int((choice == k).sum())
            if count:
                self.use_mask(k)
                out.append(super()._sample(count, temperature))
        self.use_mask(current)
        return torch.cat(out)[torch.randperm(n, device=self.device)]


register("fvsbn", build=lambda: FVSBN((1, 3, 3)), example=binary_example((1, 3, 3)))
register("nade", build=lambda: NADE((1, 3, 3), hidden=8), example=binary_example((1, 3, 3)))
register("made", build=lambda: MADE((1, 3, 3), MADEConfig(hidden_sizes=(16, 16))),
         example=binary_example((1, 3, 3)))
register("made_direct", build=lambda: MADE((1, 3, 3), MADEConfig(hidden_sizes=(16,), direct=True)),
         example=binary_example((1, 3, 3)))
register("made_ensemble", example=binary_example((1, 3, 3)),
         build=lambda: MADE((1, 3, 3), MADEConfig(hidden_sizes=(16,), n_masks=3, resample_order=True)).eval())
