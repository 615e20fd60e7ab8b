"""The desk queue's and the complaint analytics' answers are what the API document says.

Regression (a client trial): /docs.json gave `GET /desk/queue` "any object" and
`GET /analytics/complaints` and `POST /admin/analyse` no schema at all, so a client generated
from it (openapi-python-client) typed those answers `Any` / a bare dict. Each answer here, built
by the real route over a tiny SQLite store, must round-trip through its published model
unchanged: a field the model lacks is dropped by the round trip and fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.testclient import TestClient

from data.store import Store
from models.analytics.spikes import SpikeConfig
from models.knowledge.knowledge_base import SimilarCase
from serving.answer_schemas import AnalysisRun, ComplaintSummary, DeskQueuePage
from serving.complaint_analysis import AnalysisSettings, analyse
from serving.complaint_summary import complaint_summary
from serving.desk_routes import install_desk_routes

HOUR = 3600.0
T0 = 1_424_131_200.0  # 2015-02-17 00:00 UTC
SETTINGS = AnalysisSettings(spikes=SpikeConfig(window_s=HOUR, baseline_windows=24))
OUTPUTS = {
    "sentiment": {"label": "negative"},
    "reason": {"label": "lost"},
    "urgency": {"level": "high"},
    "evidence": [{"task": "reason", "label": "lost", "terms": [{"term": "bag", "weight": 0.9}]}],
}


def _round_trips(model: type[BaseModel], answer: dict[str, Any]) -> None:
    sent = json.loads(json.dumps(answer))  # what the client receives
    assert model.model_validate(sent).model_dump(mode="json") == sent


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.engine.dispose()


def test_the_analytics_answers_round_trip_through_their_models(store: Store) -> None:
    # 24 hours of 10 complaints "late" about item A and 2 "lost" about item B, then 30 "lost".
    for hour in range(25):
        for reason, item, n in (("late", "A", 10), ("lost", "B", 30 if hour == 24 else 2)):
            for k in range(n):
                store.triage.record(
                    f"{reason} again",
                    {**OUTPUTS, "reason": {"label": reason}},
                    {},
                    "en",
                    True,
                    customer_id=f"c{hour}-{reason}-{k}",
                    item_id=item,
                    occurred_at=T0 + hour * HOUR + k,
                )
    run = analyse(store, T0 + 25 * HOUR, SETTINGS)
    assert run["spikes"] and run["raised"]  # the answer's lists are not vacuously empty
    _round_trips(AnalysisRun, run)
    summary = complaint_summary(store, T0, T0 + 25 * HOUR, "reason")
    assert summary["groups"] and summary["alerts"] and summary["top_items"]
    _round_trips(ComplaintSummary, summary)


@dataclass
class _Triage:
    def label_choices(self) -> dict[str, list[str]]:
        return {"reason": ["late", "lost"], "urgency": ["low", "normal", "high", "critical"]}

    def language_choices(self) -> dict[str, dict[str, list[str]]]:
        return {"zh": {"sentiment": ["negative", "positive"]}}


@dataclass
class _Served:
    triage: _Triage


class _Knowledge:
    def similar_cases(self, text: str, reason: str | None) -> list[SimilarCase]:
        return [SimilarCase("t-old", 0.8, reason, None, "baggage", "Found it.", "resolved", "my")]


@dataclass
class _Desk:
    store: Store
    served: _Served
    knowledge: _Knowledge


def test_the_desk_queue_answer_round_trips_through_its_model(store: Store) -> None:
    triage_id = store.triage.record("my bag was lost", OUTPUTS, {}, "en", True, customer_id="c1")
    store.triage.add_correction(triage_id, "urgency", "critical", "ana")
    store.resolutions.add(triage_id, "Asked the airport.", "not_resolved", "ana")
    store.triage.record("nice flight", {"sentiment": {"label": "positive"}}, {}, "en", False)
    app = FastAPI()
    desk = _Desk(store, _Served(_Triage()), _Knowledge())
    install_desk_routes(app, lambda: desk)
    answer = TestClient(app).get("/desk/queue", params={"limit": 1})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    case = page["cases"][0]
    assert case["resolution"] and case["similar_cases"] and case["corrections"]
    assert case["evidence"] and page["next_cursor"]
    _round_trips(DeskQueuePage, page)
