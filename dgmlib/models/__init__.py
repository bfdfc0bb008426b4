"""Reference implementations of the course's models, all behind one interface.

See :mod:`dgmlib.models.base` for the interface and
:mod:`dgmlib.models.registry` for how families join the contract tests.
"""
from .base import GenerativeModel, LogProbKind
from .baselines import GaussianMixture, IndependentBernoulli, MarkovChainBernoulli
from .registry import REGISTRY, ModelSpec, register

__all__ = [
    "GenerativeModel", "LogProbKind", "REGISTRY", "ModelSpec", "register",
    "IndependentBernoulli", "MarkovChainBernoulli", "GaussianMixture",
]
