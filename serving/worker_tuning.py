"""Interpreter settings of a service worker, for its tail latency.

The heap: a worker holds a few hundred thousand long-lived objects once its champions are loaded
(model tables, MLflow and BentoML modules). A full (generation 2) collection walks all of them,
which takes a couple of hundred milliseconds on this kind of machine, and the interpreter starts one
whenever enough request objects have survived to older generations: under load that pause lands
on whatever request is running and dominates the tail latency. Freezing the heap after a load
moves those objects to a permanent generation the collector skips, so a collection only walks
what requests allocated since.

The GIL: a worker runs its event loop (reading requests, answering health checks and shedding
excess load with 503s) on one thread and the models on another. While a model holds the GIL the
loop waits for the interpreter's switch interval (5 ms by default) each time it needs to run, so
under load reading, answering and shedding queue behind model work. A 1 ms interval lets the
loop in promptly; a model step costs a little more in switches.

Threads: the service runs one worker process per core, so a model that spreads one request over
every core (ONNX Runtime and torch do by default) makes the workers contend for the same cores.
Each worker gets its share of the cores for inference instead.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time

from models.classifiers.onnx_runner import inference_threads, set_inference_threads

logger = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.001
# A reload and the knowledge base's refresh settle from threads of their own; torch rebuilds its
# thread pools when told a new count, so two threads must never tell it at once.
_TORCH_TOLD = threading.Lock()


def prefer_the_event_loop() -> None:
    """Shorten the GIL switch interval of this process (see the module's docstring)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def share_the_cores(workers: int) -> int:
    """Give this worker's inference its share of the cores (at least one); returns the share.

    Call it before models load: ONNX Runtime reads it when a session is created. Torch is told
    only once something has imported it (a torch-served model; `settle_after_load` tells it after
    each load), so a service without one never pays for importing torch.
    """
    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    set_inference_threads(share)
    _tell_torch()
    return share


def _tell_torch() -> None:
    torch = sys.modules.get("torch")
    share = inference_threads()
    if torch is None or share <= 0:
        return
    with _TORCH_TOLD:
        if torch.get_num_threads() != share:
            torch.set_num_threads(share)


def settle_after_load() -> None:
    """Collect the garbage of a (re)load, then freeze what survived.

    Call it after every swap of the served models: unfreezing first lets the collector reclaim
    the replaced models' cycles, which a freeze would otherwise keep for the process's life.
    """
    _tell_torch()  # a model loaded just now may have imported torch
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    logger.info(
        "heap settled: %d objects frozen in %.0f ms",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
