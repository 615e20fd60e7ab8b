"""The bounded drills (bench/drills.py --quick) pass against a real service: oversized bodies,
the slow-pattern text, wrong keys and content types, junk paths and a schema fuzz run, each
answered in under a second while a bystander's feeds keep answering."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serving.conftest import load_bench_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_quick_drills_all_pass(champions_home: Path) -> None:
    drills = load_bench_module("drills")
    results = drills.run_drills(champions_home, quick=True)  # type: ignore[attr-defined]
    assert len(results) >= 10
    failed = [r for r in results if not r.passed]
    assert not failed, failed
