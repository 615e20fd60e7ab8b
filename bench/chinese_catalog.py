"""Benchmark: how well the content recommender reads a Chinese catalog, by text encoder.

Generates a seeded synthetic community in a temporary folder (bench/synthetic_posts.py: 4,000
posts in 12 topics, 1,500 users, a tenth of the posts never rated), once in Chinese and once in
English as a control, and fits the embedding recommender on each in-process with every
`text_encoder` setting: `sentence` (all-MiniLM-L6-v2 from the installed package), `han-ngrams`
(features/han_ngrams.py, fitted on the catalog), `script-mix` (features/script_mix.py: both, each
text weighted by its Han share; bench/mixed_catalog.py measures catalogs mixing the languages)
and `auto` (the default, which picks one from
the texts' script; its fit reuses what the same texts' other fit computed: the MiniLM vectors
from the run's own embedding cache in a temporary folder, or the n-gram encoder
`fit_han_encoder` remembers, so its fit time is the choice's). Each model answers, in-process,
what a client asks the service for:

- similar items of a rated post and of a post nobody rated (`similar_items`);
- a new user's feed from 3 posts of one topic (`route_feed` with `recent_items`);
- a feed from a text query ("周末带孩子去哪玩"; `route_feed` with `query`).

Prints same-topic precision@10 of each (the share of the 10 answers in the asked topic; a query
names the topics it means; chance is 1/12), and of every post's 10 nearest posts by the item
vectors alone; for reference, the same nearest-post figure for the knowledge base's hashed
character pairs (`HanBigrams`, no IDF). Also each fit's wall time. The generator draws every text
from fixed word lists, which suits a lexical encoder: the English control says nothing about
real English text.

Usage: python bench/chinese_catalog.py [--items 4000] [--users 1500] [--seed 0] [--probes 200]
                                       [--languages zh en] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from synthetic_posts import Catalog, read_catalog, write_catalog  # bench/ on sys.path

from data import schemas as S
from data.environment import apply_stack_environment
from features.embeddings import CACHE_ENV
from features.item_text import assemble_item_texts
from models.knowledge.han_bigrams import HanBigrams
from models.recommenders import FeedRequest, route_feed
from models.recommenders.embedding import EmbeddingConfig, EmbeddingRecommender

K = 10
ENCODERS = ("sentence", "han-ngrams", "script-mix", "auto")
NEW_USERS = 150  # feeds from 3 posts of one topic
# A query and the topics whose posts answer it.
QUERIES = {
    "zh": [
        ("周末带孩子去哪玩", {"育儿", "旅行"}),
        ("新手减脂怎么练", {"健身"}),
        ("好吃的火锅店推荐", {"美食"}),
        ("降噪耳机哪个好", {"数码"}),
        ("敏感肌用什么防晒", {"美妆"}),
        ("猫咪掉毛怎么办", {"宠物"}),
        ("电动车续航和充电", {"汽车"}),
        ("最近有什么好看的科幻电影", {"电影"}),
        ("租房改造收纳", {"家居"}),
        ("面试简历怎么写", {"职场"}),
        ("原神抽卡攻略", {"游戏"}),
        ("海岛自由行攻略", {"旅行"}),
    ],
    "en": [
        ("where to take the kids this weekend", {"parenting", "travel"}),
        ("beginner fat loss workout", {"fitness"}),
        ("best hotpot restaurant", {"food"}),
        ("which noise cancelling earbuds", {"tech"}),
        ("sunscreen for sensitive skin", {"beauty"}),
        ("my cat is shedding", {"pets"}),
        ("electric car range and charging", {"cars"}),
        ("good sci-fi movie lately", {"movies"}),
        ("rental makeover storage", {"home"}),
        ("how to write a resume for an interview", {"career"}),
        ("gacha tips for the open world game", {"gaming"}),
        ("island trip itinerary", {"travel"}),
    ],
}
ROWS = (
    "every post's 10 nearest (item vectors)",
    "similar items of a rated post",
    "similar items of a post nobody rated",
    "new user's feed from 3 posts",
    "text query",
)


def same_topic_precision(
    item_ids: Sequence[str], topics: dict[str, str], wanted: set[str]
) -> float:
    """Share of the first K answers whose topic is one of `wanted` (a short list counts as
    misses: the service would have answered K)."""
    return sum(topics.get(i) in wanted for i in item_ids[:K]) / K


def nearest_precision(vectors: np.ndarray, topics: np.ndarray) -> float:
    """Same-topic precision@K of every row's K nearest other rows by cosine."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    hits = 0
    for start in range(0, len(unit), 1000):
        block = unit[start : start + 1000] @ unit.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        nearest = np.argpartition(-block, K, axis=1)[:, :K]
        hits += int((topics[nearest] == topics[start : start + len(block), None]).sum())
    return hits / (len(unit) * K)


def measure(
    model: EmbeddingRecommender, catalog: Catalog, language: str, probes: int, seed: int
) -> dict:
    """Same-topic precision@K of each request shape (see the module docstring); the same
    sampled posts for every model of a catalog (`seed`)."""
    rng = random.Random(seed)
    topics = catalog.topics.to_dict()
    rated = sorted(set(catalog.topics.index) - catalog.never_rated)
    by_topic = {topic: list(posts.index) for topic, posts in catalog.topics.groupby(catalog.topics)}

    def similar(pool: list[str]) -> list[float]:
        return [
            same_topic_precision(
                [r.item_id for r in model.similar_items(post, K)],
                topics,
                {topics[post]},
            )
            for post in pool
        ]

    def feed(request: FeedRequest) -> list[str]:
        return [r.item_id for r in route_feed(model, request).items]

    scores: dict[str, list[float]] = {
        ROWS[1]: similar(rng.sample(rated, probes)),
        ROWS[2]: similar(rng.sample(sorted(catalog.never_rated), probes)),
    }
    new_users = []
    for n in range(NEW_USERS):
        topic = rng.choice(sorted(by_topic))
        picks = rng.sample(by_topic[topic], 3)
        answers = feed(FeedRequest(f"newcomer-{n}", K, recent_items=picks))
        new_users.append(same_topic_precision(answers, topics, {topic}))
    scores[ROWS[3]] = new_users
    scores[ROWS[4]] = [
        same_topic_precision(feed(FeedRequest(f"searcher-{n}", K, query=query)), topics, wanted)
        for n, (query, wanted) in enumerate(QUERIES[language])
    ]
    vectors = model.item_vectors
    order = model.catalog.items.ids
    result = {ROWS[0]: nearest_precision(vectors, catalog.topics.loc[list(order)].to_numpy())}
    result.update({row: float(np.mean(values)) for row, values in scores.items()})
    return result


def fit(catalog: Catalog, text_encoder: str) -> tuple[EmbeddingRecommender, float]:
    """The embedding recommender fitted on the catalog, and the fit's wall seconds."""
    config = EmbeddingConfig.model_validate({"text_encoder": text_encoder})
    started = time.perf_counter()
    model = EmbeddingRecommender(config).fit(catalog.interactions, catalog.items)
    return model, time.perf_counter() - started


def kb_pairs_precision(catalog: Catalog) -> float:
    """Nearest-post precision of the knowledge base's hashed character pairs (a reference)."""
    ids = catalog.items[S.ITEM_ID].tolist()
    vectors = np.asarray(HanBigrams().encode(assemble_item_texts(catalog.items, ids)))
    return nearest_precision(vectors, catalog.topics.loc[ids].to_numpy())


def run_language(language: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"agora-posts-{language}-") as folder:
        write_catalog(language, Path(folder), args.items, args.users, args.seed)
        catalog = read_catalog(Path(folder))
    print(
        f"\n{language}: {len(catalog.items):,} posts ({len(catalog.never_rated):,} never rated), "
        f"{catalog.interactions[S.USER_ID].nunique():,} users, "
        f"{len(catalog.interactions):,} ratings"
    )
    columns: dict[str, dict] = {}
    # script-mix needs Han text to fit its n-grams on: the English control has none
    for text_encoder in [e for e in ENCODERS if language == "zh" or e != "script-mix"]:
        model, seconds = fit(catalog, text_encoder)
        figures = measure(model, catalog, language, args.probes, args.seed + 1)
        note = model.text_encoder_note
        print(f"  text_encoder={text_encoder}: fitted in {seconds:.1f} s; read by {note}")
        columns[text_encoder] = {**figures, "fit_s": seconds, "read_by": note}
    sizes = {ROWS[1]: args.probes, ROWS[2]: args.probes, ROWS[3]: NEW_USERS}
    sizes |= {ROWS[0]: len(catalog.items), ROWS[4]: len(QUERIES[language])}
    _print_table(columns, sizes)
    reference = kb_pairs_precision(catalog)
    print(
        f"  reference: every post's 10 nearest by HanBigrams (hashed pairs, no IDF) {reference:.3f}"
    )
    return {"encoders": columns, "kb_pairs_nearest": reference}


def _print_table(columns: dict[str, dict], sizes: dict[str, int]) -> None:
    print(f"  {'same-topic precision@10':<46}" + "".join(f"{e:>12}" for e in columns))
    for row in ROWS:
        label = f"{row} ({sizes[row]:,})"
        print(f"  {label:<46}" + "".join(f"{c[row]:>12.3f}" for c in columns.values()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--users", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0, help="the catalog's; probes use seed+1")
    parser.add_argument("--probes", type=int, default=200, help="posts asked for similar items")
    parser.add_argument("--languages", nargs="+", default=["zh", "en"], choices=["zh", "en"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    run_measured(lambda: {lang: run_language(lang, args) for lang in args.languages}, args.json)
    return 0


def run_measured(measure: Callable[[], dict[str, Any]], json_path: Path | None) -> None:
    """Run `measure` with an embedding cache of its own, print the wall time, and write its
    figures to `json_path` if given (this benchmark's and bench/mixed_catalog.py's runs)."""
    apply_stack_environment()  # offline Hugging Face, BLAS threads
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agora-embeddings-") as cache:
        # A cache for this run only: each catalog's MiniLM vectors are computed once and reused
        # by the other encoders' fits, and no earlier run's vectors shorten a fit.
        os.environ[CACHE_ENV] = cache
        results = measure()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if json_path:
        json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
