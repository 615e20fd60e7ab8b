"""The knowledge base of resolved cases: embed, index, find similar cases.

kb = KnowledgeBase(shared_text_encoder())
kb.add(store.resolutions.cases_after(kb.last_seq))
kb.similar(["my refund never arrived"], k=3)   # -> [[SimilarCase, ...]]
"""

from __future__ import annotations

from models.knowledge.knowledge_base import (
    DEFAULT_K,
    DEFAULT_MIN_SIMILARITY,
    MAX_K,
    Encoder,
    KnowledgeBase,
    SimilarCase,
)
from models.knowledge.onnx_encoder import LazyEncoder, OnnxSentenceEncoder, knowledge_encoder
from models.knowledge.vector_index import DEFAULT_ANN_THRESHOLD, VectorIndex

__all__ = [
    "DEFAULT_ANN_THRESHOLD",
    "DEFAULT_K",
    "DEFAULT_MIN_SIMILARITY",
    "MAX_K",
    "Encoder",
    "KnowledgeBase",
    "LazyEncoder",
    "OnnxSentenceEncoder",
    "SimilarCase",
    "VectorIndex",
    "knowledge_encoder",
]
