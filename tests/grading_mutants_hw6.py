"""Plausible wrong answers and differently written correct answers for hw6_ebm (week 7, energy-based models).

Merged into ``grading_mutants.MUTANTS["hw6_ebm"]`` at the end of tests/grading_mutants.py; the format is the one of
that file: ``_m`` substitutes text in the reference answer (each ``old`` occurs once in that cell) and must lose points
on ``loses``; ``Mutant`` with several substitutions does the same for a mistake that spans lines; ``_alt`` replaces the
whole answer cell and must keep full marks.
"""
from __future__ import annotations

import textwrap

from grading_mutants import Mutant, _alt, _m

_LS_RETURN = "return (x - step_size * grad + math.sqrt(2 * step_size) * noise).detach()"
_LS_GRAD = "(grad,) = torch.autograd.grad(energy(x).sum(), x)"
_UV_VAR = "var = 2 * step_size / (1 - a ** 2)"
_UV_RETURN = "return torch.where(a.abs() < 1, var, torch.full_like(var, math.inf))"
_CD_RETURN = "return energy(x_data).mean() - energy(x_model.detach()).mean()"
_DSM_TARGET = "target = -noise / sigma"
_DSM_RETURN = "return 0.5 * (score(x_noisy) - target).flatten(start_dim=1).pow(2).sum(dim=1).mean()"
_NCE_LOGIT_D = "logit_data = log_model_data - log_noise_data - math.log(nu)"
_NCE_LOGIT_N = "logit_noise = log_model_noise - log_noise_noise - math.log(nu)"
_NCE_LL = "log_likelihood = F.logsigmoid(logit_data).sum() + F.logsigmoid(-logit_noise).sum()"
_NCE_RETURN = "return -log_likelihood / log_model_data.shape[0]"
_TS_GRAD = "(grad_energy,) = torch.autograd.grad(energy(x_noisy).sum(), x_noisy, create_graph=True)"
_TS_LOSS = "loss = 0.5 * (score + noise / sigma).pow(2).sum(dim=1).mean()"

HW6_MUTANTS: list[Mutant] = [
    # Part 1: one Langevin step
    _m("the drift up the energy (the sign of the gradient)", "langevin_step", _LS_RETURN,
       "return (x + step_size * grad + math.sqrt(2 * step_size) * noise).detach()", "test_langevin_step"),
    _m("noise sqrt(eps) instead of sqrt(2 eps)", "langevin_step", _LS_RETURN,
       "return (x - step_size * grad + math.sqrt(step_size) * noise).detach()", "test_langevin_step"),
    _m("noise 2 eps (the variance for the standard deviation)", "langevin_step", _LS_RETURN,
       "return (x - step_size * grad + 2 * step_size * noise).detach()", "test_langevin_step"),
    _m("the drift eps / 2 (the 'sqrt(eps)-noise' convention mixed with sqrt(2 eps))", "langevin_step", _LS_RETURN,
       "return (x - step_size / 2 * grad + math.sqrt(2 * step_size) * noise).detach()", "test_langevin_step"),
    _m("not detached: the states keep their graph", "langevin_step", _LS_RETURN,
       "return x - step_size * grad + math.sqrt(2 * step_size) * noise", "test_langevin_step"),
    Mutant("backward instead of autograd.grad (fills the parameters' .grad)", "langevin_step",
           ((_LS_GRAD, "energy(x).sum().backward()\n        grad = x.grad"),), "test_langevin_step"),
    _m("no enable_grad (fails under torch.no_grad())", "langevin_step",
       "with torch.enable_grad():  # the sampler may be called under no_grad", "if True:", "test_langevin_step"),
    _m("fresh noise instead of the given noise", "langevin_step", _LS_RETURN,
       "return (x - step_size * grad + math.sqrt(2 * step_size) * torch.randn_like(noise)).detach()",
       "test_langevin_step"),
    _m("dgmlib's energy_and_grad for the gradient", "langevin_step", _LS_GRAD,
       "from dgmlib.samplers.langevin import energy_and_grad\n        _, grad = energy_and_grad(energy, x)",
       "test_langevin_step"),
    _alt("torch.func.grad of the summed energy, the noise term with torch.addcmul", "langevin_step", """
        def langevin_step(energy, x, step_size, noise):
            x0 = x.detach()
            grad = torch.func.grad(lambda u: energy(u).sum())(x0).detach()
            return torch.addcmul(x0 - step_size * grad, noise, torch.tensor((2 * step_size) ** 0.5, dtype=x0.dtype))
        """),
    _alt("grad_outputs of ones, a clone that requires grad, the drift as the score", "langevin_step", """
        def langevin_step(energy, x, step_size, noise):
            with torch.set_grad_enabled(True):
                state = x.detach().clone().requires_grad_()
                e = energy(state)
                score = -torch.autograd.grad(e, state, grad_outputs=torch.ones_like(e))[0]
            with torch.no_grad():
                return state + step_size * score + (2 * step_size) ** 0.5 * noise
        """),
    # Part 2: ULA's stationary variance on a Gaussian
    _m("no stability check (negative variances for eps > 2 s^2)", "ula_stationary_variance", _UV_RETURN,
       "return var", "test_ula_stationary_variance"),
    _m("the factor 2 lost: s^2 / (1 - eps / s^2)", "ula_stationary_variance", _UV_VAR,
       "var = s2 / (1 - step_size / s2)", "test_ula_stationary_variance"),
    _m("first order only: s^2 + eps / 2", "ula_stationary_variance", _UV_VAR,
       "var = s2 + step_size / 2", "test_ula_stationary_variance"),
    _m("the unbiased s^2", "ula_stationary_variance", _UV_VAR, "var = s2 + 0 * step_size",
       "test_ula_stationary_variance"),
    _m("the noise variance eps instead of 2 eps", "ula_stationary_variance", _UV_VAR,
       "var = step_size / (1 - a ** 2)", "test_ula_stationary_variance"),
    _m("stable only for eps < s^2 (a > 0 assumed)", "ula_stationary_variance", _UV_RETURN,
       "return torch.where((a > 0) & (a < 1), var, torch.full_like(var, math.inf))", "test_ula_stationary_variance"),
    _m("the standard deviation, not the variance", "ula_stationary_variance", _UV_RETURN,
       "return torch.where(a.abs() < 1, var.sqrt(), torch.full_like(var, math.inf))", "test_ula_stationary_variance"),
    _alt("s^2 / (1 - eps / (2 s^2)) where eps < 2 s^2", "ula_stationary_variance", """
        def ula_stationary_variance(s2, step_size):
            s2, step_size = torch.broadcast_tensors(torch.as_tensor(s2, dtype=torch.float64),
                                                    torch.as_tensor(step_size, dtype=torch.float64))
            out = torch.full_like(s2, float("inf"))
            ok = step_size < 2 * s2
            out[ok] = s2[ok] / (1 - step_size[ok] / (2 * s2[ok]))
            return out
        """),
    _alt("the geometric series summed in Python floats, one element at a time", "ula_stationary_variance", """
        def ula_stationary_variance(s2, step_size):
            s2, step_size = torch.broadcast_tensors(s2, step_size)
            values = []
            for v, e in zip(s2.reshape(-1).tolist(), step_size.reshape(-1).tolist()):
                rho = (1 - e / v) ** 2          # the variance shrinks by rho per step, and 2 e is added
                values.append(2 * e / (1 - rho) if rho < 1 else math.inf)
            return torch.tensor(values, dtype=torch.float64).reshape(s2.shape)
        """),
    # Part 3: the contrastive-divergence loss
    _m("the samples not detached (gradient through the sampler)", "contrastive_divergence_loss", _CD_RETURN,
       "return energy(x_data).mean() - energy(x_model).mean()", "test_contrastive_divergence_loss"),
    _m("the sign swapped (model minus data)", "contrastive_divergence_loss", _CD_RETURN,
       "return energy(x_model.detach()).mean() - energy(x_data).mean()", "test_contrastive_divergence_loss"),
    _m("the model's energies under no_grad (the model term lost)", "contrastive_divergence_loss", _CD_RETURN,
       "with torch.no_grad():\n        e_model = energy(x_model).mean()\n    return energy(x_data).mean() - e_model",
       "test_contrastive_divergence_loss"),
    _m("sums over the batches instead of means", "contrastive_divergence_loss", _CD_RETURN,
       "return energy(x_data).sum() - energy(x_model.detach()).sum()", "test_contrastive_divergence_loss"),
    _m("the mean of per-pair differences (needs N = M)", "contrastive_divergence_loss", _CD_RETURN,
       "return (energy(x_data) - energy(x_model.detach())).mean()", "test_contrastive_divergence_loss"),
    _m("Du & Mordatch's energy penalty added (another gradient)", "contrastive_divergence_loss", _CD_RETURN,
       "e_data, e_model = energy(x_data), energy(x_model.detach())\n"
       "    return e_data.mean() - e_model.mean() + 0.1 * (e_data ** 2 + e_model ** 2).mean()",
       "test_contrastive_divergence_loss"),
    _m("detached the data instead of the samples", "contrastive_divergence_loss", _CD_RETURN,
       "return energy(x_data.detach()).mean() - energy(x_model).mean()", "test_contrastive_divergence_loss"),
    _alt("one forward pass over data and samples, split", "contrastive_divergence_loss", """
        def contrastive_divergence_loss(energy, x_data, x_model):
            n = x_data.shape[0]
            e = energy(torch.cat([x_data, x_model.detach()], dim=0))
            return e[:n].mean() - e[n:].mean()
        """),
    _alt("a loop over the samples, copied under no_grad; a constant added to the value",
         "contrastive_divergence_loss", """
        def contrastive_divergence_loss(energy, x_data, x_model):
            with torch.no_grad():
                fixed = [x_model[i].clone() for i in range(len(x_model))]
            model_term = sum(energy(s[None])[0] for s in fixed) / len(fixed)
            return energy(x_data).mean() - model_term + 10.0   # the value is not graded, only the gradient
        """),
    # Part 4: denoising score matching. The alternatives come first: _pack puts the first entries of every
    # cell into the same students, and Part 6's first alternative calls the student's dsm_loss, which must
    # then be a correct one
    _alt("the target from x_tilde - x, F.mse_loss with a sum, a loop-free reshape", "dsm_loss", """
        def dsm_loss(score, x, noise, sigma):
            x_tilde = x + sigma * noise
            target = -(x_tilde - x) / sigma ** 2
            return 0.5 * F.mse_loss(score(x_tilde), target, reduction="sum") / x.shape[0]
        """),
    _alt("one example at a time, the norm with torch.linalg.vector_norm", "dsm_loss", """
        def dsm_loss(score, x, noise, sigma):
            s = score(x + sigma * noise)
            terms = [0.5 * torch.linalg.vector_norm(s[b] + noise[b] / sigma) ** 2 for b in range(x.shape[0])]
            return torch.stack(terms).mean()
        """),
    _m("the target's sign (+noise / sigma)", "dsm_loss", _DSM_TARGET, "target = noise / sigma", "test_dsm_loss"),
    _m("the target divided by sigma^2 in noise units (-noise / sigma^2)", "dsm_loss", _DSM_TARGET,
       "target = -noise / sigma ** 2", "test_dsm_loss"),
    _m("the score at the clean data", "dsm_loss", _DSM_RETURN,
       "return 0.5 * (score(x) - target).flatten(start_dim=1).pow(2).sum(dim=1).mean()", "test_dsm_loss"),
    _m("the mean over the dimensions instead of the sum", "dsm_loss", _DSM_RETURN,
       "return 0.5 * (score(x_noisy) - target).flatten(start_dim=1).pow(2).mean(dim=1).mean()", "test_dsm_loss"),
    _m("the 1/2 forgotten", "dsm_loss", _DSM_RETURN,
       "return (score(x_noisy) - target).flatten(start_dim=1).pow(2).sum(dim=1).mean()", "test_dsm_loss"),
    _m("summed over the last dimension only (images)", "dsm_loss", _DSM_RETURN,
       "return 0.5 * (score(x_noisy) - target).pow(2).sum(dim=-1).mean()", "test_dsm_loss"),
    _m("fresh noise instead of the given noise", "dsm_loss", "x_noisy = x + sigma * noise",
       "noise = torch.randn_like(x)\n    x_noisy = x + sigma * noise", "test_dsm_loss"),
    # Part 5: noise-contrastive estimation
    _m("log nu missing from the logit", "noise_contrastive_loss", _NCE_LOGIT_D,
       "logit_data = log_model_data - log_noise_data", "test_noise_contrastive_loss"),
    Mutant("+ log nu in the logit", "noise_contrastive_loss",
           ((_NCE_LOGIT_D, "logit_data = log_model_data - log_noise_data + math.log(nu)"),
            (_NCE_LOGIT_N, "logit_noise = log_model_noise - log_noise_noise + math.log(nu)")),
           "test_noise_contrastive_loss"),
    _m("labels swapped", "noise_contrastive_loss", _NCE_LL,
       "log_likelihood = F.logsigmoid(-logit_data).sum() + F.logsigmoid(logit_noise).sum()",
       "test_noise_contrastive_loss"),
    _m("log of sigmoid (inf for logits beyond about +-90 in float32)", "noise_contrastive_loss", _NCE_LL,
       "log_likelihood = (torch.log(torch.sigmoid(logit_data)).sum()\n"
       "                      + torch.log(1 - torch.sigmoid(logit_noise)).sum())", "test_noise_contrastive_loss"),
    _m("divided by N + M (the mean over the pool)", "noise_contrastive_loss", _NCE_RETURN,
       "return -log_likelihood / (log_model_data.shape[0] + log_model_noise.shape[0])", "test_noise_contrastive_loss"),
    _m("a mean over the data plus a mean over the noise (the noise term weighted 1/nu)", "noise_contrastive_loss",
       _NCE_RETURN, "return -(F.logsigmoid(logit_data).mean() + F.logsigmoid(-logit_noise).mean())",
       "test_noise_contrastive_loss"),
    _alt("binary cross-entropy with logits and labels", "noise_contrastive_loss", """
        def noise_contrastive_loss(log_model_data, log_noise_data, log_model_noise, log_noise_noise, nu):
            logits = torch.cat([log_model_data - log_noise_data, log_model_noise - log_noise_noise]) - math.log(nu)
            labels = torch.cat([torch.ones_like(log_model_data), torch.zeros_like(log_model_noise)])
            total = F.binary_cross_entropy_with_logits(logits, labels, reduction="sum")
            return total / len(log_model_data)
        """),
    _alt("log-posteriors by logaddexp of the log-densities, nu from the sizes", "noise_contrastive_loss", """
        def noise_contrastive_loss(log_model_data, log_noise_data, log_model_noise, log_noise_noise, nu):
            log_nu = math.log(len(log_model_noise) / len(log_model_data))   # nu = M / N
            log_p_data = log_model_data - torch.logaddexp(log_model_data, log_noise_data + log_nu)
            log_p_noise = log_noise_noise + log_nu - torch.logaddexp(log_model_noise, log_noise_noise + log_nu)
            return -(log_p_data.sum() + log_p_noise.sum()) / len(log_model_data)
        """),
    # Part 6: a training step of denoising score matching on an energy (the alternative that calls Part 4 first)
    _alt("the student's dsm_loss of Part 4 with the energy's score", "dsm_train_step", """
        def dsm_train_step(energy, optimizer, x, noise, sigma):
            def score(u):
                u = u.detach().requires_grad_(True)
                return -torch.autograd.grad(energy(u).sum(), u, create_graph=True)[0]

            optimizer.zero_grad()
            loss = dsm_loss(score, x, noise, sigma)
            loss.backward()
            optimizer.step()
            return float(loss)
        """),
    _m("the score as +grad E", "dsm_train_step", "score = -grad_energy", "score = grad_energy", "test_dsm_train_step"),
    _m("the target divided by sigma^2 in noise units", "dsm_train_step", _TS_LOSS,
       "loss = 0.5 * (score + noise / sigma ** 2).pow(2).sum(dim=1).mean()", "test_dsm_train_step"),
    _m("the gradient never reset", "dsm_train_step", "    optimizer.zero_grad()\n", "", "test_dsm_train_step"),
    _m("create_graph forgotten (the loss has no gradient in theta)", "dsm_train_step", _TS_GRAD,
       "(grad_energy,) = torch.autograd.grad(energy(x_noisy).sum(), x_noisy)", "test_dsm_train_step"),
    _m("the score at the clean data", "dsm_train_step", "x_noisy = (x + sigma * noise).detach().requires_grad_(True)",
       "x_noisy = x.detach().requires_grad_(True)", "test_dsm_train_step"),
    _m("the loss after the update returned", "dsm_train_step", "    return loss.item()",
       "    with torch.enable_grad():\n"
       "        x_after = (x + sigma * noise).requires_grad_(True)\n"
       "        g_after = torch.autograd.grad(energy(x_after).sum(), x_after)[0]\n"
       "    return 0.5 * (noise / sigma - g_after).pow(2).sum(dim=1).mean().item()", "test_dsm_train_step"),
    _alt("torch.func for the score, gradients set to None", "dsm_train_step", """
        def dsm_train_step(energy, optimizer, x, noise, sigma):
            optimizer.zero_grad(set_to_none=True)
            x_tilde = x + sigma * noise
            grad_e = torch.func.grad(lambda u: energy(u).sum())(x_tilde)   # differentiable in the parameters
            loss = ((grad_e - noise / sigma) ** 2).sum(dim=1).mean() / 2
            value = loss.item()
            loss.backward()
            optimizer.step()
            return value
        """),
    # correct numbers, but the course's reference code instead of the student's own (check_own_work)
    Mutant("dgmlib's nce_loss instead of the student's", "noise_contrastive_loss", (), "test_noise_contrastive_loss",
           textwrap.dedent("""
        def noise_contrastive_loss(log_model_data, log_noise_data, log_model_noise, log_noise_noise, nu):
            from dgmlib.models.energy import nce_loss
            n = len(log_model_data)
            table = torch.cat([log_model_data, log_model_noise]), torch.cat([log_noise_data, log_noise_noise])
            index = torch.arange(n + len(log_model_noise))
            return nce_loss(lambda i: table[0][i], lambda i: table[1][i], index[:n], index[n:])
        """).strip() + "\n"),
]
