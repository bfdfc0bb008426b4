"""Plausible wrong answers for each assignment, for tests/test_grading.py.

A mutant is the reference solution with one mistake a student really makes. It is submitted as a
student, autograded with the hidden tests, and must lose points on exactly the part it breaks
(``loses``), or on none when ``loses`` is None (a harmless difference, such as a warning).

``cell`` is the grade_id of the solution cell the substitutions apply to; each ``old`` must occur
exactly once in that cell, so a mutant cannot silently stop applying when a solution is edited.
Mutants in different cells are graded together as one student to save kernel start-ups.
A new assignment joins by adding an entry keyed by its folder name under solutions/.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str                              # what the student got wrong
    cell: str                              # grade_id of the solution cell to edit
    subs: tuple[tuple[str, str], ...]      # (old, new) text substitutions in that cell
    loses: str | None                      # grade_id of the test cell that must lose points


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
    ],
    "hw1_autoregressive": [
        # Part 1: MADE's masks
        _m("hidden units see only strictly lower degrees (> for >=)", "made_masks",
           "(degrees[:, None] >= below[None, :])", "(degrees[:, None] > below[None, :])", "test_made_masks"),
        _m("output d sees its own input (>= for >)", "made_masks",
           "(input_degrees[:, None] > below[None, :])", "(input_degrees[:, None] >= below[None, :])",
           "test_made_masks"),
        Mutant("masks transposed to (in, out)", "made_masks",
               (("(degrees[:, None] >= below[None, :]).float()", "(degrees[:, None] >= below[None, :]).float().T"),
                ("(input_degrees[:, None] > below[None, :]).float()",
                 "(input_degrees[:, None] > below[None, :]).float().T")), "test_made_masks"),
        _m("every hidden layer compared with the input degrees", "made_masks",
           "(degrees[:, None] >= below[None, :])", "(degrees[:, None] >= input_degrees[None, :])",
           "test_made_masks"),
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
        # Part 4: bits per dimension
        _m("log10 instead of log2", "bits_per_dim", "math.log(2)", "math.log(10)", "test_bits_per_dim"),
        _m("not divided by D", "bits_per_dim", "(num_dims * math.log(2))", "math.log(2)", "test_bits_per_dim"),
        _m("multiplied by ln 2", "bits_per_dim", "nll_nats / (num_dims * math.log(2))",
           "nll_nats * math.log(2) / num_dims", "test_bits_per_dim"),
        _m("calls dgmlib's bits_per_dim", "bits_per_dim", "return nll_nats / (num_dims * math.log(2))",
           "from dgmlib.metrics import bits_per_dim as reference\n    return reference(nll_nats, num_dims)",
           "test_bits_per_dim"),
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
        # Part 6: the autoregressive property through gradients
        _m("misses the diagonal (j > i)", "depends_on_future", "(grad[:, i:] != 0)", "(grad[:, i + 1:] != 0)",
           "test_depends_on_future"),
        _m("looks at the inputs before i", "depends_on_future", "(grad[:, i:] != 0)", "(grad[:, : i + 1] != 0)",
           "test_depends_on_future"),
        _m("derivatives at x = 0 only", "depends_on_future", "torch.randn(8, num_dims, generator=gen)",
           "torch.zeros(8, num_dims)", "test_depends_on_future"),
        _m("small derivatives ignored", "depends_on_future", "(grad[:, i:] != 0).any()",
           "(grad[:, i:].abs() > 1e-4).any()", "test_depends_on_future"),
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
        # Part 2: KL to the prior
        _m("the 1/2 missing", "gaussian_kl", "kl = 0.5 * (", "kl = (", "test_gaussian_kl"),
        _m("+ log sigma^2 (sign)", "gaussian_kl", "logvar.exp() - logvar - 1", "logvar.exp() + logvar - 1",
           "test_gaussian_kl"),
        _m("logvar read as log sigma", "gaussian_kl", "mu ** 2 + logvar.exp() - logvar - 1",
           "mu ** 2 + (2 * logvar).exp() - 2 * logvar - 1", "test_gaussian_kl"),
        _m("mean over the latent dimensions", "gaussian_kl", "return kl.sum(dim=-1)", "return kl.mean(dim=-1)",
           "test_gaussian_kl"),
        _m("reversed direction, KL(prior || q)", "gaussian_kl", "kl = 0.5 * (mu ** 2 + logvar.exp() - logvar - 1)",
           "kl = 0.5 * (logvar + (1 + mu ** 2) / logvar.exp() - 1)", "test_gaussian_kl"),
        _m("calls dgmlib's gaussian_kl", "gaussian_kl", "    return kl.sum(dim=-1)",
           "    from dgmlib.nn import gaussian_kl as reference\n    return reference(mu, logvar)",
           "test_gaussian_kl"),
        # Part 3: the ELBO
        _m("mean over the pixels", "elbo", ".flatten(1).sum(1)", ".flatten(1).mean(1)", "test_elbo"),
        _m("BCE sign: + instead of - cross-entropy", "elbo", "log_px_z = -F.binary", "log_px_z = F.binary",
           "test_elbo"),
        _m("log of sigmoid: inf and nan for confident logits", "elbo",
           'log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)',
           "p = torch.sigmoid(logits)\n"
           "    log_px_z = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)", "test_elbo"),
        _m("probabilities clamped to [1e-7, 1 - 1e-7]", "elbo",
           'log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)',
           "p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)\n"
           "    log_px_z = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)", "test_elbo"),
        _m("summed over the last dimension only", "elbo", ".flatten(1).sum(1)", ".sum(-1)", "test_elbo"),
        _m("KL added", "elbo", "return log_px_z - kl", "return log_px_z + kl", "test_elbo"),
        # Part 4: the IWAE bound
        _m("the -log K missing", "iwae_bound", "return torch.logsumexp(log_weights, dim=0) - math.log(K)",
           "return torch.logsumexp(log_weights, dim=0)", "test_iwae_bound"),
        _m("log of the mean of exp: -inf for log weights near -1000", "iwae_bound",
           "return torch.logsumexp(log_weights, dim=0) - math.log(K)",
           "return torch.log(torch.exp(log_weights).mean(dim=0))", "test_iwae_bound"),
        _m("logsumexp over the examples", "iwae_bound", "torch.logsumexp(log_weights, dim=0)",
           "torch.logsumexp(log_weights, dim=1)", "test_iwae_bound"),
        _m("log B instead of log K", "iwae_bound", "K = log_weights.shape[0]", "K = log_weights.shape[1]",
           "test_iwae_bound"),
        _m("the mean log weight (the ELBO)", "iwae_bound", "return torch.logsumexp(log_weights, dim=0) - math.log(K)",
           "return log_weights.mean(dim=0)", "test_iwae_bound"),
        # Part 5: PPCA's posterior
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
        # Part 6: importance-sampled log-likelihood
        _m("the -log k missing", "importance_log_likelihood", "return torch.logsumexp(log_w, dim=0) - math.log(k)",
           "return torch.logsumexp(log_w, dim=0)", "test_importance_log_likelihood"),
        _m("log of the mean of exp: -inf far from the data", "importance_log_likelihood",
           "return torch.logsumexp(log_w, dim=0) - math.log(k)", "return torch.log(torch.exp(log_w).mean(dim=0))",
           "test_importance_log_likelihood"),
        Mutant("the mean of per-chunk estimates", "importance_log_likelihood",
               (("log_w.append(log_joint(x, z) - log_q(x, z))",
                 "log_w.append(torch.logsumexp(log_joint(x, z) - log_q(x, z), dim=0) - math.log(n))"),
                ("log_w = torch.cat(log_w)", "log_w = torch.stack(log_w)"),
                ("return torch.logsumexp(log_w, dim=0) - math.log(k)", "return log_w.mean(dim=0)")),
               "test_importance_log_likelihood"),
        _m("the last chunk full size (more than k samples)", "importance_log_likelihood",
           "n = min(chunk, k - start)", "n = chunk", "test_importance_log_likelihood"),
        Mutant("the remainder dropped (k // chunk chunks)", "importance_log_likelihood",
               (("for start in range(0, k, chunk):", "for start in range(k // chunk):"),
                ("n = min(chunk, k - start)", "n = chunk")), "test_importance_log_likelihood"),
        _m("log q added", "importance_log_likelihood", "log_joint(x, z) - log_q(x, z)",
           "log_joint(x, z) + log_q(x, z)", "test_importance_log_likelihood"),
        _m("logsumexp over the examples", "importance_log_likelihood", "torch.logsumexp(log_w, dim=0)",
           "torch.logsumexp(log_w, dim=1)", "test_importance_log_likelihood"),
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
    ],
}
