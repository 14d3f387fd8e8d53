"""Figure 2: embedding features (PCA to RGB) and the matching module's sampling locations.

Coordinates: the matching module works on the H/4 feature grid, whose pixel ``i`` covers image
pixels ``4i .. 4i+3`` with its centre at ``4i + 1.5``; :func:`feature_to_image` converts.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

LAYER_COLOURS = ("tab:orange", "tab:purple", "tab:cyan", "yellow")


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


def target_sampling_points(sampling: Sequence[Tensor], target: tuple[int, int]) -> list[np.ndarray]:
    """Per layer, the image coordinates ``(k*k, 2)`` sampled for the feature pixel ``target``."""
    y, x = target
    return [feature_to_image(layer[0, :, y, x].numpy()) for layer in sampling]


def plot_figure2(frames: np.ndarray, features: Sequence[Tensor], sampling: Sequence[Sequence[Tensor]],
                 targets: Sequence[tuple[int, int]], columns: Sequence[int]) -> Figure:
    """The four rows of the paper's Figure 2 for the frame pairs (t-1, t), t in ``columns``.

    Rows: frames t-1 and t overlaid; their embeddings (joint PCA); frame t with the target pixel
    (green) and the sampling locations of the matching layers 106-108 for it; frame t-1 with the
    location layer 109 samples for it (star; the arrow is the target's flow).

    Args:
        frames: ``(T, H, W, 3)`` uint8 RGB.
        features: per frame, the ``(32, h, w)`` embedding.
        sampling: per t >= 1 (index t-1), per matching layer 106..109, ``(1, k*k, h, w, 2)``
            (y, x) locations on the feature grid.
        targets: per column, the target feature pixel ``(y, x)`` in frame t.
        columns: the frame indices t shown.
    """
    figure, axes = plt.subplots(4, len(columns), figsize=(3.2 * len(columns), 8.4), squeeze=False)
    rgb = pca_rgb([features[t] for t in columns] + [features[t - 1] for t in columns])
    marker = dict(edgecolors="black", linewidths=0.8)
    for col, (t, target) in enumerate(zip(columns, targets)):
        ty, tx = feature_to_image(np.array(target, dtype=float))
        overlay = (0.5 * frames[t - 1].astype(float) + 0.5 * frames[t].astype(float)) / 255
        axes[0, col].imshow(overlay)
        axes[0, col].set_title(f"frames {t - 1} + {t}")
        axes[1, col].imshow(np.concatenate([rgb[len(columns) + col], rgb[col]], axis=1))
        axes[1, col].set_title("embedding t-1 | t (PCA)")
        *matching, warp = target_sampling_points(sampling[t - 1], target)
        axes[2, col].imshow(frames[t])
        for layer, (yx, colour) in enumerate(zip(matching, LAYER_COLOURS)):
            axes[2, col].scatter(yx[:, 1], yx[:, 0], s=18, c=colour, label=f"layer {106 + layer}", **marker)
        axes[2, col].scatter([tx], [ty], s=40, c="lime", label="target", **marker)
        axes[2, col].set_title(f"frame {t}: layers 106-108")
        axes[3, col].imshow(frames[t - 1])
        axes[3, col].annotate("", xy=(warp[0, 1], warp[0, 0]), xytext=(tx, ty),
                              arrowprops=dict(arrowstyle="->", color="white", lw=1.2))
        axes[3, col].scatter([tx], [ty], s=40, c="lime", label="target", **marker)
        axes[3, col].scatter(warp[:, 1], warp[:, 0], s=70, marker="*", c=LAYER_COLOURS[-1], label="layer 109",
                             **marker)
        axes[3, col].set_title(f"frame {t - 1}: layer 109")
    axes[2, 0].legend(loc="lower left", fontsize=6, framealpha=0.8)
    axes[3, 0].legend(loc="lower left", fontsize=6, framealpha=0.8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.tight_layout()
    return figure
