"""Week 7 benchmark: an RBM's test log-likelihood by AIS next to Salakhutdinov & Murray's, and a Langevin EBM's samples.

    python benchmarks/ebm.py                           # RBM CD-25, RBM PCD, conv EBM at full size (a GPU)
    python benchmarks/ebm.py --models rbm_cd25 --minutes 15
    DGM_QUICK=1 python benchmarks/ebm.py               # small models on a CPU

RBMs (500 hidden units) train on binarized MNIST (Larochelle & Murray's static binarization, which is
Salakhutdinov & Murray's: 50,000 training images here) with contrastive divergence (25 Gibbs steps) or
persistent CD, for ``--minutes`` each. Their test log-likelihood is -F(v) - log Z with log Z estimated by
AIS from a base-rate model fitted to the training pixels (Salakhutdinov & Murray 2008: 14,500 temperatures
and 100 chains at full size), reported with AIS's own standard error beside the test set's 95% interval.

Published: Salakhutdinov & Murray (2008), Table 2, an RBM with 500 hidden units trained with CD25: -86.34
nats (AIS estimate), also listed by Larochelle & Murray (2011), Table 2. Their RBM trained for far longer
than a 15-minute budget, so our row says how long ours trained.

The convolutional EBM (Du & Mordatch 2019: persistent Langevin chains, replay buffer, spectral norm) trains
on 8-bit MNIST scaled to [0, 1]; it has no likelihood, so its samples (200 Langevin steps from noise) are
scored like the GANs' (FID, KID, precision, recall in the course classifier's features) beside the floor.
"""
from __future__ import annotations

import math
import time

import torch

from dgmlib import is_quick, seed_everything, setting
from dgmlib.benchmark import data_record, parse_arguments, save_trained
from dgmlib.data import binarized_mnist, mnist
from dgmlib.metrics import Z_95, extract_features, load_classifier, scores_from_features
from dgmlib.models.energy import BernoulliRBM, ConvEnergy, EBMConfig, RBMConfig
from dgmlib.train import fit

MODELS = ("rbm_cd25", "rbm_pcd", "conv_ebm")
# as a test NLL in nats, like every other benchmark's "published" (the paper reports log p = -86.34)
PUBLISHED = {"rbm_cd25": (86.34, "Salakhutdinov & Murray 2008, Table 2: 500 hidden units, CD25 (AIS)")}


def build(name: str):
    """(model, lr) at full size; quick mode shrinks them."""
    hidden = setting(500, quick=32)
    if name == "rbm_cd25":
        return BernoulliRBM((1, 28, 28), RBMConfig(hidden=hidden, k=setting(25, quick=2))), 1e-3
    if name == "rbm_pcd":
        return BernoulliRBM((1, 28, 28), RBMConfig(hidden=hidden, k=1, persistent=True, chains=100)), 1e-3
    if name == "conv_ebm":
        config = EBMConfig(steps=setting(60, quick=5), sample_steps=setting(200, quick=20))
        return ConvEnergy((1, 28, 28), setting(32, quick=8), config), 1e-4
    raise ValueError(f"unknown model {name!r}")


@torch.no_grad()
def rbm_test_log_likelihood(model: BernoulliRBM, x_train: torch.Tensor, x_test: torch.Tensor) -> dict:
    """Mean test log p(v) = -F(v) - log Z (AIS from the training pixels' base rate), with both error bars."""
    mean = x_train.flatten(1).mean(0).clamp(1e-3, 1 - 1e-3)  # the base rate: each pixel's frequency
    torch.manual_seed(0)
    ais = model.ais_log_partition(setting(14_500, quick=200), n_chains=100, base_logits=torch.logit(mean).to(model.W))
    unnormalized = torch.cat([-model.free_energy(b.to(model.W)) for b in x_test.split(1000)]).double().cpu()
    log_z = ais.log_normalizer.item()
    nll = log_z - unnormalized.mean().item()
    return {"test_nll": nll, "interval": Z_95 * unnormalized.std().item() / len(unnormalized) ** 0.5,
            "bits_per_dim": nll / (x_test[0].numel() * math.log(2)), "log_z": log_z, "ais_se": ais.std_error.item()}


def main(argv: list[str] | None = None) -> list[dict]:
    names, minutes, device, save_dir = parse_arguments(argv, list(MODELS), __doc__, quick_minutes=0.1)
    n_train, n_eval = setting(50_000, quick=2_000), setting(10_000, quick=300)
    pick = torch.Generator().manual_seed(0)
    binary_train = binarized_mnist("train")[:n_train]
    binary_test = binarized_mnist("test")
    binary_test = binary_test[torch.randperm(len(binary_test), generator=pick)[:n_eval]]  # the file is sorted
    mode = "quick (DGM_QUICK=1: 32 hidden units, CD-2, 200 AIS temperatures, 300 test images)" if is_quick() else "full"
    print(f"binarized and 8-bit MNIST, {mode}; device {device}")
    rows = []
    for name in names:
        seed_everything(0)
        model, lr = build(name)
        model.to(device)
        if name == "conv_ebm":
            rows.append(conv_ebm_row(model, lr, minutes, device, n_train, n_eval))
            save_trained(model, save_dir, "ebm", name, rows[-1], data_record("mnist", n_train, n_eval, " / 255"))
            continue
        start = time.perf_counter()
        history = fit(model, binary_train, steps=10**9, lr=lr, batch_size=100, device=device, seed=0,
                      time_limit=60 * minutes, desc=name, log_every=200)
        trained = (time.perf_counter() - start) / 60
        published, source = PUBLISHED.get(name, (None, "-"))
        rows.append({"model": name, **rbm_test_log_likelihood(model, binary_train, binary_test),
                     "published": published, "source": source, "minutes": trained, "steps": len(history.step),
                     "params": sum(p.numel() for p in model.parameters()), "device": str(device)})
        save_trained(model, save_dir, "ebm", name, rows[-1], data_record("binarized_mnist", len(binary_train), n_eval))
    print(f"\n{'model':<12}{'test LL':>10}{'± 95%':>8}{'log Z':>10}{'AIS s.e.':>10}{'published':>11}"
          f"{'FID':>9}{'prec.':>7}{'recall':>7}{'minutes':>9}{'steps':>8}{'params':>9}  source")
    for r in rows:
        ll = "" if r.get("test_nll") is None else f"{-r['test_nll']:>10.2f}{r['interval']:>8.2f}{r['log_z']:>10.2f}" \
                                                  f"{r['ais_se']:>10.3f}"
        published = "-" if r.get("published") is None else f"{-r['published']:.2f}"
        fid = "" if r.get("fid") is None else f"{r['fid']:>9.2f}{r['precision']:>7.3f}{r['recall']:>7.3f}"
        print(f"{r['model']:<12}{ll or ' ' * 38}{published:>11}{fid or ' ' * 23}{r['minutes']:>9.1f}{r['steps']:>8}"
              f"{r['params']:>9}  {r['source']}")
    print("\ntest LL: mean log p(v) in nats on binarized MNIST's test images (higher is better), log Z by AIS; "
          "'± 95%' is the test set's sampling error, 'AIS s.e.' the estimator's. FID etc.: 8-bit MNIST in the course "
          "classifier's features, not comparable with Inception-based FIDs.")
    return rows


def conv_ebm_row(model: ConvEnergy, lr: float, minutes: float, device, n_train: int, n_eval: int) -> dict:
    x_train = mnist("train")[0][:n_train] / 255.0
    x_test = mnist("test")[0]
    x_test = x_test[torch.randperm(len(x_test), generator=torch.Generator().manual_seed(0))[:n_eval]] / 255.0
    start = time.perf_counter()
    history = fit(model, x_train, steps=10**9, lr=lr, batch_size=64, device=device, seed=0,
                  time_limit=60 * minutes, desc="conv_ebm", log_every=100)
    trained = (time.perf_counter() - start) / 60
    classifier = load_classifier(device=device)
    reference, _ = extract_features(x_test, classifier)
    torch.manual_seed(1)  # the samples, hence the scores, are then a function of the parameters (and a checkpoint's)
    samples = torch.cat([model.sample(min(500, n_eval - i)).cpu() for i in range(0, n_eval, 500)])
    scores = scores_from_features(*extract_features(samples, classifier), reference,
                                  num_subsets=setting(100, quick=10), subset_size=min(1000, n_eval // 2))
    return {"model": "conv_ebm", "test_nll": None, **{k: scores[k] for k in ("fid", "kid", "precision", "recall")},
            "published": None, "source": "Du & Mordatch 2019 (their MNIST figures are samples, no FID)",
            "minutes": trained, "steps": len(history.step), "params": sum(p.numel() for p in model.parameters()),
            "device": str(device)}


if __name__ == "__main__":
    main()
