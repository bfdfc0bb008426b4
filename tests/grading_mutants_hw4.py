"""Plausible wrong answers and differently written correct answers for hw4_gans (week 5, generative adversarial networks).

Merged into ``grading_mutants.MUTANTS["hw4_gans"]`` at the end of tests/grading_mutants.py; the format is the one of
that file: ``_m`` substitutes text in the reference answer (each ``old`` occurs once in that cell) and must lose points
on ``loses``; ``Mutant`` with several substitutions does the same for a mistake that spans lines; ``_alt`` replaces the
whole answer cell and must keep full marks.
"""
from __future__ import annotations

import textwrap

from grading_mutants import Mutant, _alt, _m

_OD_RETURN = "return log_d.exp(), torch.trapezoid(integrand, grid)"
_OD_LOG_1MD = "log_1md = torch.where(neither, half, log_q - log_sum)"
_GL_MM = "minimax = -F.softplus(fake_logits).mean()"
_GL_NS = "non_saturating = F.softplus(-fake_logits).mean()"
_GG_RETURN = "return -torch.sigmoid(fake_logits), -torch.sigmoid(-fake_logits)"
_GP_NORMS = "norms = grad.flatten(start_dim=1).norm(dim=1)"
_GP_GRAD = "(grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)"
_GP_EPS = "eps = epsilon.reshape(-1, *([1] * (real.dim() - 1)))"
_TS_LOSS_D = "loss_D = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()"
_TS_LOSS_G = "loss_G = F.softplus(-D(fake)).mean()"

HW4_MUTANTS: list[Mutant] = [
    # Part 1: the optimal discriminator and the value of the game
    _m("D* as the densities' ratio in probability space (0 / 0 far in the tails)", "optimal_discriminator",
       _OD_RETURN, "p, q = log_p.exp(), log_q.exp()\n"
       "    return torch.where(neither, 0.5, p / (p + q)), torch.trapezoid(integrand, grid)",
       "test_optimal_discriminator"),
    _m("D* the probability of fake, not of real", "optimal_discriminator", _OD_RETURN,
       "return log_1md.exp(), torch.trapezoid(integrand, grid)", "test_optimal_discriminator"),
    _m("log(1 - D*) from D* (-inf where D* rounds to 1)", "optimal_discriminator", _OD_LOG_1MD,
       "log_1md = torch.log1p(-log_d.exp())", "test_optimal_discriminator"),
    _m("0 log 0 not handled (nan on disjoint supports)", "optimal_discriminator",
       "integrand = (torch.where(torch.isneginf(log_p), 0.0, log_p.exp() * log_d)\n"
       "                 + torch.where(torch.isneginf(log_q), 0.0, log_q.exp() * log_1md))",
       "integrand = log_p.exp() * log_d + log_q.exp() * log_1md", "test_optimal_discriminator"),
    _m("the integral as a plain mean over the grid (no dx)", "optimal_discriminator", _OD_RETURN,
       "return log_d.exp(), integrand.mean()", "test_optimal_discriminator"),
    _m("returns the divergence, not the value (the constant left out)", "optimal_discriminator", _OD_RETURN,
       "return log_d.exp(), torch.trapezoid(integrand, grid) + math.log(4)", "test_optimal_discriminator"),
    _alt("log-sigmoid of the log-ratio, zero terms masked by the densities", "optimal_discriminator", """
        def optimal_discriminator(log_p_data, log_p_g, grid):
            lp, lq = log_p_data(grid), log_p_g(grid)
            r = lp - lq                                    # nan where both are -inf
            both = torch.isnan(r)
            d = torch.where(both, torch.full_like(r, 0.5), torch.sigmoid(r))
            p, q = lp.exp(), lq.exp()
            term_p = torch.where(p > 0, p * F.logsigmoid(r), torch.zeros_like(p))
            term_q = torch.where(q > 0, q * F.logsigmoid(-r), torch.zeros_like(q))
            return d, torch.trapezoid(term_p + term_q, grid)
        """),
    _alt("two KL divergences to the mixture, the trapezoidal rule by hand", "optimal_discriminator", """
        def optimal_discriminator(log_p_data, log_p_g, grid):
            lp, lq = log_p_data(grid), log_p_g(grid)
            lm = torch.logaddexp(lp, lq) - math.log(2)      # log of the mixture m = (p + q) / 2
            d = torch.where(torch.isneginf(lm), torch.full_like(lm, 0.5), torch.exp(lp - lm) / 2)

            def kl_integrand(l):                             # l e^l - l e^l log m: the integrand of KL(. || m)
                return torch.where(torch.isneginf(l), torch.zeros_like(l), l.exp() * (l - lm))

            f = kl_integrand(lp) + kl_integrand(lq)
            dx = grid[1] - grid[0]
            return d, dx * (f[1:] + f[:-1]).sum() / 2 - math.log(4)
        """),
    # Part 2: the generator's two losses
    _m("log(1 - sigmoid(l)) (-inf for large logits)", "generator_losses", _GL_MM,
       "minimax = torch.log(1 - torch.sigmoid(fake_logits)).mean()", "test_generator_losses"),
    _m("log(sigmoid(l)) (inf for very negative float32 logits)", "generator_losses", _GL_NS,
       "non_saturating = -torch.log(torch.sigmoid(fake_logits)).mean()", "test_generator_losses"),
    Mutant("D clamped to [1e-7, 1 - 1e-7] before the logs", "generator_losses",
           ((_GL_MM, "D = torch.sigmoid(fake_logits).clamp(1e-7, 1 - 1e-7)\n"
                     "    minimax = torch.log(1 - D).mean()"),
            (_GL_NS, "non_saturating = -torch.log(D).mean()")), "test_generator_losses"),
    _m("minimax with the discriminator's sign, -log(1 - D)", "generator_losses", _GL_MM,
       "minimax = F.softplus(fake_logits).mean()", "test_generator_losses"),
    _m("summed over the batch", "generator_losses", _GL_NS, "non_saturating = F.softplus(-fake_logits).sum()",
       "test_generator_losses"),
    _m("the two losses swapped", "generator_losses", "return minimax, non_saturating",
       "return -non_saturating, -minimax", "test_generator_losses"),
    _alt("binary cross-entropy with logits and labels", "generator_losses", """
        def generator_losses(fake_logits):
            ones = torch.ones_like(fake_logits)
            non_saturating = F.binary_cross_entropy_with_logits(fake_logits, ones)        # -log D
            minimax = -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # log(1 - D)
            return minimax, non_saturating
        """),
    _alt("logaddexp written out, one example at a time", "generator_losses", """
        def generator_losses(fake_logits):
            mm, ns = [], []
            zero = torch.zeros((), dtype=fake_logits.dtype)
            for l in fake_logits.reshape(-1):
                mm.append(-torch.logaddexp(zero, l))          # log(1 - D) = -log(1 + e^l)
                ns.append(torch.logaddexp(zero, -l))          # -log D = log(1 + e^-l)
            return torch.stack(mm).mean(), torch.stack(ns).mean()
        """),
    # Part 3: the derivatives with respect to the logit
    _m("derivatives with respect to D, not to the logit", "generator_loss_gradients", _GG_RETURN,
       "D = torch.sigmoid(fake_logits)\n    return -1 / (1 - D), -1 / D", "test_generator_loss_gradients"),
    _m("the two swapped", "generator_loss_gradients", _GG_RETURN,
       "return -torch.sigmoid(-fake_logits), -torch.sigmoid(fake_logits)", "test_generator_loss_gradients"),
    _m("derivatives of the batch mean", "generator_loss_gradients", _GG_RETURN,
       "B = fake_logits.shape[0]\n    return -torch.sigmoid(fake_logits) / B, -torch.sigmoid(-fake_logits) / B",
       "test_generator_loss_gradients"),
    _m("magnitudes, not signed derivatives", "generator_loss_gradients", _GG_RETURN,
       "return torch.sigmoid(fake_logits), torch.sigmoid(-fake_logits)", "test_generator_loss_gradients"),
    _m("autograd through log(sigmoid) (nan at large logits)", "generator_loss_gradients", _GG_RETURN,
       "l = fake_logits.detach().clone().requires_grad_(True)\n"
       "    mm = torch.autograd.grad(torch.log(1 - torch.sigmoid(l)).sum(), l)[0]\n"
       "    ns = torch.autograd.grad(-torch.log(torch.sigmoid(l)).sum(), l)[0]\n"
       "    return mm, ns", "test_generator_loss_gradients"),
    # torch warns "To copy construct from a tensor..." on stderr: a warning must not cost points
    _m("a harmless torch UserWarning", "generator_loss_gradients", _GG_RETURN,
       "fake_logits = torch.tensor(fake_logits)\n    " + _GG_RETURN, None),
    _alt("autograd through stable per-example losses", "generator_loss_gradients", """
        def generator_loss_gradients(fake_logits):
            l = fake_logits.detach().clone().requires_grad_(True)
            grad_mm = torch.autograd.grad((-F.softplus(l)).sum(), l)[0]
            grad_ns = torch.autograd.grad(F.softplus(-l).sum(), l)[0]
            return grad_mm, grad_ns
        """),
    _alt("the closed forms with exp", "generator_loss_gradients", """
        def generator_loss_gradients(fake_logits):
            # -D = -1 / (1 + e^-l) and -(1 - D) = -1 / (1 + e^l); exp overflowing to inf gives the right limit, 0
            return -1 / (1 + torch.exp(-fake_logits)), -1 / (1 + torch.exp(fake_logits))
        """),
    # Part 4: the gradient penalty
    _m("one norm over the whole batch", "gradient_penalty", _GP_NORMS, "norms = grad.norm()", "test_gradient_penalty"),
    _m("the norm over dim 1 only (channels, for images)", "gradient_penalty", _GP_NORMS, "norms = grad.norm(dim=1)",
       "test_gradient_penalty"),
    _m("create_graph forgotten (the critic is not trained through it)", "gradient_penalty", _GP_GRAD,
       "(grad,) = torch.autograd.grad(scores.sum(), x_hat)", "test_gradient_penalty"),
    _m("epsilon weights the fake sample", "gradient_penalty", "(eps * real + (1 - eps) * fake)",
       "((1 - eps) * real + eps * fake)", "test_gradient_penalty"),
    _m("(mean norm - 1)^2", "gradient_penalty", "lam * ((norms - 1) ** 2).mean()", "lam * (norms.mean() - 1) ** 2",
       "test_gradient_penalty"),
    _m("backward instead of autograd.grad (fills the critic's .grad)", "gradient_penalty", _GP_GRAD,
       "scores.sum().backward(create_graph=True)\n    grad = x_hat.grad", "test_gradient_penalty"),
    _m("epsilon[:, None] (only for flat inputs)", "gradient_penalty", _GP_EPS, "eps = epsilon[:, None]",
       "test_gradient_penalty"),
    _alt("one example at a time", "gradient_penalty", """
        def gradient_penalty(critic, real, fake, epsilon, lam=10.0):
            terms = []
            for b in range(real.shape[0]):
                x = (epsilon[b] * real[b] + (1 - epsilon[b]) * fake[b].detach()).unsqueeze(0).requires_grad_(True)
                g = torch.autograd.grad(critic(x).sum(), x, create_graph=True)[0]
                terms.append((torch.sqrt((g ** 2).sum()) - 1) ** 2)
            return lam * torch.stack(terms).mean()
        """),
    _alt("grad_outputs of ones, the norm over the trailing dims", "gradient_penalty", """
        def gradient_penalty(critic, real, fake, epsilon, lam=10.0):
            shape = (real.shape[0],) + (1,) * (real.dim() - 1)
            x_hat = torch.lerp(fake.detach(), real, epsilon.view(shape))   # fake + eps (real - fake)
            x_hat.requires_grad_(True)
            out = critic(x_hat)
            g, = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True,
                                     retain_graph=True)
            dims = tuple(range(1, g.dim()))
            return (lam * (g.pow(2).sum(dim=dims).sqrt() - 1).pow(2)).mean()
        """),
    # Part 5: one training step
    _m("the generator updated with the discriminator's sign", "train_step", _TS_LOSS_G,
       "loss_G = F.softplus(D(fake)).mean()", "test_train_step"),
    _m("fakes not detached in the discriminator's step", "train_step", "D(fake.detach())", "D(fake)",
       "test_train_step"),
    Mutant("fakes not detached (graph retained), G's gradient reset once before both updates", "train_step",
           (("D(fake.detach())", "D(fake)"),
            ("opt_D.zero_grad()\n    loss_D.backward()",
             "opt_D.zero_grad()\n    opt_G.zero_grad()\n    loss_D.backward(retain_graph=True)"),
            ("opt_G.zero_grad()\n    loss_G.backward()", "loss_G.backward()")), "test_train_step"),
    _m("the minimax loss for the generator", "train_step", _TS_LOSS_G, "loss_G = -F.softplus(D(fake)).mean()",
       "test_train_step"),
    _m("fakes labelled real in the discriminator's loss", "train_step", "F.softplus(D(fake.detach()))",
       "F.softplus(-D(fake.detach()))", "test_train_step"),
    _m("the discriminator's gradient never reset", "train_step", "    opt_D.zero_grad()\n", "", "test_train_step"),
    _m("one cross-entropy over the concatenated batch (half of L_D)", "train_step", _TS_LOSS_D,
       "logits = D(torch.cat([real, fake.detach()]))\n"
       "    labels = torch.cat([torch.ones(B, 1), torch.zeros(B, 1)]).to(logits)\n"
       "    loss_D = F.binary_cross_entropy_with_logits(logits, labels)", "test_train_step"),
    _alt("cross-entropy with labels, fresh noise and a frozen D for the generator, Part 2's loss", "train_step", """
        def train_step(G, D, opt_G, opt_D, real, latent_dim):
            B = real.shape[0]
            with torch.no_grad():
                fake = G(torch.randn(B, latent_dim))
            real_logits, fake_logits = D(real), D(fake)
            loss_D = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                      + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
            opt_D.zero_grad()
            loss_D.backward()
            opt_D.step()

            D.requires_grad_(False)
            _, loss_G = generator_losses(D(G(torch.randn(B, latent_dim))))
            opt_G.zero_grad()
            loss_G.backward()
            opt_G.step()
            D.requires_grad_(True)
            return float(loss_D), float(loss_G)
        """),
    _alt("the generator first, then the discriminator", "train_step", """
        def train_step(G, D, opt_G, opt_D, real, latent_dim):
            n = len(real)
            z = torch.randn(n, latent_dim)
            opt_G.zero_grad()
            loss_G = -F.logsigmoid(D(G(z))).mean()
            loss_G.backward()
            opt_G.step()

            fake = G(z).detach()
            opt_D.zero_grad()
            loss_D = -F.logsigmoid(D(real)).mean() - F.logsigmoid(-D(fake)).mean()
            loss_D.backward()
            opt_D.step()
            return loss_D.item(), loss_G.item()
        """),
    # correct numbers, but the course's reference code instead of the student's own (check_own_work)
    Mutant("dgmlib's losses instead of the student's", "generator_losses", (), "test_generator_losses", textwrap.dedent("""
        def generator_losses(fake_logits):
            from dgmlib.models.adversarial import minimax_g_loss, non_saturating_g_loss
            return minimax_g_loss(fake_logits), non_saturating_g_loss(fake_logits)
        """).strip() + "\n"),
]
