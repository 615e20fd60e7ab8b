"""One knowledge base per script: English-model vectors for Latin text, Han pairs for Chinese.

The service, `agora kb search` and the desk page hold this instead of a bare `KnowledgeBase`:
a resolved case joins the base whose encoder reads its message (`encoder_reads` for Latin
script, `han_reads` for Chinese), and a query is compared only with the cases of its own
script, at that encoder's threshold. A message in any other script (Japanese, Korean, Cyrillic,
...) still gets no similar cases rather than unrelated ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from data.store.resolutions import ResolvedCase
from models.knowledge.han_bigrams import HAN_MIN_SIMILARITY, HanBigrams, han_reads
from models.knowledge.knowledge_base import Encoder, KnowledgeBase, SimilarCase, encoder_reads


def knowledge_reads(text: str) -> bool:
    """Whether any of the knowledge base's encoders reads `text`."""
    return encoder_reads(text) or han_reads(text)


class ScriptRoutedKnowledgeBase:
    """A `KnowledgeBase` for Latin-script cases and one for Chinese cases, used as one."""

    def __init__(
        self,
        latin_encoder: Encoder,
        han_min_similarity: float = HAN_MIN_SIMILARITY,
        index_threads: int = 1,
    ):
        self.latin = KnowledgeBase(latin_encoder, reads=encoder_reads, index_threads=index_threads)
        self.han = KnowledgeBase(HanBigrams(), reads=han_reads, index_threads=index_threads)
        self.han_min_similarity = han_min_similarity

    def __len__(self) -> int:
        return len(self.latin) + len(self.han)

    def add(self, cases: Sequence[ResolvedCase]) -> int:
        """Add resolved cases to the base of their script; returns how many were embedded."""
        return self.latin.add(cases) + self.han.add(cases)

    def refile(self, filings: Mapping[str, Mapping[str, str]]) -> int:
        return self.latin.refile(filings) + self.han.refile(filings)

    def forget(self, triage_ids: Sequence[str]) -> int:
        """Drop erased cases from whichever base holds them; returns how many were held."""
        return self.latin.forget(triage_ids) + self.han.forget(triage_ids)

    def similar(
        self,
        texts: Sequence[str],
        k: int,
        *,
        min_similarity: float,
        reasons: Sequence[str | None] | None = None,
    ) -> list[list[SimilarCase]]:
        """`KnowledgeBase.similar` over the base of each text's script: `min_similarity` is
        the Latin encoder's threshold, Chinese texts use `han_min_similarity`. Each base
        embeds only the texts it reads, so a text is embedded once."""
        latin = self.latin.similar(texts, k, min_similarity=min_similarity, reasons=reasons)
        if len(self.han) == 0:
            return latin
        han = self.han.similar(texts, k, min_similarity=self.han_min_similarity, reasons=reasons)
        return [a or b for a, b in zip(latin, han, strict=True)]
