"""The vector index on tiny data: a search is not held up for the whole of a large add to the
HNSW graph, and a graph grown in chunks and by several threads keeps labels and recall."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from models.knowledge import VectorIndex
from models.knowledge.vector_index import HNSW_ADD_CHUNK

DIM = 64


def _unit(rows: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_search_is_not_blocked_for_the_whole_of_a_large_add() -> None:
    """Regression: a batch of 1,000 cases entered the graph under one hold of its lock, so a
    worker's /triage waited up to 1.3 s for each while it read its resolved cases."""
    index = VectorIndex(DIM, ann_threshold=50)
    index.add(_unit(60, seed=1))
    assert index.uses_ann
    big = _unit(HNSW_ADD_CHUNK * 80, seed=2)
    total = 60 + len(big)
    writer = threading.Thread(target=index.add, args=(big,))
    writer.start()
    deadline = time.monotonic() + 10
    while len(index) == 60 and time.monotonic() < deadline:  # the add has begun: the first
        time.sleep(0.0005)  # chunk is in, and the writer goes on with the next
    labels, _ = index.search(big[:1], k=3)
    held_when_answered = len(index)
    writer.join()
    assert held_when_answered < total  # answered between chunks, not after the whole add
    assert (labels >= 0).all() and (labels < total).all()
    assert len(index) == total


@pytest.mark.parametrize("add_threads", [1, 2])
def test_a_graph_grown_in_chunks_keeps_positions_as_labels(add_threads: int) -> None:
    vectors = _unit(50 + 3 * HNSW_ADD_CHUNK + 7, seed=3)
    index = VectorIndex(DIM, ann_threshold=50, add_threads=add_threads)
    index.add(vectors[:50])  # the graph is built from these, with `add_threads`
    index.add(vectors[50:])  # then grows a chunk at a time
    assert index.uses_ann and len(index) == len(vectors)
    probe = np.array([0, 49, 50, 50 + HNSW_ADD_CHUNK, len(vectors) - 1])
    labels, scores = index.search(vectors[probe], k=1)
    assert labels[:, 0].tolist() == probe.tolist()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)
    assert np.allclose(index.vectors(probe), vectors[probe], atol=1e-6)


def test_add_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="add_threads"):
        VectorIndex(DIM, add_threads=0)


@pytest.mark.parametrize("ann_threshold", [10**9, 50])  # exact matrix, HNSW graph
def test_a_removed_vector_is_never_found_again(ann_threshold: int) -> None:
    vectors = _unit(60, seed=4)
    index = VectorIndex(DIM, ann_threshold=ann_threshold)
    index.add(vectors)
    assert index.uses_ann == (ann_threshold == 50)
    assert index.remove([3, 3, 7, 999]) == 2  # each once; a label never held is skipped
    assert index.remove([3]) == 0 and len(index) == 58
    labels, _ = index.search(vectors[[3, 7, 8]], k=5)
    assert not {3, 7} & set(labels.ravel().tolist())
    assert labels[2, 0] == 8  # the others are found as before
    labels, scores = index.search(vectors[:1], k=60)  # more than held: padded, not an error
    assert (labels[0, :58] >= 0).all() and (labels[0, 58:] == -1).all()
    assert np.isneginf(scores[0, 58:]).all()


def test_a_vector_removed_before_the_graph_is_built_stays_removed() -> None:
    vectors = _unit(60, seed=5)
    index = VectorIndex(DIM, ann_threshold=50)
    index.add(vectors[:40])
    index.remove([5])
    index.add(vectors[40:])  # crosses the threshold: the graph is built from the matrix
    assert index.uses_ann and len(index) == 59
    labels, _ = index.search(vectors[[5]], k=3)
    assert 5 not in labels.ravel().tolist()
