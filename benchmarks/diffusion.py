"""Week 8 benchmark: DDPM and flow matching on 8-bit MNIST, sample quality against the sampler's steps, and bits/dim.

    python benchmarks/diffusion.py                      # DDPM and flow matching at full size (a GPU)
    python benchmarks/diffusion.py --models ddpm --minutes 15
    DGM_QUICK=1 python benchmarks/diffusion.py          # small U-Nets on a CPU

Both models share the U-Net of dgmlib.nn (width 64 at full size) and train on MNIST's 50,000 training images
(8-bit, scaled to [-1, 1]) for ``--minutes`` each, with an EMA of the weights (decay 0.999; none in quick mode). Then each
sampler is run for several step counts and its samples scored against the test images with week 6's
FID, KID, precision and recall (the course classifier's features: NOT comparable with Inception FIDs), with
the wall time per 1,000 samples. Likelihoods, on a subset of the test images, in bits/dim of the discrete
data like week 4's flows: DDPM's ELBO (T = 1000 terms: a true bound, with the discretised decoder) and
flow matching's ODE log-likelihood (RK4, Hutchinson divergence; dequantized: a bound in expectation).

Published, for scale (not like for like, larger models and days of training): DDPM reports CIFAR-10, not
MNIST; week 4's flows on 8-bit MNIST: RealNVP 1.06, Glow 1.05 bits/dim (FFJORD, Table 2).
"""
from __future__ import annotations

import math
import time

import torch

from dgmlib import is_quick, seed_everything, setting
from dgmlib.benchmark import data_record, parse_arguments, save_trained
from dgmlib.data import mnist
from dgmlib.metrics import extract_features, load_classifier, scores_from_features
from dgmlib.models.diffusion import DDPM, DDPMConfig, FlowMatching, FlowMatchingConfig
from dgmlib.nn.time_conditioned import UNet
from dgmlib.train import fit

MODELS = ("ddpm", "flow_matching")
SAMPLE_SCORES = ("fid", "kid", "kid_se", "precision", "recall", "seconds_per_1000")  # a row's figures of its sampler


def build(name: str):
    width = setting(64, quick=8)
    if name == "ddpm":
        return DDPM((1, 28, 28), UNet(1, width), DDPMConfig(timesteps=setting(1000, quick=100))), 2e-4
    if name == "flow_matching":
        return FlowMatching((1, 28, 28), UNet(1, width), FlowMatchingConfig(
            likelihood_steps=setting(100, quick=4))), 2e-4
    raise ValueError(f"unknown model {name!r}")


def samplers(name: str) -> list[tuple[str, dict]]:
    """(label, sample options) from cheapest to most faithful."""
    if name == "ddpm":
        full = [("DDIM 10", dict(sampler="ddim", steps=10)), ("DDIM 50", dict(sampler="ddim", steps=50)),
                ("DDIM 250", dict(sampler="ddim", steps=250)), ("DDPM 1000", dict(sampler="ddpm"))]
        return setting(full, quick=[("DDIM 5", dict(sampler="ddim", steps=5)), ("DDPM 100", dict(sampler="ddpm"))])
    full = [("Euler 10", dict(steps=10, method="euler")), ("Heun 10", dict(steps=10)), ("Heun 50", dict(steps=50)),
            ("Heun 100", dict(steps=100))]
    return setting(full, quick=[("Euler 5", dict(steps=5, method="euler")), ("Heun 5", dict(steps=5))])


def main(argv: list[str] | None = None) -> list[dict]:
    names, minutes, device, save_dir = parse_arguments(argv, list(MODELS), __doc__, quick_minutes=0.1)
    n_train, n_eval = setting(50_000, quick=2_000), setting(10_000, quick=200)
    n_likelihood = setting(500, quick=4)
    x_train = mnist("train")[0][:n_train]
    x_test = mnist("test")[0]
    x_test = x_test[torch.randperm(len(x_test), generator=torch.Generator().manual_seed(0))[:n_eval]]
    mode = "quick (DGM_QUICK=1: width 8, 2,000 train images, 200 samples)" if is_quick() else "full"
    print(f"8-bit MNIST, {mode}; device {device}")
    classifier = load_classifier(device=device)
    reference, _ = extract_features(x_test / 255.0, classifier)
    rows = []
    for name in names:
        seed_everything(0)
        model, lr = build(name)
        model.to(device)
        start = time.perf_counter()
        history = fit(model, x_train, steps=10**9, lr=lr, batch_size=128, device=device, seed=0,
                      time_limit=60 * minutes, ema=setting(0.999, quick=None), desc=name, log_every=200)
        trained = (time.perf_counter() - start) / 60
        final = history.ema.module if history.ema is not None else model  # quick mode: too few steps to average
        torch.manual_seed(0)  # the stochastic ELBO / Hutchinson estimate is then a function of the parameters
        with torch.no_grad():
            nll = -torch.cat([final.log_prob(b.to(device)).cpu() for b in x_test[:n_likelihood].split(50)]).mean()
        bpd = nll.item() / (784 * math.log(2))
        kind = "ELBO" if name == "ddpm" else "ODE"
        for label, options in samplers(name):
            torch.manual_seed(1)
            begin = time.perf_counter()
            samples = torch.cat([final.sample(min(500, n_eval - i), **options).cpu()
                                 for i in range(0, n_eval, 500)]) / 255.0
            seconds = time.perf_counter() - begin
            scores = scores_from_features(*extract_features(samples, classifier), reference,
                                          num_subsets=setting(100, quick=10), subset_size=min(1000, n_eval // 2))
            rows.append({"model": name, "sampler": label, "bits_per_dim": bpd, "likelihood": kind,
                         **{k: scores[k] for k in ("fid", "kid", "kid_se", "precision", "recall")},
                         "seconds_per_1000": 1000 * seconds / n_eval, "minutes": trained,
                         "steps": len(history.step), "params": sum(p.numel() for p in model.parameters()),
                         "device": str(device)})
        # one checkpoint per model: its bits/dim, and the scores of each sampler (the rows just printed)
        scores_per_sampler = {r["sampler"]: {k: r[k] for k in SAMPLE_SCORES} for r in rows if r["model"] == name}
        common = {k: v for k, v in rows[-1].items() if k not in SAMPLE_SCORES + ("sampler",)}
        save_trained(final, save_dir, "diffusion", name, {**common, "samplers": scores_per_sampler},
                     data_record("mnist", n_train, n_eval, f"; bits/dim on the first {n_likelihood} test images"))
    print(f"\n{'model':<15}{'sampler':<11}{'bits/dim':>9}{'(kind)':>7}{'FID':>9}{'KID':>9}{'prec.':>7}{'recall':>7}"
          f"{'s/1000':>9}{'train min':>10}{'steps':>8}{'params':>9}")
    for r in rows:
        print(f"{r['model']:<15}{r['sampler']:<11}{r['bits_per_dim']:>9.3f}{r['likelihood']:>7}{r['fid']:>9.2f}"
              f"{r['kid']:>9.3f}{r['precision']:>7.3f}{r['recall']:>7.3f}{r['seconds_per_1000']:>9.1f}"
              f"{r['minutes']:>10.1f}{r['steps']:>8}{r['params']:>9}")
    print(f"\nbits/dim on {n_likelihood} test images of the discrete data (week 4's flows: RealNVP 1.06, Glow 1.05 at "
          "far larger size). FID etc. in the course classifier's features against the test images: NOT comparable "
          "with Inception-based FIDs in papers. s/1000: sampling wall time per 1,000 images.")
    return rows


if __name__ == "__main__":
    main()
