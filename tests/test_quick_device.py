import pytest
import torch

from dgmlib import get_device, is_quick, seed_everything, setting


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
