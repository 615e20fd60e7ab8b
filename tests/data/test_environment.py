"""The stack's environment: defaults that never override the user's, and OpenBLAS capped."""

from __future__ import annotations

import os

import numpy as np  # loads OpenBLAS before the cap, as any real entry point does
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from data.environment import STACK_ENVIRONMENT, apply_stack_environment, stack_environment


def test_child_environment_fills_defaults_and_keeps_what_is_set() -> None:
    env = stack_environment({"HF_HUB_OFFLINE": "0", "PATH": "/bin"})
    assert env["HF_HUB_OFFLINE"] == "0"  # the caller's value wins
    assert env["PATH"] == "/bin"
    assert {k: env[k] for k in STACK_ENVIRONMENT if k != "HF_HUB_OFFLINE"} == {
        k: v for k, v in STACK_ENVIRONMENT.items() if k != "HF_HUB_OFFLINE"
    }


def test_apply_sets_defaults_and_caps_blas_threads_already_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert np.ones(1).sum() == 1
    for key in STACK_ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "numpy loaded no BLAS library"
    with threadpool_limits(limits=2, user_api="blas"):  # restored when the test ends
        apply_stack_environment()
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        assert os.environ["TOKENIZERS_PARALLELISM"] == "true"
        capped = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert capped and all(pool["num_threads"] == 1 for pool in capped)
