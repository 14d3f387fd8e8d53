"""How many CPUs this process may use: the default torch thread count of every run.

torch starts with one thread per core it sees, which on a Slurm allocation, a container or a
shared machine is more than the process was granted; oversubscribed, a training step takes
seconds instead of a fraction of one. :func:`available_cpus` reads what the process may use.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

#: cgroup v2 and v1 files holding a CPU quota (``quota period``; ``max`` = no limit).
CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def cgroup_cpu_limit() -> int | None:
    """The CPU quota of this process's cgroup, rounded up to whole CPUs; None without one."""
    try:
        if CGROUP_V2_MAX.is_file():
            quota, period = CGROUP_V2_MAX.read_text().split()[:2]
            if quota == "max":
                return None
            return max(1, math.ceil(int(quota) / int(period)))
        if CGROUP_V1_QUOTA.is_file() and CGROUP_V1_PERIOD.is_file():
            quota = int(CGROUP_V1_QUOTA.read_text())
            return None if quota <= 0 else max(1, math.ceil(quota / int(CGROUP_V1_PERIOD.read_text())))
    except (OSError, ValueError):
        return None
    return None


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), capped by its cgroup's CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return max(1, min(count, limit) if limit is not None else count)
