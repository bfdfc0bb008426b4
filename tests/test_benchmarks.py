"""The benchmark commands run end to end in quick mode and report sane figures."""
import csv
import importlib.util
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"benchmark_{name}"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_autoregressive_benchmark_prints_a_table(capsys):
    rows = load("autoregressive").main(["--models", "made,pixelcnn", "--minutes", "0.2", "--device", "cpu"])
    out = capsys.readouterr().out
    assert [r["model"] for r in rows] == ["made", "pixelcnn"]
    for r in rows:
        # trained models beat the uniform model's 784 ln 2 = 543 nats, and bits/dim agrees with nats
        assert 0 < r["test_nll"] < 784 * math.log(2)
        assert r["bits_per_dim"] == pytest.approx(r["test_nll"] / (784 * math.log(2)))
        assert r["steps"] > 0 and r["device"] == "cpu"
    # the published figures sit next to ours, each with its table, and the MADE row says what differs
    assert [r["published"] for r in rows] == [88.40, 81.30]
    assert "88.40" in out and "81.30" in out
    assert "Germain et al. 2015, Table 6: 1 hidden layer, 1 mask; ours: MADE + direct connections" in out
    assert "van den Oord et al. 2016a, Table 4" in out
    assert rows[0]["source"].endswith("ours: MADE + direct connections")


def test_autoregressive_benchmark_rejects_unknown_models():
    with pytest.raises(SystemExit):
        load("autoregressive").main(["--models", "pixelrnn"])


@pytest.mark.slow
def test_vae_benchmark_reports_nll_below_the_negative_elbo(capsys):
    rows = load("vae").main(["--models", "vae,iwae", "--minutes", "0.1", "--device", "cpu"])
    out = capsys.readouterr().out
    for r in rows:
        assert 0 < r["test_nll"] < 784 * math.log(2)
        # the importance-sampled NLL (K = 50 here) is below the negative ELBO up to sampling noise
        assert r["test_nll"] < r["-ELBO"] + 0.5
    # like with like: the static-binarization figures of Burda et al.'s Appendix D, labelled as such,
    # never Table 1's dynamically binarized 86.76 / 84.78
    assert "88.71" in out and "87.10" in out and "-ELBO" in out
    assert out.count("static binarization") == 2
    assert "86.76" not in out and "84.78" not in out


def test_quick_test_subset_is_drawn_at_random(capsys):
    """The test file is sorted by digit: its first 500 images are zeros and ones (mean ink 0.158, not 0.1325)."""
    from dgmlib.benchmark import command_line
    table = load("autoregressive").entries()
    setup = command_line(["--device", "cpu"], table, "", quick_minutes=1.0, quick_eval=500, quick_note="")
    assert len(setup.x_test) == 500
    assert setup.x_test.mean().item() == pytest.approx(0.132512, abs=0.01)


@pytest.mark.slow
def test_flows_benchmark_reports_bits_per_dim_on_8_bit_mnist(capsys):
    rows = load("flows").main(["--models", "realnvp,glow", "--minutes", "0.1", "--device", "cpu"])
    out = capsys.readouterr().out
    assert [r["model"] for r in rows] == ["realnvp", "glow"] and "8-bit MNIST" in out
    for r in rows:
        # the dequantization bound in nats of the discrete data: between a trained flow and 8 bits/dim (uniform)
        assert r["bits_per_dim"] == pytest.approx(r["test_nll"] / (784 * math.log(2)))
        assert 0 < r["bits_per_dim"] < 8.0 and r["steps"] > 0
    assert "1.06 b/d" in out and "1.05 b/d" in out and "FFJORD" in out


@pytest.mark.slow
def test_gan_benchmark_prints_fid_and_kid_beside_the_floor(capsys):
    rows = load("gans").main(["--models", "dcgan,conditional", "--minutes", "0.05", "--device", "cpu"])
    out = capsys.readouterr().out
    assert [r["model"] for r in rows] == ["floor: train vs test", "vae", "dcgan (EMA)", "conditional (EMA)"]
    floor = rows[0]
    # real training images against real test images: the best any model can do at this sample size
    assert all(floor["fid"] < r["fid"] for r in rows[1:])
    # KID is unbiased: real against real is zero up to its spread, far below any model's
    assert abs(floor["kid"]) < 3 * floor["kid_std"] and all(abs(floor["kid"]) < 0.05 * r["kid"] for r in rows[1:])
    assert floor["class_entropy"] > 2.2  # all ten digits, about equally often
    assert all(r["steps"] > 0 and math.isfinite(r["fid"]) for r in rows[1:])
    assert "NOT comparable with Inception-based FIDs" in out


def test_gan_benchmark_rejects_unknown_models():
    with pytest.raises(SystemExit):
        load("gans").main(["--models", "stylegan"])


@pytest.mark.slow
def test_all_benchmarks_write_one_table_with_likelihoods_and_sample_scores(tmp_path, capsys):
    rows = load("all").main(["--weeks", "3", "--minutes", "0.3", "--device", "cpu", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert [r["model"] for r in rows] == ["floor: valid vs test", "vae", "iwae", "conv_vae"]
    floor, rows = rows[0], rows[1:]
    assert floor["fid"] < min(r["fid"] for r in rows) and floor["recall"] > 0.5  # real images cover the data
    for r in rows:
        # a likelihood model gets both kinds of metric; its samples are scored against binarized test images
        assert r["week"] == 3 and r["data"] == "binarized MNIST" and r["device"] == "cpu"
        assert 0 < r["test_nll"] < 784 * math.log(2) and r["fid"] > 0
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and r["kid_se"] > 0
    # quick mode writes its own files, atomically: no temporary file is left beside them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all_quick.csv", "all_quick.md"]
    with open(tmp_path / "all_quick.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["model"] for r in table] == ["floor: valid vs test", "vae", "iwae", "conv_vae"]
    assert table[0]["test_nll"] == "" and float(table[1]["test_nll"]) == pytest.approx(rows[0]["test_nll"])
    md = (tmp_path / "all_quick.md").read_text()
    assert "88.71" in md and "Burda et al. 2016" in md and "on cpu" in md and "quick" in md
    assert "test accuracy 0.9" in md  # the feature extractor, with its accuracy
    assert "wrote" in out


def test_the_package_command_runs_all_benchmarks_or_says_how():
    from dgmlib.benchmark import main
    with pytest.raises(SystemExit, match="--all"):
        main([])
    with pytest.raises(SystemExit):
        load("all").main(["--weeks", "9"])


@pytest.mark.slow
def test_ebm_benchmark_reports_the_rbm_likelihood_by_ais_beside_salakhutdinov_and_murray(capsys):
    rows = load("ebm").main(["--models", "rbm_cd25,conv_ebm", "--minutes", "0.04", "--device", "cpu"])
    out = capsys.readouterr().out
    rbm, ebm = rows
    # a few seconds of CD already beat the uniform model's 784 ln 2 = 543 nats; AIS's error is reported
    assert 100 < rbm["test_nll"] < 784 * math.log(2) and rbm["ais_se"] > 0 and rbm["steps"] > 0
    assert rbm["bits_per_dim"] == pytest.approx(rbm["test_nll"] / (784 * math.log(2)))
    assert rbm["published"] == 86.34 and "-86.34" in out and "Salakhutdinov & Murray 2008, Table 2" in out
    assert ebm["test_nll"] is None and ebm["fid"] > 0 and 0 <= ebm["precision"] <= 1


@pytest.mark.slow
def test_diffusion_benchmark_scores_each_sampler_and_reports_bits_per_dim(capsys):
    rows = load("diffusion").main(["--minutes", "0.03", "--device", "cpu"])
    out = capsys.readouterr().out
    assert [(r["model"], r["sampler"]) for r in rows] == [("ddpm", "DDIM 5"), ("ddpm", "DDPM 100"),
                                                          ("flow_matching", "Euler 5"), ("flow_matching", "Heun 5")]
    for r in rows:
        assert math.isfinite(r["bits_per_dim"]) and r["bits_per_dim"] > 0 and r["fid"] > 0 and r["steps"] > 0
        assert r["seconds_per_1000"] > 0 and r["likelihood"] == ("ELBO" if r["model"] == "ddpm" else "ODE")
    # the ancestral sampler runs all T steps: slower per image than 5 DDIM steps
    assert rows[1]["seconds_per_1000"] > rows[0]["seconds_per_1000"]
    assert "NOT comparable with Inception-based FIDs" in out and "RealNVP 1.06" in out
