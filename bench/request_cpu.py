"""Benchmark: server CPU per `/recommend` request through the real HTTP service.

Starts the service over an AGORA_HOME with champions (one worker, a fresh key per role), sends
`--warmup` then `--requests` requests one after another on one connection, and prints the CPU
the server's processes (BentoML's arbiter and the worker) used per request, and the wall time
per request. Capacity on a small machine is bounded by this figure: one core serves at most
1 / (CPU per request) requests a second.

    python bench/request_cpu.py --home ~/.agora [--requests 3000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from pathlib import Path

import psutil

from cli.launcher import ServiceProcess, generate_api_keys, home_environment
from data.environment import apply_stack_environment


def server_cpu_seconds(processes: list[psutil.Process]) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="AGORA_HOME with champions")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--user", default="196", help="a user the recommender knows")
    args = parser.parse_args()
    apply_stack_environment()
    keys = generate_api_keys()
    env = home_environment(args.home.expanduser(), keys, AGORA_WORKERS="1")
    body = json.dumps({"user_id": args.user, "k": 10}).encode()
    headers = {"content-type": "application/json", "x-api-key": keys["read"]}
    with ServiceProcess(env) as server:
        assert server.process is not None
        root = psutil.Process(server.process.pid)
        processes = [root, *root.children(recursive=True)]
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

        def send(count: int) -> int:
            status = 0
            for _ in range(count):
                connection.request("POST", "/recommend", body, headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            return status

        send(args.warmup)
        cpu, wall = server_cpu_seconds(processes), time.perf_counter()
        status = send(args.requests)
        cpu = server_cpu_seconds(processes) - cpu
        wall = time.perf_counter() - wall
    per_request = 1000 / args.requests
    print(
        f"/recommend x {args.requests} (last status {status}): server CPU "
        f"{cpu * per_request:.2f} ms per request, wall {wall * per_request:.2f} ms"
    )


if __name__ == "__main__":
    main()
