"""Benchmark: what retired items cost a feed, and how soon a second replica follows a retirement.

1. In process (no HTTP), the champion recommender of `--home`: CPU per feed (a known user's,
   the popular fallback, similar items) with N retired items, against N = 0 and against the
   workaround a client had before (the same N ids as `exclude_item_ids` on every request); and
   the one-off cost of the first feed after the set changed (the ids are looked up once).
2. Over HTTP (`--replicas`): two service processes over `--home` sharing one store (a fresh
   SQLite file, or `--store-url`, e.g. a PostgreSQL database); a retirement posted to the
   first, the second's popular feed polled every 20 ms until the item is gone; then restored
   on the second and the first polled. `--rounds` times.

    python bench/retired_items.py --home ~/.agora [--replicas] [--ports P1 P2] [--store-url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path

from cpu_timing import median_cpu_ms  # bench/ on sys.path

from cli.launcher import ServiceProcess, free_port, generate_api_keys, home_environment
from data.environment import apply_stack_environment

SIZES = (0, 100, 1_000, 10_000, 100_000)


def _champion_folder(home: Path) -> Path:
    """The newest cached version of the recommender champion under `home`."""
    folders = sorted((home / "serving-cache" / "agora-recommender").glob("v*/artifacts/native"))
    if not folders:
        raise SystemExit(f"no cached agora-recommender under {home}: serve it once first")
    return folders[-1]


def in_process(home: Path, repeat: int) -> None:
    from models.recommenders import (
        FeedRequest,
        ItemFilter,
        RetiredItems,
        load_recommender,
        route_feed,
    )

    model = load_recommender(_champion_folder(home))
    catalog = list(model.catalog.items.ids)
    rng = random.Random(7)

    def feed(user: str, filters: ItemFilter) -> Callable[[], object]:
        return lambda: route_feed(model, FeedRequest(user, 10, filters=filters))

    print(f"model {type(model).__name__}, {len(catalog):,} items; median CPU ms of {repeat} calls")
    print(
        "| retired | known user | popular | similar | first feed after a change "
        "| as exclude_item_ids |\n|---|---|---|---|---|---|"
    )
    for size in SIZES:
        known = rng.sample(catalog, min(size, len(catalog) // 2))
        ids = frozenset(known) | {f"gone-{n}" for n in range(size - len(known))}
        with_retired = ItemFilter(retired=RetiredItems(ids))
        started = time.process_time()
        feed("196", with_retired)()  # a new set: the first feed looks its ids up
        first = (time.process_time() - started) * 1000
        known_ms = median_cpu_ms(feed("196", with_retired), repeat)
        popular_ms = median_cpu_ms(feed("nobody", with_retired), repeat)
        similar_ms = median_cpu_ms(partial(model.similar_items, "50", 10, with_retired), repeat)
        workaround_ms = median_cpu_ms(feed("196", ItemFilter(exclude_item_ids=ids)), repeat)
        print(
            f"| {size:,} | {known_ms:.2f} | {popular_ms:.2f} | {similar_ms:.2f} | {first:.2f} "
            f"| {workaround_ms:.2f} |"
        )


def _post(url: str, path: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(
        url + path,
        json.dumps(body).encode(),
        {"content-type": "application/json", "x-api-key": key},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _until_gone(url: str, key: str, item: str, present: bool) -> float:
    """Seconds until `item` is (`present`) or is not in a stranger's popular feed."""
    started = time.perf_counter()
    while True:
        feed = _post(url, "/recommend", key, {"user_id": "bench-stranger", "k": 10})
        if (item in {i["item_id"] for i in feed["items"]}) == present:
            return time.perf_counter() - started
        if time.perf_counter() - started > 30:
            raise SystemExit(f"{item} still {'absent' if present else 'served'} after 30 s")
        time.sleep(0.02)


def replicas(home: Path, rounds: int, ports: list[int], store_url: str | None) -> None:
    keys = generate_api_keys()
    folder = Path(tempfile.mkdtemp(prefix="retired-bench-"))
    store = store_url or f"sqlite:///{folder / 'store.db'}"
    services = [
        ServiceProcess(
            home_environment(
                home,
                keys,
                AGORA_WORKERS="1",
                AGORA_STORE_URL=store,
                AGORA_SERVING_CACHE=str(folder / f"cache-{n}"),
            ),
            port=port,
        )
        for n, port in enumerate(ports)
    ]
    try:
        for service in services:
            service.start()
        a, b = (service.url for service in services)
        item = _post(b, "/recommend", keys["read"], {"user_id": "bench-stranger", "k": 10})[
            "items"
        ][0]["item_id"]
        there, back = [], []
        for _ in range(rounds):
            _post(a, "/items/retire", keys["events"], {"item_ids": [item]})
            there.append(_until_gone(b, keys["read"], item, present=False))
            _post(b, "/items/restore", keys["events"], {"item_ids": [item]})
            back.append(_until_gone(a, keys["read"], item, present=True))
        for name, delays in (("retire A -> B", there), ("restore B -> A", back)):
            print(
                f"{name}: {rounds} rounds, min {min(delays):.2f} s, median "
                f"{statistics.median(delays):.2f} s, max {max(delays):.2f} s"
            )
    finally:
        for service in services:
            service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="AGORA_HOME with champions")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--replicas", action="store_true", help="also time two replicas")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--ports", type=int, nargs=2, default=None)
    parser.add_argument(
        "--store-url", default=None, help="the replicas' shared store (default: a fresh SQLite)"
    )
    args = parser.parse_args()
    apply_stack_environment()
    home = args.home.expanduser()
    in_process(home, args.repeat)
    if args.replicas:
        replicas(home, args.rounds, args.ports or [free_port(), free_port()], args.store_url)


if __name__ == "__main__":
    main()
