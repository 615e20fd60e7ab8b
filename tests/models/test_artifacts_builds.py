"""models.artifacts' build helpers: a child build's failure or hang is a sentence, not a hang."""

from __future__ import annotations

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
    assert not target.exists() and list(tmp_path.iterdir()) == []
    build_once(target, "done.json", lambda out: (out / "done.json").write_text("{}"))
    assert (target / "done.json").exists()
