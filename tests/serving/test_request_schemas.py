"""The request models' JSON schemas (what /docs.json publishes) speak JSON Schema only."""

from __future__ import annotations

import inspect
import json
import re
import time

import pytest
from pydantic import BaseModel, ValidationError

from serving.schemas import (
    agent_notes,
    events,
    feeds,
    fields,
    idempotency,
    items,
    model_info,
    triage,
)

# pydantic's constraint names: in a published schema they mean nothing to a client generator.
PYDANTIC_ONLY = ('"ge":', '"le":', '"gt":', '"lt":', '"min_length":', '"max_length":')
SCHEMA_MODULES = (agent_notes, events, feeds, fields, idempotency, items, model_info, triage)
MODELS = [
    model
    for module in SCHEMA_MODULES
    for _, model in inspect.getmembers(module, inspect.isclass)
    if issubclass(model, BaseModel) and model.__module__ == module.__name__
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
    assert idempotency.idempotency_key_of(None, received) == "ключ-é"
    assert idempotency.idempotency_key_of("ключ-é", received) == "ключ-é"
    assert idempotency.idempotency_key_of(None, "plain-key") == "plain-key"
    # The body's id wins over a key a gateway may stamp on the request.
    assert idempotency.idempotency_key_of("other", received) == "other"


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("zh", "zh"),
        ("ZH", "zh"),
        ("zh-CN", "zh"),
        ("zh_CN", "zh"),
        ("zh-Hans-CN", "zh"),
        ("en-US", "en"),
        ("zho", "zh"),
        ("fil", "fil"),
    ],
)
def test_a_language_tag_is_read_as_its_language(sent: str, read: str) -> None:
    """Regression: "zh-CN", what a browser or a mobile SDK calls Chinese, was a 400 naming a
    regular expression; "cn" was answered unsupported_language."""
    assert triage.TriageRequest(text="退款", language=sent).language == read
    assert triage.TriageBatchRequest(texts=["退款"], language=sent).language == read


@pytest.mark.parametrize("sent", ["cn", "xx", "c", "zh--CN", "zh-" + "a" * 40])
def test_a_language_that_is_no_language_is_refused(sent: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="language"):
        triage.TriageRequest(text="退款", language=sent)


def test_prose_fields_state_the_control_characters_they_refuse() -> None:
    """Regression: a resolution or an item description holding a control character was a 400
    while the document's schema allowed it (schemathesis: "schema-valid request rejected")."""

    resolution = agent_notes.ResolutionRequest.model_json_schema()["properties"]["resolution"]
    published = items.PublishItemsRequest.model_json_schema()["$defs"]["PublishedItemIn"]
    for field in (resolution, published["properties"]["text"]):
        prose = re.compile(field["pattern"])
        assert prose.match("a fix:\n\tstep one\r\n退款")
        assert not prose.match("vertical\x0btab") and not prose.match("c1 \x85 control")
    assert not re.match(resolution["pattern"], " \n\t")  # a resolution is not blank
    with pytest.raises(ValueError, match="control character"):
        items.PublishedItemIn(item_id="i", title="t", text="a\x0bb")


def _event_timestamp_error(timestamp: object) -> str:
    body = {"events": [{"event_id": "e", "user_id": "u", "item_id": "i", "type": "click"}]}
    body["events"][0]["timestamp"] = timestamp
    with pytest.raises(ValidationError) as refused:
        events.EventsRequest.model_validate(body)
    return str(refused.value)


def test_an_events_timestamp_in_milliseconds_or_as_a_date_string_says_what_to_send() -> None:
    """Regression: Date.now() milliseconds were refused as 'at most a day past now', a date
    string as 'must be a JSON number', neither saying that epoch seconds are wanted."""
    now = int(time.time())
    message = _event_timestamp_error(now * 1000 + 123)
    assert f"it looks like epoch milliseconds; send whole epoch seconds ({now})" in message
    assert "epoch microseconds" in _event_timestamp_error(now * 10**6)
    assert "whole epoch seconds as a JSON number" in _event_timestamp_error("2026-11-27T10:00:00Z")
    # A number that is no date in any unit keeps the plain bound.
    assert "looks like" not in _event_timestamp_error(7 * 10**13)


def test_the_published_schemas_do_not_move_with_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: EventIn.timestamp published `maximum: now + 1 day`, so a client generated from
    /docs.json (datamodel-codegen: `le=1795878456`) refused every current event a day later."""
    today = {model.__name__: model.model_json_schema() for model in MODELS}
    later = events.time.time() + 30 * 86_400
    monkeypatch.setattr(events.time, "time", lambda: later)
    assert {model.__name__: model.model_json_schema() for model in MODELS} == today
    # The service still refuses an event more than a day ahead: the bound is checked, not shown.
    with pytest.raises(ValueError, match="a day past now"):
        events.EventIn(
            event_id="e", user_id="u", item_id="i", type="view", timestamp=int(later) + 90_000
        )


def test_a_feed_may_ask_for_recent_items_by_age_or_by_time() -> None:
    now = 1_800_000_000.0
    by_age = feeds.RecommendRequest(user_id="u1", filters={"max_age_days": 7})
    assert by_age.filters is not None and by_age.filters.published_since(now) == now - 7 * 86_400
    by_time = feeds.RecommendRequest(user_id="u1", filters={"published_after": 1_790_000_000})
    assert by_time.filters is not None and by_time.filters.published_since(now) == 1_790_000_000
    assert feeds.Filters().published_since(now) is None


@pytest.mark.parametrize(
    ("filters", "says"),
    [
        ({"max_age_days": 7, "published_after": 1_790_000_000}, "not both"),
        ({"max_age_days": 0}, "greater than 0"),
        ({"max_age_days": 4_000}, "less than or equal to 3650"),
        ({"max_age_days": "7"}, "JSON number"),
        ({"published_after": 1_790_000_000_000}, "less than 100000000000"),  # milliseconds
        ({"published_after": -1}, "greater than or equal to 0"),
        ({"published_after": "2026-11-01"}, "JSON number"),
    ],
)
def test_a_recency_filter_out_of_bounds_is_refused_saying_why(
    filters: dict[str, object], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        feeds.RecommendRequest(user_id="u1", filters=filters)
