"""What produced a result: command line, git commit, library versions, device, CPU threads.
Stored with every result file.

The command line is the one ``python -m rpmbench`` is running: :func:`recorded_command` puts it in
``$RPMBENCH_COMMAND`` for the command's duration, so worker processes and Slurm jobs (which inherit
the environment) record the command that started them, not their own entry point.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

_PACKAGES = ("torch", "torchvision", "numpy", "opencv-python-headless", "pillow", "mmcv")

#: Environment variable holding the running ``python -m rpmbench`` command line (portable form).
COMMAND_VARIABLE = "RPMBENCH_COMMAND"
#: An absolute path inside a command-line word: at its start or after ``=``, ``[``, ``,`` or a space.
_ABSOLUTE = re.compile(r"(?:^|(?<=[=\[,\s]))(?:~|/)[^,\[\]\s]*")


def portable_path(path: str | Path) -> str:
    """``path`` as a result file may record it: relative to the working folder when inside it,
    else its last two parts (a machine's folders never enter a committed file)."""
    resolved = Path(path).expanduser().resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(Path(*resolved.parts[-2:]))


def portable_argument(word: str) -> str:
    """``word`` of a command line with every absolute path in it made portable (:func:`portable_path`):
    ``/data/DAVIS`` -> ``data/DAVIS``, ``--set data.davis_root=/data/DAVIS`` likewise, lists included."""
    return _ABSOLUTE.sub(lambda match: portable_path(match.group(0)), word)


def command_line(argv: Sequence[str] | None = None) -> str:
    """A command line as a result records it, absolute paths made portable.

    Without ``argv``: the running ``python -m rpmbench`` command (``$RPMBENCH_COMMAND``, set by
    :func:`recorded_command`), else this process's ``sys.argv`` (a script run directly, a test).
    """
    if argv is None:
        recorded = os.environ.get(COMMAND_VARIABLE)
        if recorded:
            return recorded
        argv = ["python", *_entry_point(sys.argv[0]), *sys.argv[1:]]
    return shlex.join(portable_argument(word) for word in argv)


def _entry_point(program: str) -> list[str]:
    """``sys.argv[0]`` as typed: ``-m package`` for a package's ``__main__.py``, else the script."""
    path = Path(program)
    if path.name == "__main__.py":
        return ["-m", path.parent.name]
    return [program] if program else []


@contextlib.contextmanager
def recorded_command(args: Sequence[str]) -> Iterator[str]:
    """Within the block, :func:`command_line` is ``python -m rpmbench <args>`` (for this process and
    every process it starts); the previous value is restored after it."""
    previous = os.environ.get(COMMAND_VARIABLE)
    command = command_line(["python", "-m", "rpmbench", *args])
    os.environ[COMMAND_VARIABLE] = command
    try:
        yield command
    finally:
        if previous is None:
            os.environ.pop(COMMAND_VARIABLE, None)
        else:
            os.environ[COMMAND_VARIABLE] = previous


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of the file at ``path``, read ``chunk`` bytes at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def git_commit(repo: Path | None = None) -> str:
    """The current commit SHA (with ``-dirty`` if the tree has changes), or ``"unknown"``."""
    cwd = repo or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that change numbers (missing ones are omitted)."""
    from importlib import metadata  # imported here: the command line's start-up stays fast

    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def processor_name() -> str:
    """The CPU model (``/proc/cpuinfo``'s model name where there is one)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return cpu


def cpu_description() -> dict[str, Any]:
    """The processor and how many of its cores and threads this process has: ``processor``,
    ``cores`` (``os.cpu_count()``), ``usable_cpus`` (affinity and cgroup quota) and
    ``torch_threads`` (``torch.get_num_threads()``, what the CPU kernels use)."""
    import torch

    from rpmbench.cpus import available_cpus

    return {"processor": processor_name(), "cores": os.cpu_count(), "usable_cpus": available_cpus(),
            "torch_threads": torch.get_num_threads()}


def device_description(device: str = "cpu") -> str:
    """A human-readable name for ``device``: the GPU model, or the CPU model and core count."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    cpu = cpu_description()
    return (f"{cpu['processor']} ({cpu['cores']} cores, {cpu['usable_cpus']} usable by this process, "
            f"{cpu['torch_threads']} torch threads)")


def run_metadata(device: str = "cpu") -> dict[str, Any]:
    """Command line, commit, versions, device and CPU threads, for embedding in a result JSON."""
    return {
        "command": command_line(),
        "git_commit": git_commit(),
        "versions": library_versions(),
        "device": device,
        "device_name": device_description(device),
        "cpu": cpu_description(),
        "platform": platform.platform(),
    }
