"""Splits of labelled video, opened by their layout's registry name.

A layout (:class:`rpmbench.registry.DataLayout`) names the class that reads one split of a root;
:func:`open_split` is the one place a split is opened, so propagation, scoring, training frames
and the figures read any registered layout (DAVIS-2017 by default) and a second one (YouTube-VOS
val, MOSE) is one registry entry plus its reader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rpmbench import registry


class SplitReader(Protocol):
    """What a layout's reader offers for one split (:class:`rpmbench.data.davis.DavisDataset`'s
    interface). Annotations are palette ids: 0 background, 1..K objects, 255 void."""

    root: Path
    sequences: list[str]

    def frame_paths(self, sequence: str) -> list[Path]:
        """The frames of ``sequence`` in order (their stems name the predictions)."""

    def annotation_paths(self, sequence: str) -> list[Path]:
        """The annotation PNGs of ``sequence`` in order (every frame's, for a scored split)."""

    def read_frames(self, sequence: str) -> np.ndarray:
        """``(T, H, W, 3)`` uint8 RGB."""

    def read_annotations(self, sequence: str) -> np.ndarray:
        """``(T, H, W)`` uint8 object ids."""

    def read_first_mask(self, sequence: str) -> np.ndarray:
        """``(H, W)`` uint8 object ids of the first frame (the propagation's input)."""


def open_split(root: str | os.PathLike[str], split: str = "val", layout: str = registry.DEFAULT_LAYOUT,
               **options: Any) -> SplitReader:
    """Split ``split`` of ``root`` read as the registered ``layout``; ``options`` go to its reader
    (``resolution``, ``first_frame_only``: see :class:`rpmbench.data.davis.DavisDataset`). The reader
    checks the layout on opening (DataError naming what is wrong); an unknown layout is a ConfigError."""
    return registry.resolve(registry.data_layout(layout).builder)(root, split, **options)
