"""What an agent sends about a recorded triage: a correction of a label (`/corrections`) and a
resolution of the case (`/resolutions`). The agent is the name of the API key that sent it."""

from __future__ import annotations

from collections.abc import Callable

import bentoml

from data.store import Store
from data.store.resolutions import CaseAlreadyResolvedError
from models.triage import TriageEngine
from serving import ops_metrics
from serving.errors import ALREADY_RESOLVED, ApiError
from serving.request_context import agent_of, retry_key_of
from serving.schemas.agent_notes import (
    CorrectionRequest,
    CorrectionResponse,
    ResolutionRequest,
    ResolutionResponse,
)

# What a refused resolution's answer tells of the case's latest one (never its text).
_LATEST_SHOWN = ("resolution_id", "agent", "outcome", "created_at")


def record_correction(
    ctx: bentoml.Context,
    request: CorrectionRequest,
    store: Store,
    engine: Callable[[], TriageEngine],
) -> CorrectionResponse:
    """Store the correction; `engine` is asked for the served triage engine only once the
    record is known (an unknown record is a 404 even while triage is not served)."""
    # An unknown record is a 404 whatever the label; a label is then checked against the
    # served models' labels: a misspelt one would otherwise be stored, shown on the desk,
    # refile knowledge-base cases and train the next retrain.
    language = store.triage.language_of(request.triage_id)
    if language is None:
        raise ApiError(404, "unknown triage_id: correct a triage the service recorded")
    label = engine().correction_label(request.field, request.correct_label, language)
    correction_id, stored = store.triage.add_correction(
        request.triage_id,
        request.field,
        label,
        agent_of(ctx, "a correction"),
        retry_key_of(ctx, request.correction_id, "correction_id"),
    )
    if stored:
        ops_metrics.correction_stored(request.field)
    return CorrectionResponse(correction_id=correction_id, stored=stored)


def record_resolution(
    ctx: bentoml.Context, request: ResolutionRequest, store: Store
) -> ResolutionResponse:
    """Store the resolution; a 409 naming who resolved the case and when if it is resolved
    already and the request does not replace that resolution."""
    try:
        resolution_id, stored = store.resolutions.add(
            request.triage_id,
            request.resolution,
            request.outcome,
            agent_of(ctx, "a resolution"),
            retry_key_of(ctx, request.resolution_id, "resolution_id"),
            replaces=request.replaces,
        )
    except CaseAlreadyResolvedError as refused:
        if refused.latest is None:  # `replaces` named a resolution of a case with none
            raise ApiError(409, str(refused)) from None
        # The desk shows who resolved the case and when, and offers to replace it.
        latest = {name: getattr(refused.latest, name) for name in _LATEST_SHOWN}
        details = {"resolution": latest}
        raise ApiError(409, str(refused), ALREADY_RESOLVED, details) from None
    if stored:
        ops_metrics.resolution_stored(request.outcome)
    return ResolutionResponse(resolution_id=resolution_id, stored=stored)
