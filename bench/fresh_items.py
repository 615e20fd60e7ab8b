"""Benchmark: what fresh items (published after training) cost a feed, in process.

The champion recommender of `--home` with N fresh items (random unit vectors in its content
space: the cost does not depend on what they say) against none: median CPU per call of a known
user's feed, a cold start from recent items, a text query's (the query encoded once for both
the catalog and the fresh items) and similar items. Also the time to embed published items.

    python bench/fresh_items.py --home ~/.agora [--repeat 300]
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
from cpu_timing import median_cpu_ms  # bench/ on sys.path

from data.environment import apply_stack_environment

SIZES = (0, 1_000, 10_000)


def _feed(model: object, fresh: object, user: str, **options: object) -> object:
    from models.recommenders import FeedRequest, route_feed

    return route_feed(model, FeedRequest(user, 10, **options), fresh=fresh)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="AGORA_HOME with champions")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    apply_stack_environment()
    import torch

    torch.set_num_threads(1)  # as a service worker runs (serving.worker_tuning)
    from features.item_text import item_text
    from models.recommenders import load_recommender
    from models.recommenders.fresh_items import FreshItems, similar_with_fresh

    folders = sorted(
        (args.home.expanduser() / "serving-cache" / "agora-recommender").glob("v*/artifacts/native")
    )
    model = load_recommender(folders[-1])
    texts = [item_text(f"New film {n}", "Drama", "A story of a family.") for n in range(256)]
    model.embed_texts(texts[:8])  # load the encoder before timing
    started = time.perf_counter()
    model.embed_texts(texts)
    print(f"embedding 256 published items: {time.perf_counter() - started:.2f} s")
    dimensions = model.content_vectors(["50"]).shape[1]
    rng = np.random.default_rng(7)
    print(f"median CPU ms of {args.repeat} calls, {type(model).__name__}")
    print("| fresh items | known user | recent items | text query | similar items |")
    print("|---|---|---|---|---|")
    for size in SIZES:
        vectors = rng.normal(size=(size, dimensions)).astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        fresh = FreshItems(
            ids=tuple(f"fresh-{n}" for n in range(size)),
            vectors=vectors if size else np.zeros((0, 0), np.float32),
            titles=tuple(f"New film {n}" for n in range(size)),
            genres=tuple(("Drama",) for _ in range(size)),
            published_at=np.arange(size, dtype=np.float64),
        )
        given = fresh if size else None
        known = median_cpu_ms(partial(_feed, model, given, "196"), args.repeat)
        recent = median_cpu_ms(
            partial(_feed, model, given, "nobody", recent_items=["50", "172", "181"]), args.repeat
        )
        query = median_cpu_ms(
            partial(_feed, model, given, "nobody", query="space rebels against an empire"),
            max(args.repeat // 3, 10),
        )
        if given is None:
            similar = median_cpu_ms(partial(model.similar_items, "50", 10), args.repeat)
        else:
            similar_call = partial(similar_with_fresh, model, "50", 10, None, given)
            similar = median_cpu_ms(similar_call, args.repeat)
        print(f"| {size:,} | {known:.2f} | {recent:.2f} | {query:.2f} | {similar:.2f} |")


if __name__ == "__main__":
    main()
