"""The knowledge base a worker serves, kept up to date from the resolution log.

Each worker holds its own `models.knowledge.ScriptRoutedKnowledgeBase` in memory. A daemon
thread reads the resolutions stored after the last one it saw every AGORA_KB_REFRESH_S seconds
(default 2) and embeds only those, so a new resolution is findable by `/triage` within that
interval plus the time to embed it (milliseconds for one case). The same read follows the cases
erased with their customer's data (`data.store.erasure`) and drops them, so an erased case stops
being a similar case within one interval. Latin-script cases are embedded by
the encoder of AGORA_KB_ENCODER (`static-lexical` by default; see `models.knowledge.encoders`),
made once into the serving cache, which needs torch that once, and loaded by that thread when the
first such case arrives; Chinese cases by their character pairs (`models.knowledge.han_bigrams`),
which need no model. A service with no resolved case loads nothing, and `/triage` embeds its text
only when there is something to compare it with.
AGORA_SIMILAR_CASES=0 turns the whole feature off (no thread, no encoder, no similar_cases).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final

from data.store.erasure import Erasures
from data.store.resolutions import ResolutionLog
from models.classifiers.onnx_runner import inference_threads
from models.knowledge import (
    DEFAULT_K,
    DEFAULT_KB_ENCODER,
    MIN_SIMILARITY,
    KbEncoder,
    LazyEncoder,
    ScriptRoutedKnowledgeBase,
    SimilarCase,
    knowledge_encoder,
    parse_kb_encoder,
)
from serving import ops_metrics
from serving.settings import KB_ENCODER_ENV, KB_REFRESH_ENV, SIMILAR_CASES_ENV
from serving.store_followers import follow_forever, refresh_seconds
from serving.worker_tuning import settle_after_load

logger = logging.getLogger(__name__)


def index_threads() -> int:
    """Threads the knowledge base's graph may use to add cases: the worker's share of the
    cores (`worker_tuning.share_the_cores`, 0 meaning all). Building the graph is most of a
    worker's read of its resolved cases after a start, when it has little else to do."""
    return max(1, inference_threads() or os.cpu_count() or 1)


DEFAULT_REFRESH_S: Final = 2.0


@dataclass(frozen=True)
class KnowledgeSettings:
    """Whether /triage answers similar cases, how many, embedded how, how fresh."""

    enabled: bool = True
    k: int = DEFAULT_K
    encoder: KbEncoder = DEFAULT_KB_ENCODER
    refresh_s: float = DEFAULT_REFRESH_S

    @property
    def min_similarity(self) -> float:
        """The encoder's threshold: below it a case is not similar."""
        return MIN_SIMILARITY[self.encoder]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KnowledgeSettings:
        env = os.environ if environ is None else environ
        refresh = refresh_seconds(env, KB_REFRESH_ENV, DEFAULT_REFRESH_S)
        named = env.get(KB_ENCODER_ENV, "") or DEFAULT_KB_ENCODER
        encoder = parse_kb_encoder(named, KB_ENCODER_ENV)
        return cls(
            enabled=env.get(SIMILAR_CASES_ENV, "1").strip() != "0",
            encoder=encoder,
            refresh_s=refresh,
        )


class ServedKnowledge:
    """A worker's knowledge base and the thread that keeps it caught up with the store."""

    def __init__(self, log: ResolutionLog, settings: KnowledgeSettings, cache_dir: Path) -> None:
        self.log = log
        # The erased cases are listed in the resolutions' own store (data.store.erasure).
        self.erasures = Erasures(log.engine)
        self.settings = settings
        # Latin-script cases by the configured encoder, Chinese ones by their character pairs.
        self.base = ScriptRoutedKnowledgeBase(
            LazyEncoder(lambda: knowledge_encoder(cache_dir, settings.encoder)),
            index_threads=index_threads(),
        )
        self._encoder_settled = False
        # Positions in the resolutions and corrections: each also finds rows whose number
        # became visible after a higher one (concurrent inserts; see data.store.follow).
        self._cases = log.case_follower()
        self._corrections = log.correction_follower()
        self._erased = self.erasures.follower()

    def start(self) -> None:
        if self.settings.enabled:
            follow = partial(
                follow_forever,
                self.catch_up,
                self.settings.refresh_s,
                "the resolved cases",
                read_first=True,
                on_failure=ops_metrics.knowledge_refresh_failed,
                on_success=lambda: ops_metrics.knowledge_refreshed(len(self.base)),
            )
            threading.Thread(target=follow, name="knowledge-refresh", daemon=True).start()

    def similar_cases(self, text: str, reason: str | None = None) -> list[SimilarCase]:
        """The resolved cases most like `text`, those of `reason` (what triage found) first;
        none while the knowledge base is empty."""
        if not self.settings.enabled or len(self.base) == 0:
            return []
        settings = self.settings
        found = self.base.similar(
            [text], settings.k, min_similarity=settings.min_similarity, reasons=[reason]
        )
        return found[0]

    def catch_up(self) -> int:
        """Embed the resolved cases not read yet (including one whose number became visible
        after a higher one's), refile held cases agents corrected, and drop erased cases;
        returns how many cases were embedded."""
        embedded = 0

        def add(seqs: Sequence[int]) -> None:
            nonlocal embedded
            embedded += self.base.add(self.log.cases_at(seqs))

        self._cases.drain(add)
        # After the cases: a correction of a case read just now is already applied to it.
        self._corrections.drain(lambda seqs: self.base.refile(self.log.filings_corrected_at(seqs)))
        # Last: a case read just now, before its customer's erasure committed, is dropped in
        # this same catch-up (an erasure deletes the resolution before it lists the case).
        self._erased.drain(lambda seqs: self.base.forget(self.erasures.erased_at(seqs)))
        if embedded and not self._encoder_settled:
            # The encoder was just loaded: freeze the grown heap out of GC passes.
            settle_after_load()
            self._encoder_settled = True
        return embedded
