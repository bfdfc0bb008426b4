"""Week 8: diffusion and score-based models, and flow matching.

| file | what | lecture section |
| --- | --- | --- |
| schedule.py | ``NoiseSchedule`` (linear, cosine): q(x_t given x_0) and the posterior q(x_{t-1} given x_t, x_0) in closed form | the forward process |
| ddpm.py | ``DDPM``: the simple loss, the ELBO with a discretised decoder, ancestral and DDIM sampling, classifier-free guidance | DDPM as a hierarchical VAE; samplers; guidance |
| ncsn.py | ``NCSN``: one score network over geometric noise levels, annealed Langevin sampling | noise levels and the low-density regions |
| flow_matching.py | ``FlowMatching``: rectified flow, ODE sampling, the exact log-likelihood by the change of variables | flow matching |

Networks (``TimeMLP`` for 2-D, ``UNet`` for 28x28) are in :mod:`dgmlib.nn.time_conditioned`; ODE solvers and
the log-likelihood along an ODE in :mod:`dgmlib.samplers.ode`.
"""
from .ddpm import DDPM, DDPMConfig, discretized_gaussian_log_prob
from .flow_matching import FlowMatching, FlowMatchingConfig
from .ncsn import NCSN, NCSNConfig
from .schedule import NoiseSchedule, cosine_betas, linear_betas

__all__ = ["DDPM", "DDPMConfig", "discretized_gaussian_log_prob", "FlowMatching", "FlowMatchingConfig", "NCSN", "NCSNConfig",
           "NoiseSchedule", "cosine_betas", "linear_betas"]
