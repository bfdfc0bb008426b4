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
}
