"""The binary restricted Boltzmann machine (Smolensky 1986; Hinton 2002): an energy model with exact conditionals.

    E(v, h) = -b.v - c.h - h.W v,          v in {0, 1}^D, h in {0, 1}^H
    p(h_j = 1 | v) = sigmoid(c_j + W_j . v),   p(v_i = 1 | h) = sigmoid(b_i + W^T_i . h)
    free energy  F(v) = -log sum_h exp(-E(v, h)) = -b.v - sum_j softplus(c_j + W_j . v)
    log p(v) = -F(v) - log Z,   Z = sum_v exp(-F(v))

Z sums over 2^D (or, through the hidden side, 2^H) states: exact for a small RBM
(:meth:`BernoulliRBM.exact_log_partition`), estimated by annealed importance sampling otherwise
(:meth:`BernoulliRBM.ais_log_partition`, Salakhutdinov & Murray 2008: from a "base-rate" model with
visible biases only, annealing the RBM's weights so that every intermediate model is an RBM with
exact Gibbs moves). Training follows d log p(v) / d theta = -dF(v)/d theta + E_model[dF/d theta]: the
model term from k Gibbs steps started at the data (CD-k, Hinton 2002) or at persistent chains
(PCD, Tieleman 2008).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Bernoulli, Independent, constraints

from ...metrics.ais import AISResult, annealed_importance_sampling
from ...nn.functional import check_binary
from ..base import GenerativeModel
from ..registry import binary_example, register

#: Up to this many units on the smaller side, ``exact_log_partition`` enumerates (2^20 states, in chunks).
MAX_EXACT_UNITS = 20


@dataclass
class RBMConfig:
    hidden: int = 500  # Salakhutdinov & Murray (2008) use 500 hidden units on MNIST
    k: int = 1  # Gibbs steps per update: CD-1 is Hinton's default
    persistent: bool = False  # PCD: the model term's chains persist across updates (Tieleman 2008)
    chains: int = 100  # persistent chains (PCD only)
    init_std: float = 0.01  # weights ~ N(0, init_std^2), biases 0


class BernoulliRBM(GenerativeModel):
    """Binary RBM over v: (B, *event_shape) in {0, 1}; ``energy(v)`` is the free energy F(v)."""

    log_prob_kind = "unnormalized"
    support = constraints.boolean

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), config: RBMConfig | None = None):
        super().__init__(event_shape)
        self.config = c = config or RBMConfig()
        if c.hidden < 1 or c.k < 1 or c.chains < 1:
            raise ValueError(f"hidden, k and chains must be positive, got {c.hidden}, {c.k}, {c.chains}")
        d = self.num_dims
        self.W = nn.Parameter(c.init_std * torch.randn(c.hidden, d))
        self.b = nn.Parameter(torch.zeros(d))  # visible biases
        self.c = nn.Parameter(torch.zeros(c.hidden))  # hidden biases
        self.register_buffer("chains", torch.empty(0, d))  # PCD's persistent visible states

    # -- the conditionals and the free energy --------------------------------------------------
    def hidden_probs(self, v: Tensor, beta: float = 1.0) -> Tensor:
        """p(h = 1 | v) of the RBM with weights scaled by beta: v (B, D) -> (B, H)."""
        return torch.sigmoid(beta * (v @ self.W.T + self.c))

    def visible_probs(self, h: Tensor, beta: float = 1.0, base: Tensor | None = None) -> Tensor:
        """p(v = 1 | h): h (B, H) -> (B, D); ``base`` adds (1 - beta) * base-rate biases (AIS)."""
        logits = beta * (h @ self.W + self.b)
        return torch.sigmoid(logits if base is None else logits + (1 - beta) * base)

    def gibbs_step(self, v: Tensor, beta: float = 1.0, base: Tensor | None = None) -> Tensor:
        """One block Gibbs sweep v -> h -> v': (B, D) -> (B, D)."""
        h = torch.bernoulli(self.hidden_probs(v, beta))
        return torch.bernoulli(self.visible_probs(h, beta, base))

    def free_energy(self, v: Tensor) -> Tensor:
        """F(v) = -b.v - sum_j softplus(c_j + W_j . v): (B, *event_shape) or (B, D) -> (B,)."""
        v = v.reshape(len(v), -1)
        return -(v @ self.b) - F.softplus(v @ self.W.T + self.c).sum(-1)

    energy = free_energy

    def _log_prob(self, x: Tensor) -> Tensor:
        return -self.free_energy(x)  # unnormalized: log p(v) + log Z

    # -- training ------------------------------------------------------------------------------
    @torch.no_grad()
    def negative_samples(self, v_data: Tensor) -> Tensor:
        """The model term's samples: k Gibbs steps from the data (CD-k) or from the persistent chains (PCD)."""
        c = self.config
        if c.persistent:
            if len(self.chains) == 0:
                self.chains = torch.bernoulli(torch.full((c.chains, self.num_dims), 0.5, device=v_data.device,
                                                         dtype=v_data.dtype))
            v = self.chains
        else:
            v = v_data.reshape(len(v_data), -1)
        for _ in range(c.k):
            v = self.gibbs_step(v)
        if c.persistent:
            self.chains = v
        return v

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Contrastive divergence: mean F(data) - mean F(samples), the samples detached.

        Its gradient is the CD-k (or PCD) estimate of -d log p / d theta; its value is no likelihood.
        """
        self.check_labels(y, len(x), x.device)
        self.check_input(x)
        if x.device.type == "cpu":
            check_binary(x)
        v = x.reshape(len(x), -1)
        return self.free_energy(v).mean() - self.free_energy(self.negative_samples(v)).mean()

    def validation_metrics(self, x: Tensor, y: Tensor | None = None) -> dict[str, float]:
        """Reconstruction error after one Gibbs sweep (cheap, and only a rough guide) and the mean free energy."""
        v = x.reshape(len(x), -1)
        recon = self.visible_probs(self.hidden_probs(v))
        return {"reconstruction": (recon - v).square().sum(-1).mean().item(),
                "free_energy": self.free_energy(v).mean().item()}

    # -- sampling ------------------------------------------------------------------------------
    def _sample(self, n: int, steps: int = 1000, start: Tensor | None = None) -> Tensor:
        """``steps`` Gibbs sweeps from uniform noise (or ``start``), returning the visible means' draws."""
        v = (torch.bernoulli(torch.full((n, self.num_dims), 0.5, device=self.device, dtype=self.dtype))
             if start is None else start.reshape(n, -1).to(self.dtype))
        for _ in range(steps):
            v = self.gibbs_step(v)
        return v.view(n, *self.event_shape)

    # -- the partition function ------------------------------------------------------------------
    @torch.no_grad()
    def exact_log_partition(self, chunk: int = 4096) -> Tensor:
        """log Z by enumerating the smaller layer (<= 20 units): a 0-dim tensor.

        Over the hidden side: log Z = logsumexp_h [c.h + sum_i softplus(b_i + (W^T h)_i)].
        """
        d, hidden = self.num_dims, self.config.hidden
        if min(d, hidden) > MAX_EXACT_UNITS:
            raise ValueError(f"exact log Z enumerates 2^min(D, H) states; D = {d} and H = {hidden} are both above "
                             f"{MAX_EXACT_UNITS}: estimate it with ais_log_partition()")
        over_hidden = hidden <= d
        n = hidden if over_hidden else d
        terms = []
        for start in range(0, 2 ** n, chunk):
            index = torch.arange(start, min(start + chunk, 2 ** n), device=self.device)
            states = ((index[:, None] >> torch.arange(n, device=self.device)) & 1).to(self.W.dtype)
            if over_hidden:
                terms.append(states @ self.c + F.softplus(states @ self.W + self.b).sum(-1))
            else:
                terms.append(-self.free_energy(states))
        return torch.logsumexp(torch.cat(terms), 0)

    @torch.no_grad()
    def ais_log_partition(self, betas: Tensor | int = 1000, n_chains: int = 100,
                          base_logits: Tensor | None = None) -> AISResult:
        """log Z by AIS from a base-rate model (Salakhutdinov & Murray 2008): ``.log_normalizer`` is a 0-dim tensor.

        The base model p_A(v) = prod_i Bernoulli(sigmoid(base_logits_i)) (default: the RBM's own visible
        biases; pass the data's log-odds, as S&M do, for a closer start). The path
        f_b(v) = exp((1 - b) a.v + b b_v.v) prod_j (1 + exp(b (c_j + W_j.v))) is an RBM with weights scaled by
        b, so each move is an exact Gibbs sweep of it.
        """
        a = (self.b if base_logits is None else base_logits.reshape(-1).to(self.b)).detach()
        initial = Independent(Bernoulli(logits=a), 1)

        # constants in v that make f_0 the normalized p_A: log Z_A = sum softplus(a), and the 2^H of the
        # hidden units that are free at b = 0
        log_z0 = F.softplus(a).sum() + self.config.hidden * math.log(2)

        def path(v: Tensor, beta: float) -> Tensor:
            return ((1 - beta) * (v @ a) + beta * (v @ self.b) + F.softplus(beta * (v @ self.W.T + self.c)).sum(-1)
                    - (1 - beta) * log_z0)

        def gibbs(v: Tensor, log_f_t, beta: float) -> Tensor:
            return self.gibbs_step(v, beta, base=a)

        return annealed_importance_sampling(lambda v: path(v, 1.0), initial, betas, n_chains=n_chains,
                                            transition=gibbs, path=path)


register("rbm", build=lambda: BernoulliRBM((1, 3, 3), RBMConfig(hidden=4, init_std=0.5)),
         example=binary_example((1, 3, 3)))
register("rbm_pcd", build=lambda: BernoulliRBM((1, 3, 3), RBMConfig(hidden=4, init_std=0.5, persistent=True,
                                                                     chains=8, k=2)),
         example=binary_example((1, 3, 3)))

__all__ = ["RBMConfig", "BernoulliRBM", "MAX_EXACT_UNITS"]
