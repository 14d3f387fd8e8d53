"""Decoding video files (mp4 and friends) into RGB frames with PyAV."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rpmbench.errors import DataError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def read_video(path: str | os.PathLike[str], max_frames: int | None = None) -> np.ndarray:
    """Decode ``path`` into ``(T, H, W, 3)`` uint8 RGB frames (at most ``max_frames``)."""
    import av

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: video file not found.")
    frames = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except (av.error.FFmpegError, IndexError) as error:
        raise DataError(f"{path}: cannot decode video ({error}).") from None
    if not frames:
        raise DataError(f"{path}: video has no decodable frames.")
    return np.stack(frames)
