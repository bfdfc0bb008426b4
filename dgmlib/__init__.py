"""dgmlib: the helper package of the Deep Generative Models course.

The notebooks keep the idea of each lecture; dgmlib holds the machinery:

* :mod:`dgmlib.models`: reference implementations behind one interface
  (``log_prob``, ``sample``, ``loss``; see :mod:`dgmlib.models.base`).
* :mod:`dgmlib.data`: binarized MNIST, sklearn's digits, 2-D toy densities.
* :mod:`dgmlib.train`: ``fit`` (one training loop for all models), checkpoints.
* :mod:`dgmlib.evaluate`: NLL and bits per dimension.
* :mod:`dgmlib.plot`: image grids, 2-D densities, training curves.
* :func:`get_device`, :func:`seed_everything`, and quick mode (:func:`setting`).
"""
from .device import get_device, seed_everything
from .quick import is_quick, setting

__version__ = "0.1.0"
__all__ = ["get_device", "seed_everything", "is_quick", "setting", "__version__"]
