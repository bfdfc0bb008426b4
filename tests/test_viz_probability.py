"""dgmlib.viz.probability: the areas behind the Jacobian picture, and the figures draw what they claim."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dgmlib.viz.probability import (draw_dag, plot_pushed_grid, plot_traces, polygon_area, pushed_cell,  # noqa: E402
                                    square_outline)


def test_polygon_area_of_known_shapes():
    square = torch.tensor([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
    triangle = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    assert polygon_area(square).item() == pytest.approx(4.0)
    assert polygon_area(square.flip(0)).item() == pytest.approx(4.0)           # clockwise too
    assert polygon_area(triangle).item() == pytest.approx(1.5)
    angles = torch.arange(1000, dtype=torch.float64) / 1000 * 2 * math.pi     # a 1000-gon ~ the unit disc
    disc = torch.stack([angles.cos(), angles.sin()], 1)
    assert polygon_area(disc).item() == pytest.approx(math.pi, rel=1e-4)
    assert polygon_area(torch.stack([square, 2 * square])).tolist() == pytest.approx([4.0, 16.0])


def test_square_outline_is_the_square():
    outline = square_outline((1.0, -1.0), 0.5, points_per_side=4)
    assert outline.shape == (16, 2)
    assert polygon_area(outline).item() == pytest.approx(0.25)
    assert outline.min(0).values.tolist() == pytest.approx([1.0, -1.0])
    assert outline.max(0).values.tolist() == pytest.approx([1.5, -0.5])


def test_pushed_cell_area_ratio_is_the_jacobian_determinant():
    A = torch.tensor([[2.0, 1.0], [0.5, -1.5]], dtype=torch.float64)          # det = -3.5
    linear = pushed_cell(lambda z: z @ A.T, (0.3, 0.7), 0.2)
    assert polygon_area(linear).item() / 0.2 ** 2 == pytest.approx(3.5, rel=1e-10)   # exact for linear maps

    def coupling(z):                                                          # det J = exp(z_1 / 2)
        return torch.stack([z[:, 0], z[:, 1] * torch.exp(z[:, 0] / 2) + z[:, 0] ** 2 / 2], 1)

    size = 1e-3
    ratio = polygon_area(pushed_cell(coupling, (0.8, -0.4), size)).item() / size ** 2
    assert ratio == pytest.approx(math.exp((0.8 + size / 2) / 2), rel=1e-5)   # det J at the cell's centre


def test_figures_draw_their_parts():
    fig, axes = plt.subplots(1, 4)
    plot_pushed_grid(lambda z: 2 * z, n_lines=5, ax=axes[0], highlight=((0.0, 0.0), 0.5))
    assert len(axes[0].lines) == 10 and len(axes[0].patches) == 1
    assert axes[0].lines[0].get_xydata()[:, 0].max() == pytest.approx(4.0)  # the grid over [-2, 2] doubled
    plot_traces(torch.randn(50, 2), axes=axes[1:3], exact_mean=torch.zeros(2))
    assert len(axes[1].lines) == 2 and len(axes[1].lines[0].get_xdata()) == 50
    draw_dag({"a": (0, 0), "b": (1, 0), "c": (0.5, 1)}, [("c", "a"), ("c", "b")], ax=axes[3])
    assert len(axes[3].patches) == 3 and len(axes[3].texts) == 5    # 3 labels + 2 arrows (annotations)
    plt.close(fig)


@pytest.mark.parametrize("call, message", [
    (lambda: polygon_area(torch.zeros(2, 2)), "K >= 3"),
    (lambda: square_outline((0.0, 0.0), -1.0), "size > 0"),
    (lambda: plot_traces(torch.zeros(10)), "one chain"),
    (lambda: draw_dag({"a": (0, 0)}, [("a", "b")]), "without a position"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
    plt.close("all")
