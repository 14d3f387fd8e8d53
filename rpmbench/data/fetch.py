"""Fetch DAVIS-2017 trainval into a checked DAVIS root, in steps that each leave a usable state.

1. download the archive (resumable, with progress) into ``.<root name>.fetch/`` beside the root;
2. check it: every zip member's CRC (a truncated or corrupt archive is deleted, with a message);
3. extract it into a staging folder inside that work folder;
4. run the layout check of :class:`~rpmbench.data.davis.DavisDataset` on the staged train and val
   splits, and write ``rpmbench-manifest.json`` (URL, archive name, size, SHA-256, resolution,
   sequence counts) into the staged root;
5. rename the staged root to ``--root`` and delete the work folder (the archive with it, unless
   asked to keep it).

An interrupted run resumes at the download; the root appears complete or not at all. A root that
already holds this archive (same manifest resolution and SHA-256 recorded) is left as it is.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rpmbench import __version__
from rpmbench.atomic import atomic_write_json
from rpmbench.data.davis import DavisDataset
from rpmbench.data.download import check_zip, download, sha256
from rpmbench.errors import DataError
from rpmbench.writable import check_writable

DAVIS_BASE_URL = "https://data.vision.ee.ethz.ch/csergi/share/davis"
DAVIS_ARCHIVES = {  # resolution -> archive name
    "480p": "DAVIS-2017-trainval-480p.zip",
    "Full-Resolution": "DAVIS-2017-trainval-Full-Resolution.zip",
}
DAVIS_SPLITS = ("train", "val")
MANIFEST_NAME = "rpmbench-manifest.json"


@dataclass(frozen=True)
class FetchResult:
    """Where the data set is and what it holds."""

    root: Path
    manifest: dict[str, Any]
    already_there: bool


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of a fetched root, or None if it has none (or an unreadable one)."""
    try:
        return json.loads((root / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None


def _work_dir(root: Path) -> Path:
    return root.with_name(f".{root.name}.fetch")


def _staged_root(staging: Path) -> Path:
    """The folder of ``staging`` holding ``ImageSets`` (the archive's top folder, e.g. ``DAVIS/``)."""
    if (staging / "ImageSets").is_dir():
        return staging
    entries = [entry for entry in staging.iterdir() if entry.is_dir()]
    if len(entries) == 1 and (entries[0] / "ImageSets").is_dir():
        return entries[0]
    raise DataError("no ImageSets/ folder at the archive's top level or in its single top folder")


def layout_counts(root: Path, resolution: str) -> dict[str, int]:
    """Sequences per split of the DAVIS root ``root``, after :class:`DavisDataset`'s layout check."""
    return {split: len(DavisDataset(root, split, resolution).sequences) for split in DAVIS_SPLITS}


def fetch_davis(root: str | os.PathLike[str], resolution: str = "480p", url: str | None = None,
                keep_archive: bool = False, progress: bool = True) -> FetchResult:
    """Download, check and lay out DAVIS-2017 trainval at ``resolution`` as the DAVIS root ``root``.

    Args:
        root: the folder to create; afterwards it holds ``JPEGImages/<resolution>``,
            ``Annotations/<resolution>``, ``ImageSets/2017/{train,val}.txt`` and the manifest.
        resolution: ``480p`` or ``Full-Resolution`` (each archive goes into its own root).
        url: a mirror of the archive (default: the DAVIS site).
        keep_archive: keep the zip in the work folder ``.<root name>.fetch/`` beside ``root``.

    Raises :class:`DataError` for an unreachable URL, an interrupted transfer (kept to resume), a
    truncated or corrupt archive (deleted), contents that fail the DAVIS layout check (nothing
    extracted is kept), or a ``root`` that holds other files.
    """
    if resolution not in DAVIS_ARCHIVES:
        raise DataError(f"unknown resolution {resolution!r}; choose one of {tuple(DAVIS_ARCHIVES)}")
    root = Path(root).absolute()
    name = DAVIS_ARCHIVES[resolution]
    url = url or f"{DAVIS_BASE_URL}/{name}"
    manifest = read_manifest(root)
    if manifest is not None and manifest.get("resolution") == resolution:
        layout_counts(root, resolution)  # still whole (a DataError names what is missing)
        return FetchResult(root, manifest, already_there=True)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        found = "a file" if not root.is_dir() else (
            f"DAVIS {manifest['resolution']}" if manifest else "other files")
        raise DataError(f"{root}: holds {found}, not DAVIS-2017 {resolution} fetched by rpmbench; "
                        "expected an empty or new folder. Choose another --root (each resolution "
                        "goes into its own root).")
    check_writable(root.parent, "the data set's parent folder", "choose another --root")
    work = _work_dir(root)
    archive = work / name
    if not archive.is_file():  # else a complete download from an interrupted run (extraction)
        try:
            download(url, archive, progress)
        except BaseException:
            with contextlib.suppress(OSError):
                work.rmdir()  # only if empty: a partial download stays, to resume
            raise
    try:
        check_zip(archive, url)  # deletes a bad archive
    except DataError:
        shutil.rmtree(work)
        raise
    digest = sha256(archive)
    staging = work / "staging"
    shutil.rmtree(staging, ignore_errors=True)  # an extraction a killed run left unfinished
    try:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(staging)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DataError(f"{staging}: cannot extract {name} ({error.strerror or error}); free disk "
                        "space or choose another --root, then rerun (the download is kept).") from None
    try:
        staged = _staged_root(staging)
        counts = layout_counts(staged, resolution)
    except DataError as error:
        shutil.rmtree(work)  # a wrong archive would fail again: drop it too
        problem = str(error).replace(f"{staging}{os.sep}", "")  # paths inside the archive
        raise DataError(f"{url}: not a DAVIS-2017 {resolution} archive ({problem.rstrip('.')}); "
                        f"expected {name}, holding JPEGImages/{resolution}, Annotations/{resolution} "
                        "and ImageSets/2017. Deleted the download; pass --url with that archive.") from None
    manifest = {
        "dataset": "DAVIS-2017 trainval", "resolution": resolution, "url": url, "archive": name,
        "archive_bytes": archive.stat().st_size, "sha256": digest, "sequences": counts,
        "fetched_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rpmbench": __version__,
    }
    atomic_write_json(staged / MANIFEST_NAME, manifest)
    os.replace(staged, root)  # also onto an empty folder
    if keep_archive:
        shutil.rmtree(staging)
    else:
        shutil.rmtree(work)
    return FetchResult(root, manifest, already_there=False)
