"""Plausible wrong answers for each assignment, for tests/test_grading.py.

A mutant is the reference solution with one mistake a student really makes. It is submitted as a
student, autograded with the hidden tests, and must lose points on exactly the part it breaks
(``loses``), or on none when ``loses`` is None (a harmless difference, such as a warning).

``cell`` is the grade_id of the solution cell the substitutions apply to; each ``old`` must occur
exactly once in that cell, so a mutant cannot silently stop applying when a solution is edited.
Mutants in different cells are graded together as one student to save kernel start-ups.
A new assignment joins by adding an entry keyed by its folder name under solutions/.

Correct answers written differently (``_alt``: a whole new cell, ``loses=None``) must keep full marks:
loops instead of vectorised code, torch.distributions where valid, a Jacobian at one point. Each
autograded part has two or three, so that the hidden tests grade the result, not one way of writing it.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str                              # what the student got wrong
    cell: str                              # grade_id of the solution cell to edit
    subs: tuple[tuple[str, str], ...]      # (old, new) text substitutions in that cell
    loses: str | None                      # grade_id of the test cell that must lose points
    source: str | None = None              # the whole cell instead of subs: a differently written answer


def _alt(name: str, cell: str, source: str) -> Mutant:
    """A correct answer written differently: the whole solution cell, which must keep full marks."""
    return Mutant(name, cell, (), None, textwrap.dedent(source).strip() + "\n")


def _m(name: str, cell: str, old: str, new: str, loses: str | None) -> Mutant:
    return Mutant(name, cell, ((old, new),), loses)


_BLL = "log_p = torch.xlogy(x, theta) + torch.xlogy(1 - x, 1 - theta)"
_GLL = "log_p = -0.5 * (torch.log(2 * math.pi * var) + (x - mu) ** 2 / var)"
_KL = "kl = 0.5 * (torch.log(var_q / var_p) + (var_p + (mu_p - mu_q) ** 2) / var_q - 1)"

MUTANTS: dict[str, list[Mutant]] = {
    "hw0_probability": [
        # Part 1: Bernoulli log-likelihood
        _m("0*log(0) gives nan", "bernoulli_log_likelihood", _BLL,
           "log_p = x * torch.log(theta) + (1 - x) * torch.log(1 - theta)",
           "test_bernoulli_log_likelihood"),
        _m("log base 2 (bits, not nats)", "bernoulli_log_likelihood",
           "return log_p.sum()", "return log_p.sum() / math.log(2)", "test_bernoulli_log_likelihood"),
        _m("mean instead of sum", "bernoulli_log_likelihood",
           "return log_p.sum()", "return log_p.mean()", "test_bernoulli_log_likelihood"),
        _m("theta clamped away from 0 and 1", "bernoulli_log_likelihood", _BLL,
           "theta = theta.clamp(1e-12, 1 - 1e-12)\n    " + _BLL, "test_bernoulli_log_likelihood"),
        # Part 2: Bernoulli MLE
        _m("Laplace pseudo-counts", "bernoulli_mle", "theta_hat = x.mean(dim=0)",
           "theta_hat = (x.sum(dim=0) + 1) / (x.shape[0] + 2)", "test_bernoulli_mle"),
        _m("mean over the wrong axis", "bernoulli_mle", "theta_hat = x.mean(dim=0)",
           "theta_hat = x.mean(dim=1)", "test_bernoulli_mle"),
        # torch warns "To copy construct from a tensor..." on stderr: must not cost points
        _m("a harmless torch UserWarning", "bernoulli_mle", "theta_hat = x.mean(dim=0)",
           "theta_hat = torch.tensor(x).mean(dim=0)", None),
        # Part 3: Gaussian log-density
        _m("missing the log(2 pi) term", "gaussian_log_likelihood", _GLL,
           "log_p = -0.5 * (torch.log(var) + (x - mu) ** 2 / var)", "test_gaussian_log_likelihood"),
        _m("var taken for the std", "gaussian_log_likelihood", _GLL,
           "log_p = -0.5 * (torch.log(2 * math.pi * var ** 2) + (x - mu) ** 2 / var ** 2)",
           "test_gaussian_log_likelihood"),
        _m("summed over examples too", "gaussian_log_likelihood",
           "return log_p.sum(dim=-1)", "return log_p.sum()", "test_gaussian_log_likelihood"),
        # Part 4: Gaussian MLE
        _m("unbiased variance, 1/(N-1)", "gaussian_mle",
           "var_hat = ((x - mu_hat) ** 2).mean(dim=0)", "var_hat = x.var(dim=0)", "test_gaussian_mle"),
        _m("returns the std, not the variance", "gaussian_mle",
           "return mu_hat, var_hat", "return mu_hat, var_hat.sqrt()", "test_gaussian_mle"),
        # Part 5: KL between Gaussians
        _m("reversed direction, KL(q || p)", "kl_gaussian", _KL,
           "kl = 0.5 * (torch.log(var_p / var_q) + (var_q + (mu_q - mu_p) ** 2) / var_p - 1)",
           "test_kl_gaussian"),
        _m("missing the -1", "kl_gaussian", _KL,
           "kl = 0.5 * (torch.log(var_q / var_p) + (var_p + (mu_p - mu_q) ** 2) / var_q)",
           "test_kl_gaussian"),
        _m("std formula applied to variances", "kl_gaussian", _KL,
           "kl = torch.log(var_q / var_p) + (var_p ** 2 + (mu_p - mu_q) ** 2) / (2 * var_q ** 2) - 0.5",
           "test_kl_gaussian"),
        _m("summed over the batch too", "kl_gaussian",
           "return kl.sum(dim=-1)", "return kl.sum()", "test_kl_gaussian"),
        # Part 6: inverse-CDF sampling
        _m("u at an edge goes to the left category", "sample_categorical",
           "right=True", "right=False", "test_sample_categorical"),
        _m("CDF not guarded against rounding", "sample_categorical",
           "cdf = cdf / cdf[-1]", "cdf = cdf", "test_sample_categorical"),
        # Part 7: Bayes' rule
        _m("not normalised", "posterior", "return joint / joint.sum()", "return joint", "test_posterior"),
        _m("likelihood indexed as p(z | x)", "posterior",
           "likelihood[:, observation]", "likelihood[observation, :]", "test_posterior"),
        # Part 8: Monte Carlo error bars
        _m("1/n sample variance", "mc_estimate",
           "values.std(correction=1)", "values.std(correction=0)", "test_mc_estimate"),
        _m("std of the values instead of the standard error", "mc_estimate",
           "std_error = values.std(correction=1) / math.sqrt(n)",
           "std_error = values.std(correction=1)", "test_mc_estimate"),
        # Part 1: alternatives
        # (torch.distributions.Bernoulli(probs=theta) is NOT an alternative: it clamps theta, so an
        # impossible observation gets about -37 nats instead of -inf)
        _alt("torch.where between log theta and log1p(-theta)", "bernoulli_log_likelihood", """
            def bernoulli_log_likelihood(x, theta):
                return torch.where(x == 1, torch.log(theta), torch.log1p(-theta)).sum()
            """),
        _alt("torch.where on the observed value, loops over columns", "bernoulli_log_likelihood", """
            def bernoulli_log_likelihood(x, theta):
                total = torch.zeros(())
                for d in range(x.shape[1]):
                    p_observed = torch.where(x[:, d] == 1, theta[d], 1 - theta[d])
                    total = total + torch.log(p_observed).sum()
                return total
            """),
        # Part 2: alternatives
        _alt("counts over N, in a loop", "bernoulli_mle", """
            def bernoulli_mle(x):
                ones = torch.zeros(x.shape[1])
                for row in x:
                    ones += row
                return ones / x.shape[0]
            """),
        _alt("sum / len", "bernoulli_mle", """
            def bernoulli_mle(x):
                return x.sum(dim=0) / len(x)
            """),
        # Part 3: alternatives
        _alt("torch.distributions.Normal with the std", "gaussian_log_likelihood", """
            def gaussian_log_likelihood(x, mu, var):
                return torch.distributions.Normal(mu, var.sqrt()).log_prob(x).sum(-1)
            """),
        _alt("MultivariateNormal with a diagonal covariance", "gaussian_log_likelihood", """
            def gaussian_log_likelihood(x, mu, var):
                return torch.distributions.MultivariateNormal(mu, covariance_matrix=torch.diag(var)).log_prob(x)
            """),
        _alt("written out with math.pi and the std", "gaussian_log_likelihood", """
            def gaussian_log_likelihood(x, mu, var):
                std = torch.sqrt(var)
                z = (x - mu) / std
                return (-0.5 * z ** 2 - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(dim=1)
            """),
        # Part 4: alternatives
        _alt("torch.var(unbiased=False)", "gaussian_mle", """
            def gaussian_mle(x):
                return x.mean(0), x.var(0, unbiased=False)
            """),
        _alt("E[x^2] - E[x]^2", "gaussian_mle", """
            def gaussian_mle(x):
                m = x.mean(dim=0)
                return m, (x ** 2).mean(dim=0) - m ** 2
            """),
        _alt("unbiased variance times (N - 1) / N", "gaussian_mle", """
            def gaussian_mle(x):
                n = x.shape[0]
                return x.mean(0), torch.var(x, dim=0) * (n - 1) / n
            """),
        # Part 5: alternatives
        _alt("torch.distributions.kl_divergence", "kl_gaussian", """
            def kl_gaussian(mu_p, var_p, mu_q, var_q):
                p = torch.distributions.Normal(mu_p, var_p.sqrt())
                q = torch.distributions.Normal(mu_q, var_q.sqrt())
                return torch.distributions.kl_divergence(p, q).sum(-1)
            """),
        _alt("cross-entropy minus entropy", "kl_gaussian", """
            def kl_gaussian(mu_p, var_p, mu_q, var_q):
                cross_entropy = 0.5 * (torch.log(2 * math.pi * var_q) + (var_p + (mu_p - mu_q) ** 2) / var_q)
                entropy = 0.5 * torch.log(2 * math.pi * math.e * var_p)
                return (cross_entropy - entropy).sum(dim=-1)
            """),
        # Part 6: wrong answers and alternatives
        Mutant("clamped to K - 1: lands on a trailing zero-probability category", "sample_categorical",
               (("cdf = cdf / cdf[-1]", "cdf = cdf"),
                ("return torch.searchsorted(cdf, u, right=True)",
                 "return torch.searchsorted(cdf, u, right=True).clamp(max=len(probs) - 1)")), "test_sample_categorical"),
        _alt("a loop over u and the categories, the last edge set to 1", "sample_categorical", """
            def sample_categorical(probs, u):
                edges = torch.cumsum(probs, 0).tolist()
                last = max(k for k in range(len(edges)) if probs[k] > 0)
                edges[last:] = [1.0] * (len(edges) - last)
                out = []
                for value in u.tolist():
                    out.append(next(k for k, edge in enumerate(edges) if value < edge))
                return torch.tensor(out, dtype=torch.int64)
            """),
        _alt("counting edges at or below u, sum of a comparison", "sample_categorical", """
            def sample_categorical(probs, u):
                cdf = torch.cumsum(probs, dim=0)
                cdf = cdf / cdf[-1]
                return (cdf[None, :] <= u[:, None]).sum(dim=1)
            """),
        # Part 7: alternatives
        _alt("log space with logsumexp", "posterior", """
            def posterior(prior, likelihood, observation):
                log_joint = torch.log(prior) + torch.log(likelihood[:, observation])
                return torch.exp(log_joint - torch.logsumexp(log_joint, dim=0))
            """),
        _alt("evidence as a matrix product", "posterior", """
            def posterior(prior, likelihood, observation):
                evidence = prior @ likelihood  # (M,): p(x = m) for every m
                return prior * likelihood[:, observation] / evidence[observation]
            """),
        # Part 8: alternatives
        _alt("Python loop with the 1/(n-1) variance", "mc_estimate", """
            def mc_estimate(f, samples):
                values = f(samples).tolist()
                n = len(values)
                mean = sum(values) / n
                var = sum((v - mean) ** 2 for v in values) / (n - 1)
                return torch.tensor(mean), torch.tensor(math.sqrt(var / n))
            """),
        _alt("torch.var_mean", "mc_estimate", """
            def mc_estimate(f, samples):
                var, mean = torch.var_mean(f(samples))
                return mean, (var / len(samples)).sqrt()
            """),
        # Part 9: density pushed through a map
        _m("log det with the wrong sign (the Jacobian of f)", "pushforward_log_prob",
           "log_p_x(x) + torch.linalg.slogdet(jacobian).logabsdet", "log_p_x(x) - torch.linalg.slogdet(jacobian).logabsdet",
           "test_pushforward_log_prob"),
        _m("no Jacobian term", "pushforward_log_prob", "log_p_x(x) + torch.linalg.slogdet(jacobian).logabsdet",
           "log_p_x(x)", "test_pushforward_log_prob"),
        _m("log det without the absolute value", "pushforward_log_prob", "torch.linalg.slogdet(jacobian).logabsdet",
           "torch.log(torch.linalg.det(jacobian))", "test_pushforward_log_prob"),
        _m("the diagonal of the Jacobian only", "pushforward_log_prob", "torch.linalg.slogdet(jacobian).logabsdet",
           "jacobian.diagonal(dim1=1, dim2=2).abs().log().sum(-1)", "test_pushforward_log_prob"),
        _alt("torch.autograd.functional.jacobian at one point at a time", "pushforward_log_prob", """
            def pushforward_log_prob(log_p_x, f_inv, y):
                out = []
                for point in y:
                    jac = torch.autograd.functional.jacobian(lambda v: f_inv(v[None])[0], point)  # (D, D)
                    out.append(log_p_x(f_inv(point[None]))[0] + torch.log(torch.abs(torch.det(jac))))
                return torch.stack(out).detach()
            """),
        _alt("torch.func.vmap of jacrev, Jacobian transposed", "pushforward_log_prob", """
            def pushforward_log_prob(log_p_x, f_inv, y):
                jac = torch.func.vmap(torch.func.jacrev(lambda v: f_inv(v[None])[0]))(y)
                # det(J^T) = det(J)
                return (log_p_x(f_inv(y)) + torch.linalg.slogdet(jac.transpose(1, 2))[1]).detach()
            """),
        # Part 10: conditioning a Gaussian
        _m("covariance not reduced (Sigma_aa)", "gaussian_condition", "cond_cov = S_aa - G @ S_ab.T", "cond_cov = S_aa",
           "test_gaussian_condition"),
        _m("b not centred", "gaussian_condition", "cond_mean = mu_a + G @ (b - mu_b)", "cond_mean = mu_a + G @ b",
           "test_gaussian_condition"),
        _m("plus instead of minus in the covariance", "gaussian_condition", "cond_cov = S_aa - G @ S_ab.T",
           "cond_cov = S_aa + G @ S_ab.T", "test_gaussian_condition"),
        _m("blocks of the precision taken for the covariance", "gaussian_condition",
           "S_aa, S_ab, S_bb = cov[:k, :k], cov[:k, k:], cov[k:, k:]",
           "P = torch.linalg.inv(cov)\n    S_aa, S_ab, S_bb = cov[:k, :k], cov[:k, k:], torch.linalg.inv(P[k:, k:])",
           "test_gaussian_condition"),
        _m("marginal without the log det term", "gaussian_condition",
           "diff @ torch.linalg.solve(S_bb, diff) + torch.logdet(2 * math.pi * S_bb)",
           "diff @ torch.linalg.solve(S_bb, diff) + (b.shape[0]) * math.log(2 * math.pi)", "test_gaussian_condition"),
        _alt("through the precision matrix", "gaussian_condition", """
            def gaussian_condition(mean, cov, b, k):
                P = torch.linalg.inv(cov)
                cond_cov = torch.linalg.inv(P[:k, :k])
                cond_mean = mean[:k] - cond_cov @ P[:k, k:] @ (b - mean[k:])
                marginal = torch.distributions.MultivariateNormal(mean[k:], covariance_matrix=cov[k:, k:])
                return cond_mean, cond_cov, marginal.log_prob(b)
            """),
        _alt("Cholesky solves and the log det by hand", "gaussian_condition", """
            def gaussian_condition(mean, cov, b, k):
                L = torch.linalg.cholesky(cov[k:, k:])
                A = torch.cholesky_solve(cov[k:, :k], L)  # S_bb^-1 S_ba
                diff = b - mean[k:]
                alpha = torch.cholesky_solve(diff[:, None], L)[:, 0]
                log_marginal = (-0.5 * diff @ alpha - torch.log(torch.diagonal(L)).sum()
                                - 0.5 * len(diff) * math.log(2 * math.pi))
                return mean[:k] + A.T @ diff, cov[:k, :k] - cov[:k, k:] @ A, log_marginal
            """),
        # Part 11: importance sampling and ESS
        _m("weights q / p (reversed)", "importance_estimate", "log_w = log_p_tilde - log_q", "log_w = log_q - log_p_tilde",
           "test_importance_estimate"),
        _m("not self-normalised: the mean of w f", "importance_estimate", "return (weights * f_values).sum(), 1.0 / (weights ** 2).sum()",
           "return (log_w.exp() * f_values).mean(), 1.0 / (weights ** 2).sum()", "test_importance_estimate"),
        _m("exp of the log weights without taking out the largest", "importance_estimate",
           "weights = torch.softmax(log_w, dim=0)", "weights = log_w.exp() / log_w.exp().sum()", "test_importance_estimate"),
        _m("ESS inverted", "importance_estimate", "1.0 / (weights ** 2).sum()", "(weights ** 2).sum()",
           "test_importance_estimate"),
        _m("ESS as the number of samples", "importance_estimate", "1.0 / (weights ** 2).sum()",
           "torch.tensor(float(len(f_values)))", "test_importance_estimate"),
        _alt("logsumexp for both", "importance_estimate", """
            def importance_estimate(f_values, log_p_tilde, log_q):
                log_w = log_p_tilde - log_q
                log_norm = torch.logsumexp(log_w, 0)
                ess = torch.exp(2 * log_norm - torch.logsumexp(2 * log_w, 0))
                return (torch.exp(log_w - log_norm) * f_values).sum(), ess
            """),
        _alt("the max taken out by hand, in a loop", "importance_estimate", """
            def importance_estimate(f_values, log_p_tilde, log_q):
                log_w = (log_p_tilde - log_q).tolist()
                m = max(log_w)
                w = [math.exp(v - m) for v in log_w]
                total = sum(w)
                estimate = sum(wi * fi for wi, fi in zip(w, f_values.tolist())) / total
                return torch.tensor(estimate), torch.tensor(total ** 2 / sum(wi ** 2 for wi in w))
            """),
    ],
    "hw1_autoregressive": [
        # Part 1: MADE's masks, derived
        _m("hidden units see only strictly lower degrees (> for >=)", "masks_from_degrees",
           "(above[:, None] >= below[None, :])", "(above[:, None] > below[None, :])", "test_masks_from_degrees"),
        _m("output d sees its own input (>= for >)", "masks_from_degrees",
           "(input_degrees[:, None] > layer_degrees[-1][None, :])", "(input_degrees[:, None] >= layer_degrees[-1][None, :])",
           "test_masks_from_degrees"),
        Mutant("masks transposed to (in, out)", "masks_from_degrees",
               (("(above[:, None] >= below[None, :]).float()", "(above[:, None] >= below[None, :]).float().T"),
                ("(input_degrees[:, None] > layer_degrees[-1][None, :]).float()",
                 "(input_degrees[:, None] > layer_degrees[-1][None, :]).float().T")), "test_masks_from_degrees"),
        _m("every hidden layer compared with the input degrees", "masks_from_degrees",
           "(above[:, None] >= below[None, :])", "(above[:, None] >= input_degrees[None, :])",
           "test_masks_from_degrees"),
        _m("calls dgmlib's made_masks", "masks_from_degrees", "    return masks",
           "    from dgmlib.nn import made_masks\n    return made_masks(layer_degrees[0], layer_degrees[1:])",
           "test_masks_from_degrees"),
        _alt("nested loops over units", "masks_from_degrees", """
            def masks_from_degrees(layer_degrees):
                degrees = [d.tolist() for d in layer_degrees]
                masks = []
                for below, above in zip(degrees[:-1], degrees[1:]):
                    masks.append(torch.tensor([[1.0 if k >= j else 0.0 for j in below] for k in above]))
                masks.append(torch.tensor([[1.0 if d > k else 0.0 for k in degrees[-1]] for d in degrees[0]]))
                return masks
            """),
        _alt("torch.ge / torch.gt with unsqueeze, output layer handled by appending the input degrees", "masks_from_degrees", """
            def masks_from_degrees(layer_degrees):
                layers = list(layer_degrees) + [layer_degrees[0]]
                out = []
                for l in range(len(layers) - 1):
                    compare = torch.gt if l == len(layers) - 2 else torch.ge
                    out.append(compare(layers[l + 1].unsqueeze(1), layers[l].unsqueeze(0)).to(torch.float32))
                return out
            """),
        # Part 2: PixelCNN's masked kernels
        _m("types A and B swapped", "causal_conv_mask", '(mask_type == "B")', '(mask_type == "A")',
           "test_causal_conv_mask"),
        _m("the centre row visible right of the centre", "causal_conv_mask",
           'mask[kh // 2, : kw // 2 + (mask_type == "B")] = 1',
           'mask[kh // 2, :] = 1\n    mask[kh // 2, kw // 2] = float(mask_type == "B")', "test_causal_conv_mask"),
        _m("centre column taken from kh (square kernels only)", "causal_conv_mask",
           ": kw // 2 + (mask_type", ": kh // 2 + (mask_type", "test_causal_conv_mask"),
        _m("calls dgmlib's causal_mask", "causal_conv_mask", "    return mask",
           "    from dgmlib.nn import causal_mask\n    return causal_mask((kh, kw), mask_type)",
           "test_causal_conv_mask"),
        _alt("loops over rows and columns", "causal_conv_mask", """
            def causal_conv_mask(kernel_size, mask_type):
                kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
                mask = torch.zeros(kh, kw)
                for r in range(kh):
                    for c in range(kw):
                        before = r < kh // 2 or (r == kh // 2 and c < kw // 2)
                        centre = r == kh // 2 and c == kw // 2
                        mask[r, c] = float(before or (centre and mask_type == "B"))
                return mask
            """),
        _alt("raster index before the centre's", "causal_conv_mask", """
            def causal_conv_mask(kernel_size, mask_type):
                kh, kw = (kernel_size,) * 2 if isinstance(kernel_size, int) else tuple(kernel_size)
                centre = (kh // 2) * kw + kw // 2
                limit = centre + 1 if mask_type == "B" else centre
                return (torch.arange(kh * kw) < limit).float().reshape(kh, kw)
            """),
        # Part 3: Bernoulli NLL from logits
        _m("mean over the pixels", "bernoulli_nll", "per_pixel.flatten(1).sum(1)", "per_pixel.flatten(1).mean(1)",
           "test_bernoulli_nll"),
        _m("bits instead of nats", "bernoulli_nll", "per_pixel.flatten(1).sum(1)",
           "per_pixel.flatten(1).sum(1) / math.log(2)", "test_bernoulli_nll"),
        _m("log of sigmoid: inf for confident logits", "bernoulli_nll", "per_pixel = F.softplus(logits) - x * logits",
           "per_pixel = -(x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(1 - torch.sigmoid(logits)))",
           "test_bernoulli_nll"),
        _m("probabilities clamped to [1e-6, 1 - 1e-6]", "bernoulli_nll",
           "per_pixel = F.softplus(logits) - x * logits",
           "p = torch.sigmoid(logits).clamp(1e-6, 1 - 1e-6)\n    per_pixel = -(x * torch.log(p) + (1 - x) * torch.log(1 - p))",
           "test_bernoulli_nll"),
        _m("summed over the batch too", "bernoulli_nll", "per_pixel.flatten(1).sum(1)", "per_pixel.sum()",
           "test_bernoulli_nll"),
        _m("summed over the last dimension only", "bernoulli_nll", "per_pixel.flatten(1).sum(1)", "per_pixel.sum(-1)",
           "test_bernoulli_nll"),
        _alt("binary_cross_entropy_with_logits", "bernoulli_nll", """
            def bernoulli_nll(logits, x):
                bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
                return bce.reshape(len(x), -1).sum(dim=1)
            """),
        _alt("logsigmoid of +-l", "bernoulli_nll", """
            def bernoulli_nll(logits, x):
                log_p = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
                return -log_p.sum(dim=tuple(range(1, x.dim())))
            """),
        _alt("torch.distributions.Bernoulli(logits=...)", "bernoulli_nll", """
            def bernoulli_nll(logits, x):
                return -torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
            """),
        # Part 4: bits per dimension of discrete data under a density, derived
        _m("bin volume with the wrong sign", "discrete_bits_per_dim", "(-log_density + num_dims * math.log(levels))",
           "(-log_density - num_dims * math.log(levels))", "test_discrete_bits_per_dim"),
        _m("log L once, not D times", "discrete_bits_per_dim", "(-log_density + num_dims * math.log(levels))",
           "(-log_density + math.log(levels))", "test_discrete_bits_per_dim"),
        _m("no bin volume: the density's own bits/dim", "discrete_bits_per_dim",
           "(-log_density + num_dims * math.log(levels))", "(-log_density)", "test_discrete_bits_per_dim"),
        _m("log10 instead of log2", "discrete_bits_per_dim", "(num_dims * math.log(2))", "(num_dims * math.log(10))",
           "test_discrete_bits_per_dim"),
        _m("log(L - 1): 255 for 8-bit data", "discrete_bits_per_dim", "num_dims * math.log(levels))",
           "num_dims * math.log(levels - 1))", "test_discrete_bits_per_dim"),
        _m("calls dgmlib's bits_per_dim", "discrete_bits_per_dim",
           "return (-log_density + num_dims * math.log(levels)) / (num_dims * math.log(2))",
           "from dgmlib.metrics import bits_per_dim\n    return bits_per_dim(-log_density, num_dims, levels)",
           "test_discrete_bits_per_dim"),
        _alt("in bits first: -log2 p(y) / D + log2 L", "discrete_bits_per_dim", """
            def discrete_bits_per_dim(log_density, num_dims, levels=256):
                return -log_density / math.log(2) / num_dims + math.log2(levels)
            """),
        _alt("the bin's log-probability, then nats to bits", "discrete_bits_per_dim", """
            def discrete_bits_per_dim(log_density, num_dims, levels=256):
                log_prob_bin = log_density - num_dims * math.log(levels)  # log of p(y) (1/L)^D
                return -log_prob_bin / num_dims / math.log(2)
            """),
        # Part 5: ancestral sampling
        _m("every pixel in one pass from zeros", "sample_autoregressive",
           "for i in order.tolist():\n"
           "            # the pixels before i are sampled already, so logit i is final\n"
           "            logits = conditional_logits(x)[:, i]\n"
           "            x[:, i] = torch.bernoulli(torch.sigmoid(logits / temperature))",
           "x = torch.bernoulli(torch.sigmoid(conditional_logits(x) / temperature))", "test_sample_autoregressive"),
        _m("raster order whatever the order", "sample_autoregressive", "for i in order.tolist():",
           "for i in range(num_dims):", "test_sample_autoregressive"),
        Mutant("logit of step k read for pixel order[k]", "sample_autoregressive",
               (("for i in order.tolist():", "for k, i in enumerate(order.tolist()):"),
                ("conditional_logits(x)[:, i]", "conditional_logits(x)[:, k]")), "test_sample_autoregressive"),
        _m("temperature multiplies the logits", "sample_autoregressive", "logits / temperature",
           "logits * temperature", "test_sample_autoregressive"),
        _m("temperature ignored", "sample_autoregressive", "torch.sigmoid(logits / temperature)",
           "torch.sigmoid(logits)", "test_sample_autoregressive"),
        _alt("torch.rand below the probability, steps counted by k", "sample_autoregressive", """
            def sample_autoregressive(conditional_logits, num_dims, n, order=None, temperature=1.0):
                order = torch.arange(num_dims) if order is None else order
                x = torch.zeros(n, num_dims)
                for k in range(num_dims):
                    i = int(order[k])
                    with torch.no_grad():
                        p = torch.sigmoid(conditional_logits(x.clone())[:, i] / temperature)
                    x[:, i] = (torch.rand(n) < p).float()
                return x
            """),
        _alt("torch.distributions.Bernoulli(logits=l / T), x rebuilt each step", "sample_autoregressive", """
            def sample_autoregressive(conditional_logits, num_dims, n, order=None, temperature=1.0):
                if order is None:
                    order = list(range(num_dims))
                x = torch.zeros(n, num_dims)
                for i in list(order):
                    logits = conditional_logits(x).detach()[:, i]
                    draw = torch.distributions.Bernoulli(logits=logits / temperature).sample()
                    x = torch.cat([x[:, :i], draw[:, None], x[:, i + 1:]], dim=1)
                return x
            """),
        # Part 6: the autoregressive property through gradients
        _m("misses the diagonal (j > i)", "depends_on_future", "(grad[:, i:] != 0)", "(grad[:, i + 1:] != 0)",
           "test_depends_on_future"),
        _m("looks at the inputs before i", "depends_on_future", "(grad[:, i:] != 0)", "(grad[:, : i + 1] != 0)",
           "test_depends_on_future"),
        _m("derivatives at x = 0 only", "depends_on_future", "torch.randn(8, num_dims, generator=gen)",
           "torch.zeros(8, num_dims)", "test_depends_on_future"),
        _m("small derivatives ignored", "depends_on_future", "(grad[:, i:] != 0).any()",
           "(grad[:, i:].abs() > 1e-4).any()", "test_depends_on_future"),
        _alt("the whole Jacobian at ONE random input (torch.func.jacrev)", "depends_on_future", """
            def depends_on_future(model_fn, num_dims):
                point = torch.randn(num_dims)
                jac = torch.func.jacrev(lambda v: model_fn(v[None])[0])(point)  # (D, D): d out_i / d x_j
                return bool((torch.triu(jac) != 0).any())
            """),
        _alt("torch.autograd.functional.jacobian at three inputs, loops over i and j", "depends_on_future", """
            def depends_on_future(model_fn, num_dims):
                for _ in range(3):
                    jac = torch.autograd.functional.jacobian(model_fn, torch.randn(1, num_dims))[0, :, 0, :]
                    for i in range(num_dims):
                        for j in range(i, num_dims):
                            if jac[i, j] != 0:
                                return True
                return False
            """),
        # Part 7: the MADE network, trained
        _m("nn.Linear: the masks are never applied", "made_network",
           "layer = MaskedLinear(mask.shape[1], mask.shape[0])", "layer = nn.Linear(mask.shape[1], mask.shape[0])",
           "test_made_network"),
        _m("masked weights zeroed once, then trained", "made_network",
           "layer = MaskedLinear(mask.shape[1], mask.shape[0])\n"
           "        layer.mask = torch.as_tensor(mask, dtype=layer.weight.dtype)",
           "layer = nn.Linear(mask.shape[1], mask.shape[0])\n"
           "        with torch.no_grad():\n"
           "            layer.weight.mul_(torch.as_tensor(mask, dtype=layer.weight.dtype))",
           "test_made_network"),
        _m("a ReLU after the output layer", "made_network", "nn.Sequential(*layers[:-1])", "nn.Sequential(*layers)",
           "test_made_network"),
        _m("no ReLU between the layers", "made_network", "layers += [layer, nn.ReLU()]",
           "layers += [layer, nn.Identity()]", "test_made_network"),
        _m("in and out features swapped", "made_network", "MaskedLinear(mask.shape[1], mask.shape[0])",
           "MaskedLinear(mask.shape[0], mask.shape[1])", "test_made_network"),
        _alt("its own module: parameters, mask buffers and F.linear", "made_network", """
            class MyMADE(nn.Module):
                def __init__(self, masks):
                    super().__init__()
                    self.weights = nn.ParameterList()
                    self.biases = nn.ParameterList()
                    for l, mask in enumerate(masks):
                        out_f, in_f = mask.shape
                        self.weights.append(nn.Parameter(torch.randn(out_f, in_f) / math.sqrt(in_f)))
                        self.biases.append(nn.Parameter(torch.zeros(out_f)))
                        self.register_buffer(f"mask{l}", torch.as_tensor(mask, dtype=torch.float32))
                    self.n = len(masks)

                def forward(self, x):
                    for l in range(self.n):
                        x = F.linear(x, self.weights[l] * getattr(self, f"mask{l}"), self.biases[l])
                        if l < self.n - 1:
                            x = torch.relu(x)
                    return x


            def made_network(masks):
                return MyMADE(masks)
            """),
        _alt("a ModuleList of MaskedLinear and a forward loop", "made_network", """
            class Stack(nn.Module):
                def __init__(self, layers):
                    super().__init__()
                    self.layers = nn.ModuleList(layers)

                def forward(self, x):
                    for layer in self.layers[:-1]:
                        x = F.relu(layer(x))
                    return self.layers[-1](x)


            def made_network(masks):
                layers = []
                for mask in masks:
                    layer = MaskedLinear(mask.shape[1], mask.shape[0])
                    layer.mask = mask.float().clone()
                    layers.append(layer)
                return Stack(layers)
            """),
    ],
    "hw2_vae": [
        # Part 1: the reparameterization trick
        _m("logvar taken for the std", "reparameterize", "std = torch.exp(0.5 * logvar)", "std = logvar",
           "test_reparameterize"),
        _m("exp(logvar) as the std (the 1/2 missing)", "reparameterize", "std = torch.exp(0.5 * logvar)",
           "std = torch.exp(logvar)", "test_reparameterize"),
        _m("sigma and mu swapped", "reparameterize", "return mu + std * eps", "return std + mu * eps",
           "test_reparameterize"),
        _m("z detached from the graph", "reparameterize", "return mu + std * eps", "return (mu + std * eps).detach()",
           "test_reparameterize"),
        _m("fresh noise instead of the given eps", "reparameterize", "return mu + std * eps",
           "return mu + std * torch.randn_like(eps)", "test_reparameterize"),
        _alt("sqrt of exp(logvar), torch.addcmul", "reparameterize", """
            def reparameterize(mu, logvar, eps):
                return torch.addcmul(mu, torch.sqrt(torch.exp(logvar)), eps)
            """),
        _alt("an affine transform of the noise, loops over leading sample dimensions", "reparameterize", """
            def reparameterize(mu, logvar, eps):
                sigma = logvar.mul(0.5).exp()
                if eps.dim() == mu.dim():
                    return mu + sigma * eps
                return torch.stack([reparameterize(mu, logvar, e) for e in eps])
            """),
        # Part 2: KL to the prior, derived
        _m("the 1/2 missing", "kl_to_prior", "kl = 0.5 * (", "kl = (", "test_kl_to_prior"),
        _m("+ log sigma^2 (sign)", "kl_to_prior", "logvar.exp() - logvar - 1", "logvar.exp() + logvar - 1",
           "test_kl_to_prior"),
        _m("logvar read as log sigma", "kl_to_prior", "mu ** 2 + logvar.exp() - logvar - 1",
           "mu ** 2 + (2 * logvar).exp() - 2 * logvar - 1", "test_kl_to_prior"),
        _m("mean over the latent dimensions", "kl_to_prior", "return kl.sum(dim=-1)", "return kl.mean(dim=-1)",
           "test_kl_to_prior"),
        _m("reversed direction, KL(prior || q)", "kl_to_prior", "kl = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1)",
           "kl = 0.5 * (logvar + (1 + mu ** 2) / logvar.exp() - 1)", "test_kl_to_prior"),
        _m("calls dgmlib's gaussian_kl", "kl_to_prior", "    return kl.sum(dim=-1)",
           "    from dgmlib.nn import gaussian_kl as reference\n    return reference(mu, logvar)",
           "test_kl_to_prior"),
        _alt("torch.distributions.kl_divergence per dimension", "kl_to_prior", """
            def kl_to_prior(mu, logvar):
                q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
                p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
                return torch.distributions.kl_divergence(q, p).sum(-1)
            """),
        _alt("Kingma and Welling's form, -1/2 sum(1 + log var - mu^2 - var)", "kl_to_prior", """
            def kl_to_prior(mu, logvar):
                return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)
            """),
        # Part 3: the ELBO
        _m("mean over the pixels", "bernoulli_elbo", ".flatten(1).sum(1)", ".flatten(1).mean(1)", "test_bernoulli_elbo"),
        _m("BCE sign: + instead of - cross-entropy", "bernoulli_elbo", "log_px_z = -F.binary", "log_px_z = F.binary",
           "test_bernoulli_elbo"),
        _m("log of sigmoid: inf and nan for confident logits", "bernoulli_elbo",
           'log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)',
           "p = torch.sigmoid(logits)\n"
           "    log_px_z = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)", "test_bernoulli_elbo"),
        _m("probabilities clamped to [1e-7, 1 - 1e-7]", "bernoulli_elbo",
           'log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)',
           "p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)\n"
           "    log_px_z = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)", "test_bernoulli_elbo"),
        _m("summed over the last dimension only", "bernoulli_elbo", ".flatten(1).sum(1)", ".sum(-1)", "test_bernoulli_elbo"),
        _m("KL added", "bernoulli_elbo", "return log_px_z - kl", "return log_px_z + kl", "test_bernoulli_elbo"),
        _alt("torch.distributions.Bernoulli and the student's kl_to_prior", "bernoulli_elbo", """
            def bernoulli_elbo(x, logits, mu, logvar):
                log_px_z = torch.distributions.Bernoulli(logits=logits).log_prob(x).reshape(len(x), -1).sum(-1)
                return log_px_z - kl_to_prior(mu, logvar)
            """),
        _alt("logsigmoid, summed over all but the first dimension", "bernoulli_elbo", """
            def bernoulli_elbo(x, logits, mu, logvar):
                log_p = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
                kl = 0.5 * (mu ** 2 + torch.exp(logvar) - logvar - 1).sum(dim=1)
                return log_p.sum(dim=list(range(1, x.dim()))) - kl
            """),
        # Part 4: the IWAE bound
        _m("the -log K missing", "importance_weighted_bound", "return torch.logsumexp(log_weights, dim=0) - math.log(K)",
           "return torch.logsumexp(log_weights, dim=0)", "test_importance_weighted_bound"),
        _m("log of the mean of exp: -inf for log weights near -1000", "importance_weighted_bound",
           "return torch.logsumexp(log_weights, dim=0) - math.log(K)",
           "return torch.log(torch.exp(log_weights).mean(dim=0))", "test_importance_weighted_bound"),
        _m("logsumexp over the examples", "importance_weighted_bound", "torch.logsumexp(log_weights, dim=0)",
           "torch.logsumexp(log_weights, dim=1)", "test_importance_weighted_bound"),
        _m("log B instead of log K", "importance_weighted_bound", "K = log_weights.shape[0]", "K = log_weights.shape[1]",
           "test_importance_weighted_bound"),
        _m("the mean log weight (the ELBO)", "importance_weighted_bound", "return torch.logsumexp(log_weights, dim=0) - math.log(K)",
           "return log_weights.mean(dim=0)", "test_importance_weighted_bound"),
        _m("calls dgmlib's iwae_bound", "importance_weighted_bound",
           "return torch.logsumexp(log_weights, dim=0) - math.log(K)",
           "from dgmlib.models.latent.vae import iwae_bound\n    return iwae_bound(log_weights)",
           "test_importance_weighted_bound"),
        _alt("the max taken out by hand", "importance_weighted_bound", """
            def importance_weighted_bound(log_weights):
                m = log_weights.max(dim=0).values
                return m + torch.log(torch.exp(log_weights - m).mean(dim=0))
            """),
        _alt("a loop over examples with Python floats", "importance_weighted_bound", """
            def importance_weighted_bound(log_weights):
                out = []
                for values in log_weights.T.tolist():
                    top = max(values)
                    out.append(top + math.log(sum(math.exp(v - top) for v in values) / len(values)))
                return torch.tensor(out, dtype=log_weights.dtype)
            """),
        # Part 5: PPCA's posterior, derived
        _m("M without sigma^2", "ppca_posterior", "M = W.T @ W + sigma2 * eye", "M = W.T @ W", "test_ppca_posterior"),
        _m("covariance M^-1 (sigma^2 missing)", "ppca_posterior", "cov = sigma2 * M_inv", "cov = M_inv",
           "test_ppca_posterior"),
        _m("x not centred", "ppca_posterior", "mean = (x - mu) @ W @ M_inv", "mean = x @ W @ M_inv",
           "test_ppca_posterior"),
        _m("M instead of M^-1 in the mean", "ppca_posterior", "(x - mu) @ W @ M_inv", "(x - mu) @ W @ M",
           "test_ppca_posterior"),
        _m("the D x D matrix W W^T", "ppca_posterior", "M = W.T @ W + sigma2 * eye",
           "M = W @ W.T + sigma2 * torch.eye(W.shape[0], dtype=W.dtype)", "test_ppca_posterior"),
        _m("dgmlib's PPCA through the notebook's helper", "ppca_posterior", "mean = (x - mu) @ W @ M_inv",
           "mean = make_ppca(W, mu, sigma2).posterior(x).mean", "test_ppca_posterior"),
        _alt("conditioning the joint Gaussian of (z, x): D x D solves", "ppca_posterior", """
            def ppca_posterior(W, mu, sigma2, x):
                C = W @ W.T + sigma2 * torch.eye(W.shape[0], dtype=W.dtype)  # Cov(x)
                gain = torch.linalg.solve(C, W).T  # W^T C^-1, as C is symmetric
                return (x - mu) @ gain.T, torch.eye(W.shape[1], dtype=W.dtype) - gain @ W
            """),
        _alt("torch.linalg.solve with M, one example at a time", "ppca_posterior", """
            def ppca_posterior(W, mu, sigma2, x):
                M = W.T @ W + sigma2 * torch.eye(W.shape[1], dtype=W.dtype)
                means = [torch.linalg.solve(M, W.T @ (row - mu)) for row in x]
                return torch.stack(means), sigma2 * torch.linalg.inv(M)
            """),
        # Part 6: importance-sampled log-likelihood
        _m("the -log k missing", "chunked_log_likelihood", "return torch.logsumexp(log_w, dim=0) - math.log(k)",
           "return torch.logsumexp(log_w, dim=0)", "test_chunked_log_likelihood"),
        _m("log of the mean of exp: -inf far from the data", "chunked_log_likelihood",
           "return torch.logsumexp(log_w, dim=0) - math.log(k)", "return torch.log(torch.exp(log_w).mean(dim=0))",
           "test_chunked_log_likelihood"),
        Mutant("the mean of per-chunk estimates", "chunked_log_likelihood",
               (("log_w.append(log_joint(x, z) - log_q(x, z))",
                 "log_w.append(torch.logsumexp(log_joint(x, z) - log_q(x, z), dim=0) - math.log(n))"),
                ("log_w = torch.cat(log_w)", "log_w = torch.stack(log_w)"),
                ("return torch.logsumexp(log_w, dim=0) - math.log(k)", "return log_w.mean(dim=0)")),
               "test_chunked_log_likelihood"),
        _m("the last chunk full size (more than k samples)", "chunked_log_likelihood",
           "n = min(chunk, k - start)", "n = chunk", "test_chunked_log_likelihood"),
        Mutant("the remainder dropped (k // chunk chunks)", "chunked_log_likelihood",
               (("for start in range(0, k, chunk):", "for start in range(k // chunk):"),
                ("n = min(chunk, k - start)", "n = chunk")), "test_chunked_log_likelihood"),
        _m("log q added", "chunked_log_likelihood", "log_joint(x, z) - log_q(x, z)",
           "log_joint(x, z) + log_q(x, z)", "test_chunked_log_likelihood"),
        _m("logsumexp over the examples", "chunked_log_likelihood", "torch.logsumexp(log_w, dim=0)",
           "torch.logsumexp(log_w, dim=1)", "test_chunked_log_likelihood"),
        _alt("a running logsumexp (torch.logaddexp), a while loop", "chunked_log_likelihood", """
            def chunked_log_likelihood(x, log_joint, sample_q, log_q, k, chunk):
                total, drawn = None, 0
                while drawn < k:
                    n = min(chunk, k - drawn)
                    z = sample_q(x, n)
                    part = torch.logsumexp(log_joint(x, z) - log_q(x, z), dim=0)
                    total = part if total is None else torch.logaddexp(total, part)
                    drawn += n
                return total - math.log(k)
            """),
        _alt("the student's importance_weighted_bound on all k log weights", "chunked_log_likelihood", """
            def chunked_log_likelihood(x, log_joint, sample_q, log_q, k, chunk):
                sizes = [chunk] * (k // chunk) + ([k % chunk] if k % chunk else [])
                log_w = []
                for n in sizes:
                    z = sample_q(x, n)
                    log_w.append(log_joint(x, z) - log_q(x, z))
                return importance_weighted_bound(torch.cat(log_w, dim=0))
            """),
        # Part 7: the VAE loss, trained
        _m("z detached: no gradient reaches the encoder through z", "vae_loss", "logits = model.decode(z)",
           "logits = model.decode(z.detach())", "test_vae_loss"),
        _m("no noise: z = mu", "vae_loss", "z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)", "z = mu",
           "test_vae_loss"),
        _m("exp(logvar) as the std", "vae_loss", "torch.exp(0.5 * logvar) * torch.randn_like(mu)",
           "torch.exp(logvar) * torch.randn_like(mu)", "test_vae_loss"),
        _m("mean over the pixels", "vae_loss", ".flatten(1).sum(1)", ".flatten(1).mean(1)", "test_vae_loss"),
        _m("no KL term (an autoencoder with noise)", "vae_loss", "return -(log_px_z - kl).mean()",
           "return -log_px_z.mean()", "test_vae_loss"),
        _m("summed over the batch", "vae_loss", "return -(log_px_z - kl).mean()", "return -(log_px_z - kl).sum()",
           "test_vae_loss"),
        _m("dgmlib's VAE.elbo instead of the loss", "vae_loss", "return -(log_px_z - kl).mean()",
           "return -model.elbo(x).mean()", "test_vae_loss"),
        _alt("the student's reparameterize and bernoulli_elbo", "vae_loss", """
            def vae_loss(model, x):
                mu, logvar = model.encode(x)
                z = reparameterize(mu, logvar, torch.randn_like(mu))
                return -bernoulli_elbo(x, model.decode(z), mu, logvar).mean()
            """),
        _alt("torch.distributions: rsample, Bernoulli and kl_divergence", "vae_loss", """
            def vae_loss(model, x):
                mu, logvar = model.encode(x)
                q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
                z = q.rsample()
                log_px_z = torch.distributions.Bernoulli(logits=model.decode(z)).log_prob(x).flatten(1).sum(1)
                prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
                kl = torch.distributions.kl_divergence(q, prior).sum(1)
                return (kl - log_px_z).mean()
            """),
    ],
}


# hw3's mutants live in their own file (written beside this one); merged here so that every assignment
# under solutions/ has its entry. At the end of the file, after MUTANTS, Mutant and _m exist.
from grading_mutants_hw3 import HW3_MUTANTS  # noqa: E402

MUTANTS["hw3_flows"] = HW3_MUTANTS

from grading_mutants_hw4 import HW4_MUTANTS  # noqa: E402

MUTANTS["hw4_gans"] = HW4_MUTANTS

from grading_mutants_hw5 import HW5_MUTANTS  # noqa: E402

MUTANTS["hw5_evaluation"] = HW5_MUTANTS

from grading_mutants_hw6 import HW6_MUTANTS  # noqa: E402

MUTANTS["hw6_ebm"] = HW6_MUTANTS

from grading_mutants_hw7 import HW7_MUTANTS  # noqa: E402

MUTANTS["hw7_diffusion"] = HW7_MUTANTS
