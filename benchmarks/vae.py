"""Week 3 benchmark: VAE and IWAE on binarized MNIST, next to Burda et al. (2016).

    python benchmarks/vae.py                      # full size (a GPU): K = 5000 for the test NLL
    python benchmarks/vae.py --models vae --minutes 15
    DGM_QUICK=1 python benchmarks/vae.py          # minutes on a CPU, small models, small K

Architecture of Burda et al.'s one-stochastic-layer models: 50 latents, two
deterministic layers of 200 tanh units in encoder and decoder. Each model trains
for at most ``--minutes`` keeping the parameters with the best validation NLL
(importance sampled with K = 100); the table gives the test NLL importance
sampled with K = 5000 and the test ELBO (negated, in nats), both per example.
"""
from __future__ import annotations

import argparse

import torch

from dgmlib import get_device, is_quick, seed_everything, setting
from dgmlib.benchmark import Entry, print_table, run
from dgmlib.data import binarized_mnist
from dgmlib.models import VAE, VAEConfig

SHAPE = (1, 28, 28)


@torch.no_grad()
def negative_elbo(model: VAE, x: torch.Tensor) -> float:
    return -torch.cat([model.elbo(batch) for batch in x.split(500)]).mean().item()


def entries() -> dict[str, Entry]:
    latent, hidden = setting(50, quick=16), setting(200, quick=64)
    eval_k = setting(5000, quick=50)
    steps = setting(300_000, quick=150)
    metrics = {"-ELBO": negative_elbo}

    def config(**kw):
        return VAEConfig(latent_dim=latent, hidden=hidden, eval_samples=eval_k, eval_chunk=setting(100, quick=50), **kw)
    return {
        "vae": Entry(lambda: VAE(SHAPE, config(k=1)), 86.76, "Burda et al. 2016, VAE k=1", steps,
                     extra_metrics=metrics),
        "iwae": Entry(lambda: VAE(SHAPE, config(k=setting(50, quick=5))), 84.78, "Burda et al. 2016, IWAE k=50",
                      steps, extra_metrics=metrics),
        "conv_vae": Entry(lambda: VAE(SHAPE, config(k=1, architecture="conv")), None, "-", steps,
                          extra_metrics=metrics),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    table = entries()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(table), help=f"comma-separated subset of {list(table)}")
    parser.add_argument("--minutes", type=float, default=setting(15.0, quick=0.5),
                        help="training time budget per model (default: 15, quick mode 0.5)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(table))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(table)}")

    device = get_device(args.device)
    n_train, n_eval = setting(50_000, quick=2_000), setting(10_000, quick=300)
    x_train = binarized_mnist("train")[:n_train]
    x_valid = binarized_mnist("valid")[:n_eval].to(device)
    x_test = binarized_mnist("test")[:n_eval].to(device)
    mode = "quick (DGM_QUICK=1: small models, subsets, small K)" if is_quick() else "full"
    print(f"binarized MNIST, {mode}; device {device}; {len(x_train)} train / {len(x_test)} test images")

    valid_k = setting(100, quick=10)

    def valid_nll(model, x):
        with torch.no_grad():
            return -torch.cat([model.importance_log_likelihood(b, k=valid_k) for b in x.split(500)]).mean().item()

    rows = []
    for name in names:
        seed_everything(0)
        rows.append(run(name, table[name], x_train, x_valid, x_test, args.minutes, device, valid_nll))
    print_table(rows, extra=("-ELBO",))
    return rows


if __name__ == "__main__":
    main()
