"""Data sets of the course: binarized MNIST, sklearn's 8x8 digits, 2-D toy densities."""
from .cache import DataUnavailableError, atomic_write, data_dir
from .digits import digits
from .loader import as_loader
from .mnist import binarized_mnist
from .toy2d import TOY_DENSITIES, ToyDensity, toy_density

__all__ = ["DataUnavailableError", "atomic_write", "data_dir", "digits", "as_loader",
           "binarized_mnist", "TOY_DENSITIES", "ToyDensity", "toy_density"]
