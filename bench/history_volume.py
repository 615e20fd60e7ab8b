"""Benchmark: what an operator's reads cost as the desk's history grows (a store filled by
`bench/history_fill.py`).

In process, on one store: the desk queue's first page and count (open cases of the last 7, 30
and 90 days), the complaint summary `GET /analytics/complaints` answers (7 and 92 days, by
reason), one spike analysis (`POST /admin/analyse`), and, with `--knowledge`, how long a worker
takes to hold every resolved case (`ServedKnowledge.catch_up`, what a worker does after start),
the memory that adds, and `similar_cases` per query (p50 / p99 of 50 calls on one thread).

    python bench/history_volume.py --store-url sqlite:////tmp/year.db [--knowledge --home HOME]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from data.environment import apply_stack_environment
from data.store import Store
from data.store.case_queue import QueueFilter
from models.classifiers.onnx_runner import set_inference_threads
from serving.complaint_analysis import AnalysisSettings, analyse
from serving.complaint_summary import complaint_summary
from serving.knowledge import KnowledgeSettings, ServedKnowledge

DAY_S = 86400.0
URGENCY_ORDER = ("low", "normal", "high", "critical")
QUERIES = (
    "My bag was lost at JFK and nobody calls back",
    "flight delayed 5 hours, missed my connection, want a refund",
    "外卖送到的时候已经凉了，而且少了一份米饭",
)


def timed(label: str, call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = call()
    print(f"{label:<40} {(time.perf_counter() - started) * 1000:8.0f} ms", flush=True)
    return result


def operator_reads(store: Store) -> None:
    now = time.time()
    for days in (7, 30, 90):
        which = QueueFilter(now - days * DAY_S, now, "open")
        timed(
            f"desk queue: first page, {days} days",
            lambda w=which: store.queue.page(w, URGENCY_ORDER),
        )
        timed(f"desk queue: count, {days} days", lambda w=which: store.queue.count(w))
    for days in (7, 92):
        since = now - days * DAY_S
        timed(
            f"complaint summary, {days} days",
            lambda s=since: complaint_summary(store, s, now, "reason"),
        )
    timed("spike analysis of one window", lambda: analyse(store, now, AnalysisSettings.from_env()))


def knowledge(store: Store, home: Path) -> None:
    set_inference_threads(1)  # as a service worker
    served = ServedKnowledge(store.resolutions, KnowledgeSettings(), home / "serving-cache")
    process = psutil.Process()
    gc.collect()
    before = process.memory_info().rss
    started = time.perf_counter()
    embedded = served.catch_up()
    took = time.perf_counter() - started
    gc.collect()
    grown = (process.memory_info().rss - before) / 1e6
    print(f"knowledge base: {embedded:,} cases held after {took:.0f} s; RSS +{grown:.0f} MB")
    print("  (with the encoder, loaded by the first case: tens of MB; 10-30 s on a fresh cache)")
    for text in QUERIES:
        times = []
        for _ in range(50):
            t0 = time.perf_counter()
            found = served.similar_cases(text)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"  similar_cases p50 {statistics.median(times):.2f} ms p99 "
            f"{float(np.percentile(times, 99)):.2f} ms, {len(found)} found: {text[:30]}"
        )


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store-url", required=True)
    parser.add_argument("--knowledge", action="store_true")
    parser.add_argument("--home", type=Path, default=Path.home() / ".agora")
    args = parser.parse_args()
    store = Store(args.store_url, must_exist=True)
    operator_reads(store)
    if args.knowledge:
        knowledge(store, args.home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
