"""Reading and writing the DAVIS-2017 layout, and the errors for every kind of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from davis_fixtures import moving_ellipses, write_davis
from rpmbench.data import davis as davis_module
from rpmbench.data.davis import DavisDataset, write_sequence_predictions
from rpmbench.data.palette import davis_palette, read_palette_png
from rpmbench.errors import DataError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    return write_davis(tmp_path / "davis", {"cat": moving_ellipses(rng, 5, 24, 32, 2),
                                            "dog": moving_ellipses(rng, 4, 24, 32, 1, void=True)})


def test_reads_frames_annotations_and_split_order(root: Path) -> None:
    dataset = DavisDataset(root, "val")
    assert dataset.sequences == ["cat", "dog"]
    assert dataset.read_frames("cat").shape == (5, 24, 32, 3)
    annotations = dataset.read_annotations("dog")
    assert annotations.shape == (4, 24, 32) and annotations.dtype == np.uint8
    assert 255 in annotations
    assert np.array_equal(dataset.read_first_mask("dog"), annotations[0])


def test_full_resolution_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    root = write_davis(tmp_path / "d", {"a": moving_ellipses(rng, 3, 16, 16, 1)}, resolution="Full-Resolution")
    assert DavisDataset(root, "val", "Full-Resolution").read_frames("a").shape == (3, 16, 16, 3)
    with pytest.raises(DataError, match="frame folder not found"):
        DavisDataset(root, "val", "480p")


@pytest.mark.parametrize("damage, message", [
    (lambda r: shutil.rmtree(r), "DAVIS root not found"),
    (lambda r: (r / "ImageSets/2017/val.txt").unlink(), "split file not found"),
    (lambda r: (r / "ImageSets/2017/val.txt").write_text("cat\nowl\n"), "owl: frame folder not found"),
    (lambda r: (r / "Annotations/480p/cat/00004.png").unlink(), "4 annotation PNGs but 5 JPEG frames"),
])
def test_layout_errors_name_the_file(root: Path, damage, message: str) -> None:
    damage(root)
    with pytest.raises(DataError, match=message):
        DavisDataset(root, "val")


def _keep_first_annotations(root: Path) -> None:
    """Delete every annotation but each sequence's first, as DAVIS test-dev ships them."""
    for path in (root / "Annotations" / "480p").glob("*/*.png"):
        if path.stem != "00000":
            path.unlink()


def test_first_frame_only_annotations_read_for_propagation(root: Path) -> None:
    full = DavisDataset(root, "val").read_first_mask("cat")
    _keep_first_annotations(root)
    with pytest.raises(DataError, match=r"cat: 1 annotation PNGs but 5 JPEG frames in .*; scoring needs every frame"):
        DavisDataset(root, "val")  # what scoring reads
    dataset = DavisDataset(root, "val", first_frame_only=True)
    assert [p.name for p in dataset.annotation_paths("cat")] == ["00000.png"]
    assert dataset.read_frames("cat").shape == (5, 24, 32, 3)
    assert np.array_equal(dataset.read_first_mask("cat"), full)


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / "Annotations/480p/cat/00000.png").unlink(),
     r"cat/00000.png: the first frame's annotation is missing"),
    (lambda r: (r / "Annotations/480p/cat/00000.png").rename(r / "Annotations/480p/cat/00009.png"),
     r"cat/00000.png: the first frame's annotation is missing"),
    (lambda r: shutil.copy(r / "Annotations/480p/cat/00000.png", r / "Annotations/480p/cat/00000b.png"),
     r"cat/00000b.png: annotation without a frame"),
])
def test_first_frame_only_errors_name_the_file(root: Path, damage, message: str) -> None:
    _keep_first_annotations(root)
    damage(root)
    with pytest.raises(DataError, match=message):
        DavisDataset(root, "val", first_frame_only=True)


def test_grid_trains_on_first_frame_only_splits_and_scores_full_ones(root: Path, tmp_path: Path) -> None:
    """A real root with a test-dev split that annotates first frames only: the grid trains on its
    frames beside val; it refuses to score it."""
    from rpmbench.experiments.spec import DataChoice, resolve_paths
    from rpmbench.training.frames import discover_sequences

    write_davis(root, {"owl": moving_ellipses(np.random.default_rng(2), 3, 24, 32, 1)}, split="test-dev")
    for name in ("00001.png", "00002.png"):
        (root / "Annotations/480p/owl" / name).unlink()
    paths = resolve_paths(DataChoice(source="davis"), str(root), (), ["val", "test-dev"], tmp_path)
    assert paths.davis_root == root
    assert [len(s) for s in discover_sequences([root], ["val", "test-dev"], None)] == [5, 4, 3]
    with pytest.raises(DataError, match="owl: 1 annotation PNGs but 3 JPEG frames .* scoring needs"):
        resolve_paths(DataChoice(source="davis", split="test-dev"), str(root), (), ["val"], tmp_path)


def test_rgb_mask_and_corrupt_jpeg_are_refused(root: Path) -> None:
    dataset = DavisDataset(root, "val")
    Image.new("RGB", (32, 24)).save(root / "Annotations/480p/cat/00002.png")
    with pytest.raises(DataError, match=r"cat/00002.png: mask is a RGB image, not a palette PNG"):
        dataset.read_annotations("cat")
    (root / "JPEGImages/480p/cat/00001.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(DataError, match=r"cat/00001.jpg: cannot read frame"):
        dataset.read_frames("cat")


def test_size_mismatch_within_a_sequence(root: Path) -> None:
    Image.fromarray(np.zeros((10, 10), np.uint8), mode="P").save(root / "Annotations/480p/cat/00003.png")
    with pytest.raises(DataError, match="size 10x10 differs"):
        DavisDataset(root, "val").read_annotations("cat")


def test_predictions_are_palette_pngs_written_atomically(tmp_path: Path, monkeypatch) -> None:
    masks = np.random.default_rng(0).integers(0, 4, (3, 8, 9)).astype(np.uint8)
    folder = write_sequence_predictions(tmp_path, "seq", masks)
    assert sorted(p.name for p in folder.iterdir()) == ["00000.png", "00001.png", "00002.png"]
    with Image.open(folder / "00001.png") as image:
        assert image.mode == "P" and image.getpalette()[:9] == davis_palette()[:9]
    assert np.array_equal(read_palette_png(folder / "00002.png"), masks[2])
    calls = []

    def failing_write(path, mask):
        calls.append(path)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        Image.fromarray(mask, mode="P").save(path)

    monkeypatch.setattr(davis_module, "write_palette_png", failing_write)
    with pytest.raises(RuntimeError):
        write_sequence_predictions(tmp_path, "other", masks)
    assert not (tmp_path / "other").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]
