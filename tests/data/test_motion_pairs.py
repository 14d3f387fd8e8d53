"""Reach-sweep pairs: real val photos moved by a known field; the flow is exact by construction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rpmbench.data.flow import warp_previous
from rpmbench.data.motion_pairs import MotionPairsConfig, make_pair, make_pairs
from rpmbench.data.sources import sources

SMALL = MotionPairsConfig(magnitudes=(0.5, 3.0), height=48, width=64, photos=("coins", "chelsea"),
                          fields_per_photo=1)


def _interior(pair, border: int = 2) -> np.ndarray:
    keep = pair.valid.copy()
    keep[:border], keep[-border:], keep[:, :border], keep[:, -border:] = False, False, False, False
    return keep


@pytest.mark.parametrize("magnitude", [0.25, 2.0, 8.0])
def test_the_true_flow_warps_the_first_frame_onto_the_second(magnitude: float) -> None:
    pair = make_pair(np.random.default_rng(7), "chelsea", magnitude, dataclasses.replace(SMALL, height=96, width=128))
    first, second = pair.frames.astype(np.float32)
    keep = _interior(pair)
    warped = np.abs(warp_previous(first, pair.flow) - second).mean(-1)[keep].mean()
    unmoved = np.abs(first - second).mean(-1)[keep].mean()
    assert warped < 3.0 and warped < 0.5 * unmoved  # what is left is bilinear resampling


def test_a_pure_translation_has_the_analytic_flow() -> None:
    config = dataclasses.replace(SMALL, rotation_scale=0.0, deformation=0.0)
    pair = make_pair(np.random.default_rng(3), "coins", 2.5, config)
    flow = pair.flow.reshape(-1, 2).astype(np.float64)
    np.testing.assert_allclose(flow, np.broadcast_to(flow[0], flow.shape), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(flow[0]), 2.5 * 4, rtol=1e-6)
    # valid exactly where the point lies inside frame 0
    ys, xs = np.mgrid[0:config.height, 0:config.width]
    inside = ((xs + flow[0, 0] >= 0) & (xs + flow[0, 0] <= config.width - 1)
              & (ys + flow[0, 1] >= 0) & (ys + flow[0, 1] <= config.height - 1))
    np.testing.assert_array_equal(pair.valid, inside)


def test_without_deformation_the_field_is_a_similarity_plus_translation() -> None:
    config = dataclasses.replace(SMALL, deformation=0.0, rotation_scale=0.5)
    pair = make_pair(np.random.default_rng(5), "coins", 4.0, config)
    ys, xs = np.mgrid[0:config.height, 0:config.width].astype(np.float64)
    design = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)], axis=1)
    for component, sign in ((0, 1), (1, 1)):
        coefficients, *_ = np.linalg.lstsq(design, pair.flow[..., component].ravel(), rcond=None)
        residual = pair.flow[..., component].ravel() - design @ coefficients
        assert np.abs(residual).max() < 1e-3 * sign
    u, v = (np.linalg.lstsq(design, pair.flow[..., c].ravel(), rcond=None)[0] for c in (0, 1))
    assert u[0] == pytest.approx(v[1], abs=1e-6) and u[1] == pytest.approx(-v[0], abs=1e-6)  # rotation + scale
    assert not np.allclose(u[:2], 0)


def test_the_sweep_hits_each_magnitude_deterministically_on_val_photos_only() -> None:
    pairs = make_pairs(SMALL)
    assert [(p.magnitude, p.photo) for p in pairs] == [(0.5, "coins"), (0.5, "chelsea"), (3.0, "coins"), (3.0, "chelsea")]
    for pair in pairs:
        assert np.linalg.norm(pair.flow, axis=-1).mean() / 4 == pytest.approx(pair.magnitude, rel=1e-5)
        assert pair.frames.shape == (2, 48, 64, 3) and pair.frames.dtype == np.uint8
    again = make_pairs(SMALL)
    assert all(np.array_equal(a.frames, b.frames) and np.array_equal(a.flow, b.flow) for a, b in zip(pairs, again))
    assert not np.array_equal(make_pairs(dataclasses.replace(SMALL, seed=1))[0].flow, pairs[0].flow)
    default = MotionPairsConfig().resolved_photos()
    training = {*sources("train", "object"), *sources("train", "background")}
    assert default and set(default) <= set(sources("val", "background")) and not set(default) & training
