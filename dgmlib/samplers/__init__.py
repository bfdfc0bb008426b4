"""Samplers: ways to draw from a distribution known only through its (log-)density.

The models of the course sample themselves (``model.sample``); this folder holds the general
samplers that the lectures build on when no such recipe exists.

* :mod:`dgmlib.samplers.mcmc` (week 1): random-walk Metropolis-Hastings, Gibbs sampling, and the
  effective sample size of a correlated chain.

* :mod:`dgmlib.samplers.langevin` (week 7): unadjusted and Metropolis-adjusted Langevin dynamics, and
  the replay buffer of persistent chains for EBM training.

Week 8 adds ODE and SDE solvers for score-based and diffusion models.
"""
from .mcmc import MCMCResult, effective_sample_size, gibbs, metropolis_hastings
from .langevin import LangevinResult, ReplayBuffer, energy_and_grad, langevin

__all__ = ["MCMCResult", "effective_sample_size", "gibbs", "metropolis_hastings", "LangevinResult", "ReplayBuffer",
           "energy_and_grad", "langevin"]
