"""The knowledge base on tiny data: exact and HNSW search agree, cases are added incrementally
without re-embedding, the similarity threshold and k bound the answer."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from data.store.resolutions import ResolvedCase
from models.knowledge import KnowledgeBase, VectorIndex

DIM = 32


class TableEncoder:
    """Texts "t<i>" map to fixed random unit vectors; any other text to its hash's vector.
    Counts what it encodes, so a test sees whether a case was embedded again."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.vectors: dict[str, np.ndarray] = {}
        self.encoded: list[str] = []

    def vector(self, text: str) -> np.ndarray:
        if text not in self.vectors:
            v = self.rng.normal(size=DIM).astype(np.float32)
            self.vectors[text] = v / np.linalg.norm(v)
        return self.vectors[text]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.stack([self.vector(t) for t in texts]) if texts else np.zeros((0, DIM))


def _case(i: int, seq: int | None = None, resolution: str = "fixed") -> ResolvedCase:
    return ResolvedCase(
        seq=seq if seq is not None else i + 1,
        triage_id=f"tr{i}",
        text=f"t{i}",
        reason=f"reason{i % 3}",
        category="cat",
        queue="q",
        resolution=resolution,
        outcome="resolved",
    )


def _noisy_queries(encoder: TableEncoder, n: int, seed: int) -> list[str]:
    """Query texts whose vectors are held cases' vectors plus noise (registered in encoder)."""
    rng = np.random.default_rng(seed)
    texts = []
    for j in range(n):
        base = encoder.vector(f"t{rng.integers(0, 300)}")
        v = base + 0.3 * rng.normal(size=DIM).astype(np.float32)
        encoder.vectors[f"q{j}"] = (v / np.linalg.norm(v)).astype(np.float32)
        texts.append(f"q{j}")
    return texts


def test_exact_and_hnsw_search_find_the_same_top_cases() -> None:
    encoder = TableEncoder()
    cases = [_case(i) for i in range(300)]
    exact = KnowledgeBase(encoder, ann_threshold=10**9)
    ann = KnowledgeBase(encoder, ann_threshold=50)
    exact.add(cases)
    ann.add(cases[:40])  # below the threshold: exact, then HNSW built when it is crossed
    assert not ann.uses_ann
    ann.add(cases[40:])
    assert ann.uses_ann and not exact.uses_ann
    queries = _noisy_queries(encoder, 50, seed=1)
    got_exact = exact.similar(queries, k=3, min_similarity=-1.0)
    got_ann = ann.similar(queries, k=3, min_similarity=-1.0)
    ids = [[c.triage_id for c in row] for row in got_exact]
    assert ids == [[c.triage_id for c in row] for row in got_ann]
    assert all(len(row) == 3 for row in ids)
    similarities = [[c.similarity for c in row] for row in got_exact]
    assert np.allclose(similarities, [[c.similarity for c in row] for row in got_ann], atol=1e-3)
    assert all(row == sorted(row, reverse=True) for row in similarities)


def test_cases_are_added_incrementally_without_embedding_old_ones_again() -> None:
    encoder = TableEncoder()
    base = KnowledgeBase(encoder)
    assert base.add([_case(0), _case(1), _case(2)]) == 3
    assert base.add([_case(0), _case(1), _case(2), _case(3), _case(4)]) == 2  # seq 1-3 seen
    assert encoder.encoded == ["t0", "t1", "t2", "t3", "t4"]
    assert base.last_seq == 5 and len(base) == 5
    # A held triage resolved again: the newer resolution, the old vector.
    assert base.add([_case(1, seq=6, resolution="refunded instead")]) == 0
    assert len(encoder.encoded) == 5
    [[top]] = base.similar(["t1"], k=1, min_similarity=0.5)
    assert (top.triage_id, top.resolution) == ("tr1", "refunded instead")
    assert top.similarity == pytest.approx(1.0, abs=1e-4)


def test_the_threshold_and_k_bound_the_answer_and_an_empty_base_embeds_nothing() -> None:
    encoder = TableEncoder()
    base = KnowledgeBase(encoder)
    assert base.similar(["anything", "else"], k=3, min_similarity=0.5) == [[], []]
    assert encoder.encoded == []  # nothing to compare with: the query is not embedded
    base.add([_case(i) for i in range(10)])
    [strict] = base.similar(["t4"], k=3, min_similarity=0.99)
    assert [c.triage_id for c in strict] == ["tr4"]  # random others are far below 0.99
    [loose] = base.similar(["t4"], k=3, min_similarity=-1.0)
    assert len(loose) == 3 and loose[0].triage_id == "tr4"
    [wide] = base.similar(["t4"], k=20, min_similarity=-1.0)
    assert len(wide) == 10  # fewer cases than k
    with pytest.raises(ValueError, match="k must be"):
        base.similar(["t4"], k=0, min_similarity=0.5)


def test_the_excerpt_is_short_and_cut_at_a_word() -> None:
    encoder = TableEncoder()
    long_text = "word " * 200
    encoder.vectors[long_text[:2000]] = encoder.vector("t0")
    base = KnowledgeBase(encoder)
    base.add([ResolvedCase(1, "tr", long_text, None, None, None, "ok", "resolved")])
    [[case]] = base.similar(["t0"], k=1, min_similarity=0.5)
    assert len(case.excerpt) <= 201 and case.excerpt.endswith("word…")


def test_vector_index_pads_when_it_holds_fewer_than_k() -> None:
    index = VectorIndex(DIM)
    labels, scores = index.search(np.ones((2, DIM), np.float32), k=2)
    assert (labels == -1).all() and np.isneginf(scores).all()
    with pytest.raises(ValueError, match="vectors must be"):
        index.add(np.ones((1, DIM + 1), np.float32))


def test_cases_of_the_querys_reason_come_first_each_group_by_similarity() -> None:
    encoder = TableEncoder(seed=3)
    base = KnowledgeBase(encoder)
    base.add([_case(i) for i in range(60)])  # reasons reason0, reason1, reason2 in turn
    [query] = _noisy_queries(encoder, 1, seed=5)
    [plain] = base.similar([query], k=6, min_similarity=-1.0)
    [ordered] = base.similar([query], k=6, min_similarity=-1.0, reasons=["reason1"])
    same = [c for c in ordered if c.reason == "reason1"]
    assert same and ordered[: len(same)] == same  # the reason's cases first ...
    for group in (same, ordered[len(same) :]):  # ... and each group by similarity
        assert [c.similarity for c in group] == sorted((c.similarity for c in group), reverse=True)
    # Only among the nearest REASON_CANDIDATES: a case of the reason far down is not promoted.
    ranked = base.similar([query], k=20, min_similarity=-1.0)[0]
    assert {c.triage_id for c in ordered} <= {c.triage_id for c in ranked}
    # No reason (or an unknown one): the plain similarity order.
    assert base.similar([query], k=6, min_similarity=-1.0, reasons=[None]) == [plain]
    assert base.similar([query], k=6, min_similarity=-1.0, reasons=["other"]) == [plain]
    with pytest.raises(ValueError, match="reasons"):
        base.similar([query, query], min_similarity=0.5, reasons=["reason1"])


def test_refile_sets_the_latest_labels_of_held_cases_and_skips_the_rest() -> None:
    base = KnowledgeBase(TableEncoder())
    base.add([_case(0), _case(1)])
    changed = base.refile(
        {
            "tr0": {"queue": "latest"},
            "tr9": {"reason": "x"},  # not held: `add` reads it corrected
            "tr1": {"sentiment": "negative"},  # not a filing label
        }
    )
    assert changed == 1
    [[case]] = base.similar(["t0"], k=1, min_similarity=0.5)
    assert case.queue == "latest" and case.reason == "reason0"
    assert base.refile({"tr0": {"queue": "latest"}}) == 0  # already so: nothing changes


def test_a_resolution_read_late_is_added_but_never_replaces_a_newer_one() -> None:
    encoder = TableEncoder()
    base = KnowledgeBase(encoder)
    assert base.add([_case(0, seq=11), _case(1, seq=12, resolution="newer")]) == 2
    # Numbers 9 and 10 committed after 11 and 12 were read (concurrent inserts).
    assert base.add([_case(2, seq=9), _case(1, seq=10, resolution="older")]) == 1
    assert encoder.encoded == ["t0", "t1", "t2"] and base.last_seq == 12
    [[case]] = base.similar(["t1"], k=1, min_similarity=0.5)
    assert case.resolution == "newer"


def test_texts_the_encoders_cannot_read_are_neither_embedded_nor_answered() -> None:
    """The encoders are English models: unrelated Chinese complaints look alike to them, so a
    Chinese case is not held and a Chinese query gets no similar cases (not unrelated ones)."""
    encoder = TableEncoder()
    base = KnowledgeBase(encoder)
    chinese = replace(_case(1, seq=2), text="外卖送到的时候已经凉了，而且少了一份米饭")
    assert base.add([_case(0), chinese]) == 1
    assert encoder.encoded == ["t0"] and base.last_seq == 2
    assert base.add([replace(_case(2, seq=3), text="快递三天了还没到")]) == 0
    assert base.last_seq == 3  # read, not held: a reader does not ask for it again
    found = base.similar(
        ["t0", "快递三天了还没到", "🙂👍", "my t0 order 外"], k=1, min_similarity=-1.0
    )
    assert [[c.triage_id for c in row] for row in found] == [["tr0"], [], [], ["tr0"]]
    assert encoder.encoded[1:] == ["t0", "my t0 order 外"]  # only what it can read was embedded


def test_vectors_are_held_once_after_the_switch_to_hnsw() -> None:
    """Regression: the exact matrix was kept beside the HNSW graph, so every vector was held
    twice or more (1.1 GB of a worker's memory for 92,000 resolved cases)."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(90, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(DIM, ann_threshold=50)
    index.add(vectors[:40])
    assert index.matrix_bytes >= 40 * DIM * 4 and not index.uses_ann
    index.add(vectors[40:60])  # crosses the threshold: the graph is built from the matrix
    index.add(vectors[60:])  # and then grows alone
    assert index.uses_ann and index.matrix_bytes == 0
    labels, scores = index.search(vectors[[5, 45, 85]], k=1)
    assert labels[:, 0].tolist() == [5, 45, 85]
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)


class RandomEncoder:
    """Random unit vectors, keeping nothing of the texts it reads."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        v = self.rng.normal(size=(len(texts), DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_held_case_keeps_the_excerpt_of_its_message_not_the_message() -> None:
    """Regression: the knowledge base held every case's whole message in each worker, to
    show its first 200 characters."""
    base = KnowledgeBase(RandomEncoder())
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    cases = [_case(i) for i in range(50)]
    cases = [replace(c, text=f"case {i} " + "long words " * 2_000) for i, c in enumerate(cases)]
    base.add(cases)
    del cases
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # The 50 messages are 1.1 MB; the index's first matrix is 131 KB, the excerpts 10 KB.
    assert held < 400_000, held
    [[found]] = base.similar(["case 7"], k=1, min_similarity=-1.0)
    assert len(found.excerpt) <= 201 and found.excerpt.startswith("case ")


@pytest.mark.parametrize("ann_threshold", [10**9, 5])
def test_a_forgotten_case_is_never_answered_and_its_text_is_let_go(ann_threshold: int) -> None:
    """An erased customer's resolved case leaves the base: not found, its excerpt not held."""
    base = KnowledgeBase(TableEncoder(), ann_threshold=ann_threshold)
    base.add([_case(i) for i in range(8)])
    assert base.forget(["tr2", "tr-unknown"]) == 1 and base.forget(["tr2"]) == 0
    assert len(base) == 7
    found = base.similar(["t2", "t3"], k=8, min_similarity=-1.0, reasons=["reason2", None])
    assert all("tr2" not in [c.triage_id for c in row] for row in found)
    assert found[1][0].triage_id == "tr3" and len(found[0]) == 7
    assert all(case is None or case.triage_id != "tr2" for case in base._cases)
    assert base.refile({"tr2": {"reason": "other"}}) == 0  # nothing to refile
    assert base.add([_case(2, seq=20, resolution="again")]) == 1  # a new case, if ever sent
