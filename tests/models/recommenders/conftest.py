"""A tiny two-community dataset and one shared sentence encoder for the recommender tests.

Users u00-u05 watch space films (even items), u06-u11 romances (odd items); each user skips one
film of their side, so a good model recommends exactly that film first. Item i10 is in the
catalog only: nobody watched it, so only the content model can serve it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from features.embeddings import TextEncoder, shared_text_encoder

SPACE = [
    ("i0", "Galaxy Raiders", "Sci-Fi|Action"),
    ("i2", "Rocket to the Red Planet", "Sci-Fi|Adventure"),
    ("i4", "Starship Crew", "Sci-Fi|Action"),
    ("i6", "Alien Moons", "Sci-Fi|Thriller"),
    ("i8", "Laser Squadron", "Action|Comedy"),
]
ROMANCE = [
    ("i1", "Love in Paris", "Romance|Drama"),
    ("i3", "A Summer Wedding", "Romance|Comedy"),
    ("i5", "Letters to Juliet", "Romance|Drama"),
    ("i7", "The Vineyard Kiss", "Romance"),
    ("i9", "Second Chance at Love", "Romance|Drama"),
]
CATALOG_ONLY = ("i10", "Voyage Beyond the Stars: a space exploration epic", "Sci-Fi|Adventure")


def community_interactions() -> pd.DataFrame:
    rows = []
    for side, films in ((range(0, 6), SPACE), (range(6, 12), ROMANCE)):
        for position, user in enumerate(side):
            skipped = films[position % len(films)][0]
            for rank, (item_id, _, _) in enumerate(films):
                if item_id != skipped:
                    rows.append((f"u{user:02d}", item_id, float(5 - rank % 3), 1000 * user + rank))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


def community_items() -> pd.DataFrame:
    rows = [*SPACE, *ROMANCE, CATALOG_ONLY]
    return pd.DataFrame(
        [(item_id, title, "", genres) for item_id, title, genres in rows],
        columns=["item_id", "title", "text", "genres"],
    )


@pytest.fixture(scope="session")
def encoder() -> TextEncoder:
    """The packaged MiniLM, loaded once per test session (the process-wide shared instance)."""
    return shared_text_encoder()


# Session-scoped so that module-scoped fitted models can use them; tests must not change them.
@pytest.fixture(scope="session")
def interactions() -> pd.DataFrame:
    return community_interactions()


@pytest.fixture(scope="session")
def items() -> pd.DataFrame:
    return community_items()
