"""Synthetic interactions for scale and load tests (never for quality claims).

Users and items follow power laws (a few heavy users, a long tail of items); every user has a
home taste cluster and most of their interactions fall in it, so collaborative models have real
structure to find. Rows are generated and written in chunks, so 20M+ interactions fit in a few
hundred MB. The output is deterministic for a given seed and size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data import schemas as S

logger = logging.getLogger(__name__)

# Topic words for item texts: each taste cluster draws its items' words from one topic.
TOPICS: dict[str, tuple[str, ...]] = {
    "space": ("galaxy", "rocket", "astronaut", "orbit", "alien", "planet", "starship"),
    "cooking": ("recipe", "kitchen", "spicy", "noodles", "baking", "chef", "dumplings"),
    "football": ("goal", "league", "striker", "match", "coach", "derby", "stadium"),
    "music": ("concert", "guitar", "album", "singer", "festival", "chorus", "vinyl"),
    "travel": ("beach", "island", "hiking", "passport", "hotel", "mountain", "roadtrip"),
    "gaming": ("console", "speedrun", "boss", "quest", "multiplayer", "level", "loot"),
    "finance": ("stocks", "budget", "savings", "crypto", "mortgage", "investing", "tax"),
    "fashion": ("sneakers", "runway", "denim", "vintage", "makeup", "streetwear", "style"),
    "pets": ("puppy", "kitten", "aquarium", "training", "vet", "parrot", "adoption"),
    "science": ("physics", "biology", "experiment", "telescope", "chemistry", "fossil", "lab"),
    "cars": ("engine", "electric", "racing", "motorbike", "garage", "drift", "turbo"),
    "movies": ("trailer", "director", "thriller", "comedy", "sequel", "cinema", "premiere"),
    "fitness": ("workout", "yoga", "marathon", "protein", "gym", "stretching", "cycling"),
    "parenting": ("toddler", "school", "bedtime", "homework", "family", "newborn", "playground"),
    "tech": ("smartphone", "laptop", "coding", "robot", "startup", "gadget", "chip"),
    "books": ("novel", "poetry", "author", "library", "fantasy", "mystery", "memoir"),
}
_STYLE_WORDS = ("guide", "review", "highlights", "tips", "story", "live", "top 10", "explained")


@dataclass(frozen=True)
class SyntheticConfig:
    interactions: int = 1_000_000
    users: int | None = None  # default: interactions // 50
    items: int | None = None  # default: interactions // 400, at least 200
    clusters: int = len(TOPICS)
    in_cluster_share: float = 0.8  # share of a user's events inside their home cluster
    user_exponent: float = 1.1  # Zipf-like exponent of user activity
    item_exponent: float = 0.9  # Zipf-like exponent of item popularity
    seed: int = 0
    chunk_rows: int = 2_000_000
    start_timestamp: int = 1_700_000_000
    span_seconds: int = 90 * 86_400

    def sizes(self) -> tuple[int, int]:
        users = self.users or max(100, self.interactions // 50)
        items = self.items or max(200, self.interactions // 400)
        return users, items

    def validate(self) -> None:
        if self.interactions <= 0:
            raise ValueError("interactions must be positive")
        if not 1 <= self.clusters <= len(TOPICS):
            raise ValueError(f"clusters must be between 1 and {len(TOPICS)}")
        if not 0.0 <= self.in_cluster_share <= 1.0:
            raise ValueError("in_cluster_share must be within [0, 1]")
        if self.sizes()[1] < self.clusters:
            raise ValueError("need at least one item per cluster")


def _power_law_weights(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Zipf-like weights over `n` entities in random order (rank 1 is not always id 0)."""
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()


def _sample(cdf: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right").clip(0, len(cdf) - 1)


def make_items(config: SyntheticConfig, item_cluster: np.ndarray) -> pd.DataFrame:
    """Item titles and short texts drawn from each item's cluster topic."""
    rng = np.random.default_rng(config.seed + 1)
    topic_names = list(TOPICS)[: config.clusters]
    titles, texts, genres = [], [], []
    for item, cluster in enumerate(item_cluster):
        topic = topic_names[cluster]
        words = rng.choice(TOPICS[topic], size=3, replace=False)
        style = _STYLE_WORDS[rng.integers(len(_STYLE_WORDS))]
        titles.append(f"{words[0].capitalize()} {style} #{item}")
        texts.append(f"{topic}: {' '.join(words)} {style}")
        genres.append(topic)
    return pd.DataFrame(
        {
            S.ITEM_ID: [f"i{i}" for i in range(len(item_cluster))],
            S.TITLE: titles,
            S.ITEM_TEXT: texts,
            S.GENRES: genres,
        }
    )


def generate(
    config: SyntheticConfig,
    interactions_path: Path,
    items_path: Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write interactions and items as Parquet files; return the number of interactions."""
    config.validate()
    n_users, n_items = config.sizes()
    rng = np.random.default_rng(config.seed)
    user_cdf = np.cumsum(_power_law_weights(n_users, config.user_exponent, rng))
    item_weights = _power_law_weights(n_items, config.item_exponent, rng)
    item_cluster = rng.integers(config.clusters, size=n_items)
    item_cluster[: config.clusters] = np.arange(config.clusters)  # no empty cluster
    user_cluster = rng.integers(config.clusters, size=n_users)
    global_cdf = np.cumsum(item_weights)
    cluster_items = [np.flatnonzero(item_cluster == c) for c in range(config.clusters)]
    cluster_cdfs = [np.cumsum(item_weights[members]) for members in cluster_items]

    schema = pa.schema(
        [
            (S.USER_ID, pa.string()),
            (S.ITEM_ID, pa.string()),
            (S.RATING, pa.float64()),
            (S.TIMESTAMP, pa.int64()),
        ]
    )
    interactions_path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with pq.ParquetWriter(interactions_path, schema) as writer:
        while written < config.interactions:
            size = min(config.chunk_rows, config.interactions - written)
            users = _sample(user_cdf, size, rng)
            items = _sample(global_cdf, size, rng)
            in_cluster = rng.random(size) < config.in_cluster_share
            home = user_cluster[users]
            for cluster in range(config.clusters):
                rows = np.flatnonzero(in_cluster & (home == cluster))
                picks = _sample(cluster_cdfs[cluster], len(rows), rng)
                items[rows] = cluster_items[cluster][picks]
            # In-cluster events get higher ratings: a weak signal rating-aware models can use.
            ratings = np.where(
                item_cluster[items] == home, rng.integers(3, 6, size), rng.integers(1, 4, size)
            ).astype(np.float64)
            stamps = config.start_timestamp + rng.integers(0, config.span_seconds, size)
            table = pa.table(
                {
                    S.USER_ID: pc.binary_join_element_wise(
                        "u", pc.cast(pa.array(users), pa.string()), ""
                    ),
                    S.ITEM_ID: pc.binary_join_element_wise(
                        "i", pc.cast(pa.array(items), pa.string()), ""
                    ),
                    S.RATING: ratings,
                    S.TIMESTAMP: stamps,
                },
                schema=schema,
            )
            writer.write_table(table)
            written += size
            if progress is not None:
                progress(size)
    make_items(config, item_cluster).to_parquet(items_path, index=False)
    logger.info("wrote %d synthetic interactions (%d users, %d items)", written, n_users, n_items)
    return written
