"""How much memory this process has used: the figure each scored chunk records
(``ScoringChunk.peak_rss_mb``) and the nightly run's counts and ``bench_rescore`` report."""

from __future__ import annotations

import resource
import sys


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.  On Linux, VmHWM of /proc/self/status:
    getrusage's maxrss of a process started by fork and exec also counts what its parent held
    at the fork (Linux carries the old memory's high-water mark across exec), so a worker
    started by a big parent would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
