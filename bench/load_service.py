"""Benchmark: the HTTP service under load, open loop, as clients would hit it.

Three measurements against a real `bentoml serve serving.service:Agora`:

1. `/recommend` at constant arrival rates (`--rates`, default 100 then 300 requests/s, 60 s
   each). Requests are launched on schedule whatever the answers do (open loop), and each
   latency is counted from the request's *scheduled* start, so a slow server or a lagging
   generator shows up in the figures instead of being hidden (no coordinated omission). The user
   mix comes from MovieLens-100K: 80% known users (uniform over its 943 users), 15% cold users
   with 1-8 recent_items drawn by item popularity, 5% brand-new users with nothing (popular
   fallback). A rate above capacity (e.g. 600) shows the load shedding: the excess is answered
   503 + Retry-After, and the table gives how fast those answers came.
2. `/triage` at constant rates (`--triage-rates`, default 100/s), one airline tweet per request,
   no customer_id (nothing is recorded), same open loop.
3. `/triage_batch` throughput in texts/s: batches of 64 and 1000 airline tweets sent back to back
   by `--batch-clients` clients at once (default one per core, as the service has one worker per
   core) for `--triage-seconds` per batch size.

It prints one table (p50/p95/p99/max latency over the 2xx answers, achieved rate, error rate =
non-2xx + exceptions, texts/s) and writes it as JSON with `--json PATH`. The 1-minute load average
of the machine is recorded before each phase: the generator runs on the same CPUs as the server,
so on a small machine it competes with the server for them, and other jobs do too.

Usage, against a running service (keys of its `read` and `triage` roles, see AGORA_API_KEYS):
    python bench/load_service.py --url http://127.0.0.1:3000 --read-key KEY --triage-key KEY
or starting one itself over an AGORA_HOME whose MLflow store holds @champion models
(e.g. after `agora train ...` and `agora models promote ...`, or `agora demo`):
    python bench/load_service.py --home ~/.agora [--json load.json]
Smaller run: --rates 50 --triage-rates 20 --duration 10 --triage-seconds 5. Needs the datasets
(mirror or cache) for the MovieLens ids and the airline texts. Exit status 1 when a request failed
other than by a 503 shed answer (a timeout, a refused connection, any other status). The issue's
targets are in the README's benchmark table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import aiohttp
import psutil
from load_report import BatchPhase, LatencySummary, RatePhase, print_table  # bench/ on sys.path
from load_workload import Request, recommend_requests, triage_requests, triage_texts

from cli.launcher import ServiceProcess, generate_api_keys, home_environment
from data.environment import apply_stack_environment

SHED = "HTTP 503"  # the service's load shedding answer: fast, with Retry-After


# -- open-loop /recommend -------------------------------------------------------------------------


async def _one(
    session: aiohttp.ClientSession, url: str, request: Request, scheduled: float
) -> tuple[str, float, str | None]:
    """(kind, seconds since the scheduled start, error or None)."""
    loop = asyncio.get_running_loop()
    try:
        async with session.post(url, data=request.body) as response:
            await response.read()
            error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        error = type(exc).__name__
    return request.kind, loop.time() - scheduled, error


async def run_rate(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[Request],
    rate: float,
) -> tuple[list[tuple[str, float, str | None]], float, float]:
    """Launch request i at start + i/rate, never waiting for earlier answers.

    Returns the outcomes, the phase's wall time and the largest launch lag in seconds.
    """
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks, max_lag = [], 0.0
    for number, request in enumerate(requests):
        scheduled = start + number / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            max_lag = max(max_lag, -delay)
        tasks.append(asyncio.create_task(_one(session, url, request, scheduled)))
    outcomes = await asyncio.gather(*tasks)
    return outcomes, loop.time() - start, max_lag


def summarize_rate(
    outcomes: list[tuple[str, float, str | None]],
    rate: float,
    wall_s: float,
    max_lag_s: float,
    load: float,
    generator_cpu_s: float,
    route: str = "/recommend",
) -> RatePhase:
    ok = [(kind, latency) for kind, latency, error in outcomes if error is None]
    error_kinds: dict[str, int] = {}
    for _, _, error in outcomes:
        if error is not None:
            error_kinds[error] = error_kinds.get(error, 0) + 1
    kinds = dict.fromkeys(kind for kind, _, _ in outcomes)
    by_kind = {
        kind: LatencySummary.of([latency for k, latency in ok if k == kind]) for kind in kinds
    }
    return RatePhase(
        target_rate=rate,
        duration_s=len(outcomes) / rate,
        sent=len(outcomes),
        errors=len(outcomes) - len(ok),
        error_kinds=error_kinds,
        achieved_rate=len(ok) / wall_s,
        max_send_lag_ms=max_lag_s * 1000,
        latency=LatencySummary.of([latency for _, latency in ok]),
        by_kind=by_kind if len(by_kind) > 1 else {},
        load_average_1m=load,
        generator_cpu=generator_cpu_s / wall_s,
        shed=LatencySummary.of([latency for _, latency, e in outcomes if e == SHED]),
        route=route,
    )


# -- closed-loop /triage_batch --------------------------------------------------------------------


async def run_batches(
    session: aiohttp.ClientSession,
    url: str,
    texts: list[str],
    size: int,
    seconds: float,
    clients: int,
) -> BatchPhase:
    """`clients` clients each send batches of `size` texts back to back for `seconds` (at
    least two batches each); texts/s counts every client's answered texts."""
    load = os.getloadavg()[0]
    count = len(texts)
    bodies = [
        json.dumps({"texts": [texts[(i * size + j) % count] for j in range(size)]}).encode()
        for i in range(max(2, count // size))
    ]
    await _post(session, url, bodies[0])  # warm-up
    latencies: list[float] = []
    answered = [0, 0]  # texts, failed batches
    started = time.perf_counter()

    async def client(offset: int) -> None:
        number = 0
        while number < 2 or time.perf_counter() - started < seconds:
            begin = time.perf_counter()
            payload = await _post(session, url, bodies[(offset + number) % len(bodies)])
            latencies.append(time.perf_counter() - begin)
            if payload is not None:
                answered[0] += len(json.loads(payload)["results"])
            else:
                answered[1] += 1
            number += 1

    await asyncio.gather(*(client(c * 7) for c in range(clients)))
    elapsed = time.perf_counter() - started
    return BatchPhase(
        size,
        len(latencies),
        answered[1],
        answered[0] / elapsed,
        LatencySummary.of(latencies),
        load,
        clients,
    )


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> bytes | None:
    """The answer's body, or None on a non-200 answer or a failed request."""
    try:
        async with session.post(url, data=body) as response:
            payload = await response.read()
            return payload if response.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, OSError):
        return None


async def wait_until_drained(
    session: aiohttp.ClientSession, url: str, limit_s: float = 300.0
) -> float:
    """Seconds until a /recommend probe is answered within 100 ms again.

    An overloaded server keeps working through requests its clients gave up on; measuring
    the next phase before it caught up would charge that backlog to the next phase.
    """
    probe = json.dumps({"user_id": "1", "k": 10}).encode()
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        begin = time.perf_counter()
        answered = await _post(session, url + "/recommend", probe)
        if answered is not None and time.perf_counter() - begin < 0.1:
            break
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def _rate_phase(
    session: aiohttp.ClientSession, url: str, route: str, requests: list[Request], rate: float
) -> RatePhase:
    load = os.getloadavg()[0]
    print(f"{route} at {rate:g}/s for {len(requests) / rate:g} s ...", file=sys.stderr)
    # No cyclic collection in the generator during a phase: its heap grows with every request
    # in flight and answered (tasks, aiohttp responses), and a full collection of it stalls the
    # generator for as long as it takes, which would be counted as server latency. Collected
    # after the phase instead.
    gc.collect()
    gc.disable()
    try:
        cpu_before = time.process_time()
        outcomes, wall, lag = await run_rate(session, url + route, requests, rate)
        cpu = time.process_time() - cpu_before
    finally:
        gc.enable()
        gc.collect()
    return summarize_rate(outcomes, rate, wall, lag, load, cpu, route)


def _renice(pid: int, niceness: int) -> None:
    """Lower the server's scheduling priority (its arbiter and workers) by `niceness`."""
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        process.nice(process.nice() + niceness)


def _headers(key: str | None) -> dict[str, str]:
    return {"content-type": "application/json", **({"x-api-key": key} if key else {})}


async def run(
    args: argparse.Namespace, url: str, read_key: str | None, triage_key: str | None
) -> dict[str, object]:
    """The phases: /recommend with the `read` role's key, /triage_batch with the `triage` one's."""
    headers = _headers(read_key)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    connector = aiohttp.TCPConnector(limit=0)  # open loop: never queue behind a pool limit
    rates: list[RatePhase] = []
    batches: list[BatchPhase] = []
    drained: list[float] = []  # seconds waited for the server to catch up before each phase
    async with aiohttp.ClientSession(
        headers=headers, timeout=timeout, connector=connector
    ) as session:
        warmup = recommend_requests(int(args.warmup_rate * 3), args.k, args.seed + 1, args.dataset)
        await run_rate(session, url + "/recommend", warmup, args.warmup_rate)
        for rate in args.rates:
            requests = recommend_requests(
                int(rate * args.duration), args.k, args.seed, args.dataset
            )
            drained.append(await wait_until_drained(session, url))
            rates.append(await _rate_phase(session, url, "/recommend", requests, rate))
        texts = triage_texts() if args.triage_rates or args.triage_seconds > 0 else []
        if args.triage_rates:
            async with aiohttp.ClientSession(
                headers=_headers(triage_key),
                timeout=timeout,
                connector=aiohttp.TCPConnector(limit=0),
            ) as triage_session:
                for rate in args.triage_rates:
                    requests = triage_requests(texts, int(rate * args.duration), args.seed)
                    drained.append(await wait_until_drained(session, url))
                    phase = await _rate_phase(triage_session, url, "/triage", requests, rate)
                    rates.append(phase)
        if args.triage_seconds > 0:
            for size in args.batch_sizes:
                drained.append(await wait_until_drained(session, url))
                print(
                    f"/triage_batch of {size} for {args.triage_seconds:g} s, "
                    f"{args.batch_clients} client(s)",
                    file=sys.stderr,
                )
                batch_url = url + "/triage_batch"
                async with aiohttp.ClientSession(
                    headers=_headers(triage_key), timeout=timeout
                ) as triage_session:
                    batches.append(
                        await run_batches(
                            triage_session,
                            batch_url,
                            texts,
                            size,
                            args.triage_seconds,
                            args.batch_clients,
                        )
                    )
    print_table(rates, batches)
    if any(wait > 1 for wait in drained):
        print(f"waited for the server to catch up before the phases: {drained} s")
    return {
        "url": url,
        "cpus": os.cpu_count(),
        "started_server": args.home is not None,
        "server_env": args.server_env if args.home is not None else None,
        "rates": [{**asdict(p), "error_rate": p.error_rate, "failures": p.failures} for p in rates],
        "triage_batch": [asdict(p) for p in batches],
        "drain_waits_s": drained,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running service, e.g. http://127.0.0.1:3000")
    target.add_argument("--home", type=Path, help="start a service over this AGORA_HOME")
    parser.add_argument(
        "--read-key", default=os.environ.get("AGORA_READ_KEY"), help="a `read` role key"
    )
    parser.add_argument(
        "--triage-key", default=os.environ.get("AGORA_TRIAGE_KEY"), help="a `triage` role key"
    )
    parser.add_argument(
        "--server-env",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for a server started with --home, e.g. OMP_NUM_THREADS=1 "
        "BENTOML_CONFIG_OPTIONS=services.agora.workers=2",
    )
    parser.add_argument(
        "--rates", type=float, nargs="*", default=[100.0, 300.0], help="/recommend requests/s"
    )
    parser.add_argument(
        "--triage-rates", type=float, nargs="*", default=[100.0], help="/triage requests/s"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per rate")
    parser.add_argument("--warmup-rate", type=float, default=50.0, help="for 3 s, not counted")
    parser.add_argument(
        "--server-nice",
        type=int,
        default=0,
        help="with --home: lower the server's priority by this much, so that on a saturated "
        "machine the generator keeps its schedule and its own delays stay out of the figures",
    )
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--dataset",
        default="movielens-100k",
        help="the interactions the /recommend user mix is drawn from (the champion's dataset)",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 1000])
    parser.add_argument(
        "--triage-seconds", type=float, default=20.0, help="per batch size; 0 skips batches"
    )
    parser.add_argument(
        "--batch-clients",
        type=int,
        default=os.cpu_count() or 1,
        help="concurrent /triage_batch clients (default: one per core, as many as workers)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if any(rate <= 0 for rate in [*args.rates, *args.triage_rates]) or args.duration <= 0:
        parser.error("--rates, --triage-rates and --duration must be positive")
    if args.batch_clients < 1:
        parser.error("--batch-clients must be at least 1")
    if bad := [pair for pair in args.server_env if "=" not in pair]:
        parser.error(f"--server-env takes KEY=VALUE pairs, got {bad}")

    apply_stack_environment()
    if args.home is not None:
        if not args.home.expanduser().is_dir():
            parser.error(f"--home {args.home} is not a directory (an AGORA_HOME with champions)")
        extra_env = dict(pair.split("=", 1) for pair in args.server_env)
        keys = generate_api_keys()
        with tempfile.TemporaryDirectory(prefix="agora-load-") as tmp:
            env = home_environment(
                args.home.expanduser(), keys, PROMETHEUS_MULTIPROC_DIR=tmp, **extra_env
            )
            with ServiceProcess(env, log_path=Path(tmp) / "service.log") as server:
                print(f"service pid {server.process.pid} ready at {server.url}", file=sys.stderr)
                if args.server_nice:
                    _renice(server.process.pid, args.server_nice)
                report = asyncio.run(run(args, server.url, keys["read"], keys["triage"]))
    else:
        report = asyncio.run(run(args, args.url.rstrip("/"), args.read_key, args.triage_key))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")
    failures = sum(p["failures"] for p in report["rates"])  # type: ignore[index, union-attr]
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
