"""The served model a route needs, from one snapshot of the served models, or a 503 that says
why it is not served (a part this service does not serve, or a champion that did not load)."""

from __future__ import annotations

from models.recommenders import Recommender
from models.triage import TriageEngine
from serving.errors import ApiError
from serving.model_info import feeds_need, triage_needs, why_unserved
from serving.schemas.feeds import ModelRef
from serving.served_models import ServedModels
from serving.settings import FEEDS, TRIAGE, not_served


def recommender_of(served: ServedModels) -> tuple[Recommender, ModelRef]:
    """The champion recommender and its reference."""
    model, ref = served.recommender, served.recommender_ref
    if FEEDS not in served.parts:
        raise ApiError(503, not_served(FEEDS, served.parts))
    if model is None or ref is None:
        raise ApiError(503, f"no recommender champion ({why_unserved(served, feeds_need)})")
    return model, ModelRef(name=ref.name, version=ref.version, source=ref.source)


def engine_of(served: ServedModels) -> TriageEngine:
    """The served triage engine."""
    if TRIAGE not in served.parts:
        raise ApiError(503, not_served(TRIAGE, served.parts))
    if served.triage is None:
        raise ApiError(503, f"no triage champions ({why_unserved(served, triage_needs)})")
    return served.triage
