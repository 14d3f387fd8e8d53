"""Figure 2: embedding features (PCA to RGB) and the matching module's sampling locations for a
target pixel carried along the video sequence.

Coordinates: the matching module works on the H/4 feature grid, whose pixel ``i`` covers image
pixels ``4i .. 4i+3`` with its centre at ``4i + 1.5``; :func:`feature_to_image` converts.

The target follows the object with the model's own flow: layer 109 of frame t samples frame t-1 at
``q + flow_t(q)``, so the target in frame t is the point whose layer-109 point lands on the target
in frame t-1 (:func:`carry_target`, sub-pixel; the nearest feature pixel is drawn). No ground truth is used for it; the
ground-truth outline of the object is drawn for reference only.

Command (the committed ``results/figures/figure2.png``)::

    python -m rpmbench.viz.figure2 --checkpoint PATH/checkpoint.pt --out results/figures/figure2.png
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from rpmbench.errors import ConfigError

LAYER_COLOURS = ("tab:orange", "tab:purple", "tab:cyan", "yellow")
TARGET_COLOUR = "lime"
POINT_STYLE = dict(edgecolors="black", linewidths=0.9)  # the caption: points enclosed in a black border
#: Half height and half width (image pixels) of the window rows 3-4 zoom into around the target.
ZOOM = (24, 42)


def pca_rgb(features: Sequence[Tensor]) -> list[np.ndarray]:
    """Project ``(C, h, w)`` feature maps onto their 3 joint principal components -> ``(h, w, 3)``
    images in [0, 1] (one PCA fitted on all maps together, so colours are comparable)."""
    flat = torch.cat([f.reshape(f.shape[0], -1).T for f in features]).double()
    centred = flat - flat.mean(dim=0)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    projected = centred @ vh[:3].T
    low, high = projected.min(dim=0).values, projected.max(dim=0).values
    projected = (projected - low) / (high - low).clamp_min(1e-12)
    images, start = [], 0
    for f in features:
        count = f.shape[1] * f.shape[2]
        images.append(projected[start:start + count].reshape(f.shape[1], f.shape[2], 3).numpy())
        start += count
    return images


def feature_to_image(coords: Tensor | np.ndarray) -> np.ndarray:
    """(y, x) feature-grid coordinates -> image pixel coordinates (stride 4, pixel centres)."""
    return np.asarray(coords) * 4 + 1.5


def image_to_feature(coords: np.ndarray) -> np.ndarray:
    """(y, x) image pixel coordinates -> feature-grid coordinates (inverse of :func:`feature_to_image`)."""
    return (np.asarray(coords, dtype=float) - 1.5) / 4


def target_sampling_points(sampling: Sequence[Tensor], target: tuple[int, int]) -> list[np.ndarray]:
    """Per layer, the image coordinates ``(k*k, 2)`` sampled for the feature pixel ``target``."""
    y, x = target
    return [feature_to_image(layer[0, :, y, x].numpy()) for layer in sampling]


def start_target(mask: np.ndarray, object_id: int) -> tuple[int, int]:
    """The feature pixel of object ``object_id`` in ``mask (H, W)`` nearest its centroid.

    Only feature pixels whose 4x4 image block is mostly the object are candidates, so the target
    sits inside the object even when its centroid does not (a ring, a crescent).
    """
    height, width = mask.shape
    inside = (mask == object_id)
    if not inside.any():
        raise ConfigError(f"object {object_id} is not in the first mask; pick an id in {np.unique(mask).tolist()}")
    h, w = -(-height // 4), -(-width // 4)
    padded = np.zeros((h * 4, w * 4), bool)
    padded[:height, :width] = inside
    share = padded.reshape(h, 4, w, 4).mean(axis=(1, 3))
    candidates = np.argwhere(share >= 0.5) if (share >= 0.5).any() else np.argwhere(share > 0)
    centroid = image_to_feature(np.argwhere(inside).mean(axis=0))
    best = candidates[np.argmin(((candidates - centroid) ** 2).sum(axis=1))]
    return int(best[0]), int(best[1])


def bilinear(field: np.ndarray, point: np.ndarray) -> np.ndarray:
    """``field (h, w, C)`` sampled at the (y, x) ``point`` (clamped to the grid), bilinearly."""
    h, w = field.shape[:2]
    y, x = min(max(point[0], 0.0), h - 1.0), min(max(point[1], 0.0), w - 1.0)
    y0, x0 = min(int(y), h - 2) if h > 1 else 0, min(int(x), w - 2) if w > 1 else 0
    fy, fx = y - y0, x - x0
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    return ((1 - fy) * ((1 - fx) * field[y0, x0] + fx * field[y0, x1])
            + fy * ((1 - fx) * field[y1, x0] + fx * field[y1, x1]))


def carry_target(warps: Sequence[Tensor], start: tuple[float, float], iterations: int = 5) -> list[np.ndarray]:
    """The target's (sub-pixel) feature-grid position in every frame, carried with the model's own flow.

    Layer 109 of frame t samples frame t-1 at ``q + flow_t(q)``, so the target in frame t is the
    point ``q`` with ``q + flow_t(q) = target_{t-1}``, found by the fixed-point iteration
    ``q <- target_{t-1} - flow_t(q)`` (flow read bilinearly; positions kept inside the grid). Kept
    continuous, so motions below a feature pixel per frame add up instead of rounding away.

    Args:
        warps: per frame t >= 1, layer 109's sampling locations ``(1, 1, h, w, 2)`` (each pixel of
            frame t plus its flow, in frame t-1's feature coordinates).
        start: the target ``(y, x)`` in frame 0.

    Returns:
        ``T`` positions ``(2,)`` (y, x): ``start``, then one per later frame.
    """
    targets = [np.asarray(start, dtype=float)]
    for warp in warps:
        points = warp[0, 0].double().numpy()  # (h, w, 2)
        h, w = points.shape[:2]
        flow = points - np.stack(np.mgrid[:h, :w], axis=-1)
        previous = targets[-1]
        current = previous.copy()
        for _ in range(iterations):
            current = previous - bilinear(flow, current)
        targets.append(np.clip(current, 0, [h - 1, w - 1]))
    return targets


def target_pixel(position: np.ndarray) -> tuple[int, int]:
    """The feature pixel nearest a (sub-pixel) target position: the pixel whose sampling is drawn."""
    return int(np.rint(position[0])), int(np.rint(position[1]))


@dataclass
class SequencePanel:
    """One sequence's rows of the figure.

    Attributes:
        name: shown in the titles.
        frames: ``(T, H, W, 3)`` uint8 RGB.
        features: per frame, the ``(32, h, w)`` embedding.
        sampling: per t >= 1 (index t-1), per matching layer 106..109, ``(1, k*k, h, w, 2)``
            (y, x) locations on the feature grid.
        targets: per frame, the target's feature-grid position ``(y, x)`` (see :func:`carry_target`);
            the figure draws the nearest feature pixel and its sampling locations.
        columns: the frame indices t shown (each >= 1).
        annotations: ``(T, H, W)`` ground-truth ids, drawn as the outline of ``object_id`` for reference.
        object_id: the tracked object.
    """

    name: str
    frames: np.ndarray
    features: Sequence[Tensor]
    sampling: Sequence[Sequence[Tensor]]
    targets: Sequence[np.ndarray | tuple[float, float]]
    columns: Sequence[int]
    annotations: np.ndarray
    object_id: int = 1


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


def on_object(panel: SequencePanel) -> list[bool]:
    """Per frame, whether the drawn target pixel's 4x4 image block is mostly the tracked object
    (ground truth; a check of the carried target, not used to move it)."""
    flags = []
    for t, position in enumerate(panel.targets):
        y, x = target_pixel(np.asarray(position, dtype=float))
        block = panel.annotations[t][4 * y:4 * y + 4, 4 * x:4 * x + 4]
        flags.append(bool(block.size and (block == panel.object_id).mean() >= 0.5))
    return flags


def _outline(ax: Axes, mask: np.ndarray) -> None:
    if mask.any():
        ax.contour(mask.astype(float), levels=[0.5], colors="white", linewidths=0.9, linestyles="dashed")


def _draw_sequence(axes: np.ndarray, panel: SequencePanel) -> None:
    """Fill ``axes (4, len(columns))`` with the panel's four rows."""
    columns = list(panel.columns)
    rgb = pca_rgb([panel.features[t] for t in columns] + [panel.features[t - 1] for t in columns])
    for col, t in enumerate(columns):
        target = target_pixel(np.asarray(panel.targets[t], dtype=float))
        ty, tx = feature_to_image(np.array(target, dtype=float))
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
            flags = on_object(panel)
            title += f"\ntarget on object in {sum(flags)}/{len(flags)} frames"
        axes[0, col].set_title(title, fontsize=8)
        axes[1, col].imshow(np.concatenate([rgb[len(columns) + col], rgb[col]], axis=1))
        axes[1, col].set_title("embedding t-1 | t (PCA)", fontsize=8)
        *matching, warp = target_sampling_points(panel.sampling[t - 1], target)
        axes[2, col].imshow(panel.frames[t])
        _outline(axes[2, col], current)
        for layer, (yx, colour) in enumerate(zip(matching, LAYER_COLOURS)):
            axes[2, col].scatter(yx[:, 1], yx[:, 0], s=16, c=colour, label=f"layer {106 + layer}", **POINT_STYLE)
        axes[2, col].scatter([tx], [ty], s=45, c=TARGET_COLOUR, label="target", **POINT_STYLE)
        _zoom(axes[2, col], window)
        axes[2, col].set_title(f"frame {t}: layers 106-108 (zoom)", fontsize=8)
        axes[3, col].imshow(panel.frames[t - 1])
        _outline(axes[3, col], previous)
        axes[3, col].annotate("", xy=(warp[0, 1], warp[0, 0]), xytext=(tx, ty),
                              arrowprops=dict(arrowstyle="->", color="white", lw=1.2))
        axes[3, col].scatter([tx], [ty], s=45, c=TARGET_COLOUR, label="target (frame t)", **POINT_STYLE)
        axes[3, col].scatter(warp[:, 1], warp[:, 0], s=80, marker="*", c=LAYER_COLOURS[-1], label="layer 109",
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


@dataclass
class TrainedModel:
    """A checkpoint's model (eval mode, CPU) and what the figures say about it."""

    model: torch.nn.Module
    colour_space: str
    backbone: str
    matching: str
    layers: int
    step: int
    seed: int


def load_model(checkpoint: str | Path) -> TrainedModel:
    """The model of a training checkpoint (CPU, eval mode) and what the figures say about it."""
    from rpmbench.training import load_checkpoint_model
    from rpmbench.training.checkpoint import read_checkpoint

    model, config = load_checkpoint_model(checkpoint)
    step = int(read_checkpoint(checkpoint)["step"])
    return TrainedModel(model, config.colour_space, config.model.backbone, config.model.matching,
                        config.model.layers, step, config.seed)


def sequence_panel(model: torch.nn.Module, colour_space: str, root: str | Path, sequence: str,
                   columns: Sequence[int], split: str = "val", object_id: int = 1) -> SequencePanel:
    """Propagate ``sequence`` of the DAVIS-layout ``root`` with ``model`` and build its panel."""
    from rpmbench.data.layouts import open_split
    from rpmbench.inference.propagate import PropagationConfig, propagate_sequence

    dataset = open_split(root, split)
    frames, annotations = dataset.read_frames(sequence), dataset.read_annotations(sequence)
    bad = [t for t in columns if not 1 <= t < len(frames)]
    if bad:
        raise ConfigError(f"figure2 columns {bad} are outside 1..{len(frames) - 1} for sequence {sequence}")
    out = propagate_sequence(model, frames, annotations[0], PropagationConfig(colour_space=colour_space),
                             return_sampling=True)
    targets = carry_target([layers[-1] for layers in out.sampling], start_target(annotations[0], object_id))
    return SequencePanel(sequence, frames, out.features, out.sampling, targets, list(columns), annotations, object_id)


def main(argv: Sequence[str] | None = None) -> None:
    """Draw Figure 2 from a trained checkpoint (see the module docstring for the command)."""
    from rpmbench.data.builtin import ensure_builtin_dataset
    from rpmbench.data.layouts import open_split

    parser = argparse.ArgumentParser(prog="python -m rpmbench.viz.figure2", description=main.__doc__)
    parser.add_argument("--checkpoint", required=True, help="checkpoint.pt of a trained run")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--root", help="DAVIS-layout data root (default: the built-in small set)")
    parser.add_argument("--sequences", nargs="+", help="val sequences (default: the first three)")
    parser.add_argument("--columns", nargs="+", type=int, default=[2, 6, 10, 15], help="frames t shown")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    trained = load_model(args.checkpoint)
    root = Path(args.root) if args.root else ensure_builtin_dataset(progress=False)
    sequences = args.sequences or open_split(root, "val").sequences[:3]
    panels = [sequence_panel(trained.model, trained.colour_space, root, name, args.columns) for name in sequences]
    for panel in panels:
        flags = on_object(panel)
        print(f"{panel.name}: carried target on the object in {sum(flags)} of {len(flags)} frames "
              f"({''.join('1' if flag else '.' for flag in flags)})")
    figure = plot_figure2(panels)
    figure.suptitle(f"Figure 2 from checkpoint: {args.checkpoint} ({trained.backbone}, {trained.matching} matching, "
                    f"step {trained.step}; target pixel carried with the model's own flow)", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.3 / figure.get_figheight()))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=args.dpi)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
