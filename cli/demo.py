"""The end-to-end demo behind `make demo`: data, champions, the service, example requests.

Steps: fetch and verify the datasets; train the recommender and triage models with fast
configs, log them to MLflow and register them; promote each through the metric gate (the English
sentiment champion is chosen among candidates for transfer and speed, `cli.sentiment_champion`);
start the service in a subprocess, send example requests and print the answers; stop the service.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.launcher import PROJECT_ROOT, ServiceProcess, api_keys_setting, generate_api_keys
from data.catalog import CATALOG
from data.fetch import fetch
from data.loaders import load
from models.served_models import RECOMMENDER_MODEL, TRIAGE_SLOTS
from serving.settings import ROUTE_ROLES

DEMO_RECOMMENDER_CONFIG = PROJECT_ROOT / "configs" / "recommender" / "hybrid.fast.yaml"
DEMO_TRIAGE_CONFIG = PROJECT_ROOT / "configs" / "triage" / "demo.yaml"
SENTIMENT_EN = "sentiment-en"
Say = Callable[[str], None]


def run_demo(say: Say, port: int | None = None, sentiment_budget_minutes: float = 20.0) -> None:
    """Run the three stages, saying what each does; `port` for the service (default: a free one).

    The English sentiment champion is chosen among candidates trained within
    `sentiment_budget_minutes` (`cli.sentiment_champion`); the other slots get TF-IDF champions.
    """
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
    _choose_sentiment_champion(say, sentiment_budget_minutes)
    for registered, summary in _train_models():
        say(f"   {registered}: {summary}")
        _promote(client, registered, say)
    say("== 3. the service: start it, send example requests, stop it")
    _serve_and_query(say, port, uri)


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
    for slot in TRIAGE_SLOTS:  # a TF-IDF champion (fast, strong enough) for the other slots
        if slot.slot == SENTIMENT_EN:
            continue  # chosen by `_choose_sentiment_champion`
        result = train_triage(slot.task, slot.dataset, "tfidf", config=config)
        report = result.trained.report
        trained.append(
            (
                result.registered_name,
                f"v{result.version} tfidf on {slot.dataset}: accuracy {report.accuracy:.3f}, "
                f"macro-F1 {report.macro_f1:.3f}, ECE {report.ece:.3f}",
            )
        )
    return trained


def _choose_sentiment_champion(say: Say, budget_minutes: float) -> None:
    from cli.sentiment_champion import select_and_promote
    from training.triage.config import load_config
    from training.triage.selection import SelectionPolicy

    slot = next(entry for entry in TRIAGE_SLOTS if entry.slot == SENTIMENT_EN)
    say(
        "   English sentiment: TF-IDF, a fine-tuned MiniLM served from ONNX, their ensemble and, "
        "as time allows, a second seed's fine-tune in the ensemble and averaged in; the "
        "champion is the one that transfers best among those meeting the in-domain bar"
    )
    policy = SelectionPolicy(budget_minutes=budget_minutes)
    select_and_promote(slot.dataset, load_config(DEMO_TRIAGE_CONFIG), policy, say)


def _promote(client: Any, name: str, say: Say) -> None:
    from training.promotion import PromotionRefusedError, promote  # MLflow: only when run

    try:
        version = promote(client, name, reason="make demo")
        say(f"      -> @champion is v{version.version}")
    except PromotionRefusedError as refused:
        say(f"      -> kept the current champion: {refused}")


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


def _serve_and_query(say: Say, port: int | None, tracking_uri: str) -> None:
    # The demo's own service gets a fresh key per role; each example sends its route's role key.
    keys = generate_api_keys()
    env = {**os.environ, "AGORA_API_KEYS": api_keys_setting(keys)}
    with tempfile.TemporaryDirectory(prefix="agora-demo-") as scratch:
        # The service's log goes to a file: a failed start raises with its tail.
        where: dict[str, Any] = {} if port is None else {"port": port}
        with ServiceProcess(env=env, log_path=Path(scratch) / "service.log", **where) as service:
            url = service.url
            say(f"   service ready at {url} (OpenAPI: {url}/docs.json, Swagger UI: {url}/)")
            _say_keys(say, url, keys)
            _query(say, url, keys)
        say("   service stopped")
    say(f"MLflow UI: run `make mlflow-ui`, then open http://127.0.0.1:5000 (store: {tracking_uri})")
    say(
        "Start the service yourself with `make serve` (http://127.0.0.1:3000): it needs keys in "
        "AGORA_API_KEYS (role:name:key entries, roles read, events, triage, agent, admin), or "
        "`agora serve --insecure-dev` for an open local service."
    )


def _say_keys(say: Say, url: str, keys: dict[str, str]) -> None:
    """Print this run's keys and how a client sends one (they die with the demo's service)."""
    say("   API keys of this run, one per role (the service reads them from AGORA_API_KEYS):")
    for role, key in keys.items():
        say(f"      {role:<7} {key}")
    say(
        f"   a client sends its role's key as X-API-Key (or Authorization: Bearer), e.g.\n"
        f"      curl -s {url}/recommend -H 'content-type: application/json' "
        f'-H \'x-api-key: {keys["read"]}\' -d \'{{"user_id": "196", "k": 5}}\''
    )


def _query(say: Say, url: str, keys: dict[str, str]) -> None:
    """Send the example requests (flat JSON bodies) and print a summary of each answer."""
    for title, path, payload in _EXAMPLES:
        role = min(ROUTE_ROLES[path])  # each example route takes exactly one role
        status, answer = _call(url, path, payload, keys[role])
        say(f"-- {title}: POST {path} -> {status}")
        say(_summarise(path, answer))
    status, info = _call(url, "/model_info", None, keys["read"])
    served = {slot: f"v{m['version']} ({m['source']})" for slot, m in info["models"].items()}
    say(f"-- GET /model_info -> {status}: {served}")


_EXAMPLES: list[tuple[str, str, dict[str, Any]]] = [
    ("feed for MovieLens user 196", "/recommend", {"user_id": "196", "k": 5}),
    (
        "new user who liked Star Wars, Alien and Terminator",
        "/recommend",
        {"user_id": "new-user", "k": 5, "recent_items": ["50", "183", "195"]},
    ),
    (
        "brand-new user with a text query",
        "/recommend",
        {"user_id": "visitor", "k": 5, "query": "space adventure"},
    ),
    ("films like Star Wars", "/similar_items", {"item_id": "50", "k": 5}),
    (
        "an English complaint",
        "/triage",
        {
            "text": "@united my bag was lost two days ago and nobody answers. My lawyer will call.",
            "customer_id": "demo-customer",
        },
    ),
    (
        "a batch in two languages",
        "/triage_batch",
        {"texts": ["送餐太慢了，饭都凉了", "thanks for the smooth flight!", "Привет"]},
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
