"""The requests bench/load_service.py sends: /recommend bodies in a user mix from MovieLens-100K,
and airline tweets for /triage and /triage_batch."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from data import schemas as S
from data.loaders import load_interactions, load_labelled_texts

MOVIELENS = "movielens-100k"
AIRLINE = "airline-sentiment"
MIX = {"known": 0.80, "cold": 0.15, "new": 0.05}  # request kinds and their shares


@dataclass(frozen=True)
class Request:
    kind: str
    body: bytes


def recommend_requests(count: int, k: int, seed: int, dataset: str = MOVIELENS) -> list[Request]:
    """`count` /recommend bodies in the MIX proportions, ids from `dataset` (MovieLens-100K)."""
    frame = load_interactions(dataset)
    ids = frame[S.USER_ID].astype(str).unique()
    numeric = all(user.isdigit() for user in ids)
    users = np.asarray(sorted(ids, key=int) if numeric else sorted(ids))
    counts = frame[S.ITEM_ID].value_counts()
    items, popularity = counts.index.to_numpy(), counts.to_numpy(dtype=float)
    popularity /= popularity.sum()
    rng = np.random.default_rng(seed)
    kinds = rng.choice(list(MIX), size=count, p=list(MIX.values()))
    requests = []
    for number, kind in enumerate(kinds):
        body: dict[str, object] = {"k": k}
        if kind == "known":
            body["user_id"] = str(rng.choice(users))
        elif kind == "cold":
            size = int(rng.integers(1, 9))
            body["user_id"] = f"load-cold-{number}"
            body["recent_items"] = [str(i) for i in rng.choice(items, size, False, popularity)]
        else:
            body["user_id"] = f"load-new-{number}"
        requests.append(Request(str(kind), json.dumps(body).encode()))
    return requests


def triage_texts() -> list[str]:
    texts = load_labelled_texts(AIRLINE)[S.TEXT].astype(str).tolist()
    return [t for t in texts if t.strip()]


def triage_requests(texts: list[str], count: int, seed: int) -> list[Request]:
    """`count` single-text /triage bodies (no customer_id: nothing is recorded)."""
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(texts), size=count)
    return [Request("text", json.dumps({"text": texts[i]}).encode()) for i in picked]
