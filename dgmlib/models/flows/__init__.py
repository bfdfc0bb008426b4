"""Week 4: normalizing flows (notebooks/04_normalizing_flows.ipynb).

| file | what it holds | lecture section |
| --- | --- | --- |
| base.py | ``Transform`` (forward/inverse with log-dets), ``CompositeTransform``, ``InverseTransform``, ``Flow`` | change of variables; a flow = transform + base |
| planar.py | ``PlanarFlow``, ``RadialFlow`` (Rezende & Mohamed 2015) | the first flows; invertibility conditions |
| elementwise.py | ``ElementwiseAffine`` (NICE's scaling), ``Logit``, ``Sigmoid`` | preprocessing images |
| coupling.py | ``AdditiveCoupling`` (NICE), ``AffineCoupling`` (RealNVP), masks, ``Squeeze`` | triangular Jacobians; coupling layers |
| autoregressive.py | MAF and IAF on MADE's masks | autoregressive flows; which direction is fast |
| glow.py | ``ActNorm``, ``InvertibleConv1x1`` (LU), ``glow_step`` | Glow |
| multiscale.py | ``FactorOut``, RealNVP/Glow multi-scale layouts | multi-scale architectures |
| spline.py | rational-quadratic spline couplings (Durkan et al. 2019) | beyond affine: neural spline flows |
| dequantization.py | uniform and variational dequantization, ``DequantizedFlow`` for 8-bit images | dequantization and bits/dim |
| registry.py | tiny configurations of every transform and flow, for the tests | |

Invertibility and log-determinants are checked with :mod:`dgmlib.testing`.
"""
from .autoregressive import MADENet, MaskedAffineAutoregressive, iaf_layers, maf_layers
from .base import CompositeTransform, Flow, InverseTransform, Transform, standard_normal_log_prob
from .coupling import (AdditiveCoupling, AffineCoupling, Squeeze, channel_mask, checkerboard_mask, conv_conditioner,
                       half_mask, mlp_conditioner, vector_coupling_stack)
from .dequantization import DequantizedFlow, ImageFlowConfig, UniformDequantizer, VariationalDequantizer
from .elementwise import ElementwiseAffine, Logit, Sigmoid
from .glow import ActNorm, InvertibleConv1x1, glow_step
from .multiscale import FactorOut, MultiscaleConfig, multiscale_transform
from .planar import PlanarFlow, RadialFlow
from .registry import TRANSFORMS
from .spline import RationalQuadraticCoupling, rational_quadratic_spline, spline_coupling_stack

__all__ = ["Transform", "CompositeTransform", "InverseTransform", "Flow", "standard_normal_log_prob",
           "PlanarFlow", "RadialFlow", "ElementwiseAffine", "Logit", "Sigmoid", "AdditiveCoupling",
           "AffineCoupling", "Squeeze", "checkerboard_mask", "channel_mask", "half_mask", "mlp_conditioner",
           "conv_conditioner", "vector_coupling_stack", "MADENet", "MaskedAffineAutoregressive", "maf_layers",
           "iaf_layers", "ActNorm", "InvertibleConv1x1", "glow_step", "FactorOut", "MultiscaleConfig",
           "multiscale_transform", "RationalQuadraticCoupling", "rational_quadratic_spline",
           "spline_coupling_stack", "UniformDequantizer", "VariationalDequantizer", "ImageFlowConfig",
           "DequantizedFlow", "TRANSFORMS"]
