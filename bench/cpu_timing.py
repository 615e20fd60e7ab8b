"""What the in-process benchmarks share: the median CPU time of a call."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_cpu_ms(call: Callable[[], object], repeat: int) -> float:
    """Median CPU milliseconds of `call` over `repeat` calls (this process's CPU: other jobs on
    the machine slow the wall clock, not this)."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)
