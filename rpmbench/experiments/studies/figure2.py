"""Figure 2's data: where a trained model's matching layers sample for a target pixel carried along
a sequence, and the frames' embeddings as colours.

Per sequence (:func:`sequence_panel`), the model embeds every frame once and the matching module
gives, per frame pair (t-1, t), every layer's sampling locations
(:func:`rpmbench.inference.flows.feature_sampling`: exactly where the paper's propagation samples).
The target starts at the object pixel nearest the first mask's centroid (:func:`start_target`) and
follows the object with the model's own flow: layer 109 of frame t samples frame t-1 at
``q + flow_t(q)``, so the target in frame t is the point whose layer-109 point lands on the target
in frame t-1 (:func:`carry_target`, sub-pixel; the nearest feature pixel is drawn). No ground truth
is used for it; whether it stays on the object is checked against the masks (:func:`on_object`).
The result is a :class:`rpmbench.viz.figure2.SequencePanel` of plain arrays in image pixels, which
:func:`rpmbench.viz.figure2.plot_figure2` draws.

Coordinates: the matching module works on the H/4 feature grid, whose pixel ``i`` covers image
pixels ``4i .. 4i+3`` with its centre at ``4i + 1.5``; :func:`feature_to_image` converts.

The model is a cell spec's, through the spine (:func:`spec_panels`: the Figure 2 notebook), or any
trained model's (:func:`model_panels`: ``python -m rpmbench figure2 --checkpoint``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from rpmbench import registry
from rpmbench.data.flow import FEATURE_STRIDE
from rpmbench.errors import ConfigError
from rpmbench.experiments.spec import CellSpec, Paths, Work
from rpmbench.viz.figure2 import SequencePanel

if TYPE_CHECKING:
    from rpmbench.inference.propagate import PropagationConfig
    from rpmbench.models import RPMNet


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
    return np.asarray(coords) * FEATURE_STRIDE + (FEATURE_STRIDE - 1) / 2


def image_to_feature(coords: np.ndarray) -> np.ndarray:
    """(y, x) image pixel coordinates -> feature-grid coordinates (inverse of :func:`feature_to_image`)."""
    return (np.asarray(coords, dtype=float) - (FEATURE_STRIDE - 1) / 2) / FEATURE_STRIDE


def start_target(mask: np.ndarray, object_id: int) -> tuple[int, int]:
    """The feature pixel of object ``object_id`` in ``mask (H, W)`` nearest its centroid.

    Only feature pixels whose 4x4 image block is mostly the object are candidates, so the target
    sits inside the object even when its centroid does not (a ring, a crescent).
    """
    height, width = mask.shape
    inside = (mask == object_id)
    if not inside.any():
        raise ConfigError(f"object {object_id} is not in the first mask; pick an id in {np.unique(mask).tolist()}")
    h, w = -(-height // FEATURE_STRIDE), -(-width // FEATURE_STRIDE)
    padded = np.zeros((h * FEATURE_STRIDE, w * FEATURE_STRIDE), bool)
    padded[:height, :width] = inside
    share = padded.reshape(h, FEATURE_STRIDE, w, FEATURE_STRIDE).mean(axis=(1, 3))
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


def on_object(targets: Sequence[np.ndarray], annotations: np.ndarray, object_id: int) -> list[bool]:
    """Per frame, whether the target pixel's 4x4 image block is mostly object ``object_id`` of
    ``annotations (T, H, W)`` (ground truth; a check of the carried ``targets``, not used to move them)."""
    flags = []
    for t, position in enumerate(targets):
        y, x = target_pixel(np.asarray(position, dtype=float))
        block = annotations[t][FEATURE_STRIDE * y:FEATURE_STRIDE * (y + 1), FEATURE_STRIDE * x:FEATURE_STRIDE * (x + 1)]
        flags.append(bool(block.size and (block == object_id).mean() >= 0.5))
    return flags


def sequence_panel(model: RPMNet, propagation: PropagationConfig, name: str, frames: np.ndarray, annotations: np.ndarray,
                   columns: Sequence[int], object_id: int = 1) -> SequencePanel:
    """Figure 2's panel of one sequence, ``frames (T, H, W, 3)`` uint8 RGB with ground-truth ids
    ``annotations (T, H, W)``, as ``model`` (an RPM-Net) sees it under ``propagation`` (a
    :class:`~rpmbench.inference.propagate.PropagationConfig`; its colour space is the model's)."""
    from rpmbench.inference.flows import feature_sampling
    from rpmbench.inference.propagate import embed_frames

    bad = [t for t in columns if not 1 <= t < len(frames)]
    if bad:
        raise ConfigError(f"figure2 columns {bad} are outside 1..{len(frames) - 1} for sequence {name}")
    model = model.eval()
    features = embed_frames(model, frames, propagation)
    sampling = feature_sampling(model, features)
    features = features.cpu()
    carried = carry_target([layers[-1] for layers in sampling], start_target(annotations[0], object_id))
    pixels = [target_pixel(carried[t]) for t in columns]
    rgb = pca_rgb([features[t] for t in columns] + [features[t - 1] for t in columns])
    points = [[feature_to_image(layer[0, :, y, x].numpy()) for layer in sampling[t - 1]]  # (k*k, 2) per layer
              for t, (y, x) in zip(columns, pixels)]
    return SequencePanel(
        name=name, frames=frames, annotations=annotations, columns=list(columns), object_id=object_id,
        carried=np.stack(carried), targets=feature_to_image(np.array(pixels, dtype=float)),
        taps=np.stack([np.stack(layers[:-1]) for layers in points]), warps=np.stack([layers[-1][0] for layers in points]),
        embeddings=np.stack([np.stack([rgb[len(columns) + col], rgb[col]]) for col in range(len(columns))]),
        on_object=on_object(carried, annotations, object_id))


def model_panels(model: RPMNet, propagation: PropagationConfig, root: str | os.PathLike[str], sequences: Sequence[str],
                 columns: Sequence[int], split: str = "val", layout: str = registry.DEFAULT_LAYOUT,
                 object_id: int = 1) -> list[SequencePanel]:
    """:func:`sequence_panel` of each of ``sequences`` of ``split`` of ``root`` (read as ``layout``)."""
    from rpmbench.data.layouts import open_split

    dataset = open_split(root, split, layout)
    return [sequence_panel(model, propagation, name, dataset.read_frames(name), dataset.read_annotations(name),
                           columns, object_id) for name in sequences]


def spec_panels(spec: CellSpec, paths: Paths, work: Work, sequences: Sequence[str], columns: Sequence[int],
                object_id: int = 1) -> list[SequencePanel]:
    """:func:`model_panels` of ``spec``'s trained model (:func:`~rpmbench.experiments.cell.trained_model`:
    trained or resumed, else loaded) on its data, in its own colour space at scale 1."""
    from rpmbench.experiments.cell import trained_model

    model, trained_config, _ = trained_model(spec, paths, work)
    colour_space = spec.propagation.colour_space or trained_config.colour_space
    propagation = dataclasses.replace(spec.propagation, colour_space=colour_space, scale=1.0)
    return model_panels(model, propagation, paths.davis_root, sequences, columns, spec.data.split, spec.data.layout,
                        object_id)
