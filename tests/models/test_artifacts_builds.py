"""models.artifacts' build helpers: a child build's failure or hang is a sentence, not a hang."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from models.artifacts import build_in_child, build_once


def test_a_failing_child_build_raises_with_its_error_output() -> None:
    with pytest.raises(RuntimeError, match=r"failed \(exit 1\).*No module named"):
        build_in_child("models.no_such_builder", timeout_s=60)


def test_a_child_build_that_outlives_its_timeout_is_stopped() -> None:
    sleep = "import time; time.sleep(30)"
    with pytest.raises(RuntimeError, match="did not finish within 1 s"):
        build_in_child("timeit", "-n", "1", sleep, timeout_s=1)


def test_a_failed_build_leaves_no_folder_and_a_later_one_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "built"

    def fail(_: Path) -> None:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        build_once(target, "done.json", fail)
    # Only the lock file stays (kept on purpose, see data.locks): no folder, no staging leftovers.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".built.lock"]
    build_once(target, "done.json", lambda out: (out / "done.json").write_text("{}"))
    assert (target / "done.json").exists()


def _build_slowly(target: str, log: str) -> None:
    """Build `target` once, taking long enough that a second process asks meanwhile."""

    def build(out: Path) -> None:
        with open(log, "a") as handle:
            handle.write("built\n")
        time.sleep(1.0)
        (out / "done.json").write_text("{}")

    build_once(Path(target), "done.json", build)


def test_processes_that_need_the_same_folder_together_build_it_once(tmp_path: Path) -> None:
    target, log = tmp_path / "built", tmp_path / "builds.log"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_build_slowly, args=(str(target), str(log))) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    assert log.read_text().splitlines() == ["built"]
    assert (target / "done.json").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_a_folder_left_without_its_marker_is_rebuilt(tmp_path: Path) -> None:
    target = tmp_path / "built"
    target.mkdir()
    (target / "partial.bin").write_text("x")
    build_once(target, "done.json", lambda out: (out / "done.json").write_text("{}"))
    assert sorted(p.name for p in target.iterdir()) == ["done.json"]
