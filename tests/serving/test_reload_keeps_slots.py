"""A reload keeps a triage slot's served model when its new champion fails to load."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.triage import TaskModel
from models.triage.config import TriageConfig, default_sections
from serving import served_models
from serving.champion_cache import ChampionRef
from serving.served_models import ServedModels
from serving.settings import SlotModel


def fit(rows: list[tuple[str, str]]) -> TfidfClassifier:
    texts, labels = zip(*rows, strict=True)
    config = TfidfConfig(min_df=1, calibration_folds=0, c=20.0)
    return TfidfClassifier(config).fit(list(texts), list(labels))


FITTED = {
    "sentiment-zh": ("sentiment", fit([("太差了", "negative"), ("很满意", "positive")])),
    "category-zh": ("category", fit([("账号被盗", "账号问题"), ("扣了两次钱", "支付问题")])),
}
SLOTS = {slot: SlotModel(f"agora-triage-{slot}", "registry") for slot in FITTED}


def load(monkeypatch: pytest.MonkeyPatch, version: str, broken: frozenset[str], serving=None):
    def load_slot_model(slot: str, folder: str, name: str, found: str) -> tuple:
        if slot in broken:
            raise ValueError(f"{name} v{found}: text.fold_traditional_chinese: unknown field")
        task, classifier = FITTED[slot]
        return task, "zh", TaskModel(classifier, name, found)

    monkeypatch.setattr(served_models, "load_slot_model", load_slot_model)
    cache: Any = SimpleNamespace(
        resolve=lambda name: ChampionRef(name, version, "registry", "/nowhere", "now", "sqlite://")
    )
    config = TriageConfig.from_mapping(default_sections())
    problems: dict[str, str] = {}
    engine, refs = served_models._load_triage(SLOTS, cache, config, problems, serving)
    return engine, refs, problems


def test_a_slot_whose_new_champion_fails_to_load_keeps_serving_the_old_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: a reload dropped the category slot whose new champion the running code could
    not read, and the desk's texts went without categories until the next good reload."""
    engine, refs, problems = load(monkeypatch, "2", frozenset())
    assert engine is not None and not problems
    serving = ServedModels(None, None, engine, refs, slots=SLOTS)
    reloaded, refs, problems = load(monkeypatch, "3", frozenset({"category-zh"}), serving)
    assert reloaded is not None
    assert refs["category-zh"].version == "2" and refs["sentiment-zh"].version == "3"
    kept, served = reloaded.models["category"]["zh"], engine.models["category"]["zh"]
    assert kept.classifier is served.classifier and kept.version == "2"
    assert "unknown field" in problems["category-zh"]
    assert "still serving agora-triage-category-zh v2" in problems["category-zh"]
    answer = reloaded.triage("账号被盗了怎么办", language="zh")
    assert answer.category is not None


def test_at_start_up_a_slot_that_fails_to_load_is_not_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, refs, problems = load(monkeypatch, "3", frozenset({"category-zh"}))
    assert engine is not None and "category-zh" not in refs
    assert "still serving" not in problems["category-zh"]
