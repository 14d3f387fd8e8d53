"""The peers' registered protocols: radius conversion, cited sources, equal-setting colour runs and
unchanged ids of every earlier result."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rpmbench import registry
from rpmbench.data.flow import FEATURE_STRIDE
from rpmbench.errors import ConfigError
from rpmbench.experiments.plan import baseline_spec, plan_grid
from rpmbench.experiments.presets import load_grid_config
from rpmbench.inference.baselines import baseline_masks, pixels_config
from rpmbench.inference.memory import MEMORY_PRESETS
from rpmbench.inference.propagate import PropagationConfig

PEERS = ("dino", "dino-p8", "crw", "vfs", "stt", "mast")


def test_our_stride_is_the_feature_stride() -> None:
    assert registry.OUR_STRIDE == FEATURE_STRIDE == 4


@pytest.mark.parametrize("name,cells,stride,image_px,ours", [
    ("crw", 12, 8, 96, 24), ("vfs", 12, 8, 96, 24), ("stt", 12, 8, 96, 24),
    ("dino", 12, 16, 192, 48), ("dino-p8", 12, 8, 96, 24), ("mast", 12, 4, 48, 12), ("pixels", 12, 4, 48, 12),
])
def test_radius_is_converted_through_image_pixels(name: str, cells: int, stride: int, image_px: int,
                                                   ours: int) -> None:
    entry = registry.protocol(name)
    assert (entry.radius.cells, entry.radius.stride, entry.radius.image_px) == (cells, stride, image_px)
    assert entry.settings["radius"] == entry.radius.ours == ours


@pytest.mark.parametrize("name", PEERS)
def test_peer_protocols_cite_their_source_and_are_not_the_papers(name: str) -> None:
    entry = registry.protocol(name)
    assert entry.peer and not entry.paper and "not the paper's" in entry.version_label
    assert "line" in entry.source and "/" in entry.source.split()[0]  # owner/repository first
    PropagationConfig(**entry.config_fields()).validate()


def test_peer_protocols_stay_out_of_the_default_grid() -> None:
    assert not any(entry.partition("@")[2] in (*PEERS, "pixels") for entry in registry.BEYOND_DEFAULT)
    assert registry.protocol(registry.PAPER_PROTOCOL).version_label.startswith("the paper's: t-1 (arXiv)")


def test_pixels_alone_is_its_own_protocol_and_bit_identical() -> None:
    assert pixels_config(PropagationConfig()).memory() == MEMORY_PRESETS["pixels"]
    with pytest.raises(ConfigError, match="memory protocol"):
        pixels_config(PropagationConfig(protocol="fusion"))


def test_pixels_runs_under_every_peer_protocol() -> None:
    """pixels@<peer> propagates under the peer's settings; a bright square moving 2 px per frame is
    followed by each but MAST's: its raw dot product at temperature 1 on Lab values of about
    [-1, 1] weighs a whole 25x25 window almost evenly, so the re-one-hot mask washes out."""
    rng = np.random.default_rng(0)
    frames = rng.integers(90, 130, (4, 32, 40, 3)).astype(np.uint8)
    first = np.zeros((32, 40), np.uint8)
    for t in range(4):
        frames[t, 8:20, 8 + 2 * t:20 + 2 * t] = (220, 30, 30)
    first[8:20, 8:20] = 1
    grid = load_grid_config("protocols")
    for name in PEERS:
        spec = baseline_spec(grid, f"pixels@{name}")
        assert spec.propagation.protocol == name and spec.propagation.radius == registry.protocol(name).settings["radius"]
        masks = baseline_masks("pixels", frames, first, dataclasses.replace(spec.propagation, device="cpu"))
        assert masks.shape == (4, 32, 40) and masks.max() <= 1
        if name != "mast":
            assert (masks[-1, 8:20, 14:26] == 1).mean() > 0.8, name


def test_protocols_preset_compares_at_equal_settings() -> None:
    grid = load_grid_config("protocols")
    for name in (*PEERS, "pixels"):
        assert f"deformable-l3@{name}" in grid.beyond
    for name in (*PEERS, "memory"):
        assert f"pixels@{name}" in grid.baselines
    specs = {spec.method: spec for spec in plan_grid(grid)}
    for name in PEERS:
        model, colour = specs[f"resnet18-deformable-l3@{name}"].propagation, specs[f"pixels@{name}"].propagation
        assert model.memory() == colour.memory() and model.mode == colour.mode
    assert grid.rows == ["deformable-l3"]  # the paper's protocol stays the Table 2 row


def test_new_fields_leave_earlier_ids_unchanged() -> None:
    """A spec at the new fields' defaults hashes as before they existed (no new key in its dict)."""
    spec = baseline_spec(load_grid_config("protocols"), "pixels")
    assert "neighbourhood" not in spec.to_dict()["propagation"]
    crw = baseline_spec(load_grid_config("protocols"), "pixels@crw")
    assert crw.to_dict()["propagation"]["neighbourhood"] == "disk"
