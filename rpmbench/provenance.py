"""What produced a result: git commit, library versions, device. Stored with every result file."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("torch", "torchvision", "numpy", "opencv-python-headless", "pillow", "mmcv")


def portable_path(path: str | Path) -> str:
    """``path`` as a result file may record it: relative to the working folder when inside it,
    else its last two parts (a machine's folders never enter a committed file)."""
    resolved = Path(path).expanduser().resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(Path(*resolved.parts[-2:]))


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
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def device_description(device: str = "cpu") -> str:
    """A human-readable name for ``device``: the GPU model, or the CPU model and core count."""
    import os

    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from rpmbench.cpus import available_cpus

    return (f"{cpu} ({os.cpu_count()} cores, {available_cpus()} usable by this process, "
            f"{torch.get_num_threads()} torch threads)")


def run_metadata(device: str = "cpu") -> dict[str, Any]:
    """Commit, versions and device, for embedding in a result JSON."""
    return {
        "git_commit": git_commit(),
        "versions": library_versions(),
        "device": device,
        "device_name": device_description(device),
        "platform": platform.platform(),
    }
