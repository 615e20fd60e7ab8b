"""The end-to-end demo behind `make demo`: data, champions, the service, example requests.

Steps: fetch and verify the datasets; train the recommender and triage models with fast
configs, log them to MLflow and register them; promote each through the metric gate; start the
service in a subprocess, send example requests and print the answers; stop the service.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from data.catalog import CATALOG
from data.fetch import fetch
from data.loaders import load
from models.registry_names import RECOMMENDER_MODEL

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The service is started by path, in its own process: training never imports serving.
SERVICE_PATH = "serving.service:Agora"
BENTOML = Path(sys.executable).with_name("bentoml")  # the one installed beside this Python
DEMO_RECOMMENDER_CONFIG = PROJECT_ROOT / "configs" / "recommender" / "hybrid.fast.yaml"
DEMO_TRIAGE_CONFIG = PROJECT_ROOT / "configs" / "triage" / "demo.yaml"
# (task, dataset) of each triage champion the demo trains, with TF-IDF (fast and strong enough).
DEMO_TRIAGE_RUNS = (
    ("sentiment", "airline-sentiment"),
    ("sentiment", "waimai-10k"),
    ("reason", "airline-sentiment"),
    ("category", "bitext-intents"),
)

Say = Callable[[str], None]


def run_demo(say: Say, port: int | None = None) -> None:
    from mlflow.tracking import MlflowClient

    from training.tracking import configure_tracking

    uri = configure_tracking()
    say("== 1. datasets: fetch from the mirror (or the publisher) and verify checksums")
    for name, spec in CATALOG.items():
        fetch(name)
        shapes = ", ".join(f"{kind} {len(load(name, kind)):,} rows" for kind in spec.kinds)
        say(f"   {name:<20} {shapes}")
    say("== 2. champions: train with fast configs, register, promote through the metric gate")
    client = MlflowClient()
    for registered, summary in _train_models():
        say(f"   {registered}: {summary}")
        _promote(client, registered, say)
    say("== 3. the service: start it, send example requests, stop it")
    _serve_and_query(say, port or free_port(), uri)


def _train_models() -> list[tuple[str, str]]:
    from training.recommender.config import load_run_config
    from training.recommender.pipeline import train_recommender
    from training.triage.config import load_config
    from training.triage.pipeline import train_triage

    trained = []
    outcome = train_recommender("movielens-100k", load_run_config(DEMO_RECOMMENDER_CONFIG, None))
    trained.append(
        (
            RECOMMENDER_MODEL,
            f"v{outcome.model_version} hybrid, NDCG@10 {outcome.metrics['ndcg@10']:.4f} "
            f"(MovieLens-100K, protocol P)",
        )
    )
    config = load_config(DEMO_TRIAGE_CONFIG)
    for task, dataset in DEMO_TRIAGE_RUNS:
        result = train_triage(task, dataset, "tfidf", config=config)
        report = result.trained.report
        trained.append(
            (
                result.registered_name,
                f"v{result.version} tfidf on {dataset}: accuracy {report.accuracy:.3f}, "
                f"macro-F1 {report.macro_f1:.3f}, ECE {report.ece:.3f}",
            )
        )
    return trained


def _promote(client: Any, name: str, say: Say) -> None:
    from training.registry import PromotionRefusedError, promote  # MLflow: only when run

    try:
        version = promote(client, name, reason="make demo")
        say(f"      -> @champion is v{version.version}")
    except PromotionRefusedError as refused:
        say(f"      -> kept the current champion: {refused}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, path: str, payload: Any | None, key: str | None) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if key:
        headers["x-api-key"] = key
    body = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url + path, body, headers, method="GET" if body is None else "POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _serve_and_query(say: Say, port: int, tracking_uri: str) -> None:
    url = f"http://127.0.0.1:{port}"
    key = os.environ.get("AGORA_API_KEY")
    server = subprocess.Popen(
        [str(BENTOML), "serve", SERVICE_PATH, "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_ready(url, server)
        say(f"   service ready at {url} (OpenAPI: {url}/docs.json, Swagger UI: {url}/)")
        for title, path, payload in _EXAMPLES:
            status, answer = _call(url, path, payload, key)
            say(f"-- {title}: POST {path} -> {status}")
            say(_summarise(path, answer))
        status, info = _call(url, "/model_info", None, key)
        served = {slot: f"v{m['version']} ({m['source']})" for slot, m in info["models"].items()}
        say(f"-- GET /model_info -> {status}: {served}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        say("   service stopped")
    say(f"MLflow UI: run `make mlflow-ui`, then open http://127.0.0.1:5000 (store: {tracking_uri})")
    say("Start the service yourself with `make serve` (http://127.0.0.1:3000).")


def wait_until_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Poll the service's /readyz until it answers 200; RuntimeError if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the service exited with code {server.returncode} while starting")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the service was not ready after {timeout:.0f} s")


_EXAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("feed for MovieLens user 196", "/recommend", {"request": {"user_id": "196", "k": 5}}),
    (
        "new user who liked Star Wars, Alien and Terminator",
        "/recommend",
        {"request": {"user_id": "new-user", "k": 5, "recent_items": ["50", "183", "195"]}},
    ),
    (
        "brand-new user with a text query",
        "/recommend",
        {"request": {"user_id": "visitor", "k": 5, "query": "space adventure"}},
    ),
    ("films like Star Wars", "/similar_items", {"request": {"item_id": "50", "k": 5}}),
    (
        "an English complaint",
        "/triage",
        {
            "request": {
                "text": "@united my bag was lost two days ago and nobody answers. "
                "My lawyer will call.",
                "customer_id": "demo-customer",
            }
        },
    ),
    (
        "a batch in two languages",
        "/triage_batch",
        {"request": {"texts": ["送餐太慢了，饭都凉了", "thanks for the smooth flight!", "Привет"]}},
    ),
]


def _summarise(path: str, answer: Any) -> str:
    if not isinstance(answer, dict):
        return f"   {answer}"
    if "items" in answer:
        lines = [f"   strategy: {answer.get('strategy', '-')}, model v{answer['model']['version']}"]
        lines += [
            f"   {i['item_id']:>5}  {i['title']}  [{', '.join(i['genres'])}]"
            for i in answer["items"]
        ]
        return "\n".join(lines)
    results = [answer["result"]] if "result" in answer else answer.get("results", [])
    lines = []
    for result in results:
        sentiment = result.get("sentiment") or {}
        reason = (result.get("reason") or {}).get("label", "-")
        lines.append(
            f"   [{result['status']}] language {result['language']['code']}, "
            f"sentiment {sentiment.get('label', '-')} ({sentiment.get('probability', 0):.2f}), "
            f"reason {reason}, urgency {result['urgency']['level']}, "
            f"queue {result['routing']['queue']}"
        )
    return "\n".join(lines)
