"""Plausible wrong answers and differently written correct answers for hw7_diffusion (week 8, diffusion models).

Merged into ``grading_mutants.MUTANTS["hw7_diffusion"]`` at the end of tests/grading_mutants.py; the format is the one
of that file: ``_m`` substitutes text in the reference answer (each ``old`` occurs once in that cell) and must lose
points on ``loses``; ``Mutant`` with several substitutions does the same for a mistake that spans lines; ``_alt``
replaces the whole answer cell and must keep full marks.

The reference answers do not call one another (each part recomputes what it needs from the schedule), so that a
mistake in one part costs points on that part only. Students may call their earlier parts; the alternatives that do
the same define their helpers in their own cell (check_own_work follows them), because test_grading grades mutants of
different cells as one student, and a call of an earlier part would tie an alternative to that part's mutant.
"""
from __future__ import annotations

import textwrap

from grading_mutants import Mutant, _alt, _m

_FM_RETURN = "return alpha_bars.sqrt(), 1 - alpha_bars"
_FP_PREV = "alpha_bars_prev = torch.cat([alpha_bars.new_ones(1), alpha_bars[:-1]])"
_FP_VAR = "variance = betas * (1 - alpha_bars_prev) / (1 - alpha_bars)"
_SL_RETURN = "return (noise - network(x_t, t)).square().mean()"
_SL_ABAR = "alpha_bars = torch.cumprod(1 - betas, dim=0)[t - 1].to(x0.dtype)[:, None]"
_DDPM_PREV = "(alpha_bars[t - 2] if t > 1 else 1.0)"
_DDPM_MEAN = ("mean = (math.sqrt(abar_prev) * beta * x0_hat + math.sqrt(1 - beta) * (1 - abar_prev) * x_t) / "
              "(1 - abar)")
_DDPM_VAR = "variance = beta * (1 - abar_prev) / (1 - abar)"
_DDIM_SIGMA = "sigma = eta * math.sqrt((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev))"
_DDIM_K = "k = math.sqrt(max(1 - abar_prev - sigma ** 2, 0.0))"
_TS_T = "t = torch.randint(1, steps + 1, (batch_size,), generator=generator)"
_TS_LOSS = "loss = (noise - network(x_t, t)).square().mean()"


def _cell(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


HW7_MUTANTS: list[Mutant] = [
    # Part 1: q(x_t | x_0) in closed form
    _m("the betas summed, abar = 1 - sum b_s (the first-order product)", "forward_marginal",
       "alpha_bars = torch.cumprod(1 - betas, dim=0)", "alpha_bars = 1 - torch.cumsum(betas, dim=0)",
       "test_forward_marginal"),
    _m("the square root missing on the mean's factor (abar_t, not sqrt(abar_t))", "forward_marginal", _FM_RETURN,
       "return alpha_bars, 1 - alpha_bars", "test_forward_marginal"),
    _m("off by one: the product up to t - 1 (index t - 1 holds abar_{t-1})", "forward_marginal",
       "alpha_bars = torch.cumprod(1 - betas, dim=0)",
       "alpha_bars = torch.cumprod(torch.cat([torch.ones(1, dtype=betas.dtype), 1 - betas[:-1]]), dim=0)",
       "test_forward_marginal"),
    _m("the variance 1 - sqrt(abar)", "forward_marginal", _FM_RETURN,
       "return alpha_bars.sqrt(), 1 - alpha_bars.sqrt()", "test_forward_marginal"),
    _m("the standard deviation sqrt(1 - abar) for the variance", "forward_marginal", _FM_RETURN,
       "return alpha_bars.sqrt(), (1 - alpha_bars).sqrt()", "test_forward_marginal"),
    _m("the variances of the steps added up without the shrinking, v_t = sum b_s", "forward_marginal", _FM_RETURN,
       "return alpha_bars.sqrt(), torch.cumsum(betas, dim=0)", "test_forward_marginal"),
    Mutant("dgmlib's NoiseSchedule instead of the student's", "forward_marginal", (), "test_forward_marginal", _cell("""
        def forward_marginal(betas):
            from dgmlib.models.diffusion import NoiseSchedule
            schedule = NoiseSchedule(len(betas))
            return schedule.alpha_bars[1:].double().sqrt(), schedule.one_minus_alpha_bars[1:].double()
        """)),
    _alt("the recursion of the single steps in Python floats", "forward_marginal", """
        def forward_marginal(betas):
            c, v, cs, vs = 1.0, 0.0, [], []
            for b in betas.tolist():
                c = c * math.sqrt(1 - b)
                v = (1 - b) * v + b
                cs.append(c)
                vs.append(v)
            return torch.tensor(cs, dtype=torch.float64), torch.tensor(vs, dtype=torch.float64)
        """),
    _alt("the product in log space, -expm1 for the variance", "forward_marginal", """
        def forward_marginal(betas):
            log_abar = torch.cumsum(torch.log1p(-betas), dim=0)
            return torch.exp(0.5 * log_abar), -torch.expm1(log_abar)
        """),
    _alt("numpy's cumprod, the square roots of the steps multiplied", "forward_marginal", """
        def forward_marginal(betas):
            import numpy as np
            b = betas.numpy()
            mean_coef = np.cumprod(np.sqrt(1 - b))
            return torch.from_numpy(mean_coef), torch.from_numpy(1 - mean_coef ** 2)
        """),
    # Part 2: the posterior q(x_{t-1} | x_t, x_0)
    _m("the two coefficients swapped", "forward_posterior", "return coef_x0, coef_xt, variance",
       "return coef_xt, coef_x0, variance", "test_forward_posterior"),
    _m("abar_t in place of abar_{t-1} in the factor of x_0", "forward_posterior",
       "coef_x0 = alpha_bars_prev.sqrt() * betas", "coef_x0 = alpha_bars.sqrt() * betas", "test_forward_posterior"),
    _m("the variance b_t instead of the posterior's", "forward_posterior", _FP_VAR, "variance = betas.clone()",
       "test_forward_posterior"),
    _m("abar_{t-1} by rolling abar (at t = 1 it wraps round to abar_T)", "forward_posterior", _FP_PREV,
       "alpha_bars_prev = torch.roll(alpha_bars, 1)", "test_forward_posterior"),
    _m("1 - b_t without the square root in the factor of x_t", "forward_posterior",
       "coef_xt = (1 - betas).sqrt() *", "coef_xt = (1 - betas) *", "test_forward_posterior"),
    _m("the prior's variance taken as 1 - abar_t (abar_t in place of abar_{t-1} everywhere)", "forward_posterior",
       _FP_PREV, "alpha_bars_prev = alpha_bars * 1", "test_forward_posterior"),
    _alt("Bayes' rule in precision form, t = 1 set apart", "forward_posterior", """
        def forward_posterior(betas):
            abar = torch.cumprod(1 - betas, dim=0)
            a, b, v = torch.zeros_like(betas), torch.zeros_like(betas), torch.zeros_like(betas)
            a[0] = 1.0  # t = 1: the point mass at x_0
            prior_var = 1 - abar[:-1]                       # Var(x_{t-1} | x_0) for t = 2..T
            precision = 1 / prior_var + (1 - betas[1:]) / betas[1:]
            v[1:] = 1 / precision
            a[1:] = v[1:] * abar[:-1].sqrt() / prior_var
            b[1:] = v[1:] * (1 - betas[1:]).sqrt() / betas[1:]
            return a, b, v
        """),
    _alt("Part 1's c_t and v_t from a helper, padded with c_0 = 1 and v_0 = 0", "forward_posterior", """
        def signal_and_noise(betas):
            \"\"\"c_t and v_t of q(x_t | x_0), as in Part 1.\"\"\"
            abar = torch.cumprod(1 - betas, dim=0)
            return abar.sqrt(), 1 - abar


        def forward_posterior(betas):
            c, v = signal_and_noise(betas)
            c_prev = torch.cat([torch.ones(1, dtype=c.dtype), c[:-1]])
            v_prev = torch.cat([torch.zeros(1, dtype=v.dtype), v[:-1]])
            coef_x0 = c_prev * betas / v
            coef_xt = torch.sqrt(1 - betas) * v_prev / v
            return coef_x0, coef_xt, betas * v_prev / v
        """),
    _alt("a loop over the steps in Python floats", "forward_posterior", """
        def forward_posterior(betas):
            rows, abar_prev = [], 1.0
            for b in betas.tolist():
                abar = abar_prev * (1 - b)
                rows.append((math.sqrt(abar_prev) * b / (1 - abar), math.sqrt(1 - b) * (1 - abar_prev) / (1 - abar),
                             (1 - abar_prev) * b / (1 - abar)))
                abar_prev = abar
            table = torch.tensor(rows, dtype=torch.float64)
            return table[:, 0], table[:, 1], table[:, 2]
        """),
    # Part 3: the simple loss
    _m("the target -eps (the score's sign)", "simple_loss", _SL_RETURN,
       "return (noise + network(x_t, t)).square().mean()", "test_simple_loss"),
    _m("the network regressed onto x_0 instead of the noise", "simple_loss", _SL_RETURN,
       "return (x0 - network(x_t, t)).square().mean()", "test_simple_loss"),
    _m("summed over the coordinates, averaged over the batch", "simple_loss", ".square().mean()",
       ".square().sum(dim=1).mean()", "test_simple_loss"),
    _m("half the squared error", "simple_loss", _SL_RETURN,
       "return 0.5 * (noise - network(x_t, t)).square().mean()", "test_simple_loss"),
    _m("abar indexed by t (off by one)", "simple_loss", "[t - 1].to(x0.dtype)", "[t].to(x0.dtype)",
       "test_simple_loss"),
    _m("x_t made with abar and 1 - abar, not their square roots", "simple_loss",
       "x_t = alpha_bars.sqrt() * x0 + (1 - alpha_bars).sqrt() * noise",
       "x_t = alpha_bars * x0 + (1 - alpha_bars) * noise", "test_simple_loss"),
    _m("the network given the index t - 1, not the step t", "simple_loss", "network(x_t, t)", "network(x_t, t - 1)",
       "test_simple_loss"),
    _m("the prediction detached (no gradient reaches the network)", "simple_loss", "network(x_t, t))",
       "network(x_t, t).detach())", "test_simple_loss"),
    _m("x_t left in float64 (a float32 network fails)", "simple_loss", _SL_ABAR,
       "alpha_bars = torch.cumprod(1 - betas, dim=0)[t - 1][:, None]", "test_simple_loss"),
    _alt("F.mse_loss, Part 1's closed form from a helper", "simple_loss", """
        def marginal_coefficients(betas):
            abar = torch.cumprod(1 - betas, dim=0)
            return abar.sqrt(), 1 - abar


        def simple_loss(network, x0, t, noise, betas):
            import torch.nn.functional as F
            mean_coef, variance = marginal_coefficients(betas)
            c = mean_coef[t - 1].unsqueeze(1).to(x0.dtype)
            s = variance[t - 1].sqrt().unsqueeze(1).to(x0.dtype)
            return F.mse_loss(network(c * x0 + s * noise, t), noise)
        """),
    _alt("torch.gather of the log-space product, the sum divided by the number of entries", "simple_loss", """
        def simple_loss(network, x0, t, noise, betas):
            log_abar = torch.cumsum(torch.log1p(-betas), dim=0)
            la = torch.gather(log_abar, 0, t - 1).to(x0.dtype).reshape(-1, 1)
            x_t = torch.exp(la / 2) * x0 + torch.sqrt(-torch.expm1(la)) * noise
            residual = network(x_t, t) - noise
            return (residual * residual).sum() / residual.numel()
        """),
    # Part 4: one DDPM step
    _m("the variance b_t instead of the posterior's (noise added at the final step)", "ddpm_step", _DDPM_VAR,
       "variance = beta", "test_ddpm_step"),
    _m("noise of variance b_1 added at the final step", "ddpm_step", "return mean + math.sqrt(variance) * noise",
       "return mean + math.sqrt(variance if t > 1 else beta) * noise", "test_ddpm_step"),
    _m("x0_hat with (1 - abar) eps, not sqrt(1 - abar) eps", "ddpm_step", "math.sqrt(1 - abar) * eps",
       "(1 - abar) * eps", "test_ddpm_step"),
    _m("x0_hat divided by abar, not sqrt(abar)", "ddpm_step", ") / math.sqrt(abar)", ") / abar", "test_ddpm_step"),
    _m("abar_{t-1} at t = 1 wraps round to abar_T", "ddpm_step", _DDPM_PREV, "alpha_bars[t - 2]",
       "test_ddpm_step"),
    _m("the noise scaled by the variance, not the standard deviation", "ddpm_step", "math.sqrt(variance) * noise",
       "variance * noise", "test_ddpm_step"),
    _m("the posterior's factors of x_0 and x_t swapped", "ddpm_step", _DDPM_MEAN,
       "mean = (math.sqrt(abar_prev) * beta * x_t + math.sqrt(1 - beta) * (1 - abar_prev) * x0_hat) / (1 - abar)",
       "test_ddpm_step"),
    Mutant("dgmlib's DDPM.ddpm_step instead of the student's", "ddpm_step", (), "test_ddpm_step", _cell("""
        def ddpm_step(x_t, t, eps, noise, betas):
            from dgmlib.models.diffusion import DDPM, DDPMConfig
            model = DDPM((x_t.shape[1],), torch.nn.Identity(), DDPMConfig(timesteps=len(betas), levels=None))
            return model.ddpm_step(x_t, torch.full((len(x_t),), t), eps, noise).to(x_t.dtype)
        """)),
    _alt("Ho et al.'s Algorithm 2: (x_t - b_t / sqrt(1 - abar_t) eps) / sqrt(1 - b_t) + sqrt(bt_t) z", "ddpm_step", """
        def ddpm_step(x_t, t, eps, noise, betas):
            abar = torch.cumprod(1 - betas, dim=0)
            beta, abar_t = betas[t - 1].item(), abar[t - 1].item()
            abar_prev = abar[t - 2].item() if t >= 2 else 1.0
            sigma2 = (1 - abar_prev) / (1 - abar_t) * beta
            return (x_t - beta / math.sqrt(1 - abar_t) * eps) / math.sqrt(1 - beta) + math.sqrt(sigma2) * noise
        """),
    _alt("helpers for Parts 1 and 2, indexed with 0-dim tensors", "ddpm_step", """
        def schedule_tables(betas):
            \"\"\"c_t, v_t (Part 1) and the posterior's a_t, b_t, bt_t (Part 2), each (T,).\"\"\"
            abar = torch.cumprod(1 - betas, dim=0)
            abar_prev = torch.cat([torch.ones(1, dtype=abar.dtype), abar[:-1]])
            return (abar.sqrt(), 1 - abar, abar_prev.sqrt() * betas / (1 - abar),
                    (1 - betas).sqrt() * (1 - abar_prev) / (1 - abar), betas * (1 - abar_prev) / (1 - abar))


        def ddpm_step(x_t, t, eps, noise, betas):
            mean_coef, variance, coef_x0, coef_xt, post_var = schedule_tables(betas)
            x0_hat = (x_t - variance[t - 1].sqrt() * eps) / mean_coef[t - 1]
            return coef_x0[t - 1] * x0_hat + coef_xt[t - 1] * x_t + post_var[t - 1].sqrt() * noise
        """),
    _alt("Bayes' rule in precision form, t = 1 returns x0_hat", "ddpm_step", """
        def ddpm_step(x_t, t, eps, noise, betas):
            b = betas.tolist()
            abar_prev = math.prod(1 - s for s in b[:t - 1])
            beta = b[t - 1]
            abar = abar_prev * (1 - beta)
            x0_hat = (x_t - (1 - abar) ** 0.5 * eps) / abar ** 0.5
            if t == 1:
                return x0_hat
            precision = 1 / (1 - abar_prev) + (1 - beta) / beta
            mean = (abar_prev ** 0.5 / (1 - abar_prev) * x0_hat + (1 - beta) ** 0.5 / beta * x_t) / precision
            return mean + noise / precision ** 0.5
        """),
    # Part 5: one DDIM step
    _m("sigma from b_t, not from the posterior's variance", "ddim_step", _DDIM_SIGMA,
       "sigma = eta * math.sqrt(betas[t - 1].item())", "test_ddim_step"),
    _m("sigma from one step's posterior variance bt_t, whatever the jump", "ddim_step", _DDIM_SIGMA,
       "sigma = eta * math.sqrt((1 - alpha_bars[t - 1]) / (1 - abar) * betas[t - 1].item())", "test_ddim_step"),
    _m("k = sqrt(v_t'), sigma^2 not taken out", "ddim_step", _DDIM_K, "k = math.sqrt(1 - abar_prev)",
       "test_ddim_step"),
    Mutant("abar indexed from 0 without abar_0 = 1 (t' = 0 wraps round to abar_T)", "ddim_step",
           (("alpha_bars = [1.0] + torch.cumprod(1 - betas, dim=0).tolist()",
             "alpha_bars = torch.cumprod(1 - betas, dim=0).tolist()"),
            ("abar, abar_prev = alpha_bars[t], alpha_bars[t_prev]",
             "abar, abar_prev = alpha_bars[t - 1], alpha_bars[t_prev - 1]")), "test_ddim_step"),
    _m("eta ignored: always the full posterior noise", "ddim_step", "sigma = eta * math.sqrt(", "sigma = math.sqrt(",
       "test_ddim_step"),
    _m("the fresh noise scaled by sigma^2", "ddim_step", "+ sigma * noise", "+ sigma ** 2 * noise", "test_ddim_step"),
    _m("x0_hat divided by abar, not sqrt(abar)", "ddim_step", ") / math.sqrt(abar)", ") / abar", "test_ddim_step"),
    _alt("Part 1's c and v from a helper, padded for t = 0, the jump's posterior in precision form", "ddim_step", """
        def marginals(betas):
            log_abar = torch.cumsum(torch.log1p(-betas), dim=0)
            return torch.exp(log_abar / 2), -torch.expm1(log_abar)


        def ddim_step(x_t, t, t_prev, eps, eta, noise, betas):
            c, v = marginals(betas)
            c = torch.cat([torch.ones(1, dtype=c.dtype), c])
            v = torch.cat([torch.zeros(1, dtype=v.dtype), v])
            x0_hat = (x_t - v[t].sqrt() * eps) / c[t]
            if t_prev == 0:
                sigma2 = 0.0
            else:
                r = (c[t] / c[t_prev]) ** 2  # q(x_t | x_t') = N(sqrt(r) x_t', 1 - r)
                sigma2 = eta ** 2 / (1 / v[t_prev] + r / (1 - r))
            k = torch.sqrt(torch.clamp(v[t_prev] - sigma2, min=0.0))
            return c[t_prev] * x0_hat + k * eps + math.sqrt(float(sigma2)) * noise
        """),
    _alt("the posterior mean form: the noise implied by x_t and x0_hat, then fresh noise", "ddim_step", """
        def ddim_step(x_t, t, t_prev, eps, eta, noise, betas):
            abar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, dim=0)])
            a_t, a_p = abar[t].item(), abar[t_prev].item()
            x0_hat = (x_t - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
            sigma = eta * ((1 - a_p) * (1 - a_t / a_p) / (1 - a_t)) ** 0.5
            direction = (x_t - a_t ** 0.5 * x0_hat) / (1 - a_t) ** 0.5  # = eps, recomputed
            return a_p ** 0.5 * x0_hat + max(1 - a_p - sigma * sigma, 0.0) ** 0.5 * direction + sigma * noise
        """),
    _alt("numpy", "ddim_step", """
        def ddim_step(x_t, t, t_prev, eps, eta, noise, betas):
            import numpy as np
            abar = np.concatenate([[1.0], np.cumprod(1 - betas.numpy())])
            a, ap = abar[t], abar[t_prev]
            x, e, z = x_t.double().numpy(), eps.double().numpy(), noise.double().numpy()
            x0 = (x - np.sqrt(1 - a) * e) / np.sqrt(a)
            var = (1 - ap) / (1 - a) * (1 - a / ap)
            out = np.sqrt(ap) * x0 + np.sqrt(np.maximum(1 - ap - eta ** 2 * var, 0)) * e + eta * np.sqrt(var) * z
            return torch.from_numpy(out).to(x_t.dtype)
        """),
    # Part 6: the training step
    _m("t drawn from 0..T-1", "train_step", _TS_T,
       "t = torch.randint(0, steps, (batch_size,), generator=generator)", "test_train_step"),
    _m("one step t for the whole batch", "train_step", _TS_T,
       "t = torch.randint(1, steps + 1, (1,), generator=generator).expand(batch_size)", "test_train_step"),
    _m("no zero_grad: the gradients add up over the steps", "train_step", "    optimizer.zero_grad()\n", "",
       "test_train_step"),
    _m("no optimizer step", "train_step", "    optimizer.step()\n", "", "test_train_step"),
    _m("uniform noise (torch.rand)", "train_step", "noise = torch.randn(", "noise = torch.rand(", "test_train_step"),
    _m("the loss summed over the batch", "train_step", _TS_LOSS, "loss = (noise - network(x_t, t)).square().sum()",
       "test_train_step"),
    _m("the loss returned after the update", "train_step", "return loss.item()",
       "return (noise - network(x_t, t)).square().mean().item()", "test_train_step"),
    _m("the network given x_0 instead of x_t", "train_step", _TS_LOSS,
       "loss = (noise - network(x0, t)).square().mean()", "test_train_step"),
    Mutant("dgmlib's DDPM.loss instead of the student's", "train_step", (), "test_train_step", _cell("""
        def train_step(network, optimizer, x0, betas, generator):
            from dgmlib.models.diffusion import DDPM, DDPMConfig
            model = DDPM((x0.shape[1],), network, DDPMConfig(timesteps=len(betas), levels=None))
            loss = model.loss(x0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss.item()
        """)),
    _alt("Part 3's loss as a helper, the noise drawn first, float(loss) (a UserWarning on stderr)", "train_step", """
        def noise_loss(network, x0, t, noise, betas):
            abar = torch.cumprod(1 - betas, dim=0)[t - 1].to(x0.dtype).unsqueeze(-1)
            return ((network(abar.sqrt() * x0 + (1 - abar).sqrt() * noise, t) - noise) ** 2).mean()


        def train_step(network, optimizer, x0, betas, generator):
            noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
            t = torch.randint(len(betas), (x0.shape[0],), generator=generator) + 1
            loss = noise_loss(network, x0, t, noise, betas)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return float(loss)
        """),
    _alt("t by torch.multinomial, F.mse_loss, gradients zeroed in place", "train_step", """
        def train_step(network, optimizer, x0, betas, generator):
            import torch.nn.functional as F
            T = betas.shape[0]
            t = torch.multinomial(torch.ones(T), x0.shape[0], replacement=True, generator=generator) + 1
            eps = torch.randn(x0.shape, generator=generator).to(x0.dtype)
            abar = torch.cumprod(1 - betas, 0).to(x0.dtype)
            a = abar[t - 1].view(-1, 1)
            loss = F.mse_loss(network(a.sqrt() * x0 + (1 - a).sqrt() * eps, t), eps)
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            optimizer.step()
            return loss.detach().item()
        """),
]
