"""Metrics of generative models: likelihoods now, sample-quality metrics with week 6.

* :mod:`dgmlib.metrics.likelihood`: ``log_likelihood``, ``nll`` (with a 95% interval),
  ``bits_per_dim(nll, D, levels=None)``, ``model_bits_per_dim``, ``mean_loss``, ``mean_metrics``.
"""
from .likelihood import NLL, Z_95, bits_per_dim, log_likelihood, mean_loss, mean_metrics, model_bits_per_dim, nll

__all__ = ["NLL", "Z_95", "bits_per_dim", "log_likelihood", "mean_loss", "mean_metrics", "model_bits_per_dim",
           "nll"]
