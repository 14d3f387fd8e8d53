"""The paper's published numbers (Table 2), loaded from ``results/paper/table2.csv``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rpmbench.errors import DataError

#: The repository's committed ``results/`` folder (rpmbench runs from a clone: ``pip install -e .``).
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
PAPER_RESULTS_DIR = RESULTS_DIR / "paper"

#: Headline DAVIS-2017 val numbers of the main paper (ResNet-101, deformable), in percent.
PAPER_HEADLINE = {"J": 41.0, "F": 42.2, "parameters": 43_000_000}


def paper_table2(path: Path | None = None) -> pd.DataFrame:
    """Table 2 as a long table: ``matching, kernel_size, dilation, layers, backbone, J, F`` (percent)."""
    path = path or PAPER_RESULTS_DIR / "table2.csv"
    if not path.is_file():
        raise DataError(
            f"{path}: the paper's Table 2 is missing; rpmbench expects to run from a clone of its "
            "repository (pip install -e .)."
        )
    return pd.read_csv(path)
