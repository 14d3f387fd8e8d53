"""table2.csv / table2.md rendered from hand-built cell JSONs, checked against exact text."""

import io
import math

import pandas as pd
import pytest

from rpmbench.grid.table import TableContext, summarise, to_csv, to_markdown
from rpmbench.paper import paper_table2

CONTEXT = TableContext(
    preset="tiny", description="hand-built", settings="2 steps x 1 crops of 32x32", data="rpmbench built-in 'small' (seed 0), val",
    seeds=[0, 1], rows=["deformable-l3", "dilated-d6-l3"], backbones=["resnet18", "resnet50"],
    baselines=["copy-first"],
)


def _result(cell: str, j: float, f: float, seed: int | None = 0) -> dict:
    return {"cell": cell, "seed": seed, "parameters": 1000, "flops_per_frame": 5000,
            "metrics": {"J-Mean": j, "F-Mean": f, "J&F-Mean": (j + f) / 2}}


RESULTS = [
    _result("resnet18-deformable-l3", 0.30, 0.34, seed=0),
    _result("resnet18-deformable-l3", 0.32, 0.36, seed=1),
    _result("resnet50-deformable-l3", 0.401, 0.2, seed=0),
    _result("resnet50-dilated-d6-l3", 0.2, 0.25, seed=0),
    _result("copy-first", 0.155, 0.18, seed=None),
]

EXPECTED_MARKDOWN = """\
# Table 2 reproduction (preset `tiny`)

- Data set: rpmbench built-in 'small' (seed 0), val
- Preset: `tiny` (as shipped: hand-built)
- Settings as run: 2 steps x 1 crops of 32x32
- Seeds per cell: 2 (0, 1); values are mean ± sample std
- Each cell: measured J / F in percent (paper J / F; measured minus paper). \
The paper trained on DAVIS-2017 + YouTube-VOS and scored DAVIS-2017 val.

| Convolution | Kernel size / dilation | Layers | FCN-ResNet18 | FCN-ResNet50 |
|:--|:-:|:-:|:-:|:-:|
| Deformable | 3/1 | 3 | 31.0±1.4 / 35.0±1.4 (32.9 / 36.2; -1.9 / -1.2) | 40.1 / 20.0 (35.3 / 37.9; +4.8 / -17.9) |
| Dilated | 3/6 | 3 | not run (29.5 / 31.0) | 20.0 / 25.0 (30.5 / 32.6; -10.5 / -7.6) |
| Baseline: copy-first | - | - | 15.5 / 18.0 | - |

Baselines have no embedding network: one measurement each, in the first column.
"""


def test_markdown_layout_exact() -> None:
    table = summarise(RESULTS, CONTEXT, paper_table2())
    assert to_markdown(table, CONTEXT) == EXPECTED_MARKDOWN


def test_csv_is_long_and_machine_readable() -> None:
    table = summarise(RESULTS, CONTEXT, paper_table2())
    csv = pd.read_csv(io.StringIO(to_csv(table)))
    assert list(csv["cell"]) == ["resnet18-deformable-l3", "resnet50-deformable-l3",
                                 "resnet18-dilated-d6-l3", "resnet50-dilated-d6-l3", "copy-first"]
    first = csv.iloc[0]
    assert first["seeds"] == 2
    assert first["J"] == pytest.approx(31.0) and first["F"] == pytest.approx(35.0)
    assert first["J_std"] == pytest.approx(math.sqrt(2.0), abs=0.01)  # sample std of 30, 32
    assert first["paper_J"] == 32.9 and first["J_diff"] == pytest.approx(-1.9)
    assert first["J&F"] == pytest.approx(33.0)
    missing = csv.iloc[2]
    assert missing["seeds"] == 0 and math.isnan(missing["J"]) and missing["paper_F"] == 31.0
    baseline = csv.iloc[4]
    assert baseline["matching"] == "baseline" and math.isnan(baseline["paper_J"])
    assert baseline["J"] == pytest.approx(15.5)


def test_single_seed_has_no_std() -> None:
    context = TableContext(**{**CONTEXT.__dict__, "seeds": [0]})
    table = summarise(RESULTS[2:], context, paper_table2())
    assert table["J_std"].isna().all()
    assert "±" not in to_markdown(table, context)
