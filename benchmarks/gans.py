"""Week 5 benchmark: GANs on MNIST, scored by FID and KID in the features of the course's MNIST classifier.

    python benchmarks/gans.py                          # DCGAN, WGAN-GP, hinge + SN, conditional (a GPU)
    python benchmarks/gans.py --models wgan_gp --minutes 15
    DGM_QUICK=1 python benchmarks/gans.py              # about 2 minutes on a CPU, small models

Every model is trained on MNIST's 50,000 training images (8-bit pixels scaled to [0, 1]) for the same time
budget; the generator's weights are averaged (EMA, decay 0.999) and 10,000 samples of the averaged generator are
compared with the 10,000 test images. FID (Heusel et al. 2017) and KID (Binkowski et al. 2018) are
computed in the 128 features of the small CNN classifier that the course trains itself
(``python -m dgmlib.metrics.classifier``; about 99% test accuracy), not in Inception-v3's: **these FIDs are not
comparable with the Inception-based FIDs in papers**, only with each other. For scale the table starts with
the floor (the FID of 10,000 training images against the test set, what a perfect model would score at this
sample size) and a VAE with a Gaussian decoder (its decoder means, trained for the same time).
"""
from __future__ import annotations

import time

import torch
from torch.utils.data import TensorDataset

from dgmlib import is_quick, seed_everything, setting
from dgmlib.benchmark import data_record, parse_arguments, save_trained
from dgmlib.data import mnist
from dgmlib.metrics import extract_features, load_classifier, scores_from_features
from dgmlib.models.adversarial import DCGAN, DCGANConfig, GANConfig
from dgmlib.models.latent.gaussian_vae import GaussianVAE, GaussianVAEConfig
from dgmlib.train import fit

MODELS = ("dcgan", "wgan_gp", "hinge_sn", "conditional")


def build(name: str):
    """(model, lr) at full size; quick mode shrinks the width."""
    cfg = DCGANConfig(latent_dim=64, width=setting(64, quick=16))
    if name == "dcgan":  # Radford et al.: non-saturating loss, Adam(2e-4, beta1 = 0.5)
        return DCGAN(cfg, GANConfig("non_saturating")), 2e-4
    if name == "wgan_gp":  # Gulrajani et al.: lambda = 10, 5 critic steps, Adam(1e-4, (0, 0.9))
        return DCGAN(cfg, GANConfig("wasserstein", n_critic=5, gp_weight=10.0, betas=(0.0, 0.9))), 1e-4
    if name == "hinge_sn":  # Miyato et al.: hinge loss, spectral norm in D, Adam(2e-4, (0.5, 0.999))
        return DCGAN(cfg, GANConfig("hinge", spectral_norm=True)), 2e-4
    if name == "conditional":  # the same, with labels: projection discriminator (Miyato & Koyama 2018)
        return DCGAN(cfg, GANConfig("hinge", spectral_norm=True), num_classes=10), 2e-4
    if name == "vae":
        return GaussianVAE((1, 28, 28), GaussianVAEConfig(latent_dim=32, architecture="conv",
                                                          hidden=setting(512, quick=64))), 1e-3
    raise ValueError(f"unknown model {name!r}")


def samples_of(model, n: int, labels: torch.Tensor | None, batch: int = 1000) -> torch.Tensor:
    """n samples (n, 1, 28, 28) in [0, 1] on the CPU; a conditional model draws for the given labels."""
    out = []
    for start in range(0, n, batch):
        k = min(batch, n - start)
        if isinstance(model, GaussianVAE):
            x = model.sample(k, mean=True).clamp(0, 1)  # decoder means, what "VAE samples" usually shows
        elif model.conditional:
            x = model.sample(k, labels[start:start + k].to(model.device))
        else:
            x = model.sample(k)
        out.append(x.cpu())
    return torch.cat(out)


def main(argv: list[str] | None = None) -> list[dict]:
    names, minutes, device, save_dir = parse_arguments(argv, list(MODELS), __doc__, quick_minutes=0.15)
    n_train, n_eval = setting(50_000, quick=2_000), setting(10_000, quick=500)
    x_train, y_train = mnist("train")
    x_train, y_train = x_train[:n_train] / 255.0, y_train[:n_train]
    x_test, y_test = mnist("test")
    pick = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(0))[:n_eval]
    x_test, y_test = x_test[pick] / 255.0, y_test[pick]
    mode = "quick (DGM_QUICK=1: width 16, 2,000 train images, 9 s per model, 500 samples)" if is_quick() else "full"
    print(f"8-bit MNIST in [0, 1], {mode}; device {device}; {len(x_train)} train / {len(x_test)} test images")

    classifier = load_classifier(device=device)
    test_features, _ = extract_features(x_test, classifier)
    kid_size = min(1000, n_eval // 2)  # subsets smaller than the sets, so that their spread means something

    def scores(samples: torch.Tensor) -> dict:
        return scores_from_features(*extract_features(samples, classifier), test_features,
                                    num_subsets=setting(100, quick=20), subset_size=kid_size)

    floor_pick = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(1))[:n_eval]
    rows = [{"model": "floor: train vs test", **scores(x_train[floor_pick]), "minutes": 0.0, "steps": 0,
             "params": 0, "device": str(device)}]
    for name in ["vae"] + names:
        seed_everything(0)
        model, lr = build(name)
        model.to(device)
        data = TensorDataset(x_train, y_train) if getattr(model, "conditional", False) else x_train
        start = time.perf_counter()
        history = fit(model, data, steps=10**9, lr=lr, batch_size=64, device=device, seed=0,
                      time_limit=60 * minutes, ema=None if name == "vae" else 0.999, desc=name,
                      log_every=200)
        final = history.ema.module if history.ema is not None else model
        torch.manual_seed(1)
        rows.append({"model": name + (" (EMA)" if history.ema is not None else ""), "device": str(device),
                     **scores(samples_of(final, n_eval, y_test)), "minutes": (time.perf_counter() - start) / 60,
                     "steps": len(history.step), "params": sum(p.numel() for p in model.parameters())})
        if name in MODELS:  # the VAE is the table's yardstick, not a model --models can ask for
            save_trained(final, save_dir, "gans", name, rows[-1], data_record("mnist", len(x_train), n_eval, " / 255"))
    print(f"\n{'model':<22}{'FID':>9}{'KID':>10}{'± s.e.':>8}{'prec.':>7}{'recall':>7}{'confid.':>9}"
          f"{'class H':>9}{'minutes':>9}{'steps':>9}{'params':>10}")
    for r in rows:
        print(f"{r['model']:<22}{r['fid']:>9.2f}{r['kid']:>10.3f}{r['kid_se']:>8.3f}{r['precision']:>7.3f}"
              f"{r['recall']:>7.3f}{r['confidence']:>9.3f}{r['class_entropy']:>9.3f}{r['minutes']:>9.1f}"
              f"{r['steps']:>9}{r['params']:>10}")
    print(f"\nFID and KID in the course classifier's 128 features ({n_eval} samples against {n_eval} test images; KID: "
          f"mean over subsets of {kid_size} and its standard error; precision and recall with k = 3 neighbours):"
          " NOT comparable with Inception-based FIDs in papers. 'confid.': the classifier's mean top probability on"
          " the samples; 'class H': entropy of their predicted classes (log 10 = 2.303 when all digits are equally"
          " frequent; lower: missing digits, i.e. mode collapse).")
    return rows


if __name__ == "__main__":
    main()
