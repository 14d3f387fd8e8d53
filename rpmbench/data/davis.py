"""The DAVIS-2017 folder layout: frames, palette annotations, split files, and predictions.

A DAVIS root looks like::

    JPEGImages/480p/<seq>/00000.jpg ...        (or Full-Resolution/)
    Annotations/480p/<seq>/00000.png ...       palette PNGs: 0 background, 1..K objects, 255 void
    ImageSets/2017/train.txt, val.txt          one sequence name per line

DAVIS-2016-style annotations (one object stored as 255 in grey or palette PNGs, as several public
copies ship them) would read as all void, a sequence with no object. A sequence whose annotations
hold only 0 and 255 is therefore read with 255 as object 1 (:func:`read_mask_frames`), with a notice
when its first mask is read (:meth:`DavisDataset.read_first_mask`); a first mask with no object at
all is refused.

Scoring needs every frame annotated (DAVIS train/val). Sets that annotate the first frame only
(DAVIS test-dev, YouTube-VOS valid converted to this layout) are read with ``first_frame_only``:
enough to propagate, train on the frames, or draw overlays, never to score.

Predictions use the layout the official evaluation reads: ``<results>/<seq>/%05d.png``.
Every problem raises :class:`~rpmbench.errors.DataError` naming the file and what to do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rpmbench.atomic import atomic_directory
from rpmbench.data.palette import read_palette_png, write_palette_png
from rpmbench.errors import DataError

RESOLUTIONS = ("480p", "Full-Resolution")
VOID_ID = 255


def read_jpeg(path: Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB; :class:`DataError` if missing or corrupt."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise DataError(f"{path}: frame not found.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(f"{path}: cannot read frame ({error}); the file may be corrupt, "
                        "re-extract the data set.") from None


class DavisDataset:
    """One split of a DAVIS-2017-layout root (the real data set or the built-in one).

    Args:
        root: folder holding ``JPEGImages``, ``Annotations`` and ``ImageSets``.
        split: name of a split file in ``ImageSets/2017`` (``train`` or ``val``).
        resolution: ``480p`` or ``Full-Resolution``.
        first_frame_only: accept sequences whose annotations cover only some frames, the first
            one included (enough to propagate; scoring needs every frame).

    The layout is checked on construction: the split file, and for every listed sequence its
    frame and annotation folders, with one annotation per frame (DAVIS train/val) or, with
    ``first_frame_only``, the first frame's annotation and no annotation without its frame.
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "val", resolution: str = "480p",
                 first_frame_only: bool = False) -> None:
        self.root = Path(root)
        self.split = split
        self.resolution = resolution
        self.first_frame_only = first_frame_only
        if resolution not in RESOLUTIONS:
            raise DataError(f"unknown resolution {resolution!r}; choose one of {RESOLUTIONS}")
        if not self.root.is_dir():
            raise DataError(f"{self.root}: DAVIS root not found. Pass the folder that holds "
                            "JPEGImages/, Annotations/ and ImageSets/ (or run `python -m rpmbench "
                            "make-data` for the built-in data set).")
        split_file = self.root / "ImageSets" / "2017" / f"{split}.txt"
        if not split_file.is_file():
            raise DataError(f"{split_file}: split file not found; DAVIS-2017 ships train.txt and "
                            "val.txt under ImageSets/2017.")
        self.sequences: list[str] = [line.strip() for line in split_file.read_text().splitlines()
                                     if line.strip()]
        if not self.sequences:
            raise DataError(f"{split_file}: split file lists no sequences.")
        for sequence in self.sequences:
            if first_frame_only:
                self._check_first_annotated(sequence)
            else:
                self._check_every_frame_annotated(sequence)

    def _check_every_frame_annotated(self, sequence: str) -> None:
        """One annotation per frame, with the frame's name (what scoring needs)."""
        frames, annotations = self.frame_paths(sequence), self.annotation_paths(sequence)
        if len(frames) != len(annotations):
            raise DataError(
                f"{self._annotation_dir(sequence)}: {len(annotations)} annotation PNGs but "
                f"{len(frames)} JPEG frames in {self._frame_dir(sequence)}; scoring needs every "
                "frame's annotation (re-extract the sequence; for a set that annotates the first "
                "frame only, such as DAVIS test-dev, run `infer` without --evaluate).")
        if [p.stem for p in frames] != [p.stem for p in annotations]:
            raise DataError(f"{self._annotation_dir(sequence)}: annotation names do not match "
                            f"the frame names in {self._frame_dir(sequence)}.")

    def _check_first_annotated(self, sequence: str) -> None:
        """The first frame's annotation exists, and every annotation names a frame."""
        frames = [p.stem for p in self.frame_paths(sequence)]
        first = self._annotation_dir(sequence) / f"{frames[0]}.png"
        if not first.is_file():
            raise DataError(f"{first}: the first frame's annotation is missing; propagation starts "
                            "from it (add the PNG or remove the sequence from the split file).")
        annotations = [p.stem for p in self.annotation_paths(sequence)]
        orphans = sorted(set(annotations) - set(frames))
        if orphans:
            raise DataError(f"{self._annotation_dir(sequence) / orphans[0]}.png: annotation without "
                            f"a frame of that name in {self._frame_dir(sequence)}.")

    def _frame_dir(self, sequence: str) -> Path:
        return self.root / "JPEGImages" / self.resolution / sequence

    def _annotation_dir(self, sequence: str) -> Path:
        return self.root / "Annotations" / self.resolution / sequence

    @staticmethod
    def _list(folder: Path, suffix: str, what: str) -> list[Path]:
        if not folder.is_dir():
            raise DataError(f"{folder}: {what} folder not found for a sequence listed in the split file.")
        paths = sorted(folder.glob(f"*{suffix}"))
        if not paths:
            raise DataError(f"{folder}: no {suffix} files.")
        return paths

    def frame_paths(self, sequence: str) -> list[Path]:
        """Sorted JPEG paths of ``sequence``."""
        return self._list(self._frame_dir(sequence), ".jpg", "frame")

    def annotation_paths(self, sequence: str) -> list[Path]:
        """Sorted annotation PNG paths of ``sequence``."""
        return self._list(self._annotation_dir(sequence), ".png", "annotation")

    def read_frames(self, sequence: str) -> np.ndarray:
        """``(T, H, W, 3)`` uint8 RGB frames."""
        frames = [read_jpeg(path) for path in self.frame_paths(sequence)]
        _check_same_size(frames, self.frame_paths(sequence))
        return np.stack(frames)

    def read_annotations(self, sequence: str) -> np.ndarray:
        """``(T, H, W)`` uint8 object ids (255 = void, kept; DAVIS-2016 style: 255 read as 1)."""
        return np.stack(read_mask_frames(self.annotation_paths(sequence)))

    def read_first_mask(self, sequence: str) -> np.ndarray:
        """``(H, W)`` uint8 ids of the first frame (the semi-supervised input; void kept).

        DAVIS-2016-style sequences (only 0 and 255 in every mask) come with 255 read as object 1
        and a notice on stderr. Raises :class:`DataError` if the first mask holds no object.
        """
        paths = self.annotation_paths(sequence)
        first = read_palette_png(paths[0])
        if _has_objects(first):
            return first  # DAVIS-2017 style: the usual case, one file read
        masks = read_mask_frames(paths)
        if _has_objects(masks[0]):
            print(f"notice: {self._annotation_dir(sequence)}: masks hold only 0 and 255 (DAVIS-2016 "
                  "style); reading 255 as object 1, not as void", file=sys.stderr)
            return masks[0]
        raise DataError(
            f"{paths[0]}: the first annotation of sequence '{sequence}' holds no object (only "
            f"background 0 or void {VOID_ID}), so there is nothing to propagate or score. Remove "
            "the sequence from the split file or fix its annotations (object ids 1..K).")


def _has_objects(mask: np.ndarray) -> bool:
    """Whether ``mask`` holds an object id (1..254)."""
    return bool(((mask != 0) & (mask != VOID_ID)).any())


def read_mask_frames(paths: list[Path]) -> list[np.ndarray]:
    """The ``(H, W)`` uint8 ids of each palette PNG (void kept), checked to share one size.

    If no mask holds an id other than 0 and 255 (DAVIS-2016 style), 255 is read as object 1.
    """
    masks = [read_palette_png(path) for path in paths]
    _check_same_size(masks, paths)
    if any(_has_objects(mask) for mask in masks):  # stops at the first frame for DAVIS-2017 data
        return masks
    return [(mask == VOID_ID).astype(np.uint8) for mask in masks]


def _check_same_size(arrays: list[np.ndarray], paths: list[Path]) -> None:
    size = arrays[0].shape[:2]
    for array, path in zip(arrays, paths):
        if array.shape[:2] != size:
            raise DataError(f"{path}: size {array.shape[1]}x{array.shape[0]} differs from the "
                            f"sequence's first file ({size[1]}x{size[0]}).")


def write_sequence_predictions(results_dir: str | os.PathLike[str], sequence: str,
                               masks: np.ndarray, frame_names: list[str] | None = None) -> Path:
    """Write ``(T, H, W)`` id masks as ``<results_dir>/<sequence>/%05d.png`` palette PNGs.

    The sequence folder appears complete or not at all (written to a temporary folder, renamed).
    ``frame_names`` (file stems) default to ``00000``, ``00001``, ...
    """
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"masks must be (T, H, W), got {masks.shape}")
    names = frame_names or [f"{index:05d}" for index in range(len(masks))]
    if len(names) != len(masks):
        raise ValueError(f"{len(names)} frame names for {len(masks)} masks")
    final = Path(results_dir) / sequence
    with atomic_directory(final) as tmp:
        for name, mask in zip(names, masks):
            write_palette_png(tmp / f"{name}.png", mask)
    return final


def read_sequence_predictions(results_dir: str | os.PathLike[str], sequence: str,
                              frame_names: list[str], size: tuple[int, int]) -> list[np.ndarray]:
    """Read the predicted ``(H, W)`` uint8 id masks of the given frame stems, in order (a list, not
    a stacked array: the scorer works frame by frame and skips the copy).

    Raises :class:`DataError` for a missing sequence folder or frame, a non-palette PNG, or a size
    other than ``size`` (H, W).
    """
    folder = Path(results_dir) / sequence
    if not folder.is_dir():
        raise DataError(f"{folder}: no predictions for sequence '{sequence}'. Write one palette PNG "
                        "per frame as <results>/<sequence>/<frame>.png.")
    masks = []
    for name in frame_names:
        path = folder / f"{name}.png"
        if not path.is_file():
            raise DataError(f"{path}: prediction missing; every annotated frame except the first "
                            "and the last needs one.")
        mask = read_palette_png(path)
        if mask.shape != tuple(size):
            raise DataError(f"{path}: prediction is {mask.shape[1]}x{mask.shape[0]} but the ground "
                            f"truth is {size[1]}x{size[0]}; predict at the annotation resolution.")
        masks.append(mask)
    return masks
