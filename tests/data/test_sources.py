"""Footage sources: no source feeds both splits, the committed cuts are what the detector finds,
and no generated sequence of the calibrated set draws on the other split's footage or spans a cut."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from rpmbench.data import calibrated
from rpmbench.data.figures import PHOTOS, photo
from rpmbench.data.sources import CUTS, SOURCES, detect_cuts, footage, histogram_distances, source, window_starts
from rpmbench.data.synthetic import DatasetSize, builtin_clip_paths

TINY = DatasetSize(height=64, width=112, train_sequences=6, val_sequences=8, frames=20)


def test_every_source_feeds_one_split_and_exists() -> None:
    names = [s.name for s in SOURCES]
    assert len(names) == len(set(names))  # one entry, hence one split, per source
    assert {s.split for s in SOURCES} == {"train", "val"}
    for entry in SOURCES:
        frames = footage(entry.name) if entry.name != "horse" else None
        assert frames is None or (frames.ndim == 4 and frames.shape[-1] == 3 and frames.shape[1] >= 128)
    # the grid's unlabelled training video is every clip: all of them train footage
    assert all(source(p.stem).split == "train" for p in builtin_clip_paths())
    assert all(entry.kind == "photo" for entry in SOURCES if entry.split == "val")


def test_split_footage_is_disjoint() -> None:
    train, val = calibrated.split_footage("train"), calibrated.split_footage("val")
    used = {split: set(f.backgrounds) | set(f.photos) | ({"horse"} if f.horse else set())
            for split, f in (("train", train), ("val", val))}
    assert used["train"] and used["val"] and not used["train"] & used["val"]
    assert all(source(name).split == split for split, names in used.items() for name in names)


def test_committed_cuts_are_detected() -> None:
    for path in builtin_clip_paths():
        assert detect_cuts(footage(path.stem)) == CUTS[path.stem]
    distances = histogram_distances(footage("bikes"))
    cuts = np.array(CUTS["bikes"]) - 1
    assert distances[cuts].min() > 2 * np.delete(distances, cuts).max()  # a clear margin either side


def test_detector_finds_a_spliced_cut() -> None:
    a, b = footage("bigbuckbunny")[:10], footage("carphone_pristine")[:8]
    import cv2

    b = np.stack([cv2.resize(f, (a.shape[2], a.shape[1])) for f in b])
    assert detect_cuts(np.concatenate([a, b])) == (10,)


def test_windows_never_span_a_cut() -> None:
    starts = window_starts("bikes", 20, 1)
    assert starts and all(not any(s < c <= s + 19 for c in CUTS["bikes"]) for s in starts)
    assert 29 not in starts and 10 in starts and 11 not in starts  # 11..30 holds the cut at 30


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sizes = calibrated.SIZES[calibrated.LATEST]
    sizes["tiny"] = TINY
    try:
        return calibrated.make_dataset(tmp_path_factory.mktemp("cal") / "d", seed=3, size="tiny",
                                       progress=False, workers=1)
    finally:
        del sizes["tiny"]


def test_generated_sequences_use_their_split_and_no_cut(tiny_set: Path) -> None:
    record = json.loads((tiny_set / "rpmbench-dataset.json").read_text())
    splits = {entry["name"]: entry["split"] for entry in record["sources"]}
    assert len(record["sequences"]) == 14 and "cut_method" in record
    for name, sequence in record["sequences"].items():
        assert name.startswith(sequence["split"])
        for used in [sequence["background"], *sequence["photos"]]:
            assert splits[used] == sequence["split"], (name, used)
        first, last, step = sequence["clip_frames"]
        if step:
            assert not any(first < c <= last for c in CUTS[sequence["background"]]), name
            assert last - first == (TINY.frames - 1) * step
    backgrounds = {s["background"] for s in record["sequences"].values() if s["split"] == "train"}
    assert backgrounds & {p.stem for p in builtin_clip_paths()}  # train does use the clips


def test_val_photos_are_not_the_deform_photos_of_training() -> None:
    """Val object textures differ in pixels from every train photo (no photo feeds both)."""
    train = {name: photo(name) for name in calibrated.split_footage("train").photos}
    for name in calibrated.split_footage("val").photos:
        image = photo(name)
        assert all(image.shape != other.shape or not np.array_equal(image, other) for other in train.values())
    assert set(PHOTOS) - {s.name for s in SOURCES} == set()


def test_calibrated_motion_is_faster_per_frame_at_smaller_size() -> None:
    for sizes in calibrated.SIZES.values():
        small, davis = sizes["small"], sizes["davis"]
        assert calibrated.tempo(small) == pytest.approx(480 / 128) and calibrated.tempo(davis) == 1.0
        assert dataclasses.asdict(small)["val_sequences"] >= 30
