"""Offset magnitudes and layer 109's distance to the true correspondence, on known motions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rpmbench.errors import ConfigError
from rpmbench.ops import sampling_locations
from rpmbench.viz.offsets import (
    _named_checkpoint,
    centroid_motion,
    correspondence_errors,
    object_feature_pixels,
    offset_magnitudes,
    to_markdown,
)


def test_offset_magnitudes_are_the_norms_of_the_offsets_given() -> None:
    offset = torch.randn(1, 18, 5, 7, dtype=torch.float64)
    sampling = sampling_locations(offset, 3, 1, 1, 1)[:, 0]
    expected = offset.view(1, 9, 2, 5, 7).permute(0, 1, 3, 4, 2).norm(dim=-1).flatten()  # (dy, dx) per tap
    assert torch.allclose(offset_magnitudes(sampling), expected)
    assert offset_magnitudes(sampling_locations(torch.zeros(1, 18, 4, 4), 3, 1, 1, 1)[:, 0]).abs().max() == 0


def test_centroid_motion_and_its_rejections() -> None:
    previous = np.zeros((40, 60), bool)
    previous[5:15, 10:30] = True
    current = np.roll(previous, (3, -7), axis=(0, 1))
    assert centroid_motion(previous, current, 0.2).tolist() == [3.0, -7.0]
    half = previous.copy()
    half[5:10] = False
    assert centroid_motion(previous, half, 0.2) is None  # area halved: occlusion or exit
    assert centroid_motion(previous, np.zeros_like(previous), 0.2) is None


def test_object_feature_pixels_are_the_mostly_covered_blocks() -> None:
    mask = np.zeros((16, 16), bool)
    mask[4:8, 4:8] = True  # feature pixel (1, 1) exactly
    mask[8:10, 8:12] = True  # 8 of the 16 pixels of feature pixel (2, 2)
    pixels = {tuple(p) for p in object_feature_pixels(mask).tolist()}
    assert (1, 1) in pixels and (2, 2) in pixels and (0, 0) not in pixels


def test_correspondence_errors_are_zero_for_the_true_flow_and_the_motion_for_zero_flow() -> None:
    rng = np.random.default_rng(0)
    dy, dx = (int(v) for v in rng.integers(-7, 8, 2))  # no wrap-around of np.roll; any sub-pixel shift
    previous = np.zeros((64, 96), np.uint8)
    previous[20:40, 30:60] = 1
    previous[44:56, 8:20] = 2
    previous[0:8, 0:8] = 255  # void is ignored
    current = np.roll(np.where(previous == 255, 0, previous), (dy, dx), axis=(0, 1))
    grid = torch.stack(torch.meshgrid(torch.arange(16.0), torch.arange(24.0), indexing="ij"), dim=-1)
    true_warp = (grid - torch.tensor([dy / 4, dx / 4])).view(1, 1, 16, 24, 2)
    learned, zero = correspondence_errors(true_warp, previous, current)
    assert learned.size == zero.size > 0 and np.allclose(learned, 0)
    assert np.allclose(zero, np.hypot(dy, dx))
    still, _ = correspondence_errors(grid.view(1, 1, 16, 24, 2), previous, current)
    assert np.allclose(still, np.hypot(dy, dx))  # the identity warp is zero flow


def test_markdown_has_one_line_per_variant_and_names_bad_checkpoints(tmp_path) -> None:
    rows = []
    for variant, matching in [("deformable-l3", "deformable"), ("standard-l3", "standard")]:
        layers = ["106", "107", "108"] if matching == "deformable" else []
        for layer in layers:
            rows.append(dict(variant=variant, layer=layer, measure="offset magnitude", mean_px=0.5, p90_px=1.0))
        rows.append(dict(variant=variant, layer="109", measure="distance to true correspondence",
                         mean_px=2.0, p90_px=4.0))
        rows.append(dict(variant=variant, layer="109", measure="distance to true correspondence, zero flow",
                         mean_px=3.0, p90_px=5.0))
    table = pd.DataFrame(rows).assign(seed=0, steps=1000)
    lines = to_markdown(table).splitlines()
    assert len(lines) == 4
    assert lines[2] == "| deformable-l3 | 0 | 1000 | - | 0.50 / 1.00 | 0.50 / 1.00 | 0.50 / 1.00 | 2.00 / 4.00 | 3.00 / 5.00 |"
    assert lines[3].startswith("| standard-l3 | 0 | 1000 | - | - | - | - |")
    snapshot = table[table["variant"] == "deformable-l3"].assign(steps=300)  # same variant, another step
    assert len(to_markdown(pd.concat([snapshot, table])).splitlines()) == 5
    with pytest.raises(ConfigError, match="NAME=PATH"):
        _named_checkpoint("no-equals-sign")
    with pytest.raises(ConfigError, match="not a file"):
        _named_checkpoint(f"x={tmp_path / 'missing.pt'}")


def test_untrained_models_measure_zero_offsets_and_zero_flow_end_to_end(tmp_path) -> None:
    # Freshly built matching modules have zero-initialised offsets and flow layers: every offset is 0
    # and layer 109's error equals zero flow's, through the whole CLI (checkpoint -> CSV/MD).
    from davis_fixtures import moving_ellipses, write_davis
    from rpmbench.models import RPMNet, RPMNetConfig
    from rpmbench.training import TrainConfig
    from rpmbench.viz.figure2 import load_model
    from rpmbench.viz.offsets import main

    masks = moving_ellipses(np.random.default_rng(1), 3, 48, 64, 2)
    root = write_davis(tmp_path / "davis", {"seq": masks})
    arguments = []
    for matching in ("deformable", "standard"):
        config = TrainConfig(model=RPMNetConfig("resnet18", matching, backend="reference"), seed=4)
        torch.manual_seed(0)
        model = RPMNet(config.model)
        path = tmp_path / f"{matching}.pt"
        torch.save({"config": config.to_dict(), "model": model.state_dict(), "step": 7}, path)
        assert load_model(path).step == 7
        arguments += ["--checkpoint", f"{matching}-l3={path}"]
    main(arguments + ["--out", str(tmp_path / "offsets"), "--root", str(root)])
    table = pd.read_csv(tmp_path / "offsets.csv")
    offsets = table[table["measure"] == "offset magnitude"]
    assert offsets["variant"].tolist() == ["deformable-l3"] * 3 and (offsets[["mean_px", "p90_px"]] == 0).all().all()
    for _, part in table.groupby("variant"):
        learned = part[part["measure"] == "distance to true correspondence"].iloc[0]
        zero = part[part["measure"] == "distance to true correspondence, zero flow"].iloc[0]
        assert learned["count"] == zero["count"] > 0
        assert np.isclose(learned["mean_px"], zero["mean_px"]) and np.isclose(learned["p90_px"], zero["p90_px"])
    assert set(table["steps"]) == {7} and set(table["seed"]) == {4}
    scores = table[table["measure"] == "val J&F (percent)"]["mean_px"]
    assert len(scores) == 2 and scores.between(0, 100).all() and scores.nunique() == 1  # zero flow both
    assert (tmp_path / "offsets.md").read_text().count("\n") == 4
