"""Where propagation drifts: J of every scored frame, per sequence, for chosen results of a run.

Reads the ``per_frame`` columns that :func:`rpmbench.experiments.cell.per_frame_columns` stores in every
result JSON of ``run-grid`` (``results/<run>/cells/*.json``), so it needs no predictions on disk.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from rpmbench.errors import ConfigError


def load_per_frame(cells_dir: Path, methods: Sequence[str]) -> pd.DataFrame:
    """One row per (method, sequence, object, frame) with J and F, for ``methods`` (result ids such
    as ``resnet18-deformable-l3`` or ``copy-previous``; the first seed of each)."""
    frames = []
    for method in methods:
        paths = sorted(cells_dir.glob(f"{method}-*.json"))
        results = [json.loads(path.read_text()) for path in paths]
        results = [r for r in results if r["cell"] == method and "per_frame" in r]
        if not results:
            raise ConfigError(f"{cells_dir}: no result with per-frame scores for {method!r} "
                              "(results written before schema 2 lack them; rerun run-grid)")
        result = min(results, key=lambda r: r["seed"] if r["seed"] is not None else -1)
        frames.append(pd.DataFrame(result["per_frame"]).assign(method=method))
    return pd.concat(frames, ignore_index=True)


def plot_j_over_time(per_frame: pd.DataFrame, columns: int = 4) -> Figure:
    """A panel per sequence: J (mean over its objects) against frame index, a line per method."""
    sequences = list(dict.fromkeys(per_frame["sequence"]))
    rows = -(-len(sequences) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False,
                                sharey=True)
    for axis, sequence in zip(axes.flat, sequences):
        data = per_frame[per_frame["sequence"] == sequence]
        for method, group in data.groupby("method", sort=False):
            curve = group.groupby("frame", sort=True)["J"].mean()
            axis.plot(range(1, len(curve) + 1), curve.to_numpy(), label=method, linewidth=1.2)
        axis.set_title(sequence, fontsize=9)
        axis.set_ylim(0, 1)
        axis.set_xlabel("scored frame", fontsize=8)
    for axis in list(axes.flat)[len(sequences):]:
        axis.set_visible(False)
    axes[0, 0].set_ylabel("J (mean over objects)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure
