"""Plausible wrong answers and differently written correct answers for hw3_flows (week 4, normalizing flows).

Merged into ``grading_mutants.MUTANTS["hw3_flows"]`` by tests/test_grading.py's caller; the format is the one of
tests/grading_mutants.py: ``_m`` substitutes text in the reference answer (each ``old`` occurs once in that cell)
and must lose points on ``loses``; ``_alt`` replaces the whole answer cell and must keep full marks.
"""
from __future__ import annotations

from grading_mutants import Mutant, _alt, _m

_FWD_LOG_DET = "log_det = ((1 - mask) * s).sum(dim=1)"
_INV_X = "x = mask * z + (1 - mask) * (z - t) * torch.exp(-s)"
_C1_LOG_DET = "log_det = height * width * torch.linalg.slogdet(weight)[1]"
_DQ_RETURN = "return (log_p - log_q).mean(dim=0) - D * math.log(256)"
_BPD_NLL = "nll_nats = -(log_p_y + num_dims * log_bin).mean()"
_CL_FWD_RETURN = "return z, ((1 - self.mask) * s).sum(dim=1)"
_CL_INV_X = "x = self.mask * z + (1 - self.mask) * (z - t) * torch.exp(-s)"

HW3_MUTANTS: list[Mutant] = [
    # Part 1: the affine coupling layer and its log-determinant
    _m("log-det summed over every coordinate (the mask ignored)", "affine_coupling_forward", _FWD_LOG_DET,
       "log_det = s.sum(dim=1)", "test_affine_coupling_forward"),
    _m("log-det with the wrong sign", "affine_coupling_forward", _FWD_LOG_DET,
       "log_det = -((1 - mask) * s).sum(dim=1)", "test_affine_coupling_forward"),
    _m("log-det summed over the batch too", "affine_coupling_forward", _FWD_LOG_DET,
       "log_det = ((1 - mask) * s).sum()", "test_affine_coupling_forward"),
    _m("log-det averaged over the coordinates", "affine_coupling_forward", _FWD_LOG_DET,
       "log_det = ((1 - mask) * s).mean(dim=1)", "test_affine_coupling_forward"),
    _m("conditioner sees all of x (Jacobian no longer triangular)", "affine_coupling_forward",
       "s, t = conditioner(x * mask)", "s, t = conditioner(x)", "test_affine_coupling_forward"),
    _m("exp forgotten: x_b * s + t", "affine_coupling_forward", "(x * torch.exp(s) + t)", "(x * s + t)",
       "test_affine_coupling_forward"),
    _alt("a loop over the coordinates", "affine_coupling_forward", """
        def affine_coupling_forward(x, mask, conditioner):
            s, t = conditioner(x * mask)
            z = x.clone()
            log_det = torch.zeros(x.shape[0], dtype=x.dtype)
            for i in range(x.shape[1]):
                if mask[i] == 0:
                    z[:, i] = x[:, i] * torch.exp(s[:, i]) + t[:, i]
                    log_det = log_det + s[:, i]
            return z, log_det
        """),
    _alt("torch.where with a boolean mask", "affine_coupling_forward", """
        def affine_coupling_forward(x, mask, conditioner):
            keep = mask.bool()
            s, t = conditioner(torch.where(keep, x, torch.zeros_like(x)))
            z = torch.where(keep, x, x * s.exp() + t)
            log_det = torch.where(keep, torch.zeros_like(s), s).sum(-1)
            return z, log_det
        """),
    _alt("the log-det from autograd's Jacobian at each point", "affine_coupling_forward", """
        def affine_coupling_forward(x, mask, conditioner):
            def layer(v):
                s, t = conditioner(v * mask)
                return mask * v + (1 - mask) * (v * torch.exp(s) + t)

            log_det = []
            for b in range(x.shape[0]):
                J = torch.autograd.functional.jacobian(lambda v: layer(v[None])[0], x[b].detach())
                log_det.append(torch.linalg.slogdet(J)[1])
            return layer(x), torch.stack(log_det)
        """),
    # Part 2: its inverse
    _m("shift subtracted after the scaling", "affine_coupling_inverse", _INV_X,
       "x = mask * z + (1 - mask) * (z * torch.exp(-s) - t)", "test_affine_coupling_inverse"),
    _m("scaled by exp(s) again", "affine_coupling_inverse", "torch.exp(-s)", "torch.exp(s)",
       "test_affine_coupling_inverse"),
    _m("log-det of the forward layer (sign)", "affine_coupling_inverse", "return x, -((1 - mask) * s).sum(dim=1)",
       "return x, ((1 - mask) * s).sum(dim=1)", "test_affine_coupling_inverse"),
    _m("log-det summed over every coordinate", "affine_coupling_inverse", "return x, -((1 - mask) * s).sum(dim=1)",
       "return x, -s.sum(dim=1)", "test_affine_coupling_inverse"),
    _m("conditioner fed all of z", "affine_coupling_inverse", "s, t = conditioner(z * mask)",
       "s, t = conditioner(z)", "test_affine_coupling_inverse"),
    _alt("a loop over the coordinates, dividing by exp(s)", "affine_coupling_inverse", """
        def affine_coupling_inverse(z, mask, conditioner):
            s, t = conditioner(z * mask)
            x = z.clone()
            log_det = torch.zeros(z.shape[0], dtype=z.dtype)
            for i in range(z.shape[1]):
                if mask[i] == 0:
                    x[:, i] = (z[:, i] - t[:, i]) / torch.exp(s[:, i])
                    log_det = log_det - s[:, i]
            return x, log_det
        """),
    _alt("boolean indexing into the two halves", "affine_coupling_inverse", """
        def affine_coupling_inverse(z, mask, conditioner):
            a, b = mask == 1, mask == 0
            s, t = conditioner(z * mask)
            x = torch.empty_like(z)
            x[:, a] = z[:, a]
            x[:, b] = (z[:, b] - t[:, b]) * torch.exp(-s[:, b])
            return x, -s[:, b].sum(dim=1)
        """),
    # Part 3: the 1x1 convolution
    _m("the H*W factor missing", "conv1x1", _C1_LOG_DET, "log_det = torch.linalg.slogdet(weight)[1]", "test_conv1x1"),
    _m("log det W, not log|det W| (nan for det < 0)", "conv1x1", _C1_LOG_DET,
       "log_det = height * width * torch.log(torch.det(weight))", "test_conv1x1"),
    _m("H*H instead of H*W", "conv1x1", "height * width *", "height * height *", "test_conv1x1"),
    _m("W transposed", "conv1x1", '"oc,bchw->bohw"', '"co,bchw->bohw"', "test_conv1x1"),
    _m("log of the diagonal of W (as if triangular)", "conv1x1", "torch.linalg.slogdet(weight)[1]",
       "torch.log(torch.diagonal(weight).abs()).sum()", "test_conv1x1"),
    _m("one log-det for the whole batch", "conv1x1", "return z, log_det.expand(x.shape[0])",
       "return z, x.shape[0] * log_det", "test_conv1x1"),
    _alt("F.conv2d with a 1x1 kernel and log|det| from det", "conv1x1", """
        import torch.nn.functional as F


        def conv1x1(x, weight):
            C, H, W = x.shape[1:]
            z = F.conv2d(x, weight.view(C, C, 1, 1))
            log_det = H * W * torch.log(torch.abs(torch.det(weight)))
            return z, log_det * torch.ones(x.shape[0], dtype=x.dtype)
        """),
    _alt("a loop over the pixels, log|det| from an LU factorisation", "conv1x1", """
        def conv1x1(x, weight):
            z = torch.zeros_like(x)
            for i in range(x.shape[2]):
                for j in range(x.shape[3]):
                    z[:, :, i, j] = x[:, :, i, j] @ weight.T
            LU, _ = torch.linalg.lu_factor(weight)
            log_abs_det = torch.log(torch.diagonal(LU).abs()).sum()
            return z, torch.full((x.shape[0],), x.shape[2] * x.shape[3], dtype=x.dtype) * log_abs_det
        """),
    _alt("pixels as rows of a matrix, log|det| as half the log-det of W W^T", "conv1x1", """
        def conv1x1(x, weight):
            B, C, H, W = x.shape
            rows = x.permute(0, 2, 3, 1).reshape(-1, C)            # (B*H*W, C)
            z = (rows @ weight.T).reshape(B, H, W, C).permute(0, 3, 1, 2)
            log_det = 0.5 * torch.logdet(weight @ weight.T) * H * W
            return z, log_det.repeat(B)
        """),
    # Part 4: the planar inverse
    _m("u used instead of u_hat", "planar_inverse",
       "u_hat = u + (-1 + torch.log1p(torch.exp(wu)) - wu) * w / (w @ w)", "u_hat = u", "test_planar_inverse"),
    _m("the bias left out of the scalar equation", "planar_inverse", "y = x @ w + b", "y = x @ w",
       "test_planar_inverse"),
    _m("one fixed-point step: a = w.x + b", "planar_inverse", "    a = (lo + hi) / 2", "    a = y",
       "test_planar_inverse"),
    _m("too few bisection steps", "planar_inverse", "range(200)", "range(12)", "test_planar_inverse"),
    _alt("scipy's brentq for each point", "planar_inverse", """
        import numpy as np
        from scipy.optimize import brentq


        def planar_inverse(x, w, u, b):
            wu = float(w @ u)
            u_hat = u + (-1 + np.logaddexp(0.0, wu) - wu) * w / (w @ w)
            c = float(w @ u_hat)
            a = []
            for y in (x @ w + b).tolist():
                a.append(brentq(lambda t: t + c * np.tanh(t) - y, y - abs(c) - 1, y + abs(c) + 1,
                                xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))
            a = torch.tensor(a, dtype=x.dtype)
            return x - torch.tanh(a)[:, None] * u_hat
        """),
    _alt("softplus, a wide bracket, then Newton steps", "planar_inverse", """
        import torch.nn.functional as F


        def planar_inverse(x, w, u, b):
            wu = torch.dot(w, u)
            u_hat = u + (F.softplus(wu) - 1 - wu) * w / torch.dot(w, w)
            c = torch.dot(w, u_hat)
            target = x @ w + b
            lo = torch.full_like(target, -1e3)
            hi = torch.full_like(target, 1e3)
            for _ in range(60):                 # bisection to about 1e-15 of the width
                mid = 0.5 * (lo + hi)
                f = mid + c * torch.tanh(mid) - target
                lo = torch.where(f < 0, mid, lo)
                hi = torch.where(f < 0, hi, mid)
            a = 0.5 * (lo + hi)
            for _ in range(5):                  # Newton polishes the root
                a = a - (a + c * torch.tanh(a) - target) / (1 + c * (1 - torch.tanh(a) ** 2))
            return x - torch.outer(torch.tanh(a), u_hat)
        """),
    # Part 5: the dequantization bound
    _m("the D log 256 term forgotten", "dequantization_bound", _DQ_RETURN, "return (log_p - log_q).mean(dim=0)",
       "test_dequantization_bound"),
    _m("log 256 without the D", "dequantization_bound", "- D * math.log(256)", "- math.log(256)",
       "test_dequantization_bound"),
    _m("log q added", "dequantization_bound", "(log_p - log_q)", "(log_p + log_q)", "test_dequantization_bound"),
    _m("scaled by 255", "dequantization_bound", "y = (x + u) / 256", "y = (x + u) / 255", "test_dequantization_bound"),
    _m("the importance-weighted bound (logsumexp), not Jensen's", "dequantization_bound",
       "(log_p - log_q).mean(dim=0)", "(torch.logsumexp(log_p - log_q, dim=0) - math.log(K))",
       "test_dequantization_bound"),
    _m("summed over the K draws", "dequantization_bound", "(log_p - log_q).mean(dim=0)", "(log_p - log_q).sum(dim=0)",
       "test_dequantization_bound"),
    _alt("a loop over the K draws", "dequantization_bound", """
        def dequantization_bound(log_density, x, u, log_q):
            K, D = u.shape[0], x.shape[1]
            total = torch.zeros(x.shape[0], dtype=x.dtype)
            for k in range(K):
                total = total + log_density((x + u[k]) / 256) - log_q[k]
            return total / K + D * math.log(1 / 256)
        """),
    _alt("the change of variables written with log2", "dequantization_bound", """
        def dequantization_bound(log_density, x, u, log_q):
            K, B, D = u.shape
            y = ((x.unsqueeze(0) + u) * 2.0 ** -8).flatten(0, 1)
            log_ratio = log_density(y).view(K, B) - log_q
            return torch.mean(log_ratio, 0) - 8 * D * math.log(2)
        """),
    # Part 6: bits per dimension
    _m("the D log 256 term forgotten (bits of the density, not of the images)", "bits_per_dim_scaled",
       "log_bin = math.log((high - low) / 256)", "log_bin = 0.0", "test_bits_per_dim_scaled"),
    _m("the range ignored: bins of width 1/256", "bits_per_dim_scaled", "log_bin = math.log((high - low) / 256)",
       "log_bin = math.log(1 / 256)", "test_bits_per_dim_scaled"),
    _m("nats per dimension (no log 2)", "bits_per_dim_scaled", "return nll_nats / (num_dims * math.log(2))",
       "return nll_nats / num_dims", "test_bits_per_dim_scaled"),
    _m("summed over the images", "bits_per_dim_scaled", _BPD_NLL,
       "nll_nats = -(log_p_y + num_dims * log_bin).sum()", "test_bits_per_dim_scaled"),
    _m("255 levels", "bits_per_dim_scaled", "math.log((high - low) / 256)", "math.log((high - low) / 255)", "test_bits_per_dim_scaled"),
    _m("calls dgmlib's bits_per_dim", "bits_per_dim_scaled", "return nll_nats / (num_dims * math.log(2))",
       "from dgmlib.metrics import bits_per_dim as reference\n"
       "    return torch.tensor(reference(float(-log_p_y.mean()) - num_dims * math.log(high - low), num_dims, levels=256))",
       "test_bits_per_dim_scaled"),
    _alt("log2 throughout", "bits_per_dim_scaled", """
        def bits_per_dim_scaled(log_p_y, num_dims, low=0.0, high=1.0):
            log2_p = log_p_y / math.log(2)
            log2_P = log2_p + num_dims * (math.log2(high - low) - 8)
            return -log2_P.mean() / num_dims
        """),
    _alt("one image at a time", "bits_per_dim_scaled", """
        def bits_per_dim_scaled(log_p_y, num_dims, low=0.0, high=1.0):
            width = (high - low) / 256
            bits = [(-(lp + num_dims * math.log(width)) / math.log(2)) / num_dims for lp in log_p_y]
            return torch.stack(bits).mean()
        """),
    # Part 7: the trained coupling layer
    _m("log-det with the wrong sign", "coupling_layer", _CL_FWD_RETURN, "return z, -((1 - self.mask) * s).sum(dim=1)",
       "test_coupling_layer"),
    _m("log-det summed over every coordinate", "coupling_layer", _CL_FWD_RETURN, "return z, s.sum(dim=1)",
       "test_coupling_layer"),
    _m("inverse subtracts the shift after the scaling", "coupling_layer", _CL_INV_X,
       "x = self.mask * z + (1 - self.mask) * (z * torch.exp(-s) - t)", "test_coupling_layer"),
    _m("conditioner sees x_b", "coupling_layer", "s_raw, t = self.net(x * self.mask)",
       "s_raw, t = self.net(x)", "test_coupling_layer"),
    _m("dgmlib's mlp_conditioner as the network", "coupling_layer", "dim = mask.numel()",
       "dim = mask.numel()\n        from dgmlib.models.flows import mlp_conditioner\n"
       "        self.reference = mlp_conditioner(dim, hidden, 2)", "test_coupling_layer"),
    _alt("a network that sees only x_a, index lists instead of a mask", "coupling_layer", """
        class CouplingLayer(Transform):
            def __init__(self, mask, hidden):
                super().__init__()
                self.a = [i for i in range(mask.numel()) if mask[i] == 1]  # passed unchanged
                self.b = [i for i in range(mask.numel()) if mask[i] == 0]  # scaled and shifted
                self.net = nn.Sequential(nn.Linear(len(self.a), 2 * hidden), nn.SiLU(),
                                         nn.Linear(2 * hidden, 2 * len(self.b)))
                nn.init.zeros_(self.net[-1].weight)
                nn.init.zeros_(self.net[-1].bias)

            def _s_t(self, x_a):
                s, t = self.net(x_a).chunk(2, dim=1)
                return 2 * torch.tanh(s / 2), t

            def forward(self, x):
                s, t = self._s_t(x[:, self.a])
                z = torch.empty_like(x)
                z[:, self.a] = x[:, self.a]
                z[:, self.b] = x[:, self.b] * s.exp() + t
                return z, s.sum(dim=1)

            def inverse(self, z):
                s, t = self._s_t(z[:, self.a])
                x = torch.empty_like(z)
                x[:, self.a] = z[:, self.a]
                x[:, self.b] = (z[:, self.b] - t) / s.exp()
                return x, -s.sum(dim=1)
        """),
    _alt("separate s and t networks, boolean halves", "coupling_layer", """
        class CouplingLayer(Transform):
            def __init__(self, mask, hidden):
                super().__init__()
                self.register_buffer("keep", mask.bool())
                d = mask.numel()

                def mlp(last_act=None):
                    layers = [nn.Linear(d, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden), nn.LeakyReLU(),
                              nn.Linear(hidden, d)]
                    nn.init.zeros_(layers[-1].weight)
                    nn.init.zeros_(layers[-1].bias)
                    return nn.Sequential(*layers, *([last_act] if last_act else []))

                self.s_net, self.t_net = mlp(nn.Tanh()), mlp()

            def forward(self, x):
                x_a = torch.where(self.keep, x, torch.zeros_like(x))
                s = torch.where(self.keep, torch.zeros_like(x), self.s_net(x_a))
                t = torch.where(self.keep, torch.zeros_like(x), self.t_net(x_a))
                return x * s.exp() + t, s.sum(-1)

            def inverse(self, z):
                z_a = torch.where(self.keep, z, torch.zeros_like(z))
                s = torch.where(self.keep, torch.zeros_like(z), self.s_net(z_a))
                t = torch.where(self.keep, torch.zeros_like(z), self.t_net(z_a))
                return (z - t) * torch.exp(-s), -s.sum(-1)
        """),
]
