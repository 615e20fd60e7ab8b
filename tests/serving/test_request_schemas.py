"""The request models' JSON schemas (what /docs.json publishes) speak JSON Schema only."""

from __future__ import annotations

import inspect
import json

import pytest
from pydantic import BaseModel

from serving import schemas

# pydantic's constraint names: in a published schema they mean nothing to a client generator.
PYDANTIC_ONLY = ('"ge":', '"le":', '"gt":', '"lt":', '"min_length":', '"max_length":')
MODELS = [
    model
    for _, model in inspect.getmembers(schemas, inspect.isclass)
    if issubclass(model, BaseModel) and model.__module__ == schemas.__name__
]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_constraints_are_json_schema_keywords(model: type[BaseModel]) -> None:
    published = json.dumps(model.model_json_schema())
    assert not [word for word in PYDANTIC_ONLY if word in published], published


def test_the_models_are_found() -> None:
    assert {"TriageRequest", "EventsRequest", "CorrectionRequest"} <= {m.__name__ for m in MODELS}


def test_an_idempotency_key_header_in_utf8_is_the_key_its_bytes_spell() -> None:
    # What the server hands over for the header bytes of "ключ-é" (read as Latin-1).
    received = "ключ-é".encode().decode("latin-1")
    assert schemas.idempotency_key_of(None, received) == "ключ-é"
    assert schemas.idempotency_key_of("ключ-é", received) == "ключ-é"
    assert schemas.idempotency_key_of(None, "plain-key") == "plain-key"
    with pytest.raises(ValueError, match="differ"):
        schemas.idempotency_key_of("other", received)
