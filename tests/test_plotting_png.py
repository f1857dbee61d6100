"""PNG bytes of a figure: matplotlib's own pixels and chunks, without an unneeded alpha."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from qualmodel.plotting.png import png_bytes

matplotlib.use("Agg")


def _figure(facecolor: str = "white") -> Figure:
    fig = Figure(figsize=(5, 3), facecolor=facecolor)
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    for k in range(3):
        x = np.sort(rng.exponential(30, 200))
        ax.step(x, np.linspace(1, 0, 200), where="post", label=f"segment {k}")
    ax.set_title("Time to SQO")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside
    return fig


def _matplotlib_png(fig: Figure, dpi: float, tight: bool) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    return buf.getvalue()


@pytest.mark.parametrize("tight", [True, False])
def test_opaque_figure_is_rgb_with_matplotlibs_pixels_and_chunks(tight):
    ref = Image.open(io.BytesIO(_matplotlib_png(_figure(), 150, tight)))
    got = Image.open(io.BytesIO(png_bytes(_figure(), 150, tight=tight)))
    assert ref.mode == "RGBA" and got.mode == "RGB"
    ref_px = np.asarray(ref)
    assert (ref_px[..., 3] == 255).all()
    np.testing.assert_array_equal(np.asarray(got), ref_px[..., :3])
    assert got.info == ref.info  # Software text and resolution
    if tight:  # the legend right of the axes is inside the cropped image
        assert got.size[0] > 5 * 150


def test_rgb_file_is_smaller_and_the_same_on_every_call():
    first, again = png_bytes(_figure(), 220), png_bytes(_figure(), 220)
    assert first == again
    assert len(first) < 0.95 * len(_matplotlib_png(_figure(), 220, True))


def test_transparent_figure_keeps_its_alpha_channel():
    ref = Image.open(io.BytesIO(_matplotlib_png(_figure("none"), 100, True)))
    got = Image.open(io.BytesIO(png_bytes(_figure("none"), 100)))
    assert got.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(got), np.asarray(ref))


def test_the_figure_keeps_its_canvas():
    fig = _figure()
    canvas = fig.canvas
    png_bytes(fig, 80)
    assert fig.canvas is canvas
