"""Table 2 from the cell result JSONs: a long CSV and a Markdown table in the paper's layout.

Both outputs are pure functions of the cell JSONs (no timings), so an interrupted-and-resumed run
renders byte-for-byte the same files as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rpmbench.grid.cells import Row

#: Long-table columns of ``table2.csv`` (J, F in percent; std is the sample std over seeds).
COLUMNS: tuple[str, ...] = (
    "row", "matching", "kernel_size", "dilation", "layers", "backbone", "cell", "seeds",
    "J", "F", "J&F", "J_std", "F_std", "paper_J", "paper_F", "J_diff", "F_diff",
    "parameters", "flops_per_frame",
)
_BACKBONE_TITLES = {"resnet18": "FCN-ResNet18", "resnet34": "FCN-ResNet34",
                    "resnet50": "FCN-ResNet50", "resnet101": "FCN-ResNet101"}


@dataclass(frozen=True)
class TableContext:
    """What the Markdown header says about the run."""

    preset: str
    description: str
    settings: str
    data: str
    seeds: Sequence[int]
    rows: Sequence[str]
    backbones: Sequence[str]
    baselines: Sequence[str]


def summarise(results: Sequence[Mapping[str, Any]], context: TableContext,
              paper: pd.DataFrame) -> pd.DataFrame:
    """One line per grid cell and baseline (in table order) with mean/std over the seeds found.

    ``results`` are cell JSON payloads; ``paper`` is :func:`rpmbench.paper.paper_table2`. Cells with
    no result yet keep NaN metrics and ``seeds == 0``.
    """
    by_cell: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        by_cell.setdefault(result["cell"], []).append(result)
    paper_index = paper.set_index(["matching", "kernel_size", "dilation", "layers", "backbone"])
    lines = []
    for row_name in context.rows:
        row = Row.parse(row_name)
        for backbone in context.backbones:
            key = (row.matching, row.kernel_size, row.dilation, row.layers, backbone)
            reference = paper_index.loc[key] if key in paper_index.index else None
            line = {"row": row.name, "matching": row.matching, "kernel_size": row.kernel_size,
                    "dilation": row.dilation, "layers": row.layers, "backbone": backbone,
                    "cell": f"{backbone}-{row.name}"}
            line.update(_measure(by_cell.get(line["cell"], [])))
            line["paper_J"] = float(reference["J"]) if reference is not None else math.nan
            line["paper_F"] = float(reference["F"]) if reference is not None else math.nan
            lines.append(line)
    for name in context.baselines:
        line = {"row": name, "matching": "baseline", "cell": name}
        line.update(_measure(by_cell.get(name, [])))
        lines.append(line)
    table = pd.DataFrame(lines).reindex(columns=list(COLUMNS))
    table["J_diff"] = table["J"] - table["paper_J"]
    table["F_diff"] = table["F"] - table["paper_F"]
    for column in ("kernel_size", "dilation", "layers", "parameters", "flops_per_frame"):
        table[column] = table[column].astype("Int64")
    return table


def _measure(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and sample std (percent) over the seeds of one cell; NaN where absent."""
    if not results:
        return {"seeds": 0, "J": math.nan, "F": math.nan, "J&F": math.nan}
    frame = pd.DataFrame([
        {"J": 100 * r["metrics"]["J-Mean"], "F": 100 * r["metrics"]["F-Mean"],
         "J&F": 100 * r["metrics"]["J&F-Mean"]} for r in results
    ])
    first = results[0]
    measured: dict[str, Any] = {"seeds": len(results), **frame.mean().to_dict(),
                                "parameters": first.get("parameters"),
                                "flops_per_frame": first.get("flops_per_frame")}
    if len(results) > 1:
        std = frame.std(ddof=1)
        measured.update({"J_std": std["J"], "F_std": std["F"]})
    return measured


def to_csv(table: pd.DataFrame) -> str:
    """``table2.csv`` text: percentages rounded to 2 decimals, missing values empty."""
    return table.round(2).to_csv(index=False, lineterminator="\n")


def to_markdown(table: pd.DataFrame, context: TableContext) -> str:
    """``table2.md``: Table 2's layout with measured, paper and difference in every cell."""
    seeds = ", ".join(str(seed) for seed in context.seeds)
    lines = [
        f"# Table 2 reproduction (preset `{context.preset}`)",
        "",
        f"- Data set: {context.data}",
        f"- Preset: `{context.preset}`" + (f" (as shipped: {context.description})" if context.description else ""),
        f"- Settings as run: {context.settings}",
        f"- Seeds per cell: {len(context.seeds)} ({seeds})"
        + ("; values are mean ± sample std" if len(context.seeds) > 1 else ""),
        "- Each cell: measured J / F in percent (paper J / F; measured minus paper). "
        "The paper trained on DAVIS-2017 + YouTube-VOS and scored DAVIS-2017 val.",
        "",
        "| Convolution | Kernel size / dilation | Layers | "
        + " | ".join(_BACKBONE_TITLES[b] for b in context.backbones) + " |",
        "|:--|:-:|:-:|" + ":-:|" * len(context.backbones),
    ]
    cells = table.set_index("cell")
    for row_name in context.rows:
        row = Row.parse(row_name)
        entries = [_cell_text(cells.loc[f"{backbone}-{row.name}"]) for backbone in context.backbones]
        lines.append(f"| {row.matching.capitalize()} | {row.kernel_size}/{row.dilation} | "
                     f"{row.layers} | " + " | ".join(entries) + " |")
    for name in context.baselines:
        entries = [_pair(cells.loc[name])] + ["-"] * (len(context.backbones) - 1)
        lines.append(f"| Baseline: {name} | - | - | " + " | ".join(entries) + " |")
    if context.baselines:
        lines += ["", "Baselines have no embedding network: one measurement each, in the first column."]
    return "\n".join(lines) + "\n"


def _pair(line: pd.Series) -> str:
    """``12.3 / 14.5`` (or with ``±std``); ``not run`` when the cell has no result."""
    if line["seeds"] == 0:
        return "not run"
    if pd.isna(line["J_std"]):
        return f"{line['J']:.1f} / {line['F']:.1f}"
    return f"{line['J']:.1f}±{line['J_std']:.1f} / {line['F']:.1f}±{line['F_std']:.1f}"


def _cell_text(line: pd.Series) -> str:
    """Measured pair, then the paper's pair and the signed differences in parentheses."""
    measured = _pair(line)
    if pd.isna(line["paper_J"]):
        return measured
    paper = f"{line['paper_J']:.1f} / {line['paper_F']:.1f}"
    if line["seeds"] == 0:
        return f"{measured} ({paper})"
    return f"{measured} ({paper}; {line['J_diff']:+.1f} / {line['F_diff']:+.1f})"
