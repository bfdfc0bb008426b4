"""dgmlib.grading.check_own_work: it must catch every way a function reaches dgmlib, and nothing else."""
import math
import types

import pytest
import torch

from dgmlib.grading import check_own_work, dgmlib_uses


def _notebook_namespace(source: str) -> dict:
    """Run `source` as a notebook cell does: its functions live in a module named __main__."""
    module = types.ModuleType("__main__")
    exec(compile(source, "<cell>", "exec"), module.__dict__)
    return module.__dict__


CELL = '''
import math
import torch
import dgmlib
from dgmlib import seed_everything, setting
from dgmlib.nn import gaussian_kl
from dgmlib.metrics import bits_per_dim as reference_bpd
from dgmlib import nn as dnn

def own(mu, logvar):
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(-1)

def direct(mu, logvar):
    return gaussian_kl(mu, logvar)

def through_module(mu, logvar):
    return dnn.gaussian_kl(mu, logvar)

def through_package(mu, logvar):
    return dgmlib.nn.gaussian_kl(mu, logvar)

def import_inside(nll, d):
    from dgmlib.metrics import bits_per_dim
    return bits_per_dim(nll, d)

def helper(nll, d):
    return reference_bpd(nll, d)

def through_helper(nll, d):
    return 2 * helper(nll, d)

def in_a_lambda(nll, d):
    f = lambda v: reference_bpd(v, d)
    return f(nll)

def seeds_only(n):
    seed_everything(0)
    return torch.randn(n) * setting(1.0, quick=1.0)

def calls_argument(log_joint, x):
    return log_joint(x) + math.log(2)

def own_helper(mu, logvar):
    return own(mu, logvar) + 0.0
'''


@pytest.fixture(scope="module")
def ns():
    return _notebook_namespace(CELL)


@pytest.mark.parametrize("name", ["own", "seeds_only", "calls_argument", "own_helper"])
def test_own_work_passes(ns, name):
    check_own_work(ns[name])  # raises if it wrongly flags dgmlib
    assert dgmlib_uses(ns[name]) == set()


@pytest.mark.parametrize("name, flagged", [
    ("direct", {"gaussian_kl"}), ("through_module", {"dnn"}), ("through_package", {"dgmlib"}),
    ("import_inside", {"dgmlib.metrics"}), ("through_helper", {"reference_bpd"}),
    ("in_a_lambda", {"reference_bpd"}),
])
def test_dgmlib_is_caught(ns, name, flagged):
    assert flagged <= dgmlib_uses(ns[name])
    with pytest.raises(AssertionError, match=f"{name} uses dgmlib"):
        check_own_work(ns[name])


def test_seeding_allowed_only_when_listed(ns):
    assert dgmlib_uses(ns["seeds_only"], allowed_modules=()) == {"seed_everything", "setting"}


def test_the_answers_agree(ns):
    mu, logvar = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.1, -0.3]])
    assert torch.allclose(ns["own"](mu, logvar), ns["direct"](mu, logvar))
    assert math.isclose(ns["through_helper"](88.0, 784), 2 * 88.0 / (784 * math.log(2)))


def test_not_a_function():
    with pytest.raises(ValueError, match="Python function"):
        check_own_work(torch.exp)
