"""The offsets table (:mod:`rpmbench.experiments.studies.offsets`) as Markdown.

Command (the committed ``results/figures/offsets.{csv,md}``)::

    python -m rpmbench offsets --preset ranking --set keep_work=true --run-dir RANKING_RUN \
        --variants deformable-l3 standard-l3 --seeds 0 1 2 --steps 100 300 1000 --out results/figures/offsets
"""

from __future__ import annotations

import pandas as pd


def to_markdown(table: pd.DataFrame) -> str:
    """One line per variant, seed and step: val J&F, mean / p90 per deformable layer, layer 109 vs
    zero flow by the masks' centroid motion, and layer 109's exact end-point error (mean) where the
    set has ground-truth flow (distances in image pixels)."""
    lines = ["| variant | seed | steps | val J&F | layer 106 offset | layer 107 offset | layer 108 offset "
             "| layer 109 to centroid correspondence | zero flow to centroid correspondence "
             "| layer 109 end-point error (exact) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (variant, seed, steps), part in table.groupby(["variant", "seed", "steps"], sort=False):
        def cell(layer: str, measure: str) -> str:
            hit = part[(part["layer"] == layer) & (part["measure"] == measure)]
            if hit.empty:
                return "-"
            p90 = hit["p90_px"].iloc[0]
            return f"{hit['mean_px'].iloc[0]:.2f}" + ("" if pd.isna(p90) else f" / {p90:.2f}")
        offsets = [cell(str(layer), "offset magnitude") for layer in (106, 107, 108)]
        score = part[part["measure"] == "val J&F (percent)"]["mean_px"]
        jf = "-" if score.empty else f"{score.iloc[0]:.1f}"
        lines.append(f"| {variant} | {seed} | {steps} | {jf} | " + " | ".join(offsets)
                     + f" | {cell('109', 'distance to true correspondence')}"
                     + f" | {cell('109', 'distance to true correspondence, zero flow')}"
                     + f" | {cell('109', 'end-point error against the ground-truth flow')} |")
    return "\n".join(lines) + "\n"
