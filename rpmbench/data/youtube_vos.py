"""Prepare YouTube-VOS train frames for training: resized to a short side of 480 pixels.

YouTube-VOS needs a registration, so its archives are downloaded by the user. The source is the
extracted ``train/`` (or ``train_all_frames/``) folder, ``<src>/JPEGImages/<video>/<frame>.jpg``,
or a folder of ``<video>/<frame>.jpg`` folders. The output is the layout training reads
(:func:`rpmbench.training.frames.discover_sequences`)::

    <root>/JPEGImages/<video>/<frame>.jpg    same names, short side <= 480 (never upscaled)
    <root>/rpmbench-manifest.json           source, short side, videos and frames, "complete"

Each video is written into ``<root>/.staging/<video>`` and renamed into place when whole, so an
interrupted run leaves whole videos only and a rerun skips them. Frames are resized with PIL's
bilinear filter (the resampling training uses) and saved as JPEG quality 95; frames whose short
side is already within bounds are copied byte for byte. Annotations are not needed (training is
self-supervised) and not written.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from rpmbench import __version__
from rpmbench.atomic import atomic_write_json
from rpmbench.data.fetch import MANIFEST_NAME, read_manifest
from rpmbench.errors import DataError
from rpmbench.writable import check_writable

SHORT_SIDE = 480  # the peers' convention for YouTube-VOS training frames
JPEG_QUALITY = 95


@dataclass(frozen=True)
class PrepareResult:
    """What :func:`prepare_youtube_vos` did."""

    root: Path
    videos: int
    written: int  # videos prepared by this call (the others were complete already)
    frames: int


def source_videos(src: Path) -> list[Path]:
    """The video folders (holding ``.jpg`` frames) of a YouTube-VOS source, sorted by name."""
    if not src.is_dir():
        raise DataError(f"{src}: YouTube-VOS source folder not found; pass the extracted train/ "
                        "folder (it holds JPEGImages/<video>/*.jpg).")
    base = src / "JPEGImages" if (src / "JPEGImages").is_dir() else src
    videos = sorted(folder for folder in base.iterdir() if folder.is_dir() and any(folder.glob("*.jpg")))
    if not videos:
        raise DataError(f"{src}: no video folders with .jpg frames; expected <src>/JPEGImages/<video>/"
                        "*.jpg (YouTube-VOS train/) or <src>/<video>/*.jpg. Pass the extracted "
                        "train/ folder.")
    return videos


def resize_frame(source: Path, target: Path, short_side: int) -> None:
    """Write ``source`` to ``target`` with its short side at most ``short_side`` (aspect kept)."""
    try:
        with Image.open(source) as image:
            image.load()  # decodes the whole frame: a corrupt one is refused, never copied
            width, height = image.size
            scale = short_side / min(width, height)
            resized = None if scale >= 1 else image.convert("RGB").resize(
                (max(1, round(width * scale)), max(1, round(height * scale))), Image.BILINEAR)
    except (UnidentifiedImageError, SyntaxError, OSError) as error:
        raise DataError(f"{source}: cannot read frame ({error}); expected a JPEG. Re-extract the "
                        "YouTube-VOS archive, or delete this video folder to leave it out, then rerun "
                        "(finished videos are kept).") from None
    try:
        if resized is None:
            shutil.copyfile(source, target)
        else:
            resized.save(target, quality=JPEG_QUALITY)
    except OSError as error:
        raise DataError(f"{target}: cannot write frame ({error.strerror or error}); free disk space "
                        "or choose another --root, then rerun (finished videos are kept).") from None


def prepare_video(video: Path, root: Path, short_side: int) -> int:
    """Resize one video into ``<root>/JPEGImages/<name>`` via the staging folder; its frame count."""
    staging = root / ".staging" / video.name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        frames = sorted(video.glob("*.jpg"))
        for frame in frames:
            resize_frame(frame, staging / frame.name, short_side)
        os.replace(staging, root / "JPEGImages" / video.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(frames)


def _check_root(root: Path, short_side: int) -> None:
    """Refuse a root prepared from another source or at another size, or holding other files."""
    manifest = read_manifest(root)
    if manifest is not None:
        if manifest.get("dataset") != "YouTube-VOS train" or manifest.get("short_side") != short_side:
            raise DataError(f"{root / MANIFEST_NAME}: this root holds {manifest.get('dataset')} at "
                            f"short side {manifest.get('short_side')}; expected YouTube-VOS train at "
                            f"{short_side}. Choose another --root, or pass --short-side "
                            f"{manifest.get('short_side')} to finish it.")
        return
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(f"{root}: holds other files and no {MANIFEST_NAME}; expected an empty or new "
                        "folder (or one this command prepared). Choose another --root.")
    check_writable(root, "the prepared data set", "choose another --root")


def prepare_youtube_vos(src: str | os.PathLike[str], root: str | os.PathLike[str],
                        short_side: int = SHORT_SIDE, workers: int = 1,
                        progress: bool = True) -> PrepareResult:
    """Resize every video of ``src`` into ``root`` (see the module docstring), resuming.

    ``workers > 1`` prepares that many videos at once in separate processes. Raises
    :class:`DataError` for a missing or empty source, a corrupt frame (finished videos are kept,
    the failing one is not), or a root prepared differently.
    """
    src, root = Path(src).absolute(), Path(root).absolute()
    if short_side < 1 or workers < 1:
        raise DataError(f"--short-side ({short_side}) and --workers ({workers}) must be positive.")
    if root == src or root.is_relative_to(src) or src.is_relative_to(root):
        raise DataError(f"{root}: overlaps the source {src}; expected a separate folder for the resized "
                        "copy. Choose another --root.")
    videos = source_videos(src)
    _check_root(root, short_side)
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / ".staging", ignore_errors=True)  # a killed run's unfinished video
    manifest = {"dataset": "YouTube-VOS train", "source": str(src), "short_side": short_side,
                "jpeg_quality": JPEG_QUALITY, "complete": False, "rpmbench": __version__}
    atomic_write_json(root / MANIFEST_NAME, manifest)
    pending = [video for video in videos if not (root / "JPEGImages" / video.name).is_dir()]
    try:
        with tqdm(total=len(videos), initial=len(videos) - len(pending), desc="videos", unit="video",
                  disable=not progress, dynamic_ncols=True) as bar:
            _run(pending, root, short_side, workers, bar.update)
    finally:
        shutil.rmtree(root / ".staging", ignore_errors=True)
    frames = sum(len(list((root / "JPEGImages" / video.name).glob("*.jpg"))) for video in videos)
    manifest.update(complete=True, videos=len(videos), frames=frames,
                    prepared_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    atomic_write_json(root / MANIFEST_NAME, manifest)
    return PrepareResult(root, len(videos), len(pending), frames)


def _run(videos: list[Path], root: Path, short_side: int, workers: int,
         done: Callable[[], object]) -> None:
    """Prepare ``videos`` in this process or in a pool of ``workers``; ``done()`` after each."""
    if workers == 1:
        for video in videos:
            prepare_video(video, root, short_side)
            done()
        return
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(prepare_video, video, root, short_side) for video in videos]
        try:
            for future in futures:
                future.result()
                done()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
