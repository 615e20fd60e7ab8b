"""Benchmark: how well the content recommender reads a catalog mixing Chinese and English posts.

bench/chinese_catalog.py measures a catalog written in one language. Community catalogs often mix
the two, so this one generates seeded synthetic communities (bench/synthetic_posts.py,
`write_mixed_catalog`: 4,000 posts over the same 12 topics, a given share of them in Chinese and
the rest in English, 1,500 users rating posts of their favourite topics in either language, a
tenth of the posts never rated), fits the embedding recommender in-process with each
`text_encoder` (`sentence`: all-MiniLM-L6-v2; `han-ngrams`: the catalog's character n-grams;
`script-mix`: both, each text weighted by its Han share; `auto`: what the default picks) and
reports same-topic precision@10 per language of the probe:

- similar items of a rated post and of a post nobody rated, by the probe post's language;
- a new user's feed from 3 posts of one topic: all Chinese, all English, or both languages;
- a feed from a text query, Chinese or English (12 each, bench/chinese_catalog.py's queries);
- every post's 10 nearest posts by the item vectors alone, by the post's language.

A hit is an answer in the asked topic in either language; neither encoder relates a Chinese word
to its English translation, so a probe's same-topic answers come mostly from its own language.
The generator draws every text from fixed word lists, which suits a lexical encoder: the n-grams'
English figures say nothing about real English text, which MiniLM reads beyond a word list.

Usage: python bench/mixed_catalog.py [--shares 0.1 0.3 0.5 0.7] [--items 4000] [--users 1500]
                                     [--seed 0] [--probes 200] [--encoders ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from chinese_catalog import QUERIES, K, fit, run_measured, same_topic_precision
from synthetic_posts import ZH_TO_EN, Catalog, read_catalog, write_mixed_catalog

from models.recommenders import FeedRequest, route_feed
from models.recommenders.embedding import EmbeddingRecommender

ENCODERS = ("sentence", "han-ngrams", "script-mix", "auto")
NEW_USERS = 150  # per language mix of the 3 posts
# Queries in both languages, topics named as the mixed catalog names them (English).
MIXED_QUERIES = {
    "zh": [(query, {ZH_TO_EN[t] for t in topics}) for query, topics in QUERIES["zh"]],
    "en": QUERIES["en"],
}
SHAPES = (
    "nearest (item vectors)",
    "similar, rated post",
    "similar, never rated",
    "new user, 3 posts",
)
SHAPES += ("text query",)


def measure(
    model: EmbeddingRecommender, catalog: Catalog, probes: int, seed: int
) -> dict[str, dict[str, tuple[float, int]]]:
    """{request shape: {probe language: (same-topic precision@K, probes asked)}}; the same
    probes for every model of a catalog (`seed`)."""
    rng = random.Random(seed)
    topics, languages = catalog.topics.to_dict(), catalog.languages.to_dict()
    posts = {code: sorted(p for p in topics if languages[p] == code) for code in ("zh", "en")}

    def similar(pool: list[str]) -> list[float]:
        return [
            same_topic_precision(
                [r.item_id for r in model.similar_items(post, K)], topics, {topics[post]}
            )
            for post in pool
        ]

    def feed(request: FeedRequest) -> list[str]:
        return [r.item_id for r in route_feed(model, request).items]

    scores: dict[str, dict[str, list[float]]] = {shape: {} for shape in SHAPES[1:]}
    for code, pool in posts.items():
        rated = [p for p in pool if p not in catalog.never_rated]
        cold = [p for p in pool if p in catalog.never_rated]
        scores[SHAPES[1]][code] = similar(rng.sample(rated, min(probes, len(rated))))
        scores[SHAPES[2]][code] = similar(rng.sample(cold, min(probes, len(cold))))
    by_topic = {
        (topic, code): [p for p in posts[code] if topics[p] == topic]
        for topic in set(topics.values())
        for code in posts
    }
    for mix in ("zh", "en", "both"):
        users = []
        for n in range(NEW_USERS):
            topic = rng.choice(sorted(set(topics.values())))
            if mix == "both":  # two posts in one language, one in the other
                first, second = rng.sample(["zh", "en"], 2)
                picks = rng.sample(by_topic[topic, first], 2) + rng.sample(
                    by_topic[topic, second], 1
                )
            else:
                picks = rng.sample(by_topic[topic, mix], 3)
            answers = feed(FeedRequest(f"newcomer-{mix}-{n}", K, recent_items=picks))
            users.append(same_topic_precision(answers, topics, {topic}))
        scores[SHAPES[3]][mix] = users
    for code, queries in MIXED_QUERIES.items():
        scores[SHAPES[4]][code] = [
            same_topic_precision(feed(FeedRequest(f"searcher-{n}", K, query=query)), topics, want)
            for n, (query, want) in enumerate(queries)
        ]
    order = list(model.catalog.items.ids)
    labels, codes = catalog.topics.loc[order].to_numpy(), catalog.languages.loc[order].to_numpy()
    result = {SHAPES[0]: _nearest_by_language(model.item_vectors, labels, codes)}
    for shape, per_language in scores.items():
        result[shape] = {
            code: (float(np.mean(values)), len(values)) for code, values in per_language.items()
        }
    return result


def _nearest_by_language(
    vectors: np.ndarray, labels: np.ndarray, codes: np.ndarray
) -> dict[str, tuple[float, int]]:
    """Same-topic precision@K of each post's K nearest posts (either language), by the post's
    language: the nearest posts are searched in the whole catalog, only the counting splits."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    hits = np.zeros(len(unit))
    for start in range(0, len(unit), 1000):
        block = unit[start : start + 1000] @ unit.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        nearest = np.argpartition(-block, K, axis=1)[:, :K]
        hits[start : start + len(block)] = (
            labels[nearest] == labels[start : start + len(block), None]
        ).mean(axis=1)
    return {
        code: (float(hits[codes == code].mean()), int((codes == code).sum()))
        for code in ("zh", "en")
    }


def run_share(share: float, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="agora-mixed-posts-") as folder:
        write_mixed_catalog(share, Path(folder), args.items, args.users, args.seed)
        catalog = read_catalog(Path(folder))
    zh = int((catalog.languages == "zh").sum())
    print(
        f"\n{share:.0%} Chinese: {len(catalog.items):,} posts ({zh:,} Chinese, "
        f"{len(catalog.never_rated):,} never rated), {len(catalog.interactions):,} ratings"
    )
    columns: dict[str, dict] = {}
    for text_encoder in args.encoders:
        model, seconds = fit(catalog, text_encoder)
        figures = measure(model, catalog, args.probes, args.seed + 1)
        note = model.text_encoder_note
        print(f"  text_encoder={text_encoder}: fitted in {seconds:.1f} s; read by {note}")
        columns[text_encoder] = {"figures": figures, "fit_s": seconds, "read_by": note}
    _print_table(columns)
    return columns


def _print_table(columns: dict[str, dict]) -> None:
    print(
        f"  {'same-topic precision@10, by probe language':<48}"
        + "".join(f"{e:>12}" for e in columns)
    )
    first = next(iter(columns.values()))["figures"]
    for shape in SHAPES:
        for code, (_, n) in first[shape].items():
            label = f"{shape}, {code} ({n:,})"
            values = "".join(f"{c['figures'][shape][code][0]:>12.3f}" for c in columns.values())
            print(f"  {label:<48}{values}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", nargs="+", type=float, default=[0.1, 0.3, 0.5, 0.7])
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--users", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0, help="the catalog's; probes use seed+1")
    parser.add_argument("--probes", type=int, default=200, help="posts per language and shape")
    parser.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=ENCODERS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    run_measured(lambda: {f"{s:.2f}": run_share(s, args) for s in args.shares}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
