"""What a load run measured, and the table bench/load_service.py prints from it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_s: list[float]) -> LatencySummary:
        if not latencies_s:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        ms = np.asarray(latencies_s) * 1000
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return cls(len(ms), float(p50), float(p95), float(p99), float(ms.max()))


@dataclass(frozen=True)
class RatePhase:
    """One constant-rate run: latency from the scheduled start, over successful requests."""

    target_rate: float
    duration_s: float
    sent: int
    errors: int
    error_kinds: dict[str, int]
    achieved_rate: float  # successful answers per second over the phase's wall time
    max_send_lag_ms: float  # how late the generator launched its latest request
    latency: LatencySummary
    by_kind: dict[str, LatencySummary]
    load_average_1m: float
    generator_cpu: float  # CPU-seconds the load generator used per second of the phase
    shed: LatencySummary  # the 503 answers (load shedding): how fast the excess was told
    route: str = "/recommend"

    @property
    def failures(self) -> int:
        """Errors that are not a shed 503: timeouts, refused connections, other statuses."""
        return self.errors - self.shed.count

    @property
    def error_rate(self) -> float:
        return self.errors / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class BatchPhase:
    batch_size: int
    batches: int
    errors: int
    texts_per_s: float
    batch_latency: LatencySummary
    load_average_1m: float
    clients: int = 1  # sending batches at the same time


def print_table(rates: list[RatePhase], batches: list[BatchPhase]) -> None:
    print(f"\nCPUs: {os.cpu_count()} (shared by the load generator and the server)")
    print("latency counts from each request's scheduled start; lag = the generator's own delay")
    header = (
        f"{'route':<12}{'target/s':>9}{'achieved/s':>11}{'sent':>7}{'err %':>7}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}{'lag ms':>8}{'load1':>7}"
    )
    print(header)
    for phase in rates:
        lat = phase.latency
        print(
            f"{phase.route:<12}{phase.target_rate:>9.0f}{phase.achieved_rate:>11.1f}{phase.sent:>7}"
            f"{100 * phase.error_rate:>7.2f}{lat.p50_ms:>8.1f}{lat.p95_ms:>8.1f}"
            f"{lat.p99_ms:>8.1f}{lat.max_ms:>8.1f}{phase.max_send_lag_ms:>8.1f}"
            f"{phase.load_average_1m:>7.2f}"
        )
        for kind, kind_lat in phase.by_kind.items():
            print(
                f"{'  ' + kind:<12}{'':>9}{'':>11}{kind_lat.count:>7}{'':>7}"
                f"{kind_lat.p50_ms:>8.1f}{kind_lat.p95_ms:>8.1f}{kind_lat.p99_ms:>8.1f}"
                f"{kind_lat.max_ms:>8.1f}"
            )
        if phase.error_kinds:
            print(f"  errors: {phase.error_kinds}")
        if phase.shed.count:
            shed = phase.shed
            print(
                f"  shed with 503: {shed.count} answers, p50 {shed.p50_ms:.1f} ms, "
                f"p99 {shed.p99_ms:.1f} ms, max {shed.max_ms:.1f} ms"
            )
        print(f"  load generator used {phase.generator_cpu:.2f} CPU-s per s")
    print(
        f"\n{'/triage_batch':<14}{'clients':>8}{'batches':>8}{'errors':>7}{'texts/s':>9}"
        f"{'p50 ms':>9}{'max ms':>9}{'load1':>7}"
    )
    for phase in batches:
        print(
            f"{'size ' + str(phase.batch_size):<14}{phase.clients:>8}{phase.batches:>8}"
            f"{phase.errors:>7}"
            f"{phase.texts_per_s:>9.0f}{phase.batch_latency.p50_ms:>9.0f}"
            f"{phase.batch_latency.max_ms:>9.0f}{phase.load_average_1m:>7.2f}"
        )
