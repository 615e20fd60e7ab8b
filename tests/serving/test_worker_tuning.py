"""serving.worker_tuning: loaded models leave the collector's reach, replaced ones are still
reclaimed."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.worker_tuning import SWITCH_INTERVAL_S, prefer_the_event_loop, settle_after_load

ROOT = Path(__file__).resolve().parents[2]


class _Model:
    """Stands in for a loaded model: holds a reference cycle, as real model graphs do."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _thaw() -> Iterator[None]:
    yield
    gc.unfreeze()  # leave the test process's collector as it was


def test_loaded_objects_are_frozen_out_of_collections() -> None:
    model = _Model()
    settle_after_load()
    assert gc.get_freeze_count() > 0
    assert not any(obj is model for obj in gc.get_objects())  # frozen: no generation holds it


def test_a_replaced_model_is_reclaimed_at_the_next_settle() -> None:
    old = _Model()
    settle_after_load()
    gone = weakref.ref(old)
    del old  # the swap: nothing references the old model but its own cycle
    settle_after_load()
    assert gone() is None


def test_the_event_loop_gets_the_gil_within_a_millisecond() -> None:
    before = sys.getswitchinterval()
    try:
        prefer_the_event_loop()
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)
        assert before > SWITCH_INTERVAL_S
    finally:
        sys.setswitchinterval(before)


# A fresh interpreter per case, as a worker starts: telling torch a thread count rebuilds its
# thread pools, which the test process's other tests (fine-tunes, encoders) also use.
_SHARE_IN_A_WORKER = """
import os, sys
os.cpu_count = lambda: {cores}
import torch
from models.classifiers.onnx_runner import inference_threads
from serving.worker_tuning import share_the_cores
print(share_the_cores({workers}), inference_threads(), torch.get_num_threads())
"""


@pytest.mark.parametrize(
    ("cores", "workers", "share"), [(2, 2, 1), (8, 2, 4), (2, 4, 1), (1, 1, 1)]
)
def test_each_worker_gets_its_share_of_the_cores_for_inference(
    cores: int, workers: int, share: int
) -> None:
    code = _SHARE_IN_A_WORKER.format(cores=cores, workers=workers)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    told, onnx_threads, torch_threads = map(int, done.stdout.split()[-3:])
    assert (told, onnx_threads, torch_threads) == (share, share, share)
