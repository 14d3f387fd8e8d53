"""The offsets table as Markdown."""

from __future__ import annotations

import pandas as pd

from rpmbench.viz.offsets import to_markdown


def test_markdown_has_one_line_per_variant_seed_and_step() -> None:
    rows = []
    for variant, matching in [("deformable-l3", "deformable"), ("standard-l3", "standard")]:
        layers = ["106", "107", "108"] if matching == "deformable" else []
        for layer in layers:
            rows.append(dict(variant=variant, layer=layer, measure="offset magnitude", mean_px=0.5, p90_px=1.0))
        rows.append(dict(variant=variant, layer="109", measure="distance to true correspondence",
                         mean_px=2.0, p90_px=4.0))
        rows.append(dict(variant=variant, layer="109", measure="distance to true correspondence, zero flow",
                         mean_px=3.0, p90_px=5.0))
        if matching == "standard":  # a set with ground-truth flow: the exact error, a mean only
            rows.append(dict(variant=variant, layer="109", measure="end-point error against the ground-truth flow",
                             mean_px=2.5, p90_px=float("nan")))
    table = pd.DataFrame(rows).assign(seed=0, steps=1000)
    lines = to_markdown(table).splitlines()
    assert len(lines) == 4
    assert lines[2] == "| deformable-l3 | 0 | 1000 | - | 0.50 / 1.00 | 0.50 / 1.00 | 0.50 / 1.00 | 2.00 / 4.00 | 3.00 / 5.00 | - |"
    assert lines[3] == "| standard-l3 | 0 | 1000 | - | - | - | - | 2.00 / 4.00 | 3.00 / 5.00 | 2.50 |"
    snapshot = table[table["variant"] == "deformable-l3"].assign(steps=300)  # same variant, another step
    assert len(to_markdown(pd.concat([snapshot, table])).splitlines()) == 5
