"""Tiny configurations of every transform and flow, for the contract tests.

``TRANSFORMS`` maps a name to (build, the shape of one example): tests/test_flows.py checks every
entry alike (finite outputs, shapes, inverse(forward(x)) == x in float64, log|det| against the
slogdet of the autograd Jacobian). The flow models join the model registry (tests/test_model_contract.py).
"""
from __future__ import annotations

from typing import Callable

import torch

from ..registry import gaussian_example, register
from .autoregressive import MaskedAffineAutoregressive, iaf_layers, maf_layers
from .base import CompositeTransform, Flow, InverseTransform, Transform
from .coupling import (AdditiveCoupling, AffineCoupling, Squeeze, channel_mask, checkerboard_mask, conv_conditioner,
                       half_mask, mlp_conditioner, vector_coupling_stack)
from .dequantization import DequantizedFlow, ImageFlowConfig
from .elementwise import ElementwiseAffine, Logit, Sigmoid
from .glow import ActNorm, InvertibleConv1x1, glow_step
from .multiscale import MultiscaleConfig, multiscale_transform
from .planar import PlanarFlow, RadialFlow
from .spline import RationalQuadraticCoupling

TRANSFORMS: dict[str, tuple[Callable[[], Transform], tuple[int, ...]]] = {
    "planar": (lambda: PlanarFlow(3), (3,)),
    "radial": (lambda: RadialFlow(3), (3,)),
    "elementwise_affine": (lambda: ElementwiseAffine((2, 3)), (2, 3)),
    "nice_scaling": (lambda: ElementwiseAffine((4,), shift=False), (4,)),
    "logit": (lambda: Logit(1e-3), (4,)),
    "sigmoid": (lambda: Sigmoid(), (4,)),
    "additive_coupling": (lambda: AdditiveCoupling(half_mask(4), mlp_conditioner(4, 8, 1)), (4,)),
    "affine_coupling": (lambda: AffineCoupling(half_mask(4, 1), mlp_conditioner(4, 8, 2)), (4,)),
    "checkerboard_coupling": (lambda: AffineCoupling(checkerboard_mask(4, 4), conv_conditioner(1, 4, 2)), (1, 4, 4)),
    "channel_coupling": (lambda: AffineCoupling(channel_mask(4), conv_conditioner(4, 4, 2)), (4, 2, 2)),
    "squeeze": (lambda: Squeeze(), (1, 4, 4)),
    "maf": (lambda: MaskedAffineAutoregressive((5,), (16,), order=torch.tensor([2, 0, 4, 1, 3])), (5,)),
    "iaf": (lambda: InverseTransform(MaskedAffineAutoregressive((4,), (16,))), (4,)),
    "actnorm": (lambda: ActNorm(3), (3, 2, 2)),
    "invertible_conv1x1": (lambda: InvertibleConv1x1(3, torch.Generator().manual_seed(0)), (3, 2, 2)),
    "glow_step": (lambda: glow_step(2, 4, torch.Generator().manual_seed(0)), (2, 2, 2)),
    "spline_coupling": (lambda: RationalQuadraticCoupling(half_mask(4), hidden=8, bins=5, bound=2.0), (4,)),
    "realnvp_multiscale": (lambda: multiscale_transform((1, 4, 4), MultiscaleConfig("realnvp", 1, 2, 4)), (1, 4, 4)),
    "glow_multiscale": (lambda: multiscale_transform((1, 4, 4), MultiscaleConfig("glow", 1, 2, 4)), (1, 4, 4)),
}


def image_example(event_shape: tuple[int, ...]) -> Callable[[int, torch.Generator], torch.Tensor]:
    """8-bit images: integers 0..255 as floats."""
    def make(n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(0, 256, (n, *event_shape), generator=generator).float()
    return make


register("flow_realnvp_2d", example=gaussian_example((2,)),
         build=lambda: Flow(CompositeTransform(vector_coupling_stack(2, 4, hidden=8)), (2,)))
register("flow_nice_2d", example=gaussian_example((2,)),
         build=lambda: Flow(CompositeTransform(vector_coupling_stack(2, 4, hidden=8, affine=False)
                                               + [ElementwiseAffine((2,), shift=False)]), (2,)))
register("flow_maf", example=gaussian_example((3,)),
         build=lambda: Flow(CompositeTransform(maf_layers((3,), 2, (8,))), (3,)))
register("flow_iaf", example=gaussian_example((3,)),
         build=lambda: Flow(CompositeTransform(iaf_layers((3,), 2, (8,))), (3,)))
register("flow_spline_2d", example=gaussian_example((2,)),
         build=lambda: Flow(CompositeTransform([RationalQuadraticCoupling(half_mask(2, k % 2), 8, 4, 3.0)
                                                for k in range(2)]), (2,)))
register("flow_radial", example=gaussian_example((2,)),
         build=lambda: Flow(CompositeTransform([RadialFlow(2), RadialFlow(2)]), (2,)))
register("realnvp_mnist", example=image_example((1, 4, 4)),
         build=lambda: DequantizedFlow((1, 4, 4), ImageFlowConfig(MultiscaleConfig("realnvp", 1, 2, 4))))
register("glow_mnist_variational", example=image_example((1, 4, 4)),
         build=lambda: DequantizedFlow((1, 4, 4), ImageFlowConfig(MultiscaleConfig("glow", 1, 2, 4),
                                                                  dequantization="variational")))
