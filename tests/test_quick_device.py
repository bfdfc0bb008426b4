import pytest
import torch

from dgmlib import get_device, is_quick, seed_everything, setting
from dgmlib.quick import mode, use_mode


def test_setting_follows_dgm_quick(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("DGM_QUICK", "1")
    assert is_quick() and setting(20, quick=1) == 1
    monkeypatch.setenv("DGM_QUICK", "0")
    assert not is_quick() and setting(20, quick=1) == 20
    monkeypatch.delenv("DGM_QUICK")
    assert setting(20, quick=1) == 20  # a student who sets nothing gets the full run


def test_grading_runs_in_quick_mode_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("DGM_QUICK", raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # what nbgrader sets while it executes
    assert is_quick() and setting(20, quick=1) == 1
    monkeypatch.setenv("DGM_QUICK", "0")  # an instructor who wants full-size grading
    assert not is_quick()


def test_three_tiers_by_dgm_mode(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("DGM_QUICK", raising=False)
    for name, expected in (("quick", 1), ("laptop", 5), ("full", 20), (" Laptop ", 5)):
        monkeypatch.setenv("DGM_MODE", name)
        assert setting(20, quick=1, laptop=5) == expected
        assert mode() == name.strip().lower() and is_quick() == (expected == 1)
    monkeypatch.setenv("DGM_MODE", "laptop")
    assert setting(20, quick=1) == 1  # no laptop value: the laptop takes the quick one
    assert setting(True, quick=False, laptop=None) is None  # a laptop value may be falsy and is still used
    monkeypatch.setenv("DGM_QUICK", "0")  # "not quick" agrees with laptop
    assert mode() == "laptop"
    monkeypatch.setenv("DGM_QUICK", "1")
    with pytest.raises(ValueError, match="disagree"):
        mode()
    monkeypatch.delenv("DGM_QUICK")
    monkeypatch.setenv("DGM_MODE", "huge")
    with pytest.raises(ValueError, match="DGM_MODE"):
        setting(1, quick=0)
    monkeypatch.setenv("DGM_MODE", "laptop")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert mode() == "laptop"  # an instructor who grades at another tier says so


def test_use_mode_overrides_the_environment_within_its_block(monkeypatch):
    monkeypatch.setenv("DGM_QUICK", "1")
    with use_mode("full"):
        assert setting(20, quick=1, laptop=5) == 20
        with use_mode("laptop"):
            assert setting(20, quick=1, laptop=5) == 5
        assert mode() == "full"
    assert setting(20, quick=1, laptop=5) == 1
    with pytest.raises(ValueError, match="mode must be"):
        with use_mode("medium"):
            pass


def test_setting_rejects_unclear_values(monkeypatch):
    monkeypatch.setenv("DGM_QUICK", "maybe")
    with pytest.raises(ValueError, match="DGM_QUICK"):
        is_quick()


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("DGMLIB_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert get_device().type == expected
    assert get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("DGMLIB_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_get_device_refuses_missing_cuda():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")


def test_seed_everything_reproduces_draws():
    seed_everything(3)
    a = torch.randn(5)
    seed_everything(3)
    assert torch.equal(a, torch.randn(5))
    assert not torch.equal(a, torch.randn(5))
