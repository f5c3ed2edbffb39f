"""Peak memory of this process, in MB.

Read from /proc/self/status (VmHWM): it belongs to the current program image, whereas
``ru_maxrss`` survives exec and so reports a forking parent's size in a fresh child.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
