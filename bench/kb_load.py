"""Benchmark: what similar_cases costs `/triage`, with a knowledge base of a realistic size.

1. Seeds a fresh store with `--cases` resolved cases: airline tweets with a complaint reason,
   recorded as triages (reason, airline as category) and resolved with a note per reason.
2. Measures in process what one /triage adds: `KnowledgeBase.similar` on one tweet (embedding
   the text with the served encoder, `--encoder` or the default, on one thread, then the
   search), median and p99 over `--calls` tweets.
3. Starts the service over `--home` (its @champion models) on that store twice, with
   AGORA_SIMILAR_CASES=1 and =0, waits until every worker holds the knowledge base, and runs
   `bench/load_service.py` (open loop, `/triage` only, `--rate` requests/s for `--duration` s,
   one airline tweet per request, drawn from all 14,640 tweets) against each. Before the load,
   `--calls` sequential /triage calls (tweets drawn from all of them, none a case's text) give
   the server's CPU per request (all its processes), which depends far less than latency on
   what else runs on the machine.

Usage:
    python bench/load_service.py --help          # what the load phase measures
    python bench/kb_load.py --home ~/.agora [--cases 1000] [--rate 100] [--duration 30]
The serving target (issue 12): /triage p99 <= 20 ms at 100 requests/s on 2 cores, generator on
the same cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from cli.launcher import ServiceProcess, generate_api_keys, home_environment
from data import schemas as S
from data.environment import apply_stack_environment
from data.loaders import load_labelled_texts
from data.store import Store
from data.store.resolutions import RESOLVED, WORKAROUND
from features.embeddings import default_cache_dir
from models.classifiers.onnx_runner import set_inference_threads
from models.knowledge import (
    DEFAULT_KB_ENCODER,
    MIN_SIMILARITY,
    KbEncoder,
    KnowledgeBase,
    knowledge_encoder,
)

BENCH = Path(__file__).resolve().parent
NOTES = {
    "Late Flight": "Apologised, rebooked on the next departure and sent a meal voucher.",
    "Lost Luggage": "Traced the bag; delivered to the customer's address the next day.",
    "Cancelled Flight": "Rebooked at no charge and refunded the unused segment.",
    "Customer Service Issue": "Escalated to the duty manager, who called the customer back.",
}


def seed_store(url: str, cases: int, seed: int) -> tuple[list[str], list[str]]:
    """Record `cases` complaint tweets and resolve each; returns (case texts, other tweets)."""
    frame = load_labelled_texts("airline-sentiment")
    frame = frame[frame[S.REASON].fillna("") != ""].drop_duplicates(S.TEXT)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    picked, rest = frame.iloc[:cases], frame.iloc[cases:]
    store = Store(url)
    for i, row in enumerate(picked.itertuples(index=False)):
        reason = getattr(row, S.REASON)
        outputs = {"reason": {"label": reason}, "category": {"label": row.airline}}
        triage_id = store.triage.record(
            getattr(row, S.TEXT), outputs, {}, "en", True, customer_id=f"kb-load-{i}"
        )
        note = NOTES.get(reason, f"Answered the {reason.lower()} complaint and closed it.")
        store.resolutions.add(triage_id, note, RESOLVED if i % 4 else WORKAROUND, "bench")
    store.engine.dispose()
    return picked[S.TEXT].tolist(), rest[S.TEXT].tolist()


def probe_texts(case_texts: list[str], count: int, seed: int) -> list[str]:
    """`count` tweets drawn from all of them (praise and questions too, as the load phase draws
    them), none a case's own text: the server's CPU per request of a realistic mix. Drawing only
    complaints, as this bench once did, overstated it (87 % of them returned similar cases)."""
    texts = load_labelled_texts("airline-sentiment")[S.TEXT].drop_duplicates()
    texts = texts[~texts.isin(set(case_texts))]
    return texts.sample(n=min(count, len(texts)), random_state=seed).tolist()


def in_process_cost(url: str, queries: list[str], calls: int, kind: KbEncoder) -> dict[str, float]:
    """Milliseconds per `similar` call on one text, over `calls` texts (after a warm-up)."""
    set_inference_threads(1)  # as in a service worker: one thread per worker on 2 cores
    base = KnowledgeBase(knowledge_encoder(default_cache_dir(), kind))
    threshold = MIN_SIMILARITY[kind]
    store = Store(url)
    started = time.perf_counter()
    base.add(store.resolutions.all_cases())
    load_s = time.perf_counter() - started
    store.engine.dispose()
    base.similar(queries[:5], min_similarity=threshold)
    times = []
    for text in queries[:calls]:
        t0 = time.perf_counter()
        base.similar([text], min_similarity=threshold)
        times.append((time.perf_counter() - t0) * 1000)
    return {
        "cases": len(base),
        "embed_cases_s": load_s,
        "similar_ms_p50": statistics.median(times),
        "similar_ms_p99": float(np.percentile(times, 99)),
    }


def wait_for_knowledge(server: ServiceProcess, key: str, text: str, timeout: float) -> float:
    """Seconds until 20 /triage calls in a row (spread over the workers) answer similar cases."""
    started, in_a_row = time.monotonic(), 0
    body = json.dumps({"text": text}).encode()
    headers = {"content-type": "application/json", "x-api-key": key}
    while in_a_row < 20:
        if time.monotonic() - started > timeout:
            raise TimeoutError("the workers did not load the knowledge base in time")
        request = urllib.request.Request(server.url + "/triage", body, headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            found = json.loads(response.read())["similar_cases"]
        in_a_row = in_a_row + 1 if found else 0
        time.sleep(0.05 if found else 0.5)
    return time.monotonic() - started


def server_cpu_per_request(server: ServiceProcess, key: str, texts: list[str]) -> float:
    """Server CPU milliseconds per /triage, closed loop over `texts` (all worker processes)."""
    import psutil

    root = psutil.Process(server.process.pid)
    processes = [root, *root.children(recursive=True)]

    def cpu() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in processes if p.is_running())

    headers = {"content-type": "application/json", "x-api-key": key}
    before = cpu()
    for text in texts:
        body = json.dumps({"text": text}).encode()
        request = urllib.request.Request(server.url + "/triage", body, headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    return (cpu() - before) / len(texts) * 1000


def load_phase(
    args: argparse.Namespace, url: str, enabled: bool, case_text: str, probes: list[str]
) -> dict:
    keys = generate_api_keys()
    with tempfile.TemporaryDirectory(prefix="agora-kb-load-") as tmp:
        env = home_environment(
            args.home.expanduser(),
            keys,
            PROMETHEUS_MULTIPROC_DIR=tmp,
            AGORA_STORE_URL=url,
            AGORA_SIMILAR_CASES="1" if enabled else "0",
            AGORA_KB_ENCODER=args.encoder.value,
        )
        with ServiceProcess(env, log_path=Path(tmp) / "service.log") as server:
            waited = wait_for_knowledge(server, keys["triage"], case_text, 600) if enabled else 0
            cpu_ms = server_cpu_per_request(server, keys["triage"], probes)
            out = Path(tmp) / "load.json"
            command = [
                sys.executable,
                str(BENCH / "load_service.py"),
                *("--url", server.url, "--read-key", keys["read"]),
                *("--triage-key", keys["triage"], "--rates"),
                *("--triage-rates", str(args.rate), "--duration", str(args.duration)),
                *("--triage-seconds", "0", "--json", str(out)),
            ]
            subprocess.run(command, check=False)
            report = json.loads(out.read_text())
    [phase] = report["rates"]
    return {"similar_cases": enabled, "kb_ready_after_s": waited, "cpu_ms": cpu_ms, **phase}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="an AGORA_HOME with champions")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="/triage requests/s")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--calls", type=int, default=300, help="in-process similar() calls")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--encoder",
        type=KbEncoder,
        choices=list(KbEncoder),
        default=DEFAULT_KB_ENCODER,
        help="the knowledge-base encoder, in process and in the service (AGORA_KB_ENCODER)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    apply_stack_environment()
    with tempfile.TemporaryDirectory(prefix="agora-kb-store-") as folder:
        url = f"sqlite:///{Path(folder) / 'kb.db'}"
        case_texts, others = seed_store(url, args.cases, args.seed)
        cost = in_process_cost(url, others, args.calls, args.encoder)
        print(f"in process: {json.dumps(cost)}", flush=True)
        probes = probe_texts(case_texts, args.calls, args.seed)
        phases = [
            load_phase(args, url, enabled, case_texts[0], probes) for enabled in (True, False)
        ]
    print(
        f"\n/triage at {args.rate:g}/s for {args.duration:g} s, KB of {args.cases} cases, "
        f"encoder {args.encoder.value}"
    )
    header = f"{'similar_cases':<14} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>7}"
    print(f"{header} {'load1m':>6} {'server CPU ms/request':>22}")
    for p in phases:
        lat = p["latency"]
        print(
            f"{'on' if p['similar_cases'] else 'off':<14} {lat['p50_ms']:>7.1f} "
            f"{lat['p95_ms']:>7.1f} {lat['p99_ms']:>7.1f} {p['error_rate']:>7.3f} "
            f"{p['load_average_1m']:>6.2f} {p['cpu_ms']:>22.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"in_process": cost, "phases": phases}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
