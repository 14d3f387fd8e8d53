"""The ``deform`` built-in set: determinism, exact masks under deformation, its knobs and layout."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from rpmbench.data import deform
from rpmbench.data.builtin import ensure_builtin_dataset
from rpmbench.data.davis import DavisDataset
from rpmbench.data.figures import Figure, Pose
from rpmbench.data.synthetic import DatasetSize
from rpmbench.errors import DataError

TINY = DatasetSize(height=64, width=112, train_sequences=1, val_sequences=2, frames=6)
# every kind of actor, and strong deformation so that exactness is tested where it matters
BUSY = dataclasses.replace(deform.DEFAULT, objects=(2, 3), twin=1.0, decoys=1.0, occluder=1.0,
                           deformation=0.12, swing=1.2, limbs=4)


def _support_reference(figure: Figure, pose: Pose, t: float, height: int, width: int
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Independent float64 torch computation of a figure's support over the whole frame, and a
    mask of pixels too close (1e-6) to a rounding boundary to judge.

    Forward model: a canvas point ``u`` is shown at ``x = c + s R(angle) (u - canvas_centre)``;
    the frame pixel ``x`` therefore sees ``u = R(angle)^-1 (x - c) / s + canvas_centre``, then the
    deformation ``u + a sin(2 pi k.u / side + rate t + phase)``; a limb's own coordinates are the
    inverse of ``joint + R(part angle) (along, across - h/2)``."""
    h, w = figure.size
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64),
                            indexing="ij")
    x = torch.stack([ys - pose.centre[0], xs - pose.centre[1]], dim=-1)
    c, s = math.cos(pose.angle), math.sin(pose.angle)
    forward = torch.tensor([[c, s], [-s, c]], dtype=torch.float64) * pose.scale  # (y, x) rotation by angle
    u = x @ torch.linalg.inv(forward).T + torch.tensor([h / 2, w / 2], dtype=torch.float64)
    f = figure.field
    side = max(h, w)
    shifts = [f.amplitude * torch.sin(2 * math.pi * (ky * u[..., 0] + kx * u[..., 1]) / side + f.rate * t + ph)
              for (ky, kx), ph in zip(f.waves, f.phase)]
    u = u + torch.stack(shifts, dim=-1)
    support = torch.zeros(height, width, dtype=torch.bool)
    ambiguous = torch.zeros(height, width, dtype=torch.bool)
    for part in figure.parts:
        if part.joint is None:
            local = u
        else:
            a = part.angle(t)
            rot = torch.tensor([[math.sin(a), math.cos(a)], [math.cos(a), -math.sin(a)]], dtype=torch.float64)
            # columns: (along, across) -> body-canvas (y, x) offsets from the joint
            along_across = (u - torch.tensor(part.joint, dtype=torch.float64)) @ torch.linalg.inv(rot).T
            local = torch.stack([along_across[..., 1] + part.matte.shape[0] / 2, along_across[..., 0]], dim=-1)
        index = torch.round(local).long()
        frac = (local - torch.floor(local)).sub(0.5).abs()
        ambiguous |= (frac < 1e-6).any(dim=-1)
        matte = torch.from_numpy(part.matte)
        inside = ((index[..., 0] >= 0) & (index[..., 0] < matte.shape[0]) & (index[..., 1] >= 0)
                  & (index[..., 1] < matte.shape[1]))
        hit = torch.zeros_like(support)
        hit[inside] = matte[index[..., 0][inside], index[..., 1][inside]]
        support |= hit
    return support, ambiguous


@pytest.mark.parametrize("seed", [3, 11])
def test_masks_are_the_warped_supports(seed: int) -> None:
    """Every frame's id map equals the independently warped supports composed in drawing order
    (decoys under, occluders over, later ids over earlier ones)."""
    rng = np.random.default_rng(seed)
    plan = deform.plan_sequence(rng, TINY, BUSY)
    masks = deform.render_plan(plan, TINY, BUSY).masks
    assert any(len(actor.figure.parts) > 1 for actor in plan.actors)  # articulated objects present
    for t in range(TINY.frames):
        expected = torch.zeros(TINY.height, TINY.width, dtype=torch.uint8)
        unsure = torch.zeros(TINY.height, TINY.width, dtype=torch.bool)
        for actor in plan.actors:
            pose = actor.motion.pose(t, plan.camera.shake_at(t))
            support, ambiguous = _support_reference(actor.figure, pose, t, TINY.height, TINY.width)
            expected[support] = actor.label
            unsure |= ambiguous
        agree = torch.from_numpy(masks[t]) == expected
        assert bool(agree[~unsure].all()), f"frame {t}: {int((~agree).sum())} pixels differ"


def test_deformation_and_articulation_change_the_support() -> None:
    """The non-rigid field and the limb swing move the mask: not a rigid warp of frame 0's shape."""
    rng = np.random.default_rng(4)
    plan = deform.plan_sequence(rng, TINY, BUSY)
    actor = next(a for a in plan.actors if len(a.figure.parts) > 1)
    pose = actor.motion.pose(2, (0.0, 0.0))
    with_field, _ = _support_reference(actor.figure, pose, 2, TINY.height, TINY.width)
    rigid = dataclasses.replace(actor.figure, field=dataclasses.replace(actor.figure.field, amplitude=0.0))
    without_field, _ = _support_reference(rigid, pose, 2, TINY.height, TINY.width)
    assert (with_field != without_field).sum() > 5
    limbs_later, _ = _support_reference(actor.figure, pose, 5, TINY.height, TINY.width)
    assert (limbs_later != with_field).sum() > 5  # same pose, later time: limbs and field moved


def test_same_seed_same_bytes_any_workers_other_seed_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(deform.SIZES, "tiny", TINY)
    runs = [deform.make_dataset(tmp_path / name, seed=seed, size="tiny", progress=False, workers=workers)
            for name, seed, workers in (("a", 7, 1), ("b", 7, 2), ("c", 8, 1))]

    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    first, second, other = (contents(root) for root in runs)
    assert first == second
    assert first.keys() == other.keys() and first != other
    dataset = DavisDataset(runs[0], "val")  # complete DAVIS layout
    assert len(dataset.sequences) == 2
    assert dataset.read_annotations(dataset.sequences[0]).shape == (6, 64, 112)


def test_knobs_are_recorded_and_change_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(deform.SIZES, "tiny", TINY)
    calm = dataclasses.replace(deform.DEFAULT, speed=0.0, speed_spread=0.0, camera_speed=0.0)
    root = deform.make_dataset(tmp_path / "calm", seed=1, size="tiny", progress=False, knobs=calm)
    import json

    record = json.loads((root / "rpmbench-dataset.json").read_text())
    assert record["difficulty"]["speed"] == 0.0 and record["difficulty"]["objects"] == [1, 3]
    default = deform.make_dataset(tmp_path / "default", seed=1, size="tiny", progress=False)
    a = (root / "JPEGImages" / "480p" / "val-00" / "00003.jpg").read_bytes()
    b = (default / "JPEGImages" / "480p" / "val-00" / "00003.jpg").read_bytes()
    assert a != b


def test_builtin_selects_the_generator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(deform.SIZES, "tiny", TINY)
    root = ensure_builtin_dataset("tiny", seed=2, cache=tmp_path, progress=False, generator="deform")
    assert root.name.startswith("deform") and (root / "ImageSets" / "2017" / "val.txt").is_file()
    with pytest.raises(DataError, match="unknown built-in generator 'nope'"):
        ensure_builtin_dataset("tiny", cache=tmp_path, generator="nope")
    with pytest.raises(DataError, match="unknown data set size 'huge'"):
        deform.make_dataset(tmp_path / "x", size="huge")
