"""Ground-truth flow of the built-in sets: the .flo format, analytic motions, and warping frame t-1
by it reproduces frame t far better than zero flow and DIS do."""

from __future__ import annotations

import dataclasses
import math
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from rpmbench.data import calibrated, deform, synthetic
from rpmbench.data.figures import Field, Figure, Part, Pose, previous_points
from rpmbench.data.flow import read_flow, read_sequence_flow, warp_previous, write_flow
from rpmbench.data.synthetic import DatasetSize

TINY = DatasetSize(height=64, width=112, train_sequences=1, val_sequences=2, frames=6)


def test_flo_files_are_middlebury(tmp_path: Path) -> None:
    """The header and layout written by hand-parsing, and OpenCV reads back the same values."""
    flow = np.random.default_rng(0).normal(size=(5, 7, 2)).astype(np.float32)
    write_flow(tmp_path / "a.flo", flow)
    raw = (tmp_path / "a.flo").read_bytes()
    magic, width, height = struct.unpack("<fii", raw[:12])
    assert (magic, width, height) == (202021.25, 7, 5)
    assert np.array_equal(np.frombuffer(raw[12:], "<f4").reshape(5, 7, 2), flow)
    assert np.array_equal(read_flow(tmp_path / "a.flo"), flow)


def _square_figure(side: int = 21) -> Figure:
    """A rigid square body with a smooth texture (no deformation, no limbs)."""
    rng = np.random.default_rng(1)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (side, side, 3)).astype(np.float32), (0, 0), 1.5).astype(np.uint8)
    return Figure((Part(rgb, np.ones((side, side), bool)),), Field(0.0, ((0.0, 0.0), (0.0, 0.0)), 0.0, (0.0, 0.0)))


def test_pure_translation_gives_the_shift() -> None:
    figure = _square_figure()
    points = np.array([[40.0, 50.0], [45.5, 47.25], [33.0, 58.0]])
    before, ok = previous_points(figure, Pose((41.0, 52.0), 0.3, 1.5), 1.0, Pose((38.0, 57.0), 0.3, 1.5), 0.0,
                                 points, np.zeros(3, np.int64))
    assert ok.all()
    assert np.allclose(before - points, [[-3.0, 5.0]] * 3, atol=1e-9)


def test_pure_rotation_gives_the_rotated_point() -> None:
    """A body turning by 0.2 rad about its centre: each point goes back along the circle by -0.2
    (image y down: a positive pose angle turns (y, x) offsets by [[c, s], [-s, c]])."""
    figure = _square_figure()
    centre = np.array([40.0, 50.0])
    points = centre + np.array([[5.0, 0.0], [0.0, 7.0], [-3.0, 4.0]])
    before, ok = previous_points(figure, Pose(tuple(centre), 0.7, 2.0), 1.0, Pose(tuple(centre), 0.5, 2.0), 0.0,
                                 points, np.zeros(3, np.int64))
    c, s = math.cos(-0.2), math.sin(-0.2)
    offsets = points - centre
    expected = centre + np.stack([c * offsets[:, 0] + s * offsets[:, 1], -s * offsets[:, 0] + c * offsets[:, 1]], 1)
    assert ok.all()
    assert np.allclose(before, expected, atol=1e-9)
    assert np.allclose(np.linalg.norm(before - centre, axis=1), np.linalg.norm(offsets, axis=1))


def _warp_errors(frames: np.ndarray, masks: np.ndarray, flow: np.ndarray, valid: np.ndarray
                 ) -> tuple[float, float, float]:
    """Mean absolute colour error on valid object pixels of frame t predicted from frame t-1 by the
    ground truth, by zero flow and by DIS (backward, t -> t-1)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    errors = np.zeros(3)
    count = 0
    for t in range(1, len(frames)):
        where = valid[t] & (masks[t] > 0)
        target = frames[t].astype(np.float32)
        grey = [cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY) for i in (t, t - 1)]
        for k, candidate in enumerate((flow[t], np.zeros_like(flow[t]), dis.calc(grey[0], grey[1], None))):
            errors[k] += np.abs(warp_previous(frames[t - 1], candidate) - target)[where].sum()
        count += int(where.sum()) * 3
    return tuple(errors / max(count, 1))


CLEAN = dataclasses.replace(deform.DEFAULT, exposure=0.0, illumination=0.0)  # colour constancy


@pytest.mark.parametrize("split", ["train", "val"])
def test_calibrated_flow_warps_frame_t_minus_1_onto_t(split: str) -> None:
    """Articulated, deforming objects and fast motion: ground truth far better than zero and DIS."""
    size = calibrated.SIZES[calibrated.LATEST]["small"]
    size = dataclasses.replace(size, frames=8)
    sequence = calibrated.render_split_sequence(np.random.default_rng([2, 1, 0]), split, size, CLEAN)
    assert (sequence.valid[1:] & (sequence.masks[1:] > 0)).sum() > 2000
    truth, zero, dis = _warp_errors(*sequence[:4])
    assert truth < 0.4 * zero and truth < 0.6 * dis, (truth, zero, dis)


def test_still_photo_background_flow_is_exact_and_clip_background_unknown() -> None:
    size = dataclasses.replace(calibrated.SIZES[calibrated.LATEST]["small"], frames=6)
    sequence = calibrated.render_split_sequence(np.random.default_rng([0, 1, 1]), "val", size, CLEAN)
    background = sequence.valid[1:] & (sequence.masks[1:] == 0)
    assert background.mean() > 0.5  # val backgrounds are photos: their motion is known
    errors = [np.abs(warp_previous(sequence.frames[t - 1], sequence.flow[t]) - sequence.frames[t])[
        sequence.valid[t] & (sequence.masks[t] == 0)].mean() for t in range(1, 6)]
    assert max(errors) < 6
    clip = deform.render_sequence(np.random.default_rng(0), TINY)  # deform: clip backgrounds only
    objects = clip.masks[1:] > 0
    assert clip.valid[1:][~objects].mean() < clip.valid[1:][objects].mean()


def test_affine_flow_warps_frame_t_minus_1_onto_t() -> None:
    sequence = synthetic.render_sequence(np.random.default_rng([4, 1, 0]), TINY)
    assert not sequence.valid[1:][sequence.masks[1:] == 0].any()  # clip backgrounds: unknown
    truth, zero, dis = _warp_errors(*sequence[:4])
    assert truth < 0.4 * zero and truth < 0.6 * dis, (truth, zero, dis)


def test_written_flow_is_the_rendered_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(deform.SIZES, "tiny", TINY)
    root = deform.make_dataset(tmp_path / "d", seed=5, size="tiny", progress=False, workers=1)
    flow, valid = read_sequence_flow(root, "val-01")
    rendered = deform.render_sequence(np.random.default_rng([5, 1, 1]), TINY)
    assert flow.shape == (5, 64, 112, 2) and valid.shape == (5, 64, 112)
    assert np.array_equal(flow, rendered.flow[1:]) and np.array_equal(valid, rendered.valid[1:])
    assert cv2.readOpticalFlow(str(root / "Flow" / "480p" / "val-01" / "00001.flo")).shape == (64, 112, 2)
