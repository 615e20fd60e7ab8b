"""The knowledge base a worker serves, kept up to date from the resolution log.

Each worker holds its own `models.knowledge.ScriptRoutedKnowledgeBase` in memory. A daemon
thread reads the resolutions stored after the last one it saw every AGORA_KB_REFRESH_S seconds
(default 2) and embeds only those, so a new resolution is findable by `/triage` within that
interval plus the time to embed it (milliseconds for one case). Latin-script cases are embedded by
the encoder of AGORA_KB_ENCODER (`static-lexical` by default; see `models.knowledge.encoders`),
made once into the serving cache, which needs torch that once, and loaded by that thread when the
first such case arrives; Chinese cases by their character pairs (`models.knowledge.han_bigrams`),
which need no model. A service with no resolved case loads nothing, and `/triage` embeds its text
only when there is something to compare it with.
AGORA_SIMILAR_CASES=0 turns the whole feature off (no thread, no encoder, no similar_cases).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from data.store import is_store_outage
from data.store.resolutions import ResolutionLog
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
from serving.settings import KB_ENCODER_ENV, KB_REFRESH_ENV, SIMILAR_CASES_ENV, env_number
from serving.worker_tuning import settle_after_load

logger = logging.getLogger(__name__)

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
        value = env.get(KB_REFRESH_ENV, "").strip()
        refresh = env_number(KB_REFRESH_ENV, value, float) if value else DEFAULT_REFRESH_S
        if not 0 < refresh < math.inf:
            raise ValueError(f"{KB_REFRESH_ENV} must be a positive number of seconds")
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
        self.settings = settings
        # Latin-script cases by the configured encoder, Chinese ones by their character pairs.
        self.base = ScriptRoutedKnowledgeBase(
            LazyEncoder(lambda: knowledge_encoder(cache_dir, settings.encoder))
        )
        self._encoder_settled = False
        # Positions in the resolutions and corrections: each also finds rows whose number
        # became visible after a higher one (concurrent inserts; see data.store.follow).
        self._cases = log.case_follower()
        self._corrections = log.correction_follower()

    def start(self) -> None:
        if self.settings.enabled:
            threading.Thread(target=self._follow, name="knowledge-refresh", daemon=True).start()

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
        after a higher one's), and refile held cases agents corrected; returns how many cases
        were embedded."""
        embedded = 0

        def add(seqs: Sequence[int]) -> None:
            nonlocal embedded
            embedded += self.base.add(self.log.cases_at(seqs))

        self._cases.drain(add)
        # After the cases: a correction of a case read just now is already applied to it.
        self._corrections.drain(lambda seqs: self.base.refile(self.log.filings_corrected_at(seqs)))
        if embedded and not self._encoder_settled:
            # The encoder was just loaded: freeze the grown heap out of GC passes.
            settle_after_load()
            self._encoder_settled = True
        return embedded

    def _follow(self) -> None:
        outage = False
        while True:
            try:
                self.catch_up()
            except Exception as error:  # keep following; the cases held keep being served
                ops_metrics.knowledge_refresh_failed()
                if not is_store_outage(error):
                    logger.exception("knowledge base refresh failed")
                elif not outage:  # one line per outage, not a traceback every refresh
                    logger.warning("knowledge base refresh paused: the store is unavailable")
                outage = is_store_outage(error)
            else:
                outage = False
                ops_metrics.knowledge_refreshed(len(self.base))
            time.sleep(self.settings.refresh_s)
