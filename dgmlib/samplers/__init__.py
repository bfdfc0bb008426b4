"""Samplers: ways to draw from a distribution known only through its (log-)density.

The models of the course sample themselves (``model.sample``); this folder holds the general
samplers that the lectures build on when no such recipe exists.

* :mod:`dgmlib.samplers.mcmc` (week 1): random-walk Metropolis-Hastings, Gibbs sampling, and the
  effective sample size of a correlated chain.

Later weeks add theirs here: Langevin dynamics for energy-based models, ODE and SDE solvers for
score-based and diffusion models.
"""
from .mcmc import MCMCResult, effective_sample_size, gibbs, metropolis_hastings

__all__ = ["MCMCResult", "effective_sample_size", "gibbs", "metropolis_hastings"]
