"""``profile-data``: motion against a known shift, area statistics by hand, baseline J&F against the
written-and-scored path, the command end to end on tiny data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from rpmbench.cli import main
from rpmbench.data.profile import area_statistics, flow_magnitudes
from rpmbench.evaluation import evaluate_results
from rpmbench.experiments.spec import DataChoice
from rpmbench.experiments.studies.baselines import profile_run_dir, score_baselines
from rpmbench.inference.baselines import run_baseline
from tests.davis_fixtures import moving_ellipses, write_davis


@pytest.mark.parametrize("shift", [(2, 3), (-4, 1)])
def test_flow_of_a_known_shift(shift: tuple[int, int]) -> None:
    """A smooth random texture translated by whole pixels: the median magnitude is the shift,
    scaled to a 480-pixel height."""
    rng = np.random.default_rng(sum(shift) + 10)
    big = cv2.GaussianBlur(rng.integers(0, 256, (140, 200, 3)).astype(np.float32), (0, 0), 2)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    dy, dx = shift
    frames = np.stack([big[20:116, 20:180], big[20 - dy:116 - dy, 20 - dx:180 - dx]])  # content moves by (dy, dx)
    masks = np.zeros((2, 96, 160), np.uint8)
    masks[0, 30:60, 40:100] = 1
    inside, every = flow_magnitudes(frames, masks)
    expected = math.hypot(dy, dx) * 480 / 96
    assert inside.size == 30 * 60 and every.size == 96 * 160
    assert np.median(inside) == pytest.approx(expected, rel=0.05)
    assert np.median(every) == pytest.approx(expected, rel=0.05)


def test_area_statistics_by_hand() -> None:
    masks = np.zeros((4, 10, 10), np.uint8)
    masks[0, :2, :2] = 1  # object 1: areas 4, 8, 0, 2
    masks[1, :2, :4] = 1
    masks[3, :1, :2] = 1
    masks[:, 5:, 5:] = 2  # object 2: 25 every frame
    ratios, steps, absent, pairs = area_statistics(masks)
    assert ratios == [4.0, 1.0]
    assert steps == pytest.approx([math.log(2), 0.0, 0.0, 0.0])
    assert (absent, pairs) == (1, 6)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    sequences = {f"s{i}": moving_ellipses(rng, 6, 40, 64, objects=2) for i in range(2)}
    return write_davis(tmp_path_factory.mktemp("davis"), sequences)


def test_profile_baselines_are_the_spines_results(tiny: Path, tmp_path: Path) -> None:
    """profile-data's baseline J&F is the grid spine's result file for the same spec, reused on a rerun."""
    names = ["copy-first", "optical-flow"]
    run_dir = profile_run_dir(tmp_path / "profiles", tiny)
    scores = score_baselines(tiny, DataChoice(source="davis"), names, run_dir, progress=False)
    for name in names:
        run_baseline(name, tiny, "val", tmp_path / name, progress=False)
        scored = evaluate_results(tiny, tmp_path / name, "val", progress=False).global_metrics["J&F-Mean"]
        assert scores[name] == round(scored, 4)
    files = sorted((run_dir / "cells").glob("*.json"))
    assert len(files) == 2
    stamps = [path.stat().st_mtime_ns for path in files]
    assert score_baselines(tiny, DataChoice(source="davis"), names, run_dir, progress=False) == scores
    assert [path.stat().st_mtime_ns for path in files] == stamps


def test_command_prints_and_writes_json(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, sheet = tmp_path / "profile.json", tmp_path / "figures" / "sheet.png"
    assert main(["profile-data", "--davis-root", str(tiny), "--out", str(out), "--run-dir", str(tmp_path / "p"),
                 "--baselines", "copy-first,copy-previous", "--contact-sheet", str(sheet)]) == 0
    assert Image.open(sheet).size[1] == 2 * (128 + 2)  # one row per sequence
    profile = json.loads(out.read_text())
    assert profile["sequences"] == 2 and profile["frames"] == 12 and profile["objects"] == 4
    assert set(profile["baselines"]) == {"copy-first", "copy-previous"}
    assert set(profile["motion_inside"]) == {"p50", "p90", "p99"}
    assert 0 <= profile["objects_absent"] <= 1
    printed = capsys.readouterr().out
    assert "dis feature_px" in printed and "J&F copy-first" in printed


def test_command_refuses_an_unknown_baseline(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile-data", "--davis-root", str(tiny), "--baselines", "copy-first,magic"]) == 2
    assert "unknown ['magic']" in capsys.readouterr().err


def test_overlay_tints_objects_and_keeps_background() -> None:
    from rpmbench.data.contact import overlay

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 5:15] = 1
    out = overlay(frame, mask, opacity=0.5)
    assert np.array_equal(out[mask == 0], frame[mask == 0])
    inner = out[8:12, 8:12].astype(float)
    assert np.allclose(inner, frame[8:12, 8:12] * 0.5 + np.array([128, 0, 0]) * 0.5, atol=1)
    assert (out[5, 5:15] == [128, 0, 0]).all()  # outline in the object's palette colour


def test_max_sequences_profiles_a_prefix(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    assert main(["profile-data", "--davis-root", str(tiny), "--out", str(out), "--baselines", "",
                 "--max-sequences", "1"]) == 0
    profile = json.loads(out.read_text())
    assert profile["sequences"] == 1 and profile["frames"] == 6 and profile["baselines"] == {}
    assert main(["profile-data", "--davis-root", str(tiny), "--max-sequences", "0"]) == 2
