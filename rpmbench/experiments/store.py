"""The layout of one grid run on disk, and how files are published into it.

::

    results/<run>/
        cells/<cell>-s<seed>-<hash>.json   one result per trained cell and seed (baselines: no -s)
        table2.csv, table2.md              rendered from the cells of the current config
        work/                              scratch, gitignored: checkpoints, predictions, staging
            <cell>-s<seed>-<hash>/         a cell's training run dir and predictions (resumable)
            staging/                       files being written before they are renamed into place

Published files are first written (atomically) under ``work/staging`` and then renamed into
place, so even a SIGKILL in the middle of a write leaves no temporary file outside ``work/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from rpmbench.atomic import atomic_write_json, atomic_write_text


class RunStore:
    """Paths and atomic publishing for ``results/<run>/``."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.root = Path(run_dir)
        self.cells = self.root / "cells"
        self.work = self.root / "work"
        self.staging = self.work / "staging"

    def result_path(self, stem: str) -> Path:
        """Where the result JSON of the job named ``stem`` goes."""
        return self.cells / f"{stem}.json"

    def work_dir(self, stem: str) -> Path:
        """The resumable scratch folder of one job."""
        return self.work / stem

    def read_result(self, stem: str) -> dict[str, Any] | None:
        """The job's published result, or None if it has none yet."""
        path = self.result_path(stem)
        return json.loads(path.read_text()) if path.is_file() else None

    def publish_json(self, path: Path, payload: Any) -> None:
        """Write ``payload`` to ``path`` with no partial file ever visible at or beside it."""
        staged = self._staged(path)
        atomic_write_json(staged, payload)
        staged.chmod(0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(staged, path)

    def publish_text(self, path: Path, text: str) -> None:
        """Text counterpart of :meth:`publish_json`."""
        staged = self._staged(path)
        atomic_write_text(staged, text)
        staged.chmod(0o644)
        os.replace(staged, path)

    def clean_staging(self) -> None:
        """Remove the staging area, with any files a killed writer left there, and ``work/`` if
        that leaves it empty (call when no writer is running: before and after a run)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.work.rmdir()  # only succeeds when empty

    def _staged(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        # Unique per target and process: parallel workers never share a staging name.
        return self.staging / f"{path.parent.name}-{os.getpid()}-{path.name}"
