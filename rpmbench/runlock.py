"""One writer per run folder: a lock that names its holder and dies with it.

Two ``run-grid`` processes on one run folder (a double launch, a requeued Slurm task beside a live
one) would overwrite each other's checkpoints and predictions. :func:`run_lock` holds
``<run>/work/run.lock`` for the whole run; a second run refuses at once, naming the holder's PID,
host and command.

The lock is the kernel's advisory ``flock`` on that file, not the file's existence: the kernel drops
it when the holder exits in any way (SIGKILL, OOM kill, a lost node), so a lock left by a killed
run is taken over atomically by the next one, with no PID guessing and no window in which two
runs both see it free. The file only carries the holder's identity, for the message. On a normal
exit the holder deletes it; :func:`_acquire` rechecks after locking that the file it locked is
still the one at the path, so a run racing that deletion never locks a deleted file.

``flock`` works on local disks and on NFS (Linux maps it to NFS byte-range locks). A file system
without lock support makes :func:`run_lock` fail with a message saying so.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rpmbench.errors import RpmbenchError

LOCK_NAME = "run.lock"


class RunLockedError(RpmbenchError):
    """Another live process holds the run folder's lock."""


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the lock of ``run_dir`` (``<run_dir>/work/run.lock``) for the ``with`` block.

    Raises :class:`RunLockedError` at once if another live process holds it. A lock file left by
    a process that no longer runs is taken over (with a notice on stderr). Released, and its file
    removed, when the block exits, also on an exception or Ctrl-C.

    Examples::

        with run_lock("results/quick"):
            ...  # the only writer of results/quick
    """
    path = Path(run_dir) / "work" / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)  # while still locked: nobody can lock this file meanwhile
        os.close(fd)  # releases the flock
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # work/ only if the run left nothing else in it


def _acquire(path: Path) -> int:
    """Open, lock and stamp ``path``; return the open descriptor that holds the lock."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # a finishing holder removed the emptied work/ folder: recreate
            path.parent.mkdir(parents=True, exist_ok=True)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd, retries=5)
            os.close(fd)
            raise RunLockedError(_locked_message(path, holder)) from None
        except OSError as error:
            os.close(fd)
            raise RpmbenchError(
                f"{path}: cannot lock the run folder ({error.strerror}); its file system does not "
                "support file locks. Put --results-dir on a local disk or a lock-capable share."
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder deleted the file between our open and flock: retry
    stale = _read_holder(fd, retries=0)
    if stale:
        print(f"run lock: took over {path} from PID {stale.get('pid')} on {stale.get('host')}, "
              "which no longer runs", file=sys.stderr)
    stamp = json.dumps(_identity()).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, stamp, 0)
    return fd


def _identity() -> dict[str, Any]:
    """Who holds the lock: shown to a second run."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(sys.argv),
    }


def _read_holder(fd: int, retries: int) -> dict[str, Any] | None:
    """The holder's identity from the lock file, or None if it has none (yet)."""
    for attempt in range(retries + 1):
        try:
            return json.loads(os.pread(fd, 65536, 0).decode())
        except (ValueError, UnicodeDecodeError):
            if attempt < retries:
                time.sleep(0.05)  # the holder is between locking and writing its identity
    return None


def _locked_message(path: Path, holder: dict[str, Any] | None) -> str:
    run_dir = path.parent.parent
    if holder is None:
        who = "another process (it has not written its identity)"
    else:
        who = (f"PID {holder.get('pid')} on host {holder.get('host')} (started "
               f"{holder.get('started')}: {holder.get('command')})")
    return (f"{run_dir} is in use by {who}. Two runs on one folder would overwrite each other's "
            f"files: wait for that run to finish or stop it, then rerun this command to resume. "
            f"(Lock file: {path}; the lock ends with its process, so it cannot go stale.)")
