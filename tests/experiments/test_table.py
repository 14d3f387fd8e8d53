"""table2.csv / table2.md rendered from hand-built cell JSONs, checked against exact text."""

import io
import math

import pandas as pd
import pytest

from rpmbench.experiments.table import TableContext, summarise, to_csv, to_markdown
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
- Each cell: measured J / F / J&F in percent (the paper's J / F in parentheses, for orientation only). \
**The data differ**: the paper trained on DAVIS-2017 + YouTube-VOS and scored DAVIS-2017 val; this run \
used the data set named above, so its numbers are not expected to match the paper's and no differences \
are shown.

| Convolution | Kernel size / dilation | Layers | Protocol (paper version) | FCN-ResNet18 | FCN-ResNet50 |
|:--|:-:|:-:|:--|:-:|:-:|
| Deformable | 3/1 | 3 | `flow`: the paper's: t-1 (arXiv), the default | 31.0±1.4 / 35.0±1.4 / 33.0±1.4 (32.9 / 36.2) | 40.1 / 20.0 / 30.0 (35.3 / 37.9) |
| Dilated | 3/6 | 3 | `flow`: the paper's: t-1 (arXiv), the default | not run (29.5 / 31.0) | 20.0 / 25.0 / 22.5 (30.5 / 32.6) |
| Baseline: copy-first | - | - | - | 15.5 / 18.0 / 16.8 | - |

Baselines have no embedding network: one measurement each, in the first column.

Protocols, and which version of the paper each stands for: `flow`: the arXiv version (1909.13247): \
t-1 propagation only.

## Against the baselines

J&F in percent (mean ± sample std over seeds where there are several); a cell counts as above or \
below a baseline only by its mean; "within spread" marks a difference no larger than the cell's std \
over seeds.

- **copy-first** (16.8): 3 of 3 cells above (resnet18-deformable-l3 33.0 ± 1.4; \
resnet50-deformable-l3 30.0; resnet50-dilated-d6-l3 22.5).
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
    assert first["paper_J"] == 32.9 and math.isnan(first["J_diff"])  # not the paper's data
    assert first["block"] == "paper" and first["protocol"] == "flow"
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
    assert "±" not in to_markdown(table, context).split("## Against")[0]


def test_differences_from_the_paper_only_on_the_papers_data() -> None:
    """Never measured-minus-paper without saying the data differ."""
    builtin = summarise(RESULTS, CONTEXT, paper_table2())
    assert builtin["J_diff"].isna().all() and "The data differ" in to_markdown(builtin, CONTEXT)
    davis = TableContext(**{**CONTEXT.__dict__, "paper_data": True, "data": "DAVIS-2017 val"})
    table = summarise(RESULTS, davis, paper_table2())
    markdown = to_markdown(table, davis)
    assert "(32.9 / 36.2; -1.9 / -1.2)" in markdown and "The data differ" not in markdown
    assert "not a reproduction error" in markdown
    assert table.set_index("cell").loc["resnet50-deformable-l3", "J_diff"] == pytest.approx(40.1 - 35.3)


def test_beyond_the_paper_block_and_baseline_verdict() -> None:
    context = TableContext(**{**CONTEXT.__dict__, "rows": ["deformable-l3"],
                              "baselines": ["copy-first", "copy-previous"]})
    results = [*RESULTS[:3], _result("copy-first", 0.155, 0.18, seed=None),
               _result("copy-previous", 0.33, 0.32, seed=None)]
    markdown = to_markdown(summarise(results, context, paper_table2()), context)
    # resnet18: 33.0 +- 1.4 vs 32.5: above by its mean, by less than its std
    assert ("- **copy-previous** (32.5): 1 of 2 cells above (resnet18-deformable-l3 33.0 ± 1.4, within spread); "
            "below: resnet50-deformable-l3 30.0.") in markdown


def test_beyond_rows_are_a_separate_block(register) -> None:
    from rpmbench import registry

    register(registry.Protocol("hard", "rpmbench.inference.protocols:flow", {"mode": "hard"}, paper=False))
    context = TableContext(**{**CONTEXT.__dict__, "rows": ["deformable-l3"], "beyond": ["deformable-l3@hard"]})
    results = [*RESULTS, _result("resnet18-deformable-l3@hard", 0.5, 0.6)]
    table = summarise(results, context, paper_table2())
    beyond = table[table["block"] == "beyond"]
    assert beyond["cell"].tolist() == ["resnet18-deformable-l3@hard", "resnet50-deformable-l3@hard"]
    assert beyond["paper_J"].isna().all() and beyond["protocol"].tolist() == ["hard", "hard"]
    markdown = to_markdown(table, context)
    paper_part, beyond_part = markdown.split("## Beyond the paper")
    assert "@hard" not in paper_part.split("## Against")[0]
    assert "| Deformable @hard | 3/1 | 3 | `hard`: not the paper's | 50.0 / 60.0 / 55.0 | not run |" in beyond_part


def _flow(epe: float, within: float, bins: tuple[float, ...]) -> dict:
    labels = ("<1", "1-3", "3-6", "6-12", ">12")
    return {"epe_feature_px": epe, "within_1_feature_px": within, "epe_image_px": 4 * epe,
            "by_true_motion_feature_px": {label: {"epe_feature_px": value} for label, value in zip(labels, bins)}}


def test_flow_error_block_averages_seeds_by_hand() -> None:
    nan = float("nan")
    results = [{**RESULTS[0], "flow_metrics": _flow(1.0, 0.50, (0.2, 1.0, 3.0, 6.0, nan))},
               {**RESULTS[1], "flow_metrics": _flow(2.0, 0.30, (0.4, 1.5, 3.5, 7.0, nan))},
               *RESULTS[2:4], {**RESULTS[4], "flow_metrics": _flow(0.5, 0.9, (0.1, 0.3, 0.5, 0.7, 0.9))}]
    markdown = to_markdown(summarise(results, CONTEXT, paper_table2()), CONTEXT)
    block = markdown.split("## Flow error against the ground truth")[1].split("## Against")[0]
    assert "| resnet18-deformable-l3 | 1.50 | 40.0 | 0.30 | 1.25 | 3.25 | 6.50 | - |" in block
    assert "| copy-first | 0.50 | 90.0 | 0.10 | 0.30 | 0.50 | 0.70 | 0.90 |" in block
    assert "resnet50-deformable-l3" not in block  # no flow metrics: no row
    assert "## Flow error" not in to_markdown(summarise(RESULTS, CONTEXT, paper_table2()), CONTEXT)


def test_a_tie_with_a_baseline_is_neither_above_nor_below() -> None:
    results = [_result("resnet18-deformable-l3", 0.155, 0.18), _result("copy-first", 0.155, 0.18, seed=None)]
    context = TableContext(preset="tie", description="", settings="", data="", seeds=[0],
                           rows=["deformable-l3"], backbones=["resnet18"], baselines=["copy-first"])
    markdown = to_markdown(summarise(results, context, paper_table2()), context)
    assert "- **copy-first** (16.8): 0 of 1 cells above; tied (equal J&F): resnet18-deformable-l3 16.8." in markdown


def test_embedding_against_colour_at_equal_settings() -> None:
    """Each model cell under a protocol that also scored pixels@<protocol> (or pixels, for pixels'
    own setting) gets one line: its J&F, colour's, and the difference by hand."""
    context = TableContext(**{**CONTEXT.__dict__, "rows": ["deformable-l3"], "backbones": ["resnet18"],
                              "beyond": ["deformable-l3@memory", "deformable-l3@pixels", "deformable-l3@crw"],
                              "baselines": ["copy-first", "pixels", "pixels@memory"]})
    results = [*RESULTS[:2],
               _result("resnet18-deformable-l3@memory", 0.30, 0.30, seed=0),
               _result("resnet18-deformable-l3@memory", 0.34, 0.34, seed=1),  # 32.0 +- 2.8
               _result("resnet18-deformable-l3@pixels", 0.40, 0.42, seed=0),  # 41.0, one seed
               _result("resnet18-deformable-l3@crw", 0.5, 0.5, seed=0),  # no pixels@crw: no line
               _result("copy-first", 0.155, 0.18, seed=None),
               _result("pixels", 0.45, 0.47, seed=None),  # 46.0
               _result("pixels@memory", 0.33, 0.33, seed=None)]  # 33.0
    markdown = to_markdown(summarise(results, context, paper_table2()), context)
    block = markdown.split("## Embedding against colour at equal settings")[1].split("##")[0]
    assert [line for line in block.splitlines() if line.startswith("| `")] == [
        "| `memory` | resnet18-deformable-l3@memory | 32.0 ± 2.8 | pixels@memory | 33.0 | -1.0 (within spread) |",
        "| `pixels` | resnet18-deformable-l3@pixels | 41.0 | pixels | 46.0 | -5.0 |"]
    assert "Embedding against colour" not in to_markdown(summarise(RESULTS, CONTEXT, paper_table2()), CONTEXT)
