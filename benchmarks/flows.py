"""Week 4 benchmark: normalizing flows on 8-bit MNIST, test bits/dim next to the papers'.

    python benchmarks/flows.py                         # RealNVP, Glow, MAF at full size (a GPU)
    python benchmarks/flows.py --models glow --minutes 15
    DGM_QUICK=1 python benchmarks/flows.py             # about 2 minutes on a CPU, small models

Every model is a flow on [0, 1]^784 (a logit transform first) trained on uniformly dequantized
8-bit MNIST (50,000 training images; validation on the last 10,000 of MNIST's training set); its
test figure is the dequantization bound on the discrete log-likelihood (one draw of the noise per
image), in bits per dimension, which is what the papers report.

Published figures, test bits/dim on dequantized 8-bit MNIST, as collected in FFJORD (Grathwohl et
al. 2019), Table 2: RealNVP 1.06, Glow 1.05, FFJORD 0.99. Their models are far larger (RealNVP and
Glow with several scales of deep ResNet couplings, trained for days); ours are the same
architectures, small enough for 15 minutes of one GPU, hence "paper, larger model".
MAF reports MNIST in nats in logit space (Papamakarios et al. 2017, Table 2), not like for like: "-".
"""
from __future__ import annotations

from dgmlib import seed_everything, setting
from dgmlib.benchmark import Entry, command_line, print_table, run
from dgmlib.models.flows import CompositeTransform, DequantizedFlow, ImageFlowConfig, MultiscaleConfig, maf_layers
from dgmlib.models.flows.dequantization import LEVELS

SHAPE = (1, 28, 28)


def entries() -> dict[str, Entry]:
    """Full-size configurations; quick mode shrinks the models and the step budgets."""
    hidden = setting(64, quick=8)
    steps_per_scale = setting(6, quick=2)
    steps = setting(60_000, quick=60)
    source = "FFJORD (Grathwohl et al. 2019), Table 2 (paper, larger model)"
    return {
        "realnvp": Entry(lambda: DequantizedFlow(SHAPE, ImageFlowConfig(
            MultiscaleConfig("realnvp", 2, steps_per_scale, hidden))), 1.06, source, steps, lr=1e-3, unit="bits/dim",
            batch_size=64),
        "glow": Entry(lambda: DequantizedFlow(SHAPE, ImageFlowConfig(
            MultiscaleConfig("glow", 2, steps_per_scale, hidden))), 1.05, source, steps, lr=1e-3, batch_size=64, unit="bits/dim"),
        "glow_variational": Entry(lambda: DequantizedFlow(SHAPE, ImageFlowConfig(
            MultiscaleConfig("glow", 2, steps_per_scale, hidden), dequantization="variational")), None,
            "Glow + variational dequantization (Ho et al. 2019); no MNIST figure", steps, lr=1e-3, batch_size=64),
        "maf": Entry(lambda: DequantizedFlow(SHAPE, transform=CompositeTransform(
            maf_layers(SHAPE, setting(5, quick=1), (setting(1024, quick=32),) * 2))), None,
                     "Papamakarios et al. 2017 report nats in logit space: not like for like", steps,
                     lr=setting(1e-4, quick=1e-3),
                     batch_size=100),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    table = entries()
    setup = command_line(argv, table, __doc__, quick_minutes=0.3, quick_eval=300, data="mnist",
                         quick_note="small models, 2,000 train images, 60 steps, 300 random test images",
                         benchmark="flows")
    rows = []
    for name in setup.names:
        seed_everything(0)
        rows.append(run(name, table[name], setup))
    print_table(rows)
    print("\nbits/dim: the dequantization bound on the discrete data (includes the D log 256 term); "
          f"the published figures are in the same units. Levels: {LEVELS}.")
    return rows


if __name__ == "__main__":
    main()
