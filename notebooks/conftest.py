"""Notebooks under test (``pytest --nbval``) write their figures to a temporary folder: the kernel,
started when a notebook's tests are set up, inherits ``RPMBENCH_FIGURES_DIR`` set here at import
(collection), so the tracked ``results/figures/`` is never rewritten by a test. Run by a person
(no variable set), the notebooks write to ``results/figures/``."""

from __future__ import annotations

import os
import shutil
import tempfile

_FOLDER = tempfile.mkdtemp(prefix="rpmbench-figures-")
_PREVIOUS = os.environ.get("RPMBENCH_FIGURES_DIR")
os.environ["RPMBENCH_FIGURES_DIR"] = _FOLDER


def pytest_unconfigure() -> None:
    shutil.rmtree(_FOLDER, ignore_errors=True)
    if _PREVIOUS is None:
        os.environ.pop("RPMBENCH_FIGURES_DIR", None)
    else:
        os.environ["RPMBENCH_FIGURES_DIR"] = _PREVIOUS
