"""A worker that died without shutting down leaves no live gauge behind on /metrics.

Regression: BentoML drops a worker's live gauges (`livemax`, `livemin`, `livesum`) only when its
interpreter shuts down; a worker killed and started again by the arbiter left its last values,
so its knowledge base refresh time held the replica's minimum back (a stale alert for good).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from serving.ops_metrics import forget_dead_workers


def _a_dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_started_worker_forgets_the_live_gauges_of_dead_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead, alive = _a_dead_pid(), os.getpid()
    files = {
        name: tmp_path / name
        for name in (
            f"gauge_livemax_{dead}.db",
            f"gauge_livemin_{dead}.db",
            f"gauge_max_{dead}.db",  # not live: a dead worker's value still counts
            f"counter_{dead}.db",  # counters keep every worker's counts
            f"gauge_livemax_{alive}.db",
        )
    }
    for path in files.values():
        path.write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert forget_dead_workers() == [dead]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"gauge_max_{dead}.db", f"counter_{dead}.db", f"gauge_livemax_{alive}.db"]
    )


def test_without_a_multiprocess_folder_there_is_nothing_to_forget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert forget_dead_workers() == []
