"""Week 3: an autoregressive prior over VQ-VAE codes, a small PixelCNN with a K-way softmax per position.

    p(k) = prod_{m=1}^{n} Cat(k_m; softmax(l_m(k_<m))),   k: (h, w) code indices in raster order

Week 2's PixelCNN on a grid of *symbols* instead of pixels: each index is embedded, the first
convolution is causal of type A (a position never sees itself), the rest of type B, and a 1x1
convolution gives K logits per position. ``log_prob`` is exact (one pass); ``sample`` takes n = h w
passes, one per position. The VQ-VAE uses it in place of its uniform prior (``VQVAE.prior``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...nn.masked import MaskedConv2d, causal_mask


class CodePixelCNN(nn.Module):
    """PixelCNN over (B, h, w) grids of integer codes in 0..n_codes - 1."""

    def __init__(self, n_codes: int, latent_shape: tuple[int, int], channels: int = 64, n_layers: int = 4,
                 kernel: int = 3):
        super().__init__()
        self.n_codes, self.latent_shape = n_codes, tuple(latent_shape)
        self.embed = nn.Embedding(n_codes, channels)
        first = max(kernel, 5)  # a wider first (type A) kernel: more context from the start
        self.layers = nn.ModuleList([MaskedConv2d(channels, channels, first, causal_mask((first, first), "A"))] +
                                    [MaskedConv2d(channels, channels, kernel, causal_mask((kernel, kernel), "B"))
                                     for _ in range(n_layers - 1)])
        self.out = nn.Conv2d(channels, n_codes, 1)

    def logits(self, codes: Tensor) -> Tensor:
        """codes (B, h, w) long -> logits (B, K, h, w); the logits at (i, j) see only earlier positions."""
        h = self.embed(codes).permute(0, 3, 1, 2)
        for layer in self.layers:
            h = F.relu(layer(h))
        return self.out(h)

    def check_codes(self, codes: Tensor) -> None:
        if codes.dtype != torch.long or codes.dim() != 3 or tuple(codes.shape[1:]) != self.latent_shape:
            raise ValueError(f"codes must be a (B, {self.latent_shape[0]}, {self.latent_shape[1]}) long tensor, "
                             f"got {tuple(codes.shape)} {codes.dtype}; get them with vqvae.encode(x)")
        if len(codes) == 0 or (codes.device.type == "cpu" and ((codes < 0) | (codes >= self.n_codes)).any()):
            raise ValueError(f"codes must be a non-empty batch of indices in 0..{self.n_codes - 1}")

    def log_prob(self, codes: Tensor) -> Tensor:
        """Exact log p(k) in nats: (B, h, w) -> (B,)."""
        self.check_codes(codes)
        return -F.cross_entropy(self.logits(codes), codes, reduction="none").flatten(1).sum(1)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0) -> Tensor:
        """n code grids (n, h, w), one position at a time in raster order."""
        h, w = self.latent_shape
        device = self.out.weight.device
        codes = torch.zeros(n, h, w, dtype=torch.long, device=device)
        for i in range(h):
            for j in range(w):
                probs = torch.softmax(self.logits(codes)[:, :, i, j] / temperature, dim=1)
                codes[:, i, j] = torch.multinomial(probs, 1)[:, 0]
        return codes
