"""Figures: generic plots, and one module per week's lecture figures.

* :mod:`dgmlib.viz.plots`: image grids, 2-D densities and samples, training curves (every week).
* :mod:`dgmlib.viz.probability`: pushed grid cells and their areas, MCMC traces, Bayesian-network drawings (week 1).
* :mod:`dgmlib.viz.autoregressive`: MADE's graph and connectivity, kernel masks, receptive fields (week 2).
* :mod:`dgmlib.viz.latent`: a 2-D latent space decoded on a grid (week 3).
* :mod:`dgmlib.viz.adversarial`: GAN training in snapshots, mode coverage on mixtures (week 5).
* :mod:`dgmlib.viz.evaluation`: samples beside their nearest training images, distance histograms, the
  precision/recall path (week 6).
* :mod:`dgmlib.viz.energy`: Langevin chains on a grid of settings, energy surfaces during training, score
  fields (week 7).
* :mod:`dgmlib.viz.diffusion`: forward and reverse trajectories, score fields, sampler grids (week 8).
"""
from .plots import density_grid, image_grid, make_grid, plot_density_2d, plot_history, plot_samples_2d

__all__ = ["density_grid", "image_grid", "make_grid", "plot_density_2d", "plot_history", "plot_samples_2d"]
