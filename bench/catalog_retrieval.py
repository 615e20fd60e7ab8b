"""Benchmark: feeds from a large catalog, pruned top-k against scoring every item (same model).

On a synthetic catalog (default: 1,000,000 items, 200,000 users, 10,000,000 interactions,
generated here with a seed) fits ALS and, for sampled users, compares the lists `recommend`
returns from the norm-ordered items (models/recommenders/norm_index.py: a scan that stops on its
bound, cut at max_scan items where the HNSW graph adds candidates) with those of scoring every
item, in three request shapes: seen items excluded; plus a genre filter; plus 50 excluded
(blocked) items. Prints recall@10 against full scoring, latency p50/p99 of both paths, how many
items the scan scored and the share of requests answered exactly (the scan's bound held).

`--compare-ann` also builds the approximate-nearest-neighbour indexes considered (hnswlib HNSW in
inner-product space; faiss IVF-Flat with inner product, when faiss-cpu is installed) over the
same item factors and prints their recall@10 and latency at a few candidate budgets, each
candidate list re-scored exactly and masked like a feed. That measurement is why feeds use the
pruned exact path (README, "Large catalogs").

Usage: python bench/catalog_retrieval.py [--items 1000000 --users 200000 --interactions 10000000]
                                         [--queries 1000] [--compare-ann] [--json PATH]
Target (issue 13): recall@10 >= 0.99 against exact scoring of the same model.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data import schemas as S
from data.environment import apply_stack_environment
from data.loaders import load_interactions, load_items
from data.synthetic import SyntheticConfig, generate
from models.recommenders import ItemFilter, Recommendation
from models.recommenders.factorization import ALSConfig, ALSRecommender
from models.recommenders.norm_index import NormIndexConfig, NormOrderedItems

K = 10
TARGET_RECALL = 0.99


@dataclass
class Shape:
    name: str
    recall: float
    full_p50_ms: float
    full_p99_ms: float
    pruned_p50_ms: float
    pruned_p99_ms: float
    scored_p50: float
    scored_p99: float
    exact_share: float  # requests whose scan stopped on its bound (the rest used the graph)


def _frames(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    if args.dataset:
        return load_interactions(args.dataset), load_items(args.dataset)
    config = SyntheticConfig(
        interactions=args.interactions, users=args.users, items=args.items, seed=args.seed
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(config, folder / "interactions.parquet", folder / "items.parquet")
        return (
            pd.read_parquet(folder / "interactions.parquet"),
            pd.read_parquet(folder / "items.parquet"),
        )


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    answer = call()
    return answer, (time.perf_counter() - started) * 1000


def _recall(exact: list[Recommendation], found: list[Recommendation]) -> float | None:
    wanted = {r.item_id for r in exact}
    return len(wanted & {r.item_id for r in found}) / len(wanted) if wanted else None


def _measure(
    model: ALSRecommender,
    index: NormOrderedItems,
    users: list[str],
    name: str,
    filters: ItemFilter | None,
) -> Shape:
    recalls, full_ms, pruned_ms, scored, certain = [], [], [], [], []
    catalog = model.catalog
    allowed = catalog.allowed_items(filters)
    for user in users:
        model.norm_index = None
        exact, spent = _timed(lambda u=user: model.recommend(u, K, True, filters))
        full_ms.append(spent)
        model.norm_index = index
        found, spent = _timed(lambda u=user: model.recommend(u, K, True, filters))
        pruned_ms.append(spent)
        if (recall := _recall(exact, found)) is not None:
            recalls.append(recall)
        position = catalog.users.get(user)
        seen = catalog.history_rows(np.array([position])).indices
        query = model.user_queries(np.array([position]))[0]
        _, count, stopped = index.top_candidates(query, K, allowed, seen)
        scored.append(count)
        certain.append(stopped)
    return Shape(
        name,
        float(np.mean(recalls)),
        *(float(np.percentile(full_ms, q)) for q in (50, 99)),
        *(float(np.percentile(pruned_ms, q)) for q in (50, 99)),
        *(float(np.percentile(scored, q)) for q in (50, 99)),
        float(np.mean(certain)),
    )


def _compare_ann(model: ALSRecommender, users: list[str]) -> list[dict[str, Any]]:
    """Recall@10 and latency of the approximate indexes considered, on the same factors."""
    catalog = model.catalog
    usable = np.flatnonzero(model.usable_items_mask())
    vectors = np.ascontiguousarray(model.item_factors[usable], dtype=np.float32)
    positions = np.array([catalog.users.get(u) for u in users])
    queries = model.user_factors[positions]
    seen_rows = catalog.history_rows(positions)
    model.norm_index = None
    truth = [{r.item_id for r in model.recommend(u, K)} for u in users]
    searches: dict[str, tuple[Callable[[np.ndarray, int], np.ndarray], float]] = {}

    import hnswlib

    started = time.perf_counter()
    graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
    graph.init_index(max_elements=len(vectors), M=16, ef_construction=100, random_seed=1)
    graph.add_items(vectors, usable, num_threads=-1)
    graph.set_num_threads(1)

    def hnsw(query: np.ndarray, fetch: int) -> np.ndarray:
        graph.set_ef(max(2 * fetch, 64))
        labels, _ = graph.knn_query(query[None], k=fetch, num_threads=1)
        return labels[0].astype(np.int64)

    searches["hnswlib HNSW (inner product, M=16)"] = (hnsw, time.perf_counter() - started)
    try:
        import faiss
    except ImportError:
        print("faiss-cpu is not installed: its IVF index is left out of the comparison")
    else:
        started = time.perf_counter()
        nlist = 1024
        ivf = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT
        )
        rng = np.random.default_rng(0)
        ivf.train(vectors[rng.choice(len(vectors), min(len(vectors), nlist * 64), replace=False)])
        ivf.add(vectors)
        ivf.nprobe = 64
        faiss.omp_set_num_threads(1)

        def ivf_search(query: np.ndarray, fetch: int) -> np.ndarray:
            _, labels = ivf.search(query[None].astype(np.float32), fetch)
            found = labels[0][labels[0] >= 0]
            return usable[found]

        searches[f"faiss IVF-Flat (inner product, {nlist} lists, 64 probed)"] = (
            ivf_search,
            time.perf_counter() - started,
        )
    rows = []
    for name, (search, build_s) in searches.items():
        for fetch in (40, 100, 200):
            recalls, spent = [], []
            for row, wanted in enumerate(truth):
                started = time.perf_counter()
                candidates = search(queries[row], fetch)
                seen = seen_rows.indices[seen_rows.indptr[row] : seen_rows.indptr[row + 1]]
                candidates = candidates[~np.isin(candidates, seen)]
                scores = model.exact_scores(queries[row].astype(np.float64), candidates)
                top = candidates[np.argsort(-scores, kind="stable")[:K]]
                spent.append((time.perf_counter() - started) * 1000)
                found = {catalog.items.id_of(int(i)) for i in top}
                recalls.append(len(found & wanted) / len(wanted) if wanted else 1.0)
            rows.append(
                {
                    "index": name,
                    "build_s": build_s,
                    "candidates": fetch,
                    "recall": float(np.mean(recalls)),
                    "p50_ms": float(np.percentile(spent, 50)),
                    "p99_ms": float(np.percentile(spent, 99)),
                }
            )
            print(
                f"{name}: build {build_s:.0f} s, {fetch} candidates: recall@10 "
                f"{rows[-1]['recall']:.4f}, p50 {rows[-1]['p50_ms']:.2f} ms, "
                f"p99 {rows[-1]['p99_ms']:.2f} ms",
                flush=True,
            )
    return rows


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=None, help="use this dataset instead of generating")
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--queries", type=int, default=1000, help="sampled users per shape")
    parser.add_argument("--compare-ann", action="store_true", help="also measure ANN indexes")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    started = time.perf_counter()
    interactions, items = _frames(args)
    print(f"data: {len(interactions):,} interactions in {time.perf_counter() - started:.0f} s")
    config = NormIndexConfig(min_items=1)
    model = ALSRecommender(
        ALSConfig(factors=args.factors, iterations=args.iterations, norm_index=config)
    )
    _, fit_ms = _timed(lambda: model.fit(interactions, items))
    index = model.norm_index
    assert index is not None
    catalog = model.catalog
    print(
        f"catalog: {catalog.n_items:,} items ({len(index):,} recommendable), "
        f"{catalog.n_users:,} users; ALS fit and norm order {fit_ms / 1000:.0f} s",
        flush=True,
    )
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(catalog.n_users, size=min(args.queries, catalog.n_users), replace=False)
    users = [catalog.users.id_of(int(i)) for i in picked]
    genres = items[S.GENRES].astype(str).str.split("|").explode().value_counts()
    genre = str(genres.index[0])
    blocked = frozenset(r.item_id for r in model.popular_items(50))
    shapes = [
        _measure(model, index, users, "seen excluded", None),
        _measure(model, index, users, f"+ genre {genre}", ItemFilter(frozenset({genre}))),
        _measure(model, index, users, "+ 50 blocked items", ItemFilter(exclude_item_ids=blocked)),
    ]
    print(
        f"\n{'request':<24}{'recall@10':>10}{'full p50/p99 ms':>20}{'pruned p50/p99 ms':>20}"
        f"{'items scored p50/p99':>24}{'exact':>8}"
    )
    for s in shapes:
        print(
            f"{s.name:<24}{s.recall:>10.4f}{s.full_p50_ms:>11.1f}/{s.full_p99_ms:<8.1f}"
            f"{s.pruned_p50_ms:>11.2f}/{s.pruned_p99_ms:<8.2f}"
            f"{s.scored_p50:>13,.0f}/{s.scored_p99:<10,.0f}{s.exact_share:>8.1%}"
        )
    worst = min(s.recall for s in shapes)
    verdict = "met" if worst >= TARGET_RECALL else "NOT met"
    print(f"\nworst recall@10 {worst:.4f} (target >= {TARGET_RECALL}): {verdict}", flush=True)
    compared = _compare_ann(model, users) if args.compare_ann else []
    if args.json:
        report = {
            "n_items": catalog.n_items,
            "recommendable": len(index),
            "fit_s": fit_ms / 1000,
            "shapes": [asdict(s) for s in shapes],
            "ann_compared": compared,
        }
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if worst >= TARGET_RECALL else 1


if __name__ == "__main__":
    raise SystemExit(main())
