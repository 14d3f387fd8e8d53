"""Flow error against ground truth: a hand-computed case, the truth and zero flow on stored flow,
and the metrics every flow-moving result carries through the spine."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from davis_fixtures import moving_ellipses, write_davis
from rpmbench.data.flow import write_sequence_flow
from rpmbench.evaluation.flow import bin_label, object_errors, score_flow, summarise_errors
from rpmbench.experiments.cell import run_cell
from rpmbench.experiments.plan import plan_grid
from rpmbench.experiments.presets import load_grid_config
from rpmbench.experiments.spec import Paths, Work


def test_errors_and_bins_by_hand() -> None:
    """Four valid object pixels of one frame with known truth and prediction (image px)."""
    truth = np.zeros((1, 2, 3, 2), np.float32)
    truth[0, 0, 0] = (2, 0)      # 0.5 feature px: bin <1
    truth[0, 0, 1] = (0, 8)      # 2 feature px: bin 1-3
    truth[0, 0, 2] = (16, 12)    # 5 feature px (20 image px): bin 3-6
    truth[0, 1, 0] = (60, 0)     # 15 feature px: bin >12
    predicted = np.zeros_like(truth)
    predicted[0, 0, 1] = (0, 5)  # error 3
    predicted[0, 0, 2] = (16, 12)  # error 0
    masks = np.array([[[1, 1, 2], [1, 0, 255]]], np.uint8)  # background and void pixels are left out
    valid = np.ones((1, 2, 3), bool)
    valid[0, 1, 1] = True
    errors, magnitudes = object_errors(predicted, truth, valid, masks)
    np.testing.assert_allclose(sorted(errors), [0, 2, 3, 60])
    summary = summarise_errors(errors, magnitudes)
    assert summary["pixels"] == 4
    assert summary["epe_image_px"] == pytest.approx(65 / 4) and summary["epe_feature_px"] == pytest.approx(65 / 16)
    assert summary["within_1_feature_px"] == pytest.approx(3 / 4)  # errors 0, 2, 3 <= 4 image px
    bins = summary["by_true_motion_feature_px"]
    assert list(bins) == ["<1", "1-3", "3-6", "6-12", ">12"]
    assert [bins[key]["pixels"] for key in bins] == [1, 1, 1, 0, 1]
    assert bins["1-3"]["epe_image_px"] == 3 and bins[">12"]["epe_feature_px"] == 15
    assert math.isnan(bins["6-12"]["epe_image_px"])
    assert bin_label(12, math.inf) == ">12"


@pytest.fixture(scope="module")
def flow_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAVIS-layout set with random stored flow (half of it valid) for every sequence."""
    rng = np.random.default_rng(3)
    masks = {"a": moving_ellipses(rng, 4, 32, 40, 2), "b": moving_ellipses(rng, 3, 32, 40, 1)}
    root = write_davis(tmp_path_factory.mktemp("flowset"), masks)
    for name, ids in masks.items():
        flow = rng.normal(0, 6, (*ids.shape, 2)).astype(np.float32)
        write_sequence_flow(root, "480p", name, flow, rng.random(ids.shape) < 0.5)
    (root / "ImageSets" / "2017" / "train.txt").write_text("a\nb\n")
    return root


def _truth(root: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    from rpmbench.data.davis import DavisDataset
    from rpmbench.data.flow import read_sequence_flow

    dataset = DavisDataset(root, "val")
    flows, valids, masks = [], [], []
    for sequence in dataset.sequences:
        flow, valid = read_sequence_flow(root, sequence)
        flows.append(flow)
        valids.append(valid)
        masks.append(dataset.read_annotations(sequence)[1:])
    return flows, valids, masks


def test_the_truth_scores_zero_and_zero_flow_scores_the_mean_motion(flow_set: Path) -> None:
    flows, valids, masks = _truth(flow_set)
    truths = iter(flows)
    perfect = score_flow(flow_set, "val", lambda frames: next(truths))
    assert perfect["epe_image_px"] == 0 and perfect["within_1_feature_px"] == 1
    zero = score_flow(flow_set, "val", lambda frames: np.zeros((len(frames) - 1, *frames.shape[1:3], 2), np.float32))
    keep = [v & (m > 0) for v, m in zip(valids, masks)]
    expected = np.concatenate([np.hypot(f[k][:, 0], f[k][:, 1]) for f, k in zip(flows, keep)])
    assert zero["pixels"] == expected.size
    assert zero["epe_image_px"] == pytest.approx(expected.mean(), rel=1e-6)


def test_results_that_move_masks_by_a_flow_carry_flow_metrics(flow_set: Path, tmp_path: Path) -> None:
    """copy-previous's flow error is the mean true motion; optical flow and an untrained model carry
    metrics; copy-first (no flow) and the memory protocol (not a flow) carry none."""
    grid = load_grid_config("smoke", overrides={
        "backbones": ["resnet18"], "rows": ["standard-l1"], "beyond": ["standard-l1@memory"],
        "baselines": ["copy-first", "copy-previous", "optical-flow"], "data.source": "davis",
        "data.davis_root": str(flow_set), "propagation.scale": 1.0, "train.short_side": None,
        "train.model.backend": "reference", "train.steps": 1})
    results = {spec.method: run_cell(spec, Paths(flow_set, (str(flow_set),), tmp_path), Work(progress=False))
               for spec in plan_grid(grid)}
    zero = score_flow(flow_set, "val", lambda frames: np.zeros((len(frames) - 1, *frames.shape[1:3], 2), np.float32))
    assert results["copy-previous"]["flow_metrics"]["epe_image_px"] == pytest.approx(zero["epe_image_px"])
    assert "flow_metrics" not in results["copy-first"]
    assert "flow_metrics" not in results["resnet18-standard-l1@memory"]
    for name in ("optical-flow", "resnet18-standard-l1"):
        metrics = results[name]["flow_metrics"]
        assert metrics["pixels"] == zero["pixels"] and metrics["epe_image_px"] >= 0
    assert set(results["resnet18-standard-l1"]["photometric_loss"]) == {"learned", "truth", "zero", "pairs"}


def test_photometric_loss_of_the_true_flow_on_a_sliding_texture(tmp_path: Path) -> None:
    """A texture sliding 8 image pixels (2 feature px) right per frame: the true flow reconstructs
    the next frame better than zero flow does, under the training loss."""
    from PIL import Image

    from rpmbench.experiments.objective import photometric_losses
    from rpmbench.inference.propagate import PropagationConfig
    from rpmbench.models import RPMNet
    from rpmbench.training.config import TrainConfig

    rng = np.random.default_rng(0)
    texture = (rng.random((48, 200, 3)) * 255).astype(np.uint8)
    texture = np.asarray(Image.fromarray(texture).resize((400, 96), Image.BILINEAR))[:48]  # smooth
    masks = np.ones((4, 48, 64), np.uint8)
    root = write_davis(tmp_path / "d", {"slide": masks})
    for t in range(4):
        Image.fromarray(texture[:, 80 - 8 * t:144 - 8 * t]).save(root / "JPEGImages" / "480p" / "slide" / f"{t:05d}.jpg",
                                                                   quality=98)
    flow = np.zeros((4, 48, 64, 2), np.float32)
    flow[..., 0] = -8.0  # the window moves left: pixel x of frame t was at x - 8 in frame t-1
    write_sequence_flow(root, "480p", "slide", flow, np.ones((4, 48, 64), bool))
    recipe = TrainConfig()
    losses = photometric_losses(RPMNet(recipe.model), recipe, root, "val", PropagationConfig())
    assert losses["pairs"] == 3
    assert losses["truth"] < 0.5 * losses["zero"]
    assert losses["learned"] == pytest.approx(losses["zero"])  # an untrained model predicts zero flow
