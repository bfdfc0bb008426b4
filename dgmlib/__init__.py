"""dgmlib: the helper package of the Deep Generative Models course.

The notebooks keep the idea of each lecture; dgmlib holds the machinery:

* :mod:`dgmlib.models`: reference implementations behind one contract (``log_prob``,
  ``sample``, ``loss``, ``train_step``; see :mod:`dgmlib.models.base`), one folder per family.
* :mod:`dgmlib.nn`: masked layers, attention, shared numerics.
* :mod:`dgmlib.data`: binarized MNIST, sklearn's digits, 2-D toy densities.
* :mod:`dgmlib.train`: ``fit`` (one training loop for every family), checkpoints.
* :mod:`dgmlib.metrics`: NLL with its interval, bits per dimension.
* :mod:`dgmlib.samplers`: Markov chain Monte Carlo (Metropolis-Hastings, Gibbs, effective sample size).
* :mod:`dgmlib.viz`: image grids, 2-D densities, training curves, each week's lecture figures.
* :mod:`dgmlib.testing`: property checks (autoregressive, normalised, invertible, log-det).
* :mod:`dgmlib.checkpoints`: trained models saved by the benchmarks, loaded by the lectures.
* :mod:`dgmlib.lab`: lectures in JupyterLab in headless Chromium, every widget moved once (the browser test).
* :func:`get_device`, :func:`seed_everything`, and the three sizes quick / laptop / full (:func:`setting`, :func:`mode`).
"""
from .device import get_device, seed_everything
from .quick import is_quick, mode, setting, use_mode

__version__ = "0.2.0"
__all__ = ["get_device", "seed_everything", "is_quick", "mode", "setting", "use_mode", "__version__"]
