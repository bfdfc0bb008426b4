"""The browser test's pieces that need no browser: the figure record behind its axes check, its cell report."""
import base64
import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from dgmlib.lab import _axes_problems, _png_axes  # noqa: E402
from dgmlib.viz.widgets import AXES_KEY, axes_record, figure_png, show  # noqa: E402


def _record_of(png: bytes) -> list[dict]:
    return json.loads(Image.open(io.BytesIO(png)).text[AXES_KEY])


def test_png_carries_each_axes_limits_and_colour_bars_are_free():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0, 2], [0, 5])
    a.set_title("line")
    image = b.imshow([[0, 1], [2, 3]])
    fig.colorbar(image, ax=b)
    record = _record_of(figure_png(fig, free=[b]))
    plt.close(fig)
    assert len(record) == 3
    assert record[0]["title"] == "line" and not record[0]["free"]
    assert record[0]["xlim"][0] <= 0 and record[0]["xlim"][1] >= 2 and record[0]["ylim"][1] >= 5  # autoscaled, drawn
    assert record[1]["free"] and record[2]["free"]  # named free; the colour bar always


def test_the_browser_side_reads_the_record_and_finds_a_moved_axis():
    def png(top):
        fig, ax = plt.subplots()
        ax.bar([0], [top])
        data = figure_png(fig)
        plt.close(fig)
        return "data:image/png;base64," + base64.b64encode(data).decode()

    one, same, other = _png_axes(png(1.0)), _png_axes(png(1.0)), _png_axes(png(3.0))
    assert _axes_problems(one, same, "a step") == []
    problems = _axes_problems(one, other, "a step")
    assert len(problems) == 1 and problems[0].startswith("y axis") and "a step" in problems[0]
    assert _png_axes("data:image/jpeg;base64,AAAA") is None
    free = [dict(r, free=True) for r in other]
    assert _axes_problems(one, free, "a step") == []


def test_show_displays_a_png_and_closes_the_figure(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    show(fig)
    assert not plt.fignum_exists(fig.number)
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert AXES_KEY in Image.open(io.BytesIO(shown[0].data)).text


def test_a_figure_that_cannot_be_drawn_is_still_closed(monkeypatch):
    fig, ax = plt.subplots()
    monkeypatch.setattr(fig, "savefig", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    with pytest.raises(RuntimeError, match="disk full"):
        show(fig)
    assert not plt.fignum_exists(fig.number)


def test_a_notebook_whose_cells_never_ran_is_not_a_pass(tmp_path):
    import nbformat

    from dgmlib.lab import _cell_errors
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell("1 + 1"),
                                         nbformat.v4.new_code_cell("2 + 2"), nbformat.v4.new_code_cell("")])
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert _cell_errors(path) == ["2 code cells never ran (cells 2..3): no kernel, or Run All did not reach them"]
    nb.cells[1].execution_count, nb.cells[2].execution_count = 1, 2
    nbformat.write(nb, path)
    assert _cell_errors(path) == []
    nb.cells[2].execution_count = None
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])]
    nbformat.write(nb, path)
    assert _cell_errors(path) == ["cell 2: ValueError: bad"]  # the error, not the cells after it
