"""Check, before any work starts, that a command can write where it was told to.

A read-only or misplaced output folder would otherwise fail only when the first result is
written, after minutes of work and with the OS's traceback; this check fails first, in one line.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rpmbench.errors import DataError


def check_writable(folder: str | os.PathLike[str], what: str, fix: str) -> None:
    """Raise :class:`DataError` unless files can be created in ``folder``.

    A ``folder`` that does not exist yet is judged by its nearest existing parent (where it would
    be created). Nothing is left behind: a probe file is created and removed, no folder is made.

    Args:
        folder: the output folder.
        what: what the folder is for, e.g. ``"the results folder"``.
        fix: what the user can do instead, e.g. ``"pass --output-dir DIR"``.
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise DataError(f"{existing}: is a file, but {what} {folder} needs a folder there; "
                        f"expected a folder or nothing at that path. Move the file or {fix}.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".rpmbench-write-check.", dir=existing)
    except OSError as error:
        raise DataError(f"{existing}: not writable ({error.strerror}); {what} {folder} needs a folder "
                        f"this user can create files in. Fix its permissions or {fix}.") from None
    os.close(fd)
    os.unlink(probe)
