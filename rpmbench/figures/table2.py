"""Table 2 plots: measured J&F beside the paper's, per backbone and matching module."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """From ``table2.csv`` (long), a wide frame: one line per matching row, per backbone the
    measured and the paper's J&F (percent) and their difference."""
    cells = table.dropna(subset=["backbone"]).copy()
    cells["paper_J&F"] = (cells["paper_J"] + cells["paper_F"]) / 2
    cells["diff_J&F"] = cells["J&F"] - cells["paper_J&F"]
    metrics = ["J&F", "paper_J&F", "diff_J&F"]
    wide = cells.pivot(index="row", columns="backbone", values=metrics).swaplevel(0, 1, axis=1)
    backbones = list(dict.fromkeys(cells["backbone"]))
    return wide.reindex(index=list(dict.fromkeys(cells["row"])),
                        columns=pd.MultiIndex.from_product([backbones, metrics]))


def plot_table2(table: pd.DataFrame) -> Figure:
    """Grouped bars: per backbone, each matching row's measured J&F next to the paper's."""
    cells = table.dropna(subset=["backbone"])
    backbones = list(dict.fromkeys(cells["backbone"]))
    rows = list(dict.fromkeys(cells["row"]))
    figure, axes = plt.subplots(1, len(backbones), figsize=(4 * len(backbones), 3.6), sharey=True, squeeze=False)
    positions = np.arange(len(rows))
    for ax, backbone in zip(axes[0], backbones):
        part = cells[cells["backbone"] == backbone].set_index("row").reindex(rows)
        ax.bar(positions - 0.2, part["J&F"], width=0.4, label="measured")
        ax.bar(positions + 0.2, (part["paper_J"] + part["paper_F"]) / 2, width=0.4, label="paper")
        ax.set_xticks(positions, rows, rotation=60, ha="right", fontsize=7)
        ax.set_title(backbone)
    axes[0, 0].set_ylabel("J&F (%)")
    axes[0, 0].legend(fontsize=7)
    figure.tight_layout()
    return figure
