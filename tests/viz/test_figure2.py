"""Figure 2's drawing, from a hand-made panel with known points."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from rpmbench.errors import ConfigError
from rpmbench.viz.figure2 import ZOOM, SequencePanel, plot_figure2, zoom_window


def test_zoom_window_keeps_its_size_and_stays_inside_the_image() -> None:
    for centre in [(0.0, 0.0), (60.0, 100.0), (127.0, 223.0)]:
        top, bottom, left, right = zoom_window(centre, (128, 224))
        assert bottom - top == 2 * ZOOM[0] and right - left == 2 * ZOOM[1]
        assert top >= -0.5 and bottom <= 127.5 and left >= -0.5 and right <= 223.5
    top, _, left, _ = zoom_window((60.0, 100.0), (128, 224))
    assert (top, left) == (60 - ZOOM[0], 100 - ZOOM[1])


def test_figure2_rows_show_the_target_and_its_sampling_locations() -> None:
    frames = np.zeros((3, 16, 24, 3), np.uint8)
    annotations = np.zeros((3, 16, 24), np.uint8)
    annotations[:, 4:12, 8:20] = 1
    targets = np.array([[5.5, 13.5], [9.5, 17.5]])  # image (y, x) of the target pixel in frames 1 and 2
    taps = targets[:, None, None] + np.arange(3.0)[None, :, None, None] + np.zeros((2, 3, 9, 2))  # layers 106-108
    warps = targets + [4.0, -8.0]  # layer 109: flow (1, -2) feature pixels
    panel = SequencePanel("seq", frames, annotations, [1, 2], 1, carried=np.array([[0.0, 0.0], [1.0, 3.0], [2.0, 4.0]]),
                          targets=targets, taps=taps, warps=warps, embeddings=np.random.default_rng(0).random((2, 2, 4, 6, 3)),
                          on_object=[False, True, True])
    figure = plot_figure2([panel, panel])
    axes = np.array(figure.axes).reshape(8, 2)
    # row 3: target plus 3 layers' points in frame t; row 4: target and layer 109's point in frame t-1
    assert len(axes[2, 0].collections) >= 4 and len(axes[3, 0].collections) >= 2
    star = axes[3, 0].collections[-1].get_offsets()[0]
    assert star.tolist() == [13.5 - 8, 5.5 + 4]  # (x, y) in image pixels
    assert axes[2, 0].collections[-2].get_offsets()[0].tolist() == [13.5 + 2, 5.5 + 2]  # layer 108's first tap
    assert all(c.get_edgecolor()[0].tolist() == [0, 0, 0, 1] for c in axes[2, 0].collections[-4:])
    assert axes[1, 0].images[0].get_array().shape == (4, 12, 3)  # embeddings t-1 | t side by side
    assert axes[2, 1].get_title() == "frame 2: layers 106-108 (zoom)"
    assert axes[7, 1].get_title() == "frame 1: layer 109 (zoom)"
    assert axes[0, 0].get_title() == "seq: frames 0 + 1\ntarget on object in 2/3 frames"
    with pytest.raises(ConfigError):
        plot_figure2([])
