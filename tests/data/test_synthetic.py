"""The built-in data set: DAVIS layout, exact masks, determinism, atomicity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rpmbench.data import synthetic
from rpmbench.data.builtin import ensure_builtin_dataset
from rpmbench.data.davis import DavisDataset
from rpmbench.data.sprites import sprites
from rpmbench.errors import DataError

TINY = synthetic.DatasetSize(height=48, width=80, train_sequences=1, val_sequences=2, frames=6)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_builtin_dataset("small", seed=0, cache=tmp_path_factory.mktemp("cache"), progress=False)


def test_layout_is_complete_davis(small: Path) -> None:
    for split, count in (("train", 6), ("val", 4)):
        dataset = DavisDataset(small, split)  # checks JPEG/PNG counts and names per sequence
        assert len(dataset.sequences) == count
        for sequence in dataset.sequences:
            masks = dataset.read_annotations(sequence)
            assert masks.shape == (16, 128, 224)
            num_objects = int(masks[0].max())
            assert 1 <= num_objects <= 3
            assert set(np.unique(masks[0])) == set(range(num_objects + 1))  # ids 1..K in frame 0
    assert (small / "rpmbench-dataset.json").is_file()


def test_occlusion_and_leaving_happen(small: Path) -> None:
    dataset = DavisDataset(small, "train")
    ids_lost = occluded = False
    for sequence in dataset.sequences:
        masks = dataset.read_annotations(sequence)
        counts = [(masks == k).sum(axis=(1, 2)) for k in range(1, int(masks[0].max()) + 1)]
        ids_lost |= any((c == 0).any() or c[-1] < c[0] / 3 for c in counts)
        occluded |= len(counts) > 1
    assert ids_lost and occluded


def test_masks_are_the_composited_objects() -> None:
    """Re-render one sequence: labelled pixels carry the object's sprite colours, others the video."""
    rng = np.random.default_rng([5, 0, 0])
    background, _ = synthetic._background(np.random.default_rng([5, 0, 0]), TINY)
    frames, masks = synthetic.render_sequence(rng, TINY)[:2]
    assert np.array_equal(frames[masks == 0], background[masks == 0])
    assert (frames[masks > 0] != background[masks > 0]).any(axis=-1).mean() > 0.5


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(synthetic.SIZES, "tiny", TINY)
    a = synthetic.make_dataset(tmp_path / "a", seed=3, size="tiny", progress=False)
    b = synthetic.make_dataset(tmp_path / "b", seed=3, size="tiny", progress=False)
    c = synthetic.make_dataset(tmp_path / "c", seed=4, size="tiny", progress=False)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert any((a / f).read_bytes() != (c / f).read_bytes() for f in files if f.suffix == ".png")


def test_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(synthetic.SIZES, "tiny", TINY)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return original(*args, **kwargs)

    original = synthetic.render_sequence
    monkeypatch.setattr(synthetic, "render_sequence", failing)
    with pytest.raises(RuntimeError):
        synthetic.make_dataset(tmp_path / "out", size="tiny", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_make_data_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    result = subprocess.run([sys.executable, "-m", "rpmbench", "make-data", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "pass --force" in result.stderr
    assert (tmp_path / "out" / "keep.txt").read_text() == "x"


def test_unknown_size_and_sprites() -> None:
    with pytest.raises(DataError, match="unknown data set size"):
        synthetic.make_dataset("/nonexistent/never", size="huge")
    assert {s.name for s in sprites()} == {"astronaut", "cat", "coffee-cup", "horse"}
    assert all(s.matte.shape == s.rgb.shape[:2] and s.matte.any() for s in sprites())
