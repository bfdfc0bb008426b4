"""Week 3: VQ-VAE (van den Oord et al., 2017), discrete latents through a codebook.

The encoder maps an image to a grid of vectors z_e (B, C, h, w); each vector is
replaced by its nearest codebook entry e_k (the *quantisation*); the decoder
reconstructs from the quantised grid z_q. The argmin has no gradient, so the
straight-through estimator copies the decoder's gradient from z_q to z_e:
z_st = z_e + sg(z_q - z_e). The training loss has three visible parts:

    loss = -log p(x | z_q)  +  ||sg(z_e) - e||^2  +  beta ||z_e - sg(e)||^2
           reconstruction     codebook update      commitment of the encoder

With a uniform prior over the n = h * w codes, q(z|x) is one-hot and
KL(q || p) = n log K, so log p(x|z_q) - n log K is an ELBO: ``log_prob`` is a
lower bound. Replacing the uniform prior by an autoregressive model of the code
grid (a PixelCNN over code indices, week 2) is what makes VQ-VAE samples good.
With ``prior = "uniform"`` ``sample`` draws codes uniformly, which shows why that prior is
needed; with ``prior = "pixelcnn"`` (or a trained :class:`CodePixelCNN` assigned to
``model.prior``, the usual two-stage recipe) ``log_prob`` is the tighter bound
log p(x | z_q) + log p(z_q) and ``sample`` draws the codes from the prior. When the prior is
part of the model, ``loss`` adds its NLL of the (gradient-free) codes, so ``fit`` trains both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from torch.distributions import constraints

from ...nn.functional import bernoulli_log_prob
from ..base import GenerativeModel
from ..registry import binary_example, register
from .code_prior import CodePixelCNN


@dataclass
class VQVAEConfig:
    n_codes: int = 64  # K, the codebook size
    code_dim: int = 16  # C, the dimension of each code vector
    hidden: int = 64  # channels of the convolutional encoder and decoder
    commitment: float = 0.25  # beta, the commitment weight (the paper's value)
    prior: str = "uniform"  # "uniform" over the K codes, or "pixelcnn": an autoregressive CodePixelCNN
    prior_channels: int = 64  # width of the CodePixelCNN
    prior_layers: int = 4  # masked convolutions of the CodePixelCNN


class VQVAE(GenerativeModel):
    """VQ-VAE over binary images (B, channels, H, W) with H, W divisible by 4."""

    log_prob_kind = "lower_bound"
    support = constraints.boolean

    def __init__(self, event_shape: Sequence[int] = (1, 28, 28), config: VQVAEConfig | None = None):
        super().__init__(event_shape)
        self.config = c = config or VQVAEConfig()
        channels, h, w = self.event_shape
        if h % 4 or w % 4:
            raise ValueError(f"VQVAE needs image sides divisible by 4, got {h}x{w}")
        self.latent_shape = (h // 4, w // 4)
        self.encoder = nn.Sequential(nn.Conv2d(channels, c.hidden, 4, 2, 1), nn.ReLU(),
                                     nn.Conv2d(c.hidden, c.hidden, 4, 2, 1), nn.ReLU(),
                                     nn.Conv2d(c.hidden, c.code_dim, 1))
        self.codebook = nn.Embedding(c.n_codes, c.code_dim)
        nn.init.uniform_(self.codebook.weight, -1 / c.n_codes, 1 / c.n_codes)
        self.decoder = nn.Sequential(nn.Conv2d(c.code_dim, c.hidden, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(c.hidden, c.hidden, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(c.hidden, channels, 4, 2, 1))
        if c.prior == "uniform":
            self.prior: CodePixelCNN | None = None
        elif c.prior == "pixelcnn":
            self.prior = CodePixelCNN(c.n_codes, self.latent_shape, c.prior_channels, c.prior_layers)
        else:
            raise ValueError(f"prior must be 'uniform' or 'pixelcnn', got {c.prior!r}")

    def log_prior(self, indices: Tensor) -> Tensor:
        """log p(z) of code grids (B, h, w) -> (B,): n log(1/K) for the uniform prior, else the PixelCNN's."""
        if self.prior is None:
            return torch.full((len(indices),), -self.n_latents * math.log(self.config.n_codes),
                              dtype=self.dtype, device=indices.device)
        return self.prior.log_prob(indices)

    @property
    def n_latents(self) -> int:
        return self.latent_shape[0] * self.latent_shape[1]

    def quantize(self, z_e: Tensor) -> tuple[Tensor, Tensor]:
        """Nearest codebook entries: z_e (B, C, h, w) -> z_q (B, C, h, w), indices (B, h, w)."""
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])  # (B h w, C)
        distances = torch.cdist(flat, self.codebook.weight)  # (B h w, K)
        indices = distances.argmin(1).view(z_e.shape[0], *z_e.shape[2:])
        return self.embed(indices), indices

    def embed(self, indices: Tensor) -> Tensor:
        """Code indices (B, h, w) -> code vectors (B, C, h, w)."""
        return self.codebook(indices).permute(0, 3, 1, 2)

    def encode(self, x: Tensor) -> Tensor:
        """x -> code indices (B, h, w)."""
        return self.quantize(self.encoder(2 * x - 1))[1]

    def decode(self, indices: Tensor) -> Tensor:
        """Code indices (B, h, w) -> Bernoulli logits (B, *event_shape)."""
        return self.decoder(self.embed(indices))

    def _reconstruction_log_lik(self, x: Tensor, logits: Tensor) -> Tensor:
        return bernoulli_log_prob(logits, x).flatten(1).sum(1)

    def loss(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        self.check_input(x)
        self.check_labels(y, len(x), x.device)
        z_e = self.encoder(2 * x - 1)
        z_q, indices = self.quantize(z_e)
        z_st = z_e + (z_q - z_e).detach()  # straight-through: forward z_q, backward to z_e
        reconstruction = -self._reconstruction_log_lik(x, self.decoder(z_st))
        codebook = ((z_q - z_e.detach()) ** 2).flatten(1).sum(1)  # moves the codes to the encodings
        commitment = ((z_e - z_q.detach()) ** 2).flatten(1).sum(1)  # keeps the encodings near their codes
        loss = (reconstruction + codebook + self.config.commitment * commitment).mean()
        if self.prior is not None:  # the codes are integers: this term trains the prior only
            loss = loss - self.prior.log_prob(indices).mean()
        return loss

    def _log_prob(self, x: Tensor) -> Tensor:
        """ELBO with the one-hot q(z|x): log p(x | z_q(x)) + log p(z_q(x))  (B,); uniform: - n log K."""
        indices = self.encode(x)
        return self._reconstruction_log_lik(x, self.decode(indices)) + self.log_prior(indices)

    def _sample(self, n: int, mean: bool = False) -> Tensor:
        """Codes from the prior (n, h, w), then x ~ p(x | codes); ``mean=True``: the Bernoulli means.

        The indices are integers; the codebook lookup gives the images the model's dtype.
        """
        if self.prior is not None:
            indices = self.prior.sample(n)
        else:
            indices = torch.randint(0, self.config.n_codes, (n, *self.latent_shape), device=self.device)
        probs = torch.sigmoid(self.decode(indices))
        return probs if mean else torch.bernoulli(probs)


register("vqvae", example=binary_example((1, 8, 8)),
         build=lambda: VQVAE((1, 8, 8), VQVAEConfig(n_codes=8, code_dim=4, hidden=8)))
register("vqvae_pixelcnn_prior", example=binary_example((1, 8, 8)),
         build=lambda: VQVAE((1, 8, 8), VQVAEConfig(n_codes=8, code_dim=4, hidden=8, prior="pixelcnn",
                                                    prior_channels=8, prior_layers=2)))
