"""Table 2 from the result JSONs: a long CSV and a Markdown table in the paper's layout.

Three blocks, kept apart in both files (``block`` column): the paper's rows (Table 2's matching
variants under the paper's protocol), "beyond the paper" rows (other registry variants and
protocols) and the baselines. Both outputs are pure functions of the result JSONs (no timings),
so an interrupted-and-resumed run renders byte-for-byte the same files as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rpmbench import registry

#: Flow error against ground truth (feature pixels, valid object pixels; mean over seeds), where
#: the data has it: overall EPE, the share within 1 feature pixel, EPE per true-motion bin.
_FLOW_BINS: dict[str, str] = {"<1": "epe_lt1", "1-3": "epe_1_3", "3-6": "epe_3_6", "6-12": "epe_6_12",
                              ">12": "epe_gt12"}
FLOW_COLUMNS: tuple[str, ...] = ("epe_feature_px", "within_1_feature_px", *_FLOW_BINS.values())
#: Long-table columns of ``table2.csv`` (J, F in percent; std is the sample std over seeds;
#: ``J_diff``/``F_diff`` only when the run scored the paper's data, DAVIS-2017 val).
COLUMNS: tuple[str, ...] = (
    "block", "row", "matching", "kernel_size", "dilation", "layers", "protocol", "paper_version", "backbone", "cell",
    "seeds", "J", "F", "J&F", "J_std", "F_std", "J&F_std", "paper_J", "paper_F", "J_diff", "F_diff",
    "parameters", "flops_per_frame", *FLOW_COLUMNS,
)
_BACKBONE_TITLES = {"resnet18": "FCN-ResNet18", "resnet34": "FCN-ResNet34",
                    "resnet50": "FCN-ResNet50", "resnet101": "FCN-ResNet101"}


@dataclass(frozen=True)
class TableContext:
    """What the Markdown header says about the run.

    ``paper_data``: the run scored DAVIS-2017 val (the paper's data), so measured-minus-paper
    differences are shown; otherwise the paper's values are shown for orientation only.
    ``notes``: further header lines (library versions, the committed reference's environment).
    ``comparison``: Markdown rows comparing results with the committed reference's, per result.
    ``ranking``: Markdown rows of paired differences against the reference row (:mod:`rpmbench.experiments.ranking`).
    """

    preset: str
    description: str
    settings: str
    data: str
    seeds: Sequence[int]
    rows: Sequence[str]
    backbones: Sequence[str]
    baselines: Sequence[str]
    beyond: Sequence[str] = ()
    paper_data: bool = False
    notes: Sequence[str] = field(default_factory=tuple)
    comparison: Sequence[str] = field(default_factory=tuple)
    ranking: Sequence[str] = field(default_factory=tuple)


def summarise(results: Sequence[Mapping[str, Any]], context: TableContext,
              paper: pd.DataFrame) -> pd.DataFrame:
    """One line per grid cell and baseline (in table order) with mean/std over the seeds found.

    ``results`` are result JSON payloads; ``paper`` is :func:`rpmbench.paper.paper_table2`. Cells
    with no result yet keep NaN metrics and ``seeds == 0``.
    """
    by_cell: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        by_cell.setdefault(result["cell"], []).append(result)
    from rpmbench.models.matching import KERNEL_SIZE

    paper_index = paper.set_index(["matching", "kernel_size", "dilation", "layers", "backbone"])
    lines = []
    for block, entries in (("paper", context.rows), ("beyond", context.beyond)):
        for entry in entries:
            variant, protocol = registry.parse_entry(entry)
            for backbone in context.backbones:
                key = (variant.matching, KERNEL_SIZE, variant.dilation, variant.layers, backbone)
                reference = paper_index.loc[key] if block == "paper" and key in paper_index.index else None
                line = {"block": block, "row": entry, "matching": variant.matching,
                        "kernel_size": KERNEL_SIZE, "dilation": variant.dilation,
                        "layers": variant.layers, "protocol": protocol.name,
                        "paper_version": protocol.paper_version, "backbone": backbone,
                        "cell": f"{backbone}-{entry}"}
                line.update(_measure(by_cell.get(line["cell"], [])))
                line["paper_J"] = float(reference["J"]) if reference is not None else math.nan
                line["paper_F"] = float(reference["F"]) if reference is not None else math.nan
                lines.append(line)
    for name in context.baselines:
        _, protocol = registry.parse_baseline(name)
        line = {"block": "baseline", "row": name, "matching": "baseline", "cell": name,
                "protocol": protocol.name if protocol else None,
                "paper_version": protocol.paper_version if protocol else None}
        line.update(_measure(by_cell.get(name, [])))
        lines.append(line)
    table = pd.DataFrame(lines).reindex(columns=list(COLUMNS))
    if context.paper_data:
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
    flows = [r["flow_metrics"] for r in results if "flow_metrics" in r]
    if flows:
        rows = [{"epe_feature_px": f["epe_feature_px"], "within_1_feature_px": 100 * f["within_1_feature_px"],
                 **{column: f["by_true_motion_feature_px"][label]["epe_feature_px"]
                    for label, column in _FLOW_BINS.items()}} for f in flows]
        measured.update(pd.DataFrame(rows).mean().to_dict())
    if len(results) > 1:
        std = frame.std(ddof=1)
        measured.update({"J_std": std["J"], "F_std": std["F"], "J&F_std": std["J&F"]})
    return measured


def to_csv(table: pd.DataFrame) -> str:
    """``table2.csv`` text: percentages rounded to 2 decimals, missing values empty."""
    return table.round(2).to_csv(index=False, lineterminator="\n")


def to_markdown(table: pd.DataFrame, context: TableContext) -> str:
    """``table2.md``: Table 2's layout, the beyond-the-paper block, and the verdict on baselines."""
    seeds = ", ".join(str(seed) for seed in context.seeds)
    if context.paper_data:
        legend = ("- Each cell: measured J / F / J&F in percent (paper J / F; measured minus paper). Same "
                  "validation data as the paper (DAVIS-2017 val), but the paper does not publish its "
                  "training recipe: a difference compares two recipes, it is not a reproduction error.")
    else:
        legend = ("- Each cell: measured J / F / J&F in percent (the paper's J / F in parentheses, for "
                  "orientation only). **The data differ**: the paper trained on DAVIS-2017 + YouTube-VOS "
                  "and scored DAVIS-2017 val; this run used the data set named above, so its numbers are "
                  "not expected to match the paper's and no differences are shown.")
    lines = [
        f"# Table 2 reproduction (preset `{context.preset}`)",
        "",
        f"- Data set: {context.data}",
        f"- Preset: `{context.preset}`" + (f" (as shipped: {context.description})" if context.description else ""),
        f"- Settings as run: {context.settings}",
        f"- Seeds per cell: {len(context.seeds)} ({seeds})"
        + ("; values are mean ± sample std" if len(context.seeds) > 1 else ""),
        *(f"- {note}" for note in context.notes),
        legend,
        "",
        *_grid_lines(table, context, context.rows, with_paper=True),
    ]
    for name in context.baselines:
        entries = [_pair(_line(table, name))] + ["-"] * (len(context.backbones) - 1)
        _, protocol = registry.parse_baseline(name)
        lines.append(f"| Baseline: {name} | - | - | {_protocol_text(protocol)} | " + " | ".join(entries) + " |")
    if context.baselines:
        lines += ["", "Baselines have no embedding network: one measurement each, in the first column."]
    if context.beyond:
        lines += ["", "## Beyond the paper", "",
                  "Not in the paper's Table 2: other matching variants or propagation protocols "
                  "(`variant@protocol`: the same trained model as the Table 2 cell above, propagated "
                  "another way). Measured J / F / J&F in percent.", "",
                  *_grid_lines(table, context, context.beyond, with_paper=False)]
    protocols = dict.fromkeys(registry.parse_entry(entry)[1].name for entry in (*context.rows, *context.beyond))
    if protocols:
        lines += ["", "Protocols, and which version of the paper each stands for: "
                  + "; ".join(f"`{name}`: {registry.protocol(name).paper_version}" for name in protocols) + "."]
    flow = _flow_lines(table)
    if flow:
        lines += ["", "## Flow error against the ground truth", "",
                  "Each method's flow (RPM-Net: the matching module's, upsampled x4 as the frame-size "
                  "warp does; optical-flow: DIS as it warps; copy-previous: zero) against the data set's "
                  "exact backward flow on valid object pixels: mean end-point error in feature pixels "
                  "(image pixels / 4), the share of pixels within 1 feature pixel, and the error by true "
                  "motion in feature pixels (a stack of three plain 3x3 layers sees +-3). Mean over seeds.",
                  "", *flow]
    equal = _equal_settings_lines(table)
    if equal:
        lines += ["", "## Embedding against colour at equal settings", "",
                  "Each trained cell under a memory protocol beside the `pixels` baseline (raw Lab "
                  "at H/4, no network) under the same protocol's settings (`pixels@<protocol>`; "
                  "under `pixels`' own setting, `pixels` itself): J&F in percent, the cell's mean ± "
                  "sample std over seeds, and the cell minus colour (\"within spread\" when no "
                  "larger than the cell's std).", "", *equal]
    verdict = _verdict(table, context)
    if verdict:
        lines += ["", "## Against the baselines", "",
                  "J&F in percent (mean ± sample std over seeds where there are several); a cell "
                  "counts as above or below a baseline only by its mean; \"within spread\" marks a "
                  "difference no larger than the cell's std over seeds.", "", *verdict]
    if context.ranking:
        lines += ["", "## Ranking against deformable-l3 (paired over seeds and sequences)", "",
                  "Each row minus Table 1's deformable module on the same seeds and val sequences: mean "
                  "difference with a 95% bootstrap interval (seeds and sequences resampled), and the "
                  "smallest difference this design detects (2.8 bootstrap standard errors). A verdict "
                  "needs the interval to exclude 0; for EPE, negative means the row's flow is closer "
                  "to the truth.", "", *context.ranking]
    if context.comparison:
        lines += ["", "## Against the committed reference", "",
                  "Each result with the committed reference's exact settings, J&F in percent. Different "
                  "numbers for equal settings come from the environment (see the header), not the code.",
                  "", *context.comparison]
    return "\n".join(lines) + "\n"


def _grid_lines(table: pd.DataFrame, context: TableContext, entries: Sequence[str],
                with_paper: bool) -> list[str]:
    from rpmbench.models.matching import KERNEL_SIZE

    lines = [
        "| Convolution | Kernel size / dilation | Layers | Protocol (paper version) | "
        + " | ".join(_BACKBONE_TITLES.get(b, b) for b in context.backbones) + " |",
        "|:--|:-:|:-:|:--|" + ":-:|" * len(context.backbones),
    ]
    for entry in entries:
        variant, protocol = registry.parse_entry(entry)
        texts = [_cell_text(_line(table, f"{backbone}-{entry}"), with_paper) for backbone in context.backbones]
        name = variant.matching.capitalize() + ("" if protocol.paper else f" @{protocol.name}")
        lines.append(f"| {name} | {KERNEL_SIZE}/{variant.dilation} | {variant.layers} | {_protocol_text(protocol)} | "
                     + " | ".join(texts) + " |")
    return lines


def _protocol_text(protocol: registry.Protocol | None) -> str:
    """A row's protocol and, in a few words, which version of the paper it stands for; ``-`` for
    a baseline run its own way."""
    return "-" if protocol is None else f"`{protocol.name}`: {protocol.version_label}"


def _line(table: pd.DataFrame, cell: str) -> pd.Series:
    return table.set_index("cell").loc[cell]


def _pair(line: pd.Series) -> str:
    """``12.3 / 14.5 / 13.4`` (J / F / J&F, or each with ``±std``); ``not run`` when the cell has no result."""
    if line["seeds"] == 0:
        return "not run"
    if pd.isna(line["J_std"]):
        return f"{line['J']:.1f} / {line['F']:.1f} / {line['J&F']:.1f}"
    return (f"{line['J']:.1f}±{line['J_std']:.1f} / {line['F']:.1f}±{line['F_std']:.1f} / "
            f"{line['J&F']:.1f}±{line['J&F_std']:.1f}")


def _cell_text(line: pd.Series, with_paper: bool) -> str:
    """Measured pair, then the paper's pair (and signed differences, on the paper's data)."""
    measured = _pair(line)
    if not with_paper or pd.isna(line["paper_J"]):
        return measured
    paper = f"{line['paper_J']:.1f} / {line['paper_F']:.1f}"
    if line["seeds"] == 0 or pd.isna(line["J_diff"]):
        return f"{measured} ({paper})"
    return f"{measured} ({paper}; {line['J_diff']:+.1f} / {line['F_diff']:+.1f})"


def _score(line: pd.Series) -> str:
    text = f"{line['J&F']:.1f}"
    return text if pd.isna(line["J&F_std"]) else f"{text} ± {line['J&F_std']:.1f}"


def _flow_lines(table: pd.DataFrame) -> list[str]:
    """The flow-error block's rows: every result that carries flow metrics, in table order."""
    rows = table[table["epe_feature_px"].notna()] if "epe_feature_px" in table else table.iloc[:0]
    if rows.empty:
        return []
    header = ["| result | EPE (feature px) | within 1 feature px (%) | "
              + " | ".join(f"true motion {label}" for label in _FLOW_BINS) + " |",
              "|:--|:-:|:-:|" + ":-:|" * len(_FLOW_BINS)]

    def value(number: float) -> str:
        return "-" if pd.isna(number) else f"{number:.2f}"

    return header + [f"| {line['cell']} | {value(line['epe_feature_px'])} | {line['within_1_feature_px']:.1f} | "
                     + " | ".join(value(line[column]) for column in _FLOW_BINS.values()) + " |"
                     for _, line in rows.iterrows()]


def _equal_settings_lines(table: pd.DataFrame) -> list[str]:
    """Rows of the equal-settings block: every measured model cell whose protocol also scored the
    colour baseline (``pixels@<protocol>``, or ``pixels`` for pixels' own setting)."""
    measured = table[table["seeds"] > 0]
    colour = {line["row"].partition("@")[2] or "pixels": line for _, line in measured.iterrows()
              if line["block"] == "baseline" and line["row"].partition("@")[0] == "pixels"}
    rows = []
    for _, line in measured[measured["block"] != "baseline"].iterrows():
        if line["protocol"] not in colour:
            continue
        baseline = colour[line["protocol"]]
        difference = line["J&F"] - baseline["J&F"]
        spread = "" if pd.isna(line["J&F_std"]) or abs(difference) > line["J&F_std"] else " (within spread)"
        rows.append(f"| `{line['protocol']}` | {line['cell']} | {_score(line)} | {baseline['row']} | "
                    f"{baseline['J&F']:.1f} | {difference:+.1f}{spread} |")
    if not rows:
        return []
    return ["| protocol | cell | J&F | colour | J&F | cell - colour |", "|:--|:--|:-:|:--|:-:|:-:|", *rows]


def _verdict(table: pd.DataFrame, context: TableContext) -> list[str]:
    """One line per baseline: which measured cells are above it and which below."""
    cells = table[(table["block"] != "baseline") & (table["seeds"] > 0)]
    lines = []
    for name in context.baselines:
        baseline = _line(table, name)
        if baseline["seeds"] == 0 or cells.empty:
            continue
        above, below, tied = [], [], []
        for _, line in cells.iterrows():
            difference = line["J&F"] - baseline["J&F"]  # unrounded: a rounded tie is not a win
            spread = "" if pd.isna(line["J&F_std"]) or abs(difference) > line["J&F_std"] else ", within spread"
            side = above if difference > 0 else below if difference < 0 else tied
            side.append(f"{line['cell']} {_score(line)}{spread}")
        lines.append(f"- **{name}** ({baseline['J&F']:.1f}): {len(above)} of {len(cells)} cells above"
                     + (f" ({'; '.join(above)})" if above else "")
                     + (f"; below: {'; '.join(below)}" if below else "")
                     + (f"; tied (equal J&F): {'; '.join(tied)}" if tied else "") + ".")
    return lines
