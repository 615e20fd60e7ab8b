"""The knowledge base of resolved cases: embed, index, find similar cases.

kb = ScriptRoutedKnowledgeBase(knowledge_encoder(cache_dir))  # English model + Chinese pairs
kb.add(store.resolutions.cases_after(kb.last_seq))
threshold = MIN_SIMILARITY[DEFAULT_KB_ENCODER]
kb.similar(["my refund never arrived"], k=3, min_similarity=threshold)  # -> [[SimilarCase, ...]]
"""

from __future__ import annotations

from models.knowledge.encoders import (
    DEFAULT_KB_ENCODER,
    MIN_SIMILARITY,
    KbEncoder,
    LazyEncoder,
    knowledge_encoder,
    parse_kb_encoder,
)
from models.knowledge.han_bigrams import HAN_MIN_SIMILARITY, HanBigrams, han_reads
from models.knowledge.knowledge_base import (
    DEFAULT_K,
    MAX_K,
    Encoder,
    KnowledgeBase,
    SimilarCase,
    encoder_reads,
)
from models.knowledge.onnx_encoder import OnnxSentenceEncoder
from models.knowledge.script_routed import ScriptRoutedKnowledgeBase, knowledge_reads
from models.knowledge.static_encoder import StaticSentenceEncoder
from models.knowledge.vector_index import DEFAULT_ANN_THRESHOLD, VectorIndex

__all__ = [
    "DEFAULT_ANN_THRESHOLD",
    "DEFAULT_K",
    "DEFAULT_KB_ENCODER",
    "HAN_MIN_SIMILARITY",
    "MAX_K",
    "MIN_SIMILARITY",
    "Encoder",
    "HanBigrams",
    "KbEncoder",
    "KnowledgeBase",
    "LazyEncoder",
    "OnnxSentenceEncoder",
    "ScriptRoutedKnowledgeBase",
    "SimilarCase",
    "StaticSentenceEncoder",
    "VectorIndex",
    "encoder_reads",
    "han_reads",
    "knowledge_encoder",
    "knowledge_reads",
    "parse_kb_encoder",
]
