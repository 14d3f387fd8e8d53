"""Training video: a clip is split at its shot cuts, so no training pair spans one."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from rpmbench.data.builtin import builtin_clip_paths
from rpmbench.data.sources import CUTS
from rpmbench.training.frames import PairBatches, discover_sequences


def _write_video(path: Path, frames: np.ndarray) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_a_video_with_a_cut_is_two_sequences_and_pairs_stay_inside_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    warm = np.clip(rng.normal((200, 80, 40), 20, (6, 32, 48, 3)), 0, 255).astype(np.uint8)
    cold = np.clip(rng.normal((30, 90, 210), 20, (7, 32, 48, 3)), 0, 255).astype(np.uint8)
    video = _write_video(tmp_path / "cut.mp4", np.concatenate([warm, cold]))
    sequences = discover_sequences([str(video)], [], None)
    assert [(s.name, len(s)) for s in sequences] == [("cut#shot0", 6), ("cut#shot1", 7)]
    batches = PairBatches(sequences, 8, 16, (1, 2), False, seed=0, short_side=None, steps=5)
    for step in range(5):
        reference, target = batches[step]
        warm_ref = reference.float().mean(dim=(2, 3))[:, 0] > reference.float().mean(dim=(2, 3))[:, 2]
        warm_tgt = target.float().mean(dim=(2, 3))[:, 0] > target.float().mean(dim=(2, 3))[:, 2]
        assert (warm_ref == warm_tgt).all()  # both frames of every pair come from one shot


def test_the_builtin_clips_split_at_their_committed_cuts() -> None:
    """At the training size (short side 128) the detector finds the committed cuts."""
    clips = {path.stem: path for path in builtin_clip_paths()}
    sequences = discover_sequences([str(clips["bikes"])], [], 128)
    lengths = [len(s) for s in sequences]
    assert [sum(lengths[:k]) for k in range(1, len(lengths))] == list(CUTS["bikes"])
