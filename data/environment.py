"""The process environment the stack needs, defined once: offline model hubs, no telemetry, one
OpenBLAS thread.

Without `HF_HUB_OFFLINE` a model named by its hub id retries the network for a long time before
failing; implicit warns and slows down when OpenBLAS runs several threads of its own; the
telemetry switches keep every run offline. Every entry point applies these defaults: the `agora`
CLI, the service launcher (for the child's environment), the test session, and the service module
itself (BentoML workers import it directly). A value already in the environment wins, so a user
can still opt in to more threads or to the hub.

Importing this module changes nothing; `apply_stack_environment()` does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from types import MappingProxyType

logger = logging.getLogger(__name__)

BLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"
STACK_ENVIRONMENT: Mapping[str, str] = MappingProxyType(
    {
        BLAS_THREADS_ENV: "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "BENTOML_DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "TOKENIZERS_PARALLELISM": "false",
    }
)


def stack_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with the stack's defaults where unset.

    For a child process: pass the result as its `env`.
    """
    return {**STACK_ENVIRONMENT, **(os.environ if base is None else base)}


def apply_stack_environment() -> None:
    """Set the stack's defaults in this process's environment and cap OpenBLAS's threads now.

    Call it before heavy imports where possible: Hugging Face reads its offline switch when it is
    imported. OpenBLAS reads its variable when it loads, so a library loaded earlier (numpy is
    often imported first) is capped at run time with threadpoolctl instead.
    """
    for key, value in STACK_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    limit_blas_threads()


def limit_blas_threads() -> None:
    """Cap the BLAS pools already loaded at `OPENBLAS_NUM_THREADS`; OpenMP pools are untouched
    (torch encodes texts with them)."""
    from threadpoolctl import threadpool_limits

    try:
        threads = max(1, int(os.environ.get(BLAS_THREADS_ENV, "1")))
    except ValueError:
        logger.warning("%s is not an integer; using 1", BLAS_THREADS_ENV)
        threads = 1
    threadpool_limits(limits=threads, user_api="blas")
