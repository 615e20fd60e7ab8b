"""The knowledge base: resolved cases, found again by what their message says.

Each resolved case's (redacted) message is embedded once with the sentence encoder; a new
message is embedded the same way and compared by cosine similarity (`VectorIndex`: exact below a
size, HNSW above). Cases are added incrementally, in whatever order the resolution log yields them
(`add` embeds only triages it does not hold), so a reader never re-embeds old cases. A triage
resolved again keeps its vector and takes its newest resolution (highest `seq`). A case whose
customer's data was erased is forgotten (`forget`): never found again, its excerpt dropped.

The encoders are English models: all-MiniLM-L6-v2's word-piece vocabulary, and so its static
distillation, holds Latin-script words and few others (244 Chinese characters). A text in another
script is read as unknown pieces, and unrelated texts then look alike: five unrelated Chinese
complaints scored 0.42-0.72 with the static encoder and 0.53-0.71 with the transformer, above both
thresholds. So a text whose letters are mostly of another script (`encoder_reads`) is neither
embedded nor answered here: no similar cases rather than unrelated ones. Chinese text has a base
of its own, read by its character pairs (`han_bigrams`, `script_routed`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol

import numpy as np

from data.store.resolutions import FILING_FIELDS, ResolvedCase
from features.language import script_profile
from models.knowledge.vector_index import DEFAULT_ANN_THRESHOLD, VectorIndex

logger = logging.getLogger(__name__)

DEFAULT_K: Final = 3
MAX_K: Final = 20
MAX_QUERY_CHARS: Final = 2_000  # the encoder reads 256 word pieces; more text is only cost
EXCERPT_CHARS: Final = 200
MAX_QUERIES: Final = 1_000
# Nearest cases a query's reason re-orders (see `similar`): enough that a case of the same
# reason is usually among them, few enough that one far below the best is not promoted over it.
REASON_CANDIDATES: Final = 20
READABLE_SCRIPTS: Final = frozenset({"Latin"})  # what the encoders' vocabulary holds


def encoder_reads(text: str) -> bool:
    """Whether the knowledge base's encoders can read `text`: most of its letters are Latin
    script (see the module docstring). A text of no letters at all is not read either."""
    return script_profile(text[:MAX_QUERY_CHARS]).dominant in READABLE_SCRIPTS


class Encoder(Protocol):
    """What the knowledge base needs of an encoder (features.embeddings.TextEncoder is one)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class SimilarCase:
    """A resolved case like a query: what it was, how it was resolved, how similar it is."""

    triage_id: str
    similarity: float
    reason: str | None
    category: str | None
    queue: str | None
    resolution: str
    outcome: str
    excerpt: str  # the beginning of the case's redacted message


class KnowledgeBase:
    """Resolved cases and their message embeddings; `similar` finds the closest cases."""

    def __init__(
        self,
        encoder: Encoder,
        ann_threshold: int = DEFAULT_ANN_THRESHOLD,
        reads: Callable[[str], bool] = encoder_reads,
        index_threads: int = 1,
    ) -> None:
        self.encoder = encoder
        self.reads = reads
        self.ann_threshold = ann_threshold
        self.index_threads = index_threads  # threads adding to the HNSW graph (VectorIndex)
        self._index: VectorIndex | None = None
        # position = the index's label; each message held as its excerpt only (`_kept`); None
        # where a case was forgotten (its label stays taken in the index)
        self._cases: list[ResolvedCase | None] = []
        self._position: dict[str, int] = {}  # triage_id -> position
        self._last_seq = 0
        self._write_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._index) if self._index is not None else 0

    @property
    def last_seq(self) -> int:
        """The highest resolution `seq` added."""
        return self._last_seq

    def refile(self, filings: Mapping[str, Mapping[str, str]]) -> int:
        """Refile held cases by agents' corrections (triage_id -> {field: latest corrected
        label}, fields of FILING_FIELDS); returns how many held cases changed. Setting the
        latest labels, not replaying corrections, makes the order they are read in irrelevant.
        Nothing is re-embedded: the message is the same, only what it was about is corrected.
        A case not held yet is skipped: `add` reads it with its corrections applied."""
        with self._write_lock:
            changed = 0
            for triage_id, fields in filings.items():
                position = self._position.get(triage_id)
                if position is None:
                    continue
                case = self._cases[position]
                if case is None:
                    continue
                update = {
                    name: label
                    for name, label in fields.items()
                    if name in FILING_FIELDS and getattr(case, name) != label
                }
                if update:
                    self._cases[position] = replace(case, **update)
                    changed += 1
            return changed

    def forget(self, triage_ids: Sequence[str]) -> int:
        """Drop the cases of `triage_ids` (erased from the store): removed from the index first,
        so a search never finds one, then their excerpt and resolution let go. Returns how many
        held cases were dropped; ids not held are skipped."""
        with self._write_lock:
            positions = [p for t in triage_ids if (p := self._position.pop(t, None)) is not None]
            if not positions:
                return 0
            if self._index is not None:
                self._index.remove(positions)
            for position in positions:
                self._cases[position] = None
            logger.info("knowledge base: %d erased cases dropped", len(positions))
            return len(positions)

    @property
    def uses_ann(self) -> bool:
        return self._index is not None and self._index.uses_ann

    @property
    def index(self) -> VectorIndex | None:
        """The vectors' index (None before the first case)."""
        return self._index

    def add(self, cases: Sequence[ResolvedCase]) -> int:
        """Add resolved cases, in any order; returns how many messages were embedded. A triage
        already held takes a newer resolution (higher `seq`) without re-embedding; an older or
        the same one changes nothing, so adding a batch twice is harmless. A case the encoders
        cannot read (`reads`) is skipped: it would look like every other such case."""
        with self._write_lock:
            newest = max((c.seq for c in cases), default=self._last_seq)
            held: dict[int, ResolvedCase] = {}
            fresh: dict[str, ResolvedCase] = {}  # a later resolution in the batch wins
            for case in sorted(cases, key=lambda c: c.seq):
                if not self.reads(case.text):
                    continue
                position = self._position.get(case.triage_id)
                if position is None:
                    fresh[case.triage_id] = case
                elif case.seq > self._held_seq(held.get(position) or self._cases[position]):
                    held[position] = case
            if not held and not fresh:
                self._last_seq = max(self._last_seq, newest)
                return 0
            new_cases = list(fresh.values())
            # Embedded before anything changes: if the encoder fails, a retry re-reads them.
            if new_cases:
                vectors = self.encoder.encode([c.text[:MAX_QUERY_CHARS] for c in new_cases])
            for position, case in held.items():
                self._cases[position] = _kept(case)  # one reference swap per case
            self._last_seq = max(self._last_seq, newest)
            if not new_cases:
                return 0
            if self._index is None:
                self._index = VectorIndex(
                    int(vectors.shape[1]), self.ann_threshold, add_threads=self.index_threads
                )
            start = len(self._cases)
            # Cases first, then vectors: a search never finds a label without its case.
            self._cases.extend(_kept(case) for case in new_cases)
            self._position.update({c.triage_id: start + i for i, c in enumerate(new_cases)})
            self._index.add(vectors)
            logger.info("knowledge base: %d cases embedded, %d held", len(new_cases), len(self))
            return len(new_cases)

    def similar(
        self,
        texts: Sequence[str],
        k: int = DEFAULT_K,
        *,
        min_similarity: float,
        reasons: Sequence[str | None] | None = None,
    ) -> list[list[SimilarCase]]:
        """For each text, up to `k` cases with cosine similarity >= `min_similarity`, best first.

        The threshold belongs to the encoder (`encoders.MIN_SIMILARITY`): cosine scales differ.

        `reasons` (one per text, None where unknown) is what triage made of each text: among
        the `REASON_CANDIDATES` nearest cases above the threshold, cases of the same reason come
        first, each group by similarity. Messages about different problems often read alike
        (CFPB narratives of one product share most of their words); the reason model has read
        what tells them apart. Nothing is embedded while the knowledge base is empty.
        """
        if not 1 <= k <= MAX_K:
            raise ValueError(f"k must be between 1 and {MAX_K}")
        if len(texts) > MAX_QUERIES:
            raise ValueError(f"at most {MAX_QUERIES} texts per call")
        if reasons is not None and len(reasons) != len(texts):
            raise ValueError(f"{len(reasons)} reasons for {len(texts)} texts")
        index = self._index
        found: list[list[SimilarCase]] = [[] for _ in texts]
        if index is None or len(index) == 0:
            return found
        read = [row for row, text in enumerate(texts) if self.reads(text)]
        if not read:
            return found
        queries = self.encoder.encode([texts[row][:MAX_QUERY_CHARS] for row in read])
        wanted = [reasons[row] if reasons is not None else None for row in read]
        fetch = max(k, REASON_CANDIDATES) if any(r is not None for r in wanted) else k
        labels, scores = index.search(queries, fetch)
        for row, row_labels, row_scores, reason in zip(read, labels, scores, wanted, strict=True):
            near = [
                (int(label), float(score))
                for label, score in zip(row_labels, row_scores, strict=True)
                if label >= 0 and score >= min_similarity
            ]
            # A case forgotten after the index answered is left out (its label held None).
            hits = [(self._cases[label], score) for label, score in near]
            held = [(case, score) for case, score in hits if case is not None]
            if reason is not None:  # a stable sort keeps the similarity order in each group
                held.sort(key=lambda hit: hit[0].reason != reason)
            found[row] = [_similar_case(case, score) for case, score in held[:k]]
        return found

    @staticmethod
    def _held_seq(case: ResolvedCase | None) -> int:
        """The resolution `seq` of a held case (a position in `_position` always holds one)."""
        return case.seq if case is not None else 0


def _similar_case(case: ResolvedCase, similarity: float) -> SimilarCase:
    return SimilarCase(
        triage_id=case.triage_id,
        similarity=round(similarity, 4),
        reason=case.reason,
        category=case.category,
        queue=case.queue,
        resolution=case.resolution,
        outcome=case.outcome,
        excerpt=case.text,  # held as its excerpt (`_kept`)
    )


def _kept(case: ResolvedCase) -> ResolvedCase:
    """`case` as the knowledge base holds it once embedded: its message cut to the excerpt an
    answer shows. Holding whole messages cost a worker up to 2,000 characters a case (and 100 KB
    before the store cut them), for 200 shown."""
    return replace(case, text=_excerpt(case.text))


def _excerpt(text: str) -> str:
    """The first EXCERPT_CHARS characters of `text`, cut at a word where one is near."""
    text = " ".join(text.split())
    if len(text) <= EXCERPT_CHARS:
        return text
    cut = text.rfind(" ", EXCERPT_CHARS // 2, EXCERPT_CHARS)
    return text[: cut if cut > 0 else EXCERPT_CHARS] + "…"
