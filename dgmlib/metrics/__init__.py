"""Metrics of generative models: likelihoods now, sample-quality metrics with week 6.

* :mod:`dgmlib.metrics.likelihood`: ``log_likelihood``, ``nll`` (with a 95% interval),
  ``bits_per_dim(nll, D, levels=None)``, ``model_bits_per_dim``, ``mean_loss``, ``mean_metrics``.
* :mod:`dgmlib.metrics.sample_quality` (weeks 5-6): ``frechet_distance``, ``fid``, ``kid``,
  ``extract_features``, ``sample_quality(samples, reference)`` -> FID, KID, confidence, class entropy.
* :mod:`dgmlib.metrics.classifier`: the course's MNIST classifier, their feature extractor
  (``load_classifier``, ``train_classifier``; rebuild with ``python -m dgmlib.metrics.classifier``).
"""
from .likelihood import NLL, Z_95, bits_per_dim, log_likelihood, mean_loss, mean_metrics, model_bits_per_dim, nll

__all__ = ["NLL", "Z_95", "bits_per_dim", "log_likelihood", "mean_loss", "mean_metrics", "model_bits_per_dim",
           "nll"]

from .classifier import ClassifierCacheError, MNISTClassifier, load_classifier, train_classifier
from .sample_quality import extract_features, fid, frechet_distance, kid, sample_quality, scores_from_features

__all__ += ["ClassifierCacheError", "MNISTClassifier", "load_classifier", "train_classifier", "extract_features",
            "fid", "frechet_distance", "kid", "sample_quality", "scores_from_features"]
