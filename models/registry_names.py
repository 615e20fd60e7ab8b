"""The names training registers models under and serving resolves champions by, kept in one place.

Both layers import these: a name changed on one side only would leave serving silently without a
champion.
"""

from __future__ import annotations

CHAMPION_ALIAS = "champion"
RECOMMENDER_MODEL = "agora-recommender"
TRIAGE_MODEL_PREFIX = "agora-triage"


def triage_model_name(task: str, language: str) -> str:
    """agora-triage-sentiment-en, agora-triage-sentiment-zh, agora-triage-reason, ...

    Sentiment has one model per language, so its name carries the language; the other tasks'
    models are English-only.
    """
    name = f"{TRIAGE_MODEL_PREFIX}-{task}"
    return f"{name}-{language}" if task == "sentiment" else name
