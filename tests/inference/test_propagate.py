"""Mask propagation and the baselines, against hand-checkable cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from davis_fixtures import write_davis
from rpmbench.errors import ConfigError
from rpmbench.evaluation import evaluate_results
from rpmbench.inference.baselines import baseline_masks, run_baseline
from rpmbench.inference.masks import propagate_with_flows, renormalise
from rpmbench.inference.propagate import PropagationConfig, propagate_sequence
from rpmbench.models import build_rpmnet


def test_zero_flow_keeps_the_mask_up_to_rounded_corners() -> None:
    """Squares aligned with the 4x4 cells of the H/4 grid survive the area-down / bilinear-up
    round trip except at their convex corners, where the object's bilinear weight is
    0.625 * 0.625 = 0.39 < 0.5; repeated zero-flow steps add no further drift."""
    first = np.zeros((16, 24), np.uint8)
    first[4:12, 8:16] = 1
    first[0:4, 0:4] = 2
    identity = [lambda soft: soft] * 3
    masks = propagate_with_flows(first, identity, (4, 6))
    assert masks.shape == (4, 16, 24)
    assert np.array_equal(masks[0], first)
    expected = first.copy()
    for y, x in [(4, 8), (4, 15), (11, 8), (11, 15), (3, 3)]:
        expected[y, x] = 0
    assert all(np.array_equal(mask, expected) for mask in masks[1:])


def test_renormalise_gives_lost_mass_to_background() -> None:
    soft = torch.tensor([[0.2, 0.0], [0.3, 0.0]]).view(1, 2, 1, 2)  # channels (bg, obj) x 2 pixels
    out = renormalise(soft)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([0.7, 0.3]))
    assert torch.allclose(out[0, :, 0, 1], torch.tensor([1.0, 0.0]))


def test_integer_flow_moves_the_mask() -> None:
    first = np.zeros((16, 16), np.uint8)
    first[4:8, 4:8] = 1
    shift = torch.zeros(1, 2, 4, 4)
    shift[:, 1] = -1  # each pixel samples one feature pixel to its left: content moves right by 4 px
    from rpmbench.models.matching import FlowWarp

    warp = FlowWarp("reference")
    masks = propagate_with_flows(first, [lambda s: warp(s, shift)], (4, 4), mode="hard")
    expected = np.zeros_like(first)
    expected[4:8, 8:12] = 1  # one feature cell, one cell to the right, minus its rounded corners
    expected[[4, 4, 7, 7], [8, 11, 8, 11]] = 0
    assert np.array_equal(masks[1], expected)


def test_rpmnet_sequence_returns_sampling_locations() -> None:
    model = build_rpmnet("resnet18", backend="reference").eval()
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 40, 3), dtype=np.uint8)
    first = np.zeros((32, 40), np.uint8)
    first[8:20, 8:24] = 1
    out = propagate_sequence(model, frames, first, return_sampling=True)
    assert out.masks.shape == (3, 32, 40)
    assert len(out.sampling) == 2 and [s.shape for s in out.sampling[0]] == [(1, 9, 8, 10, 2)] * 3 + [(1, 1, 8, 10, 2)]
    # a freshly built model has zero-initialised offsets: layer 106 samples the regular 3x3 grid
    assert torch.equal(out.sampling[0][0][0, 4, 2, 3], torch.tensor([2.0, 3.0]))


def test_frame_batching_does_not_change_the_masks() -> None:
    torch.manual_seed(0)
    model = build_rpmnet("resnet18", backend="reference").eval()
    with torch.no_grad():  # a non-zero flow layer, so the flow depends on the embeddings
        model.matching.convs[-1].weight.normal_(0, 0.05)
    frames = np.random.default_rng(1).integers(0, 255, (5, 32, 40, 3), dtype=np.uint8)
    first = np.zeros((32, 40), np.uint8)
    first[8:20, 8:24] = 1
    one = propagate_sequence(model, frames, first, PropagationConfig(batch_frames=1)).masks
    three = propagate_sequence(model, frames, first, PropagationConfig(batch_frames=3)).masks
    assert np.array_equal(one, three)
    with pytest.raises(ConfigError, match="batch_frames"):
        propagate_sequence(model, frames, first, PropagationConfig(batch_frames=0))


def test_baselines_layout_and_copy_first_by_hand(tmp_path: Path) -> None:
    gt = np.zeros((4, 16, 16), np.uint8)  # DIS flow needs frames of at least 12 pixels
    gt[:, 0:8, 0:8] = 1
    gt[2:, 0:8, 0:8] = 0
    gt[2:, 8:16, 8:16] = 1  # the object jumps at frame 2
    root = write_davis(tmp_path / "d", {"a": gt})
    assert np.array_equal(baseline_masks("copy-first", gt[..., None].repeat(3, -1), gt[0]), gt[[0, 0, 0, 0]])
    for name in ("copy-first", "copy-previous", "optical-flow"):
        run_baseline(name, root, "val", tmp_path / name, progress=False)
        assert sorted(p.name for p in (tmp_path / name / "a").iterdir()) == [f"0000{i}.png" for i in range(4)]
    scores = evaluate_results(root, tmp_path / "copy-first", progress=False).per_frame
    # scored frames 1 and 2: frame 1 identical (J = 1), frame 2 disjoint squares (J = 0)
    assert scores["J"].tolist() == [1.0, 0.0]


def test_model_sampling_is_where_propagation_samples(moving_model) -> None:
    """The offsets study's sampling locations are those the paper's propagation uses, payload aside."""
    from rpmbench.inference.flows import model_sampling

    model = moving_model
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 32, 48, 3), dtype=np.uint8)
    first = np.zeros((32, 48), np.uint8)
    first[8:20, 10:30] = 1
    config = PropagationConfig()
    expected = propagate_sequence(model, frames, first, config, return_sampling=True).sampling
    found = model_sampling(model, frames, config)
    assert len(found) == len(expected) == 2 and all(len(layers) == 4 for layers in found)
    assert all(torch.equal(a, b) for ours, theirs in zip(found, expected) for a, b in zip(ours, theirs))
    assert found[0][0].abs().sum() > 0
