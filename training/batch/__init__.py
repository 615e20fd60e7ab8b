"""Batch work over the champions: top-k for every user, triage of a table of texts, offline
evaluation of a recommender, item-text embeddings of a catalog.

The same worker code runs in this process (`engine="local"`) or as Ray actors on a local or
remote cluster (`engine="ray"`, see `training.batch.engine`); the CLI is `agora batch`.
"""

from training.batch.embed import EmbedBatchOutcome, embed_all
from training.batch.engine import ENGINES, BatchRun, Engine, EngineSettings, ShippedFolder
from training.batch.evaluate import EvaluateBatchOutcome, evaluate_on_engine
from training.batch.recommend import RecommendBatchOutcome, recommend_all
from training.batch.triage import TriageBatchOutcome, TriageChampion, read_texts, triage_all

__all__ = [
    "ENGINES",
    "BatchRun",
    "EmbedBatchOutcome",
    "Engine",
    "EngineSettings",
    "EvaluateBatchOutcome",
    "RecommendBatchOutcome",
    "ShippedFolder",
    "TriageBatchOutcome",
    "TriageChampion",
    "embed_all",
    "evaluate_on_engine",
    "read_texts",
    "recommend_all",
    "triage_all",
]
