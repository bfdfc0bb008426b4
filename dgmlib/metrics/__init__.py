"""Week 6: how to evaluate a generative model, each metric in its own module.

Likelihoods (models with ``log_prob``):

* :mod:`.likelihood`: ``log_likelihood``, ``nll`` (with a 95% interval), ``bits_per_dim(nll, D, levels=None)``,
  ``model_bits_per_dim``, ``mean_loss``, ``mean_metrics``.
* :mod:`.importance`: ``importance_log_likelihood(log_joint, proposal, k)``, log p(x) of a latent-variable
  model by importance sampling (the VAE's ``log_prob`` is a call of it).
* :mod:`.ais`: ``annealed_importance_sampling`` (Neal 2001) for log Z of an unnormalized density, and
  ``ais_log_likelihood(model, x)`` for decoder-based models (Wu et al. 2017).

Samples (every model that samples, GANs included):

* :mod:`.sample_quality`: ``frechet_distance``, ``fid``, ``kid`` (mean, spread, standard error),
  ``inception_score``, ``extract_features``, and ``sample_quality(samples, reference)``, all of them at once.
* :mod:`.precision_recall`: improved precision and recall with k-NN radii (Kynkäänniemi et al. 2019), and
  density and coverage (Naeem et al. 2020).
* :mod:`.mmd`: unbiased MMD with Gaussian kernels, for 2-D toy densities.
* :mod:`.memorization`: nearest training neighbours of samples, against those of test images.
* :mod:`.report`: ``evaluate_model``, one row of week 6's table for any model (NLL where it has one, FID,
  KID, precision, recall always), ``floor_row`` (real images scored the same way), ``format_table``.
* :mod:`.classifier`: the course's MNIST classifier, the feature extractor of the image metrics
  (``load_classifier``, ``train_classifier``; rebuild with ``python -m dgmlib.metrics.classifier``).
"""
from .likelihood import NLL, Z_95, bits_per_dim, log_likelihood, mean_loss, mean_metrics, model_bits_per_dim, nll
from .importance import importance_log_likelihood
from .ais import AISResult, ais_log_likelihood, annealed_importance_sampling, sigmoid_schedule
from .classifier import ClassifierCacheError, MNISTClassifier, load_classifier, train_classifier
from .sample_quality import (KID, extract_features, fid, frechet_distance, inception_score, kid, sample_quality,
                             scores_from_features)
from .precision_recall import density_coverage, knn_radii, precision_recall
from .mmd import mmd
from .memorization import memorization_report, nearest_neighbours
from .report import draw_samples, evaluate_model, floor_row, format_table

__all__ = ["NLL", "Z_95", "bits_per_dim", "log_likelihood", "mean_loss", "mean_metrics", "model_bits_per_dim",
           "nll", "importance_log_likelihood", "AISResult", "ais_log_likelihood", "annealed_importance_sampling",
           "sigmoid_schedule", "ClassifierCacheError", "MNISTClassifier", "load_classifier", "train_classifier",
           "KID", "extract_features", "fid", "frechet_distance", "inception_score", "kid", "sample_quality",
           "scores_from_features", "knn_radii", "precision_recall", "density_coverage", "mmd", "memorization_report",
           "nearest_neighbours", "draw_samples", "evaluate_model", "floor_row", "format_table"]
