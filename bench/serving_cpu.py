"""Benchmark: the server CPU a request costs in the models, in process (no HTTP, no store).

What the service runs per request, measured without BentoML so the model side can be tracked on
its own (`bench/load_service.py` measures the whole HTTP service):

- feeds (`route_feed` + `describe_items`, as `/recommend` runs them): a known user, a known user
  with newer stored events (fold-in), a cold user with recent items, a brand-new user with
  nothing (popular fallback), a query-only user (`--query`: loads the sentence encoder);
  `similar_items` + `describe_items` (`/similar_items`);
- triage: one text at a time (`/triage`: CPU ms, p50 and p99) and `triage_batch` throughput
  (`/triage_batch`: texts per CPU-second at batches of 64 and 256, best of 3 passes), with the
  language given and detected.

Feed figures are CPU milliseconds per request (process time, best of several rounds: other jobs
on a shared machine inflate wall-clock figures, and the best round is the one least disturbed).
Figures are printed, not asserted. The models come from a champion cache folder as serving
lays it out (`AGORA_HOME/serving-cache/<registered name>/v<N>-<digest>/artifacts/native`).

Usage:
    python bench/serving_cpu.py --cache ~/.agora/serving-cache [--query] [--texts 1024]
Compare two versions of the code by running this file with PYTHONPATH pointing at each tree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from data.environment import apply_stack_environment
from data.events import StoredEvent
from features.text_splits import load_split
from features.user_history import UserActivity, user_activity
from models.classifiers import load_classifier
from models.recommenders import Recommender, load_recommender
from models.recommenders.feed_router import FeedRequest, route_feed
from models.served_models import RECOMMENDER_MODEL, TRIAGE_SLOTS
from models.triage import TaskModel, TriageEngine, load_triage_config

ROUNDS = 7


def native_folder(cache: Path, registered: str) -> Path | None:
    """The newest cached version's native model folder of `registered`, if any."""
    # Folders are `v<N>-<source digest>` (`v<N>` in caches written before the digest).
    versions = sorted(
        (p for p in (cache / registered).glob("v*") if p.name[1:].split("-")[0].isdigit()),
        key=lambda p: int(p.name[1:].split("-")[0]),
    )
    folder = versions[-1] / "artifacts" / "native" if versions else None
    return folder if folder is not None and folder.is_dir() else None


def cpu_ms(call: Callable[[], object], calls: int) -> float:
    """Best-of-rounds CPU milliseconds per call (after one warm-up call)."""
    call()
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - started) / calls)
    return best * 1000


def feed_paths(model: Recommender, query: bool) -> dict[str, Callable[[], object]]:
    """One request per path, each the way `/recommend` or `/similar_items` runs it."""
    catalog = model.catalog
    known = catalog.users.id_of(5)
    popular = [rec.item_id for rec in model.popular_items(40)]
    recent = popular[10:13]
    events = [
        StoredEvent(
            event_id=f"bench-{i}",
            user_id=known,
            item_id=item,
            type="click",
            timestamp=1_900_000_000 + i,
            seq=catalog.events_through + 1 + i,
        )
        for i, item in enumerate(popular[20:25])
    ]
    with_events = user_activity(events)

    def feed(request: FeedRequest, activity: UserActivity | None = None) -> Callable[[], object]:
        def run() -> object:
            answer = route_feed(model, request, activity or UserActivity())
            return model.describe_items([rec.item_id for rec in answer.items])

        return run

    def similar() -> object:
        recs = model.similar_items(popular[0], 10)
        return model.describe_items([rec.item_id for rec in recs])

    paths = {
        "known user": feed(FeedRequest(known, 10)),
        "known + new events": feed(FeedRequest(known, 10), with_events),
        "cold, 3 recent items": feed(FeedRequest("bench-new-user", 10, recent_items=recent)),
        "new user (popular)": feed(FeedRequest("bench-nobody", 10)),
        "similar_items": similar,
    }
    if query and model.answers_text_queries:
        paths["query only"] = feed(FeedRequest("bench-q", 10, query="funny space adventure"))
    return paths


def bench_feeds(cache: Path, query: bool) -> None:
    folder = native_folder(cache, RECOMMENDER_MODEL)
    if folder is None:
        print(f"no cached {RECOMMENDER_MODEL} under {cache}: feeds skipped")
        return
    model = load_recommender(folder)
    print(f"\nfeeds: {model!r}; CPU ms per request (route_feed + describe_items), best of {ROUNDS}")
    for name, call in feed_paths(model, query).items():
        print(f"  {name:<22}{cpu_ms(call, 20 if name == 'query only' else 100):>8.3f} ms")


def triage_engine(cache: Path) -> TriageEngine | None:
    models: dict[str, dict[str, TaskModel]] = {}
    for slot in TRIAGE_SLOTS:
        folder = native_folder(cache, slot.registered_name)
        if folder is not None:
            task = models.setdefault(str(slot.task), {})
            task[slot.language] = TaskModel(load_classifier(folder), slot.registered_name)
    if "sentiment" not in models:
        return None
    print(f"\ntriage models: { {task: sorted(m) for task, m in models.items()} }")
    engine = TriageEngine(models, load_triage_config())
    engine.warm_up()
    return engine


def bench_triage(cache: Path, count: int) -> None:
    engine = triage_engine(cache)
    if engine is None:
        print(f"no cached sentiment champion under {cache}: triage skipped")
        return
    texts = list(load_split("airline-sentiment", "sentiment").test_texts)[:count]
    print(f"{len(texts)} airline test tweets (raw, as clients send them)")
    for language in ("en", None):
        given = [language] * len(texts)
        label = "language given" if language else "language detected"
        for batch in (64, 256):
            engine.triage_batch(texts[:batch], given[:batch])  # warm-up
            best = float("inf")
            for _ in range(3):
                started = time.process_time()
                for start in range(0, len(texts), batch):
                    engine.triage_batch(texts[start : start + batch], given[start : start + batch])
                best = min(best, time.process_time() - started)
            rate = len(texts) / best
            print(f"  triage_batch @{batch:<4} {label:<18}{rate:>8.0f} texts per CPU-second")
        times = []
        for text in texts[:300]:
            started = time.process_time()
            engine.triage(text, language)
            times.append((time.process_time() - started) * 1000)
        p99 = sorted(times)[int(0.99 * (len(times) - 1))]
        print(
            f"  triage one text     {label:<18}p50 {statistics.median(times):.2f} ms CPU, "
            f"p99 {p99:.2f} ms"
        )


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="a serving-cache folder")
    parser.add_argument("--query", action="store_true", help="also the text-query feed")
    parser.add_argument("--texts", type=int, default=1024, help="tweets for the triage figures")
    parser.add_argument("--skip", choices=["feeds", "triage"], action="append", default=[])
    args = parser.parse_args()
    if "feeds" not in args.skip:
        bench_feeds(args.cache, args.query)
    if "triage" not in args.skip:
        bench_triage(args.cache, args.texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
