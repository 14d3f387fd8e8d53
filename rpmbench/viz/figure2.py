"""Figure 2, drawn: embedding features (PCA to RGB) and the matching module's sampling locations
for a target pixel carried along the video sequence.

What is drawn is measured by :mod:`rpmbench.experiments.studies.figure2` (the model, its sampling
locations, the carried target, the PCA colours) and handed over as plain arrays in image pixels
(:class:`SequencePanel`); this module only draws them.

Command (the committed ``results/figures/figure2.png``)::

    python -m rpmbench figure2 --checkpoint PATH/checkpoint.pt --out results/figures/figure2.png

(``python -m rpmbench.viz.figure2`` with the same options runs that command.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from rpmbench.errors import ConfigError

LAYER_COLOURS = ("tab:orange", "tab:purple", "tab:cyan", "yellow")
TARGET_COLOUR = "lime"
POINT_STYLE = dict(edgecolors="black", linewidths=0.9)  # the caption: points enclosed in a black border
#: Half height and half width (image pixels) of the window rows 3-4 zoom into around the target.
ZOOM = (24, 42)


@dataclass
class SequencePanel:
    """One sequence's rows of the figure, as measured (all points (y, x) in image pixels).

    Attributes:
        name: shown in the titles.
        frames: ``(T, H, W, 3)`` uint8 RGB.
        annotations: ``(T, H, W)`` ground-truth ids, drawn as the outline of ``object_id`` for reference.
        columns: the ``C`` frame indices t shown (each >= 1).
        object_id: the tracked object.
        carried: ``(T, 2)`` the target's sub-pixel feature-grid position in every frame, carried with
            the model's own flow (:func:`rpmbench.experiments.studies.figure2.carry_target`).
        targets: ``(C, 2)`` per column, the centre of the target's feature pixel in frame t (the
            feature pixel nearest ``carried[t]``: the one whose sampling locations are drawn).
        taps: ``(C, L, k*k, 2)`` per column, where each matching layer 106.. samples frame t for it.
        warps: ``(C, 2)`` per column, where layer 109 samples frame t-1 for it.
        embeddings: ``(C, 2, h, w, 3)`` per column, the embeddings of frames t-1 and t as RGB in
            [0, 1] (one PCA per sequence).
        on_object: ``(T,)`` per frame, whether the target pixel is mostly on the object (ground truth).
    """

    name: str
    frames: np.ndarray
    annotations: np.ndarray
    columns: Sequence[int]
    object_id: int
    carried: np.ndarray
    targets: np.ndarray
    taps: np.ndarray
    warps: np.ndarray
    embeddings: np.ndarray
    on_object: Sequence[bool]


def zoom_window(centre: tuple[float, float], shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """``(top, bottom, left, right)`` of the :data:`ZOOM` window around ``centre (y, x)``, shifted
    to stay inside an image of ``shape (H, W)`` (pixel edges at -0.5 and size - 0.5)."""
    (cy, cx), (height, width) = centre, shape
    top = min(max(cy - ZOOM[0], -0.5), max(height - 0.5 - 2 * ZOOM[0], -0.5))
    left = min(max(cx - ZOOM[1], -0.5), max(width - 0.5 - 2 * ZOOM[1], -0.5))
    return top, top + 2 * ZOOM[0], left, left + 2 * ZOOM[1]


def _zoom(ax: Axes, window: tuple[float, float, float, float]) -> None:
    top, bottom, left, right = window
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)


def _outline(ax: Axes, mask: np.ndarray) -> None:
    if mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors="white", linewidths=0.9, linestyles="dashed")


def _draw_sequence(axes: np.ndarray, panel: SequencePanel) -> None:
    """Fill ``axes (4, len(columns))`` with the panel's four rows."""
    for col, t in enumerate(panel.columns):
        ty, tx = panel.targets[col]
        current, previous = panel.annotations[t] == panel.object_id, panel.annotations[t - 1] == panel.object_id
        overlay = (0.5 * panel.frames[t - 1].astype(float) + 0.5 * panel.frames[t].astype(float)) / 255
        window = zoom_window((ty, tx), panel.frames.shape[1:3])
        axes[0, col].imshow(overlay)
        top, bottom, left, right = window
        axes[0, col].add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, ec="white", lw=0.8))
        _outline(axes[0, col], current)
        axes[0, col].scatter([tx], [ty], s=20, c=TARGET_COLOUR, **POINT_STYLE)
        title = f"{panel.name}: frames {t - 1} + {t}"
        if col == 0:
            title += f"\ntarget on object in {sum(panel.on_object)}/{len(panel.on_object)} frames"
        axes[0, col].set_title(title, fontsize=8)
        axes[1, col].imshow(np.concatenate(list(panel.embeddings[col]), axis=1))
        axes[1, col].set_title("embedding t-1 | t (PCA)", fontsize=8)
        warp = panel.warps[col]
        axes[2, col].imshow(panel.frames[t])
        _outline(axes[2, col], current)
        for layer, (yx, colour) in enumerate(zip(panel.taps[col], LAYER_COLOURS)):
            axes[2, col].scatter(yx[:, 1], yx[:, 0], s=16, c=colour, label=f"layer {106 + layer}", **POINT_STYLE)
        axes[2, col].scatter([tx], [ty], s=45, c=TARGET_COLOUR, label="target", **POINT_STYLE)
        _zoom(axes[2, col], window)
        axes[2, col].set_title(f"frame {t}: layers 106-108 (zoom)", fontsize=8)
        axes[3, col].imshow(panel.frames[t - 1])
        _outline(axes[3, col], previous)
        axes[3, col].annotate("", xy=(warp[1], warp[0]), xytext=(tx, ty),
                              arrowprops=dict(arrowstyle="->", color="white", lw=1.2))
        axes[3, col].scatter([tx], [ty], s=45, c=TARGET_COLOUR, label="target (frame t)", **POINT_STYLE)
        axes[3, col].scatter([warp[1]], [warp[0]], s=80, marker="*", c=LAYER_COLOURS[-1], label="layer 109",
                             **POINT_STYLE)
        _zoom(axes[3, col], window)
        axes[3, col].set_title(f"frame {t - 1}: layer 109 (zoom)", fontsize=8)
    axes[2, 0].legend(loc="lower left", fontsize=5, framealpha=0.8)
    axes[3, 0].legend(loc="lower left", fontsize=5, framealpha=0.8)


def plot_figure2(panels: Sequence[SequencePanel]) -> Figure:
    """The paper's Figure 2, four rows per sequence, one column per frame pair (t-1, t).

    Rows: frames t-1 and t overlaid, with the target (green) and the zoom window of rows 3-4
    (white box); their embeddings (joint PCA per sequence); frame t with the target pixel and the
    3x3 taps of the matching layers 106-108 for it (each layer's taps for that one output pixel,
    not composed through the layers); frame t-1 with the location layer 109 samples for it (star;
    the arrow is the target's flow). The dashed white line is the ground-truth outline of the
    tracked object (reference only). Points have a black border, as in the paper's caption.
    """
    if not panels:
        raise ConfigError("plot_figure2 needs at least one sequence panel")
    width = max(len(panel.columns) for panel in panels)
    aspect = panels[0].frames.shape[1] / panels[0].frames.shape[2]
    ratios = [1.0, 0.5, 1.0, 1.0] * len(panels)  # row 2 holds two embeddings side by side
    row_height = 3.0 * aspect + 0.3
    figure, axes = plt.subplots(4 * len(panels), width, squeeze=False, gridspec_kw=dict(height_ratios=ratios),
                                figsize=(3.0 * width, row_height * sum(ratios)))
    for index, panel in enumerate(panels):
        _draw_sequence(axes[4 * index:4 * index + 4], panel)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        if not ax.has_data():
            ax.set_axis_off()
    figure.tight_layout()
    return figure

