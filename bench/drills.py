"""Drills: abuse and failures against a real service, each answered as a client would see it.

Starts `bentoml serve serving.service:Agora` over an AGORA_HOME whose registry holds @champion
models (the launcher, with a fresh key per role), then runs, while a bystander client keeps
asking for feeds every 50 ms:

- oversized bodies: 50 MB to /recommend with a Content-Length, and streamed chunked without one;
- the slow-pattern input: a 100 KB text of one letter (and of `a@` repeated) to /triage with a
  customer id (its redaction used to be quadratic);
- keys: none (401), a `read` key on /admin/reload and /corrections (403), text/plain (415);
- 300 junk paths (404) and the growth of /metrics they cause;
- a schema fuzz run (schemathesis, `--checks all`, bounded examples) when it is installed;
- kill -9 mid-ingest: events posted in batches while the server is SIGKILLed and restarted;
  every acknowledged event must be stored exactly once;
- a registry outage: a restart with the registry unreachable serves the cached champions.

Prints one table (drill, expected, observed, seconds, verdict) and exits 1 if any drill failed.
`--quick` runs smaller versions of the abuse drills and the fuzz run, and leaves out the kill and
registry drills, whose full versions CI runs anyway (tests/serving/test_event_durability.py and
test_service_http.py's registry-outage restart); CI runs it through tests/serving/test_drills.py.

    python bench/drills.py --home ~/.agora [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill_clients import Bystander, Client, raw_upload  # bench/ on sys.path
from schema_fuzz import ROLE_ROUTES, SCHEMATHESIS, fuzz_role

from cli.launcher import ServiceProcess, generate_api_keys, home_environment
from data.environment import apply_stack_environment
from data.store import Store

ANSWER_WITHIN_S = 1.0  # every abuse must be answered within this


@dataclass(frozen=True)
class Outcome:
    drill: str
    expected: str
    observed: str
    seconds: float
    passed: bool


def _timed(drill: str, expected: str, check: Callable[[], tuple[str, bool]]) -> Outcome:
    started = time.perf_counter()
    try:
        observed, passed = check()
    except Exception as error:  # a drill that crashes is a failed drill, with the reason
        observed, passed = f"{type(error).__name__}: {error}", False
    return Outcome(drill, expected, observed, time.perf_counter() - started, passed)


def abuse_drills(client: Client, quick: bool) -> list[Outcome]:
    """Oversized bodies, the slow pattern, wrong keys, wrong content type, junk paths."""
    size = (5 if quick else 50) << 20
    key = client.keys["read"]
    results = []
    for chunked in (False, True):
        label = "chunked" if chunked else "with Content-Length"

        def upload(chunked: bool = chunked) -> tuple[str, bool]:
            status, seconds, _ = raw_upload(
                client.host, client.port, "/recommend", key, size, chunked
            )
            return f"{status} in {seconds:.2f} s", status == 413 and seconds < ANSWER_WITHIN_S

        results.append(_timed(f"{size >> 20} MB body, {label}", "413 < 1 s", upload))
    for pattern in ("a", "a@"):

        def slow_pattern(pattern: str = pattern) -> tuple[str, bool]:
            text = (pattern * (100_000 // len(pattern)))[:100_000]
            body = {"text": text, "customer_id": "drill-customer"}
            status, _, seconds = client.post("/triage", body, role="triage")
            return f"{status} in {seconds:.2f} s", status == 200 and seconds < ANSWER_WITHIN_S

        results.append(_timed(f"100 KB of '{pattern}' to /triage", "200 < 1 s", slow_pattern))

    def status_of(
        method: str, path: str, role: str | None, **kw: Any
    ) -> Callable[[], tuple[str, bool]]:
        expected = kw.pop("expect")

        def check() -> tuple[str, bool]:
            status, answer, seconds = client.call(method, path, kw.pop("body", b"{}"), role, **kw)
            shaped = isinstance(answer, dict) and "error" in answer
            return f"{status} in {seconds:.2f} s", status == expected and shaped

        return check

    results.append(
        _timed("no key, /recommend", "401", status_of("POST", "/recommend", None, expect=401))
    )
    results.append(
        _timed(
            "read key, /admin/reload", "403", status_of("POST", "/admin/reload", "read", expect=403)
        )
    )
    results.append(
        _timed(
            "read key, /corrections", "403", status_of("POST", "/corrections", "read", expect=403)
        )
    )
    results.append(
        _timed(
            "text/plain to /events",
            "415",
            status_of("POST", "/events", "events", expect=415, content_type="text/plain"),
        )
    )

    def junk_paths() -> tuple[str, bool]:
        before = len(client.call("GET", "/metrics", None, None)[1] or "")
        statuses = {client.call("GET", f"/junk-{n}", None, "read")[0] for n in range(300)}
        after = len(client.call("GET", "/metrics", None, None)[1] or "")
        growth = after - before
        return f"{sorted(statuses)}; /metrics +{growth} bytes", statuses == {
            404
        } and growth < 10_000

    results.append(_timed("300 junk paths", "404, /metrics flat", junk_paths))
    return results


def fuzz_drill(server: ServiceProcess, client: Client, quick: bool) -> Outcome:
    """schemathesis `--checks all` against the served OpenAPI document, one run per role."""
    started = time.perf_counter()
    if not SCHEMATHESIS.exists():
        return Outcome("schema fuzz", "0 failures", "schemathesis is not installed", 0.0, False)
    runs = []
    with tempfile.TemporaryDirectory(prefix="agora-fuzz-") as folder:
        for role in ROLE_ROUTES:
            examples = 5 if quick else 50
            runs.append(fuzz_role(server.url, role, client.keys[role], Path(folder), examples))
    failed = [run.role for run in runs if not run.passed]
    observed = f"{len(runs)} role runs, failed: {', '.join(failed) or 'none'}"
    return Outcome("schema fuzz", "0 failures", observed, time.perf_counter() - started, not failed)


def kill_drill(env: dict[str, str], keys: dict[str, str], store_url: str) -> Outcome:
    """Events in batches while the server is SIGKILLed once mid-stream and restarted."""
    started = time.perf_counter()
    batches = 100
    events = [
        [
            {
                "event_id": f"drill-{b:04d}-{i:02d}",
                "user_id": f"drill-u{i}",
                "item_id": str(1 + (b * 50 + i) % 1682),
                "type": "view",
                "timestamp": 1_700_000_000 + b,
            }
            for i in range(50)
        ]
        for b in range(batches)
    ]
    server = ServiceProcess(env).start()
    client = Client("127.0.0.1", server.port, keys)
    acknowledged = 0
    try:
        for number, batch in enumerate(events):
            if number == batches // 2:
                server.stop(signal.SIGKILL)
                server = ServiceProcess(env, port=server.port).start()
            while True:
                try:
                    status, _, _ = client.post("/events", {"events": batch}, role="events")
                except OSError:
                    time.sleep(0.1)
                    continue
                if status == 200:
                    acknowledged += len(batch)
                    break
                time.sleep(0.1)
    finally:
        server.stop()
    stored = Store(store_url).events.frame()
    ids = stored["event_id"].tolist()
    ok = len(ids) == len(set(ids)) == acknowledged == batches * 50
    return Outcome(
        "kill -9 mid-ingest",
        "every acknowledged event once",
        f"{acknowledged} acknowledged, {len(ids)} stored, {len(set(ids))} distinct",
        time.perf_counter() - started,
        ok,
    )


def registry_outage_drill(env: dict[str, str], keys: dict[str, str]) -> Outcome:
    """A restart with the registry unreachable serves the cached champions."""

    def check() -> tuple[str, bool]:
        dead = {**env, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}  # nothing listens on port 9
        with ServiceProcess(dead) as server:
            client = Client("127.0.0.1", server.port, keys)
            status, info, _ = client.call("GET", "/model_info", None, "admin")
            sources = sorted({m["source"] for m in (info or {}).get("models", {}).values()})
            feed = client.post("/recommend", {"user_id": "196", "k": 5})[0]
        return f"model_info {status} {sources}; feed {feed}", sources == [
            "local-cache"
        ] and feed == 200

    return _timed("registry outage restart", "cached champions serve", check)


def abuse_with_bystander(client: Client, quick: bool) -> list[Outcome]:
    """The abuse drills while a bystander asks for feeds, and how the bystander fared."""
    bystander = Bystander(client).start()
    time.sleep(0.5)
    try:
        results = abuse_drills(client, quick)
    finally:
        bystander.stop()
    latencies = sorted(bystander.latencies)
    worst = latencies[-1] if latencies else float("nan")
    results.append(
        Outcome(
            "bystander feeds during abuse",
            "no failure, worst < 1 s",
            f"{len(latencies)} ok, {len(bystander.failures)} failed, worst {worst:.3f} s",
            0.0,
            not bystander.failures and bool(latencies) and worst < ANSWER_WITHIN_S,
        )
    )
    return results


def run_drills(home: Path, quick: bool = False) -> list[Outcome]:
    """Every drill against services over a copy of `home` (the original is never written)."""
    with tempfile.TemporaryDirectory(prefix="agora-drills-") as scratch:
        work = Path(scratch) / "home"
        shutil.copytree(home, work, ignore=shutil.ignore_patterns("agora-store.db*", "*.log"))
        store_url = f"sqlite:///{Path(scratch) / 'drill-store.db'}"
        keys = generate_api_keys()
        env = home_environment(work, keys, AGORA_STORE_URL=store_url)
        results: list[Outcome] = []
        with ServiceProcess(env) as server:  # first start also fills the champion cache
            client = Client("127.0.0.1", server.port, keys)
            results += abuse_with_bystander(client, quick)
            results.append(fuzz_drill(server, client, quick))
        if quick:
            return results
        kill_store = f"sqlite:///{Path(scratch) / 'kill-store.db'}"
        results.append(kill_drill({**env, "AGORA_STORE_URL": kill_store}, keys, kill_store))
        results.append(registry_outage_drill(env, keys))
    return results


def print_table(results: list[Outcome]) -> None:
    width = max(len(r.drill) for r in results)
    print(f"{'drill':<{width}}  {'expected':<30}  {'observed':<46}  {'s':>6}  verdict")
    for r in results:
        verdict = "PASS" if r.passed else "FAIL"
        print(
            f"{r.drill:<{width}}  {r.expected:<30}  {r.observed:<46}  {r.seconds:6.2f}  {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="AGORA_HOME with champions")
    parser.add_argument("--quick", action="store_true", help="smaller drills (CI)")
    args = parser.parse_args()
    apply_stack_environment()
    results = run_drills(args.home.expanduser(), quick=args.quick)
    print_table(results)
    sys.exit(0 if all(r.passed for r in results) else 1)


if __name__ == "__main__":
    main()
