"""The Table 2 notebook's plotting helpers on inputs with known answers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from rpmbench.errors import ConfigError
from rpmbench.viz.table2 import beats_copy_previous, model_cells, plot_table2, side_by_side


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "row": ["deformable-l3", "deformable-l3", "dcn-v2", "copy-previous", "pixels"],
        "backbone": ["resnet18", "resnet34", "resnet18", None, None],
        "seeds": [3, 1, 1, 1, 1],
        "J&F": [40.0, 25.0, 30.0, 27.0, 35.0], "J_std": [2.0, np.nan, np.nan, np.nan, np.nan],
        "F_std": [1.0, np.nan, np.nan, np.nan, np.nan],
        "paper_J": [32.9, 34.6, np.nan, np.nan, np.nan], "paper_F": [36.2, 37.5, np.nan, np.nan, np.nan]})


def test_table2_side_by_side_blocks_and_copy_previous() -> None:
    table = _table()
    wide = side_by_side(table)
    assert wide.loc["deformable-l3", ("resnet18", "paper_J&F")] == (32.9 + 36.2) / 2
    assert wide.loc["deformable-l3", ("resnet34", "diff_J&F")] == 25.0 - (34.6 + 37.5) / 2
    cells = model_cells(table)
    assert cells["block"].tolist() == ["paper", "paper", "beyond the paper"]
    assert cells["J&F_std"].iloc[0] == 1.5  # (J_std + F_std) / 2 without a J&F_std column
    assert beats_copy_previous(table).tolist() == [True, False, True]
    with_block = table.assign(block=["paper", "paper", "beyond", "baseline", "baseline"], **{"J&F_std": 0.7})
    assert model_cells(with_block)["J&F_std"].iloc[0] == 0.7
    assert model_cells(with_block)["block"].tolist() == ["paper", "paper", "beyond the paper"]
    with pytest.raises(ConfigError, match="J&F"):
        model_cells(table.drop(columns=["J&F"]))


def test_table2_plot_draws_baselines_error_bars_and_the_beyond_block() -> None:
    figure = plot_table2(_table())
    axes = np.array(figure.axes).reshape(2, 2)
    assert axes[1, 0].get_title() == "resnet18 (beyond the paper)"
    lines = {round(line.get_ydata()[0], 3) for line in axes[0, 0].lines}
    assert {27.0, 35.0} <= lines  # copy-previous and pixels as horizontal lines
    bars = axes[0, 0].patches
    assert bars[0].get_hatch() is None and axes[0, 1].patches[0].get_hatch() == "////"
    assert len(axes[0, 0].containers) >= 2  # bars plus an error bar (3 seeds)
