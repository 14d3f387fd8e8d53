"""Table 2 plots: measured J&F beside the paper's, per backbone and matching module, with the
baselines as reference lines, seed spread as error bars, and the cells that beat copy-previous
drawn solid (the others hatched).

Columns read from ``table2.csv`` (long: one line per cell or baseline): ``row``, ``backbone``
(empty for baselines), ``J&F``, ``paper_J``, ``paper_F``; optional: ``seeds``, ``J&F_std`` (else
``(J_std + F_std) / 2``, an upper bound of the J&F std, is used when both exist) and ``block``
(``paper``, ``beyond`` as ``run-grid`` writes it, or another name; without it, a model cell with no paper
value is put in a ``beyond the paper`` block).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from rpmbench.errors import ConfigError

PAPER_BLOCK = "paper"
BEYOND_BLOCK = "beyond the paper"
REQUIRED_COLUMNS = ("row", "backbone", "J&F")
#: Line styles of the baselines drawn as horizontal references (others get a grey dotted line).
BASELINE_STYLES = {
    "copy-previous": dict(color="black", linestyle="--", linewidth=1.4),
    "copy-first": dict(color="grey", linestyle=":", linewidth=1.0),
    "optical-flow": dict(color="tab:blue", linestyle="-.", linewidth=1.2),
    "pixels": dict(color="tab:green", linestyle=(0, (5, 1, 1, 1)), linewidth=1.2),
}


def check_columns(table: pd.DataFrame) -> None:
    """Raise a clear error when ``table`` lacks the columns every plot needs."""
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise ConfigError(f"table2.csv lacks columns {missing} (has {list(table.columns)}); "
                          "write it with `python -m rpmbench run-grid`")


def model_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The model cells (lines with a backbone) with ``paper_J&F``, ``J&F_std`` and ``block`` added."""
    check_columns(table)
    cells = table.dropna(subset=["backbone"]).copy()
    for column in ("paper_J", "paper_F"):
        if column not in cells:
            cells[column] = np.nan
    cells["paper_J&F"] = (cells["paper_J"] + cells["paper_F"]) / 2
    if "J&F_std" not in cells:
        both = "J_std" in cells and "F_std" in cells
        cells["J&F_std"] = (cells["J_std"] + cells["F_std"]) / 2 if both else np.nan
    if "block" not in cells:
        cells["block"] = np.where(cells["paper_J&F"].notna(), PAPER_BLOCK, BEYOND_BLOCK)
    cells["block"] = cells["block"].fillna(PAPER_BLOCK).replace({"beyond": BEYOND_BLOCK})  # run-grid writes "beyond"
    return cells


def baselines(table: pd.DataFrame) -> dict[str, float]:
    """``{name: J&F}`` of the baseline lines (no backbone)."""
    check_columns(table)
    rows = table[table["backbone"].isna()]
    return dict(zip(rows["row"], rows["J&F"].astype(float)))


def side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """From ``table2.csv`` (long), a wide frame: one line per matching row, per backbone the
    measured and the paper's J&F (percent) and their difference."""
    cells = model_cells(table)
    cells["diff_J&F"] = cells["J&F"] - cells["paper_J&F"]
    metrics = ["J&F", "paper_J&F", "diff_J&F"]
    wide = cells.pivot_table(index="row", columns="backbone", values=metrics, dropna=False).swaplevel(0, 1, axis=1)
    backbones = list(dict.fromkeys(cells["backbone"]))
    return wide.reindex(index=list(dict.fromkeys(cells["row"])),
                        columns=pd.MultiIndex.from_product([backbones, metrics]))


def beats_copy_previous(table: pd.DataFrame) -> pd.Series:
    """Per model cell (index as :func:`model_cells`), whether its J&F is above copy-previous's
    (all False when the table has no copy-previous line)."""
    cells = model_cells(table)
    reference = baselines(table).get("copy-previous")
    if reference is None:
        return pd.Series(False, index=cells.index)
    return cells["J&F"] > reference


def plot_table2(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Per block (paper, then beyond the paper) a row of panels, one per backbone: each matching
    row's measured J&F (error bar: seed std where there are several seeds; solid when above
    copy-previous, hatched otherwise) next to the paper's, and the baselines as horizontal lines."""
    cells = model_cells(table)
    cells["above"] = beats_copy_previous(table)
    references = baselines(table)
    blocks = list(dict.fromkeys(cells["block"]))
    backbones = list(dict.fromkeys(cells["backbone"]))
    figure, axes = plt.subplots(len(blocks), len(backbones), figsize=(max(4.2 * len(backbones), 7.5), 3.8 * len(blocks)),
                                sharey=True, squeeze=False)
    for block_index, block in enumerate(blocks):
        in_block = cells[cells["block"] == block]
        rows = list(dict.fromkeys(in_block["row"]))
        positions = np.arange(len(rows))
        for ax, backbone in zip(axes[block_index], backbones):
            part = in_block[in_block["backbone"] == backbone].set_index("row").reindex(rows)
            std = part["J&F_std"]
            if "seeds" in part:
                std = std.where(part["seeds"] > 1)
            wins = part["above"].fillna(False).astype(bool).tolist()
            bars = ax.bar(positions - 0.2, part["J&F"], width=0.4, edgecolor="tab:orange",
                          color=["tab:orange" if win else "white" for win in wins])
            for bar, win in zip(bars, wins):
                bar.set_hatch(None if win else "////")
            spread = std.notna().to_numpy()
            if spread.any():
                ax.errorbar(positions[spread] - 0.2, part["J&F"].to_numpy()[spread], yerr=std.to_numpy()[spread],
                            fmt="none", ecolor="black", elinewidth=0.9, capsize=3, zorder=4)
            if part["paper_J&F"].notna().any():
                ax.bar(positions + 0.2, part["paper_J&F"], width=0.4, color="tab:grey", alpha=0.6)
            for name, value in references.items():
                ax.axhline(value, zorder=3, **BASELINE_STYLES.get(name, dict(color="grey", linestyle=":", linewidth=0.8)))
            ax.set_xticks(positions, rows, rotation=60, ha="right", fontsize=7)
            ax.set_title(f"{backbone} ({block})" if len(blocks) > 1 else backbone, fontsize=9)
            ax.set_xlim(-0.6, max(len(rows), 1) - 0.4)
        axes[block_index, 0].set_ylabel("J&F (%)")
    handles = [Patch(facecolor="tab:orange", edgecolor="tab:orange", label="measured, above copy-previous"),
               Patch(facecolor="white", edgecolor="tab:orange", hatch="////", label="measured, not above"),
               Patch(facecolor="tab:grey", alpha=0.6, label="paper"),
               plt.Line2D([], [], color="black", marker="_", linestyle="none", label="error bar: seed std (> 1 seed)")]
    handles += [plt.Line2D([], [], label=name, **BASELINE_STYLES.get(name, dict(color="grey", linestyle=":")))
                for name in references]
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=7, frameon=False)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0.08 if len(handles) > 4 else 0.05, 1, 1))
    return figure
