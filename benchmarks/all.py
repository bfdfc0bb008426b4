"""Every week's benchmark in one run, and one table of every model: likelihood where it has one, samples always.

    python benchmarks/all.py --minutes 9 --device cuda      # one GPU command (10 minutes at most)
    python -m dgmlib.benchmark --all --minutes 9            # the same
    DGM_QUICK=1 python benchmarks/all.py --minutes 3        # small models on a CPU

``--minutes`` is the budget of the whole run: each model trains for an equal share of 80% of it (the rest is
evaluation: test NLL, 10,000 samples and their features). Writes benchmarks/results/all.csv and all.md
(atomically; quick mode writes all_quick.* instead) with, per model: the week, the data, test NLL (nats) with
its 95% interval, bits/dim, the published figure with its source (like for like where the row says so), FID,
KID with its standard error, precision and recall (k = 3) of the samples against the test images of the
same data in the course classifier's features, training minutes, steps, parameters and device. FIDs are
comparable within a data set only (binarized or 8-bit MNIST; each has its floor row), and never with the
Inception-based FIDs of papers.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import sys
import time
from pathlib import Path

import torch

from dgmlib import is_quick, setting
from dgmlib.data.cache import atomic_write
from dgmlib.benchmark import command_line, floor_scores
from dgmlib.device import get_device
from dgmlib.metrics import load_classifier

HERE = Path(__file__).resolve().parent
# (week, module, the data its models are trained on)
WEEKS = [(2, "autoregressive", "binarized MNIST"), (3, "vae", "binarized MNIST"), (4, "flows", "8-bit MNIST"),
         (5, "gans", "8-bit MNIST"), (7, "ebm", "binarized MNIST (RBMs), 8-bit MNIST (conv EBM)"),
         (8, "diffusion", "8-bit MNIST")]
COLUMNS = ["week", "model", "data", "test_nll", "interval", "bits_per_dim", "published", "unit", "fid", "kid",
           "kid_se", "precision", "recall", "minutes", "steps", "params", "device", "source"]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def model_names(module) -> list[str]:
    return list(module.MODELS) if hasattr(module, "MODELS") else list(module.entries())


def cell(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def markdown(rows: list[dict], header: str) -> str:
    shown = [c for c in COLUMNS if c not in ("unit", "source")]
    lines = [header, "", "| " + " | ".join(shown) + " |", "|" + "|".join("---" for _ in shown) + "|"]
    for r in rows:
        published = cell(r.get("published")) + (" b/d" if r.get("unit") == "bits/dim" and r.get("published") else "")
        lines.append("| " + " | ".join(published if c == "published" else cell(r.get(c)) for c in shown) + " |")
    lines += ["", "Sources of the published figures:", ""]
    lines += [f"- {r['model']}: {r['source']}" for r in rows if r.get("source") not in (None, "", "-")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=setting(9.0, quick=3.0),
                        help="time budget of the whole run (default 9; quick mode 3)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--weeks", default=",".join(str(w) for w, _, _ in WEEKS),
                        help="comma-separated subset of the weeks " + ",".join(str(w) for w, _, _ in WEEKS))
    parser.add_argument("--out", default=str(HERE / "results"), help="folder of all.csv and all.md")
    args = parser.parse_args(argv)
    weeks = {int(w) for w in args.weeks.split(",") if w.strip()}
    known = {w for w, _, _ in WEEKS}
    if not weeks <= known:
        parser.error(f"--weeks must name weeks among {sorted(known)}, got {sorted(weeks)}")
    device = get_device(args.device)
    chosen = [(week, load(name), data) for week, name, data in WEEKS if week in weeks]
    n_models = sum(len(model_names(module)) for _, module, _ in chosen) + (1 if 5 in weeks else 0)  # + the GAN VAE
    per_model = 0.8 * args.minutes / n_models
    print(f"{n_models} models, {per_model:.2f} training minutes each, device {device}")

    start, rows = time.perf_counter(), []
    if weeks & {2, 3}:  # week 5 prints its own floor on 8-bit MNIST
        setup = command_line(["--device", str(device)], {"floor": None}, "", quick_minutes=0.0, quick_eval=500,
                             quick_note="500 random test images")
        rows.append({"week": "2-3", "model": "floor: valid vs test", "data": "binarized MNIST",
                     "device": str(device), **floor_scores(setup), "minutes": 0.0, "steps": 0, "params": 0})
    for week, module, data in chosen:
        for row in module.main(["--minutes", f"{per_model:.4f}", "--device", str(device)]):
            if "sampler" in row:  # week 8 scores one model under several samplers
                row = {**row, "model": f"{row['model']} ({row['sampler']})"}
            rows.append({"week": week, "data": data, "device": str(device), **row})
    total = (time.perf_counter() - start) / 60

    mode = "quick (DGM_QUICK=1: small models and subsets)" if is_quick() else "full size"
    manifest = load_classifier(device=device).manifest  # the benchmarks above built or loaded it
    header = (f"All benchmarks, {mode}: {total:.1f} minutes on {device_name(device)}, torch {torch.__version__}, "
              f"{per_model:.2f} training minutes per model. Features: the course's MNIST classifier, test accuracy "
              f"{manifest['test_accuracy']:.4f} ({'first 2,000' if manifest['quick'] else 'all 10,000'} test images).")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "all_quick" if is_quick() else "all"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    for path, text in ((out / f"{stem}.csv", buffer.getvalue()), (out / f"{stem}.md", markdown(rows, header))):
        with atomic_write(path, "w") as f:  # a reader never sees half a table
            f.write(text)
    print("\n" + markdown(rows, header))
    print(f"wrote {out / (stem + '.csv')} and {out / (stem + '.md')}")
    return rows


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return str(device)


if __name__ == "__main__":
    main()
