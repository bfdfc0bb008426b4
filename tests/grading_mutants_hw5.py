"""Plausible wrong answers and differently written correct answers for hw5_evaluation (week 6, evaluating generative
models).

Merged into ``grading_mutants.MUTANTS["hw5_evaluation"]`` at the end of tests/grading_mutants.py; the format is the one
of that file: ``_m`` substitutes text in the reference answer (each ``old`` occurs once in that cell) and must lose
points on ``loses``; ``Mutant`` with several substitutions does the same for a mistake that spans lines; ``_alt``
replaces the whole answer cell and must keep full marks.
"""
from __future__ import annotations

import textwrap

from grading_mutants import Mutant, _alt, _m

_FID_TRACE = "trace_root = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()"
_EF_RETURN = "return 2 * sigma ** 2 / n + 2 * (sigma ** 2 - mean_s ** 2)"
_EF_LOG_RATIO = "log_gamma_ratio = math.lgamma(n / 2) - math.lgamma((n - 1) / 2)"
_KID_CROSS = "- 2 * k_xy.mean()"
_PR_SELF = "dist.fill_diagonal_(math.inf)"
_PR_INSIDE = ("inside = torch.cdist(points, centres) <= radii(centres)[None, :]\n"
              "        return inside.any(dim=1).double().mean().item()")
_AIS_TARGET = "return (1 - beta) * log_p0(z) + beta * log_f(z)"
_AIS_WEIGHT = "log_w = log_w + (beta - beta_prev) * (log_f(x) - log_p0(x))"
_AIS_ACCEPT = "accept = torch.log(u) < log_f_beta(proposal) - log_f_beta(x)"


def _cell(source: str) -> str:
    return textwrap.dedent(source).strip() + "\n"


HW5_MUTANTS: list[Mutant] = [
    # Part 1: FID from features
    Mutant("eigenvalues not clamped: nan, or eigh fails, for singular covariances", "fid_from_features",
           (("evals_a.clamp(min=0).sqrt()", "evals_a.sqrt()"),
            ("eigvalsh(middle).clamp(min=0).sqrt()", "eigvalsh(middle).sqrt()")), "test_fid_from_features"),
    _m("the roots of the two covariances multiplied, tr(S_a^1/2 S_b^1/2) (right only if they commute)",
       "fid_from_features", _FID_TRACE,
       "evals_b, evecs_b = torch.linalg.eigh(cov_b)\n"
       "    root_b = (evecs_b * evals_b.clamp(min=0).sqrt()) @ evecs_b.T\n"
       "    trace_root = torch.trace(root_a @ root_b)", "test_fid_from_features"),
    _m("the element-wise square root of S_a S_b", "fid_from_features", _FID_TRACE,
       "trace_root = torch.sqrt(cov_a @ cov_b).trace()", "test_fid_from_features"),
    _m("the square root of the trace, sqrt(tr(S_a S_b))", "fid_from_features", _FID_TRACE,
       "trace_root = torch.sqrt(torch.trace(cov_a @ cov_b))", "test_fid_from_features"),
    Mutant("covariances normalised by N, not N - 1", "fid_from_features",
           (("/ (len(features_a) - 1)", "/ len(features_a)"), ("/ (len(features_b) - 1)", "/ len(features_b)")),
           "test_fid_from_features"),
    Mutant("the covariance of the rows (N x N), not of the features", "fid_from_features",
           (("centred_a.T @ centred_a", "centred_a @ centred_a.T"),
            ("centred_b.T @ centred_b", "centred_b @ centred_b.T")),
           "test_fid_from_features"),
    _m("the distance between the means not squared", "fid_from_features", "(mean_a - mean_b).square().sum()",
       "(mean_a - mean_b).norm()", "test_fid_from_features"),
    _alt("scipy.linalg.sqrtm of S_a S_b, real part, numpy covariances", "fid_from_features", """
        def fid_from_features(features_a, features_b):
            import numpy as np
            from scipy import linalg
            a, b = features_a.numpy(), features_b.numpy()
            cov_a = np.atleast_2d(np.cov(a, rowvar=False))
            cov_b = np.atleast_2d(np.cov(b, rowvar=False))
            covmean = linalg.sqrtm(cov_a @ cov_b)
            diff = a.mean(axis=0) - b.mean(axis=0)
            return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean).real)
        """),
    _alt("complex square roots of the eigenvalues of S_a S_b (torch.linalg.eigvals), einsum covariances",
         "fid_from_features", """
        def fid_from_features(features_a, features_b):
            n_a, n_b = features_a.shape[0], features_b.shape[0]
            xa = features_a - features_a.mean(0, keepdim=True)
            xb = features_b - features_b.mean(0, keepdim=True)
            s_a = torch.einsum("ni,nj->ij", xa, xa) / (n_a - 1)
            s_b = torch.einsum("ni,nj->ij", xb, xb) / (n_b - 1)
            # real and >= 0 up to rounding: a tiny negative eigenvalue gets an imaginary root, dropped by .real
            trace_root = torch.linalg.eigvals(s_a @ s_b).sqrt().real.sum()
            shift = features_a.mean(0) - features_b.mean(0)
            return torch.sum(shift ** 2) + torch.trace(s_a) + torch.trace(s_b) - 2 * trace_root
        """),
    _alt("the nuclear norm of S_a^1/2 S_b^1/2 (its singular values are the roots), torch.cov", "fid_from_features", """
        def fid_from_features(features_a, features_b):
            def gaussian_fit(x):
                f = x.shape[1]
                return x.mean(dim=0), torch.cov(x.T).reshape(f, f)

            def psd_root(s):
                w, v = torch.linalg.eigh(s)
                return v @ torch.diag(torch.sqrt(torch.relu(w))) @ v.T

            mean_a, cov_a = gaussian_fit(features_a)
            mean_b, cov_b = gaussian_fit(features_b)
            nuclear = torch.linalg.matrix_norm(psd_root(cov_a) @ psd_root(cov_b), ord="nuc")
            return float(torch.dot(mean_a - mean_b, mean_a - mean_b) + cov_a.trace() + cov_b.trace() - 2 * nuclear)
        """),
    # correct numbers, but the course's reference code instead of the student's own (check_own_work)
    Mutant("dgmlib's fid instead of the student's", "fid_from_features", (), "test_fid_from_features", _cell("""
        def fid_from_features(features_a, features_b):
            from dgmlib.metrics import fid
            return fid(features_a, features_b)
        """)),
    # Part 2: FID's bias with the sample size
    Mutant("Gamma itself, not log Gamma (overflows for n > 343)", "expected_fid_1d",
           ((_EF_LOG_RATIO, "gamma_ratio = math.gamma(n / 2) / math.gamma((n - 1) / 2)"),
            ("math.exp(log_gamma_ratio)", "gamma_ratio")), "test_expected_fid_1d"),
    _m("the means' term of one sample, sigma^2 / n", "expected_fid_1d", "return 2 * sigma ** 2 / n +",
       "return sigma ** 2 / n +", "test_expected_fid_1d"),
    _m("E[s] taken as sigma: the means' term alone", "expected_fid_1d", _EF_RETURN, "return 2 * sigma ** 2 / n",
       "test_expected_fid_1d"),
    Mutant("chi with n degrees of freedom, not n - 1", "expected_fid_1d",
           (("math.lgamma(n / 2) - math.lgamma((n - 1) / 2)", "math.lgamma((n + 1) / 2) - math.lgamma(n / 2)"),
            ("math.sqrt(2 / (n - 1))", "math.sqrt(2 / n)")), "test_expected_fid_1d"),
    _m("in units of sigma, not sigma^2", "expected_fid_1d", _EF_RETURN,
       "return (2 / n + 2 * (1 - (mean_s / sigma) ** 2)) * sigma", "test_expected_fid_1d"),
    _m("the 1/n variance in the fits", "expected_fid_1d", _EF_RETURN,
       "return 2 * sigma ** 2 / n + 2 * (sigma ** 2 - mean_s ** 2) * (n - 1) / n", "test_expected_fid_1d"),
    _alt("scipy.stats.chi's mean", "expected_fid_1d", """
        def expected_fid_1d(n, sigma):
            from scipy import stats
            k = n - 1
            mean_s = sigma * stats.chi(k).mean() / math.sqrt(k)  # s = sigma chi_k / sqrt(k)
            return 2 * sigma ** 2 / n + 2 * sigma ** 2 - 2 * mean_s ** 2
        """),
    _alt("the Gamma ratio from scipy.special.beta", "expected_fid_1d", """
        def expected_fid_1d(n, sigma):
            from scipy.special import beta
            a = (n - 1) / 2
            # Gamma(a + 1/2) / Gamma(a) = sqrt(pi) / B(a, 1/2)
            c = math.sqrt(2 / (n - 1)) * math.sqrt(math.pi) / beta(a, 0.5)
            var_means = 2 * sigma ** 2 / n
            return float(var_means + 2 * sigma ** 2 * (1 - c * c))
        """),
    _alt("torch.lgamma, a 0-dim tensor", "expected_fid_1d", """
        def expected_fid_1d(n, sigma):
            lg = torch.lgamma(torch.tensor([n / 2, (n - 1) / 2], dtype=torch.float64))
            c4_squared = 2 / (n - 1) * torch.exp(2 * (lg[0] - lg[1]))
            return sigma ** 2 * (2 / n + 2 - 2 * c4_squared)
        """),
    # Part 3: KID's unbiased estimator
    Mutant("the V-statistic: the diagonals kept", "mmd2_unbiased",
           (("(k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))", "k_xx.mean()"),
            ("(k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))", "k_yy.mean()")), "test_mmd2_unbiased"),
    Mutant("the diagonals left out, but divided by m^2 and n^2", "mmd2_unbiased",
           (("/ (m * (m - 1))", "/ (m * m)"), ("/ (n * (n - 1))", "/ (n * n)")), "test_mmd2_unbiased"),
    _m("both within-set means divided by m (m - 1)", "mmd2_unbiased", "/ (n * (n - 1))", "/ (m * (m - 1))",
       "test_mmd2_unbiased"),
    _m("the kernel without the 1/d", "mmd2_unbiased", "(a @ b.T / d + 1) ** 3", "(a @ b.T + 1) ** 3",
       "test_mmd2_unbiased"),
    _m("the cross term counted once", "mmd2_unbiased", _KID_CROSS, "- k_xy.mean()", "test_mmd2_unbiased"),
    _m("the diagonal of k_xy left out too (depends on the order of the points)", "mmd2_unbiased", _KID_CROSS,
       "- 2 * (k_xy.sum() - k_xy.diagonal().sum()) / (m * n - min(m, n))", "test_mmd2_unbiased"),
    # torch warns "To copy construct from a tensor..." on stderr: a warning must not cost points
    _m("a harmless torch UserWarning", "mmd2_unbiased", "m, n, d = x.shape[0], y.shape[0], x.shape[1]",
       "x = torch.tensor(x)\n    m, n, d = x.shape[0], y.shape[0], x.shape[1]", None),
    _alt("a loop over the rows, the point itself cut out of its row", "mmd2_unbiased", """
        def mmd2_unbiased(x, y):
            d = x.shape[1]

            def mean_over_pairs(a, b, same):
                total, count = 0.0, 0
                for i in range(len(a)):
                    row = (b @ a[i] / d + 1) ** 3
                    if same:
                        row = torch.cat([row[:i], row[i + 1:]])
                    total = total + row.sum()
                    count += len(row)
                return total / count

            return mean_over_pairs(x, x, True) + mean_over_pairs(y, y, True) - 2 * mean_over_pairs(x, y, False)
        """),
    _alt("the cubic kernel's explicit feature map, sums instead of Gram matrices", "mmd2_unbiased", """
        def mmd2_unbiased(x, y):
            d = x.shape[1]

            def features(a):  # (a.b / d + 1)^3 = 1 + 3 (u.v) + 3 (u.v)^2 + (u.v)^3 with u = a / sqrt(d)
                n = len(a)
                u = a / math.sqrt(d)
                second = torch.einsum("ni,nj->nij", u, u).reshape(n, -1)
                third = torch.einsum("ni,nj,nk->nijk", u, u, u).reshape(n, -1)
                ones = torch.ones(n, 1, dtype=a.dtype)
                return torch.cat([ones, math.sqrt(3) * u, math.sqrt(3) * second, third], dim=1)

            def within(phi):  # the mean of phi_i . phi_j over the pairs i != j
                n = len(phi)
                total = phi.sum(dim=0)
                return (total @ total - (phi * phi).sum()) / (n * (n - 1))

            px, py = features(x), features(y)
            return within(px) + within(py) - 2 * (px.mean(dim=0) @ py.mean(dim=0))
        """),
    _alt("twice the strict upper triangle, einsum", "mmd2_unbiased", """
        def mmd2_unbiased(x, y):
            d = x.size(1)
            gram = lambda a, b: torch.pow(torch.einsum("id,jd->ij", a, b) / d + 1, 3)  # noqa: E731

            def off_diagonal_mean(a):
                n = a.size(0)
                return 2 * torch.triu(gram(a, a), diagonal=1).sum() / (n * (n - 1))

            return off_diagonal_mean(x) + off_diagonal_mean(y) - 2 * gram(x, y).mean()
        """),
    Mutant("dgmlib's _mmd2_unbiased instead of the student's", "mmd2_unbiased", (), "test_mmd2_unbiased", _cell("""
        def mmd2_unbiased(x, y):
            from dgmlib.metrics.sample_quality import _mmd2_unbiased
            return _mmd2_unbiased(x, y)
        """)),
    # Part 4: precision and recall
    _m("the point itself counted as its own nearest neighbour", "precision_recall",
       "        " + _PR_SELF + "  # a point is not its own neighbour (a duplicate of it is)\n", "",
       "test_precision_recall"),
    _m("every zero distance left out (a duplicate is a neighbour too)", "precision_recall", _PR_SELF,
       "dist[dist == 0] = math.inf", "test_precision_recall"),
    _m("strictly inside (a point on the boundary left out)", "precision_recall", "<= radii(centres)[None, :]",
       "< radii(centres)[None, :]", "test_precision_recall"),
    _m("only the ball of the nearest centre", "precision_recall", _PR_INSIDE,
       "dist = torch.cdist(points, centres)\n"
       "        nearest = dist.argmin(dim=1)\n"
       "        return (dist.min(dim=1).values <= radii(centres)[nearest]).double().mean().item()",
       "test_precision_recall"),
    _m("the (k + 1)-th neighbour", "precision_recall", "kthvalue(k, dim=1)", "kthvalue(k + 1, dim=1)",
       "test_precision_recall"),
    _m("precision and recall swapped", "precision_recall",
       "return fraction_inside(fake, real), fraction_inside(real, fake)",
       "return fraction_inside(real, fake), fraction_inside(fake, real)", "test_precision_recall"),
    _alt("sorted rows of scipy's cdist (the point itself is the first 0, its k-th neighbour at index k)",
         "precision_recall", """
        def precision_recall(real, fake, k=3):
            import numpy as np
            from scipy.spatial.distance import cdist
            r, f = real.numpy(), fake.numpy()

            def radii(points):
                return np.sort(cdist(points, points), axis=1)[:, k]

            precision = np.mean((cdist(f, r) <= radii(r)[None, :]).any(axis=1))
            recall = np.mean((cdist(r, f) <= radii(f)[None, :]).any(axis=1))
            return float(precision), float(recall)
        """),
    _alt("loops over the points, the point itself cut out of its distances", "precision_recall", """
        def precision_recall(real, fake, k=3):
            def kth_other(points, i):
                d = torch.sqrt(((points - points[i]) ** 2).sum(dim=1))
                d = torch.cat([d[:i], d[i + 1:]])
                return torch.sort(d).values[k - 1]

            def covered(points, centres):
                radius = torch.stack([kth_other(centres, i) for i in range(len(centres))])
                count = 0
                for z in points:
                    count += bool((torch.sqrt(((centres - z) ** 2).sum(dim=1)) <= radius).any())
                return count / len(points)

            return covered(fake, real), covered(real, fake)
        """),
    _alt("squared distances, topk of k + 1 with the point itself, a float32 fraction", "precision_recall", """
        def precision_recall(real, fake, k=3):
            def sq_dists(a, b):
                return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)

            def coverage(points, centres):
                r2 = torch.topk(sq_dists(centres, centres), k + 1, dim=1, largest=False).values[:, -1]
                return (sq_dists(points, centres) <= r2).any(dim=1).float().mean().item()

            return coverage(fake, real), coverage(real, fake)
        """),
    Mutant("dgmlib's knn_radii instead of the student's radii", "precision_recall", (), "test_precision_recall",
           _cell("""
        def precision_recall(real, fake, k=3):
            from dgmlib.metrics.precision_recall import knn_radii

            def fraction_inside(points, centres):
                inside = torch.cdist(points, centres) <= knn_radii(centres, k)[None, :]
                return inside.any(dim=1).double().mean().item()

            return fraction_inside(fake, real), fraction_inside(real, fake)
        """)),
    # Part 5: one AIS step
    Mutant("the weight at the state after the move", "ais_step",
           (("    " + _AIS_WEIGHT + "\n", ""), ("    return x, log_w", "    " + _AIS_WEIGHT + "\n    return x, log_w")),
           "test_ais_step"),
    _m("the Metropolis step at the previous temperature", "ais_step", _AIS_TARGET,
       "return (1 - beta_prev) * log_p0(z) + beta_prev * log_f(z)", "test_ais_step"),
    _m("(1 - beta) missing on p0", "ais_step", _AIS_TARGET, "return log_p0(z) + beta * log_f(z)", "test_ais_step"),
    _m("the Metropolis step for the target f alone", "ais_step", _AIS_TARGET, "return log_f(z)", "test_ais_step"),
    _m("a ratio of densities, not of log-densities (0 / 0 far in the tails)", "ais_step", _AIS_ACCEPT,
       "accept = u < torch.exp(log_f_beta(proposal)) / torch.exp(log_f_beta(x))", "test_ais_step"),
    _m("the factor without p0, (beta - beta_prev) log f", "ais_step", "(log_f(x) - log_p0(x))", "log_f(x)",
       "test_ais_step"),
    _m("the factor inverted", "ais_step", "(beta - beta_prev)", "(beta_prev - beta)", "test_ais_step"),
    _m("every proposal accepted", "ais_step", "x = torch.where(accept[:, None], proposal, x)", "x = proposal",
       "test_ais_step"),
    _m("accepted when u is above the ratio", "ais_step", "accept = torch.log(u) < ", "accept = torch.log(u) > ",
       "test_ais_step"),
    _alt("log f_beta at both temperatures, min(1, ratio) against u, a masked copy", "ais_step", """
        def ais_step(x, log_w, beta_prev, beta, log_p0, log_f, proposal, u):
            def log_intermediate(b, z):
                return (1 - b) * log_p0(z) + b * log_f(z)

            new_log_w = log_w + log_intermediate(beta, x) - log_intermediate(beta_prev, x)
            log_alpha = torch.clamp(log_intermediate(beta, proposal) - log_intermediate(beta, x), max=0.0)
            moves = u < torch.exp(log_alpha)
            x_new = x.clone()
            x_new[moves] = proposal[moves]
            return x_new, new_log_w
        """),
    _alt("numpy, log p0 + beta (log f - log p0)", "ais_step", """
        def ais_step(x, log_w, beta_prev, beta, log_p0, log_f, proposal, u):
            import numpy as np
            lp0_x, lf_x = log_p0(x).numpy(), log_f(x).numpy()
            lp0_y, lf_y = log_p0(proposal).numpy(), log_f(proposal).numpy()
            log_w_new = log_w.numpy() + beta * (lf_x - lp0_x) - beta_prev * (lf_x - lp0_x)
            log_target_x = lp0_x + beta * (lf_x - lp0_x)
            log_target_y = lp0_y + beta * (lf_y - lp0_y)
            accept = np.log(u.numpy()) < np.minimum(0.0, log_target_y - log_target_x)
            x_new = np.where(accept[:, None], proposal.numpy(), x.numpy())
            return torch.from_numpy(x_new), torch.from_numpy(log_w_new)
        """),
    _alt("the move as x + a (x' - x) with a in {0, 1}, differences of log-densities", "ais_step", """
        def ais_step(x, log_w, beta_prev, beta, log_p0, log_f, proposal, u):
            log_ratio_target = log_f(x) - log_p0(x)
            log_w_next = log_w + (beta - beta_prev) * log_ratio_target
            diff_p0 = log_p0(proposal) - log_p0(x)
            diff_f = log_f(proposal) - log_f(x)
            accepted = (torch.log(u) < (1 - beta) * diff_p0 + beta * diff_f).to(x.dtype)[:, None]
            return x + accepted * (proposal - x), log_w_next
        """),
]
