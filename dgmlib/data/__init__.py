"""Data sets of the course: binarized MNIST, 8-bit MNIST with labels, sklearn's 8x8 digits, 2-D toy densities."""
from .cache import DataUnavailableError, atomic_write, data_dir
from .digits import digits
from .loader import as_loader
from .binarized import binarized_mnist
from .mnist8 import mnist
from .toy2d import TOY_DENSITIES, ToyDensity, toy_density

__all__ = ["DataUnavailableError", "atomic_write", "data_dir", "digits", "as_loader",
           "binarized_mnist", "mnist", "TOY_DENSITIES", "ToyDensity", "toy_density"]
