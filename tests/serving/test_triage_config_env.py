"""AGORA_TRIAGE_CONFIG: the service's own routing table, urgency rules and thresholds, read at
start-up and on every reload; a file broken after start-up keeps the settings served."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.config import ConfigError
from models.triage import TaskModel
from models.triage.config import TriageConfig, default_sections
from serving import served_models
from serving.champion_cache import ChampionRef
from serving.served_models import _triage_config, service_triage_config
from serving.settings import SlotModel

ROUTING = """
routing:
  default_queue: general
  rules:
    - {name: delivery, queue: delivery_team, when: {reason: [配送, Late Flight]}}
"""


def test_the_file_replaces_the_shipped_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGORA_TRIAGE_CONFIG", raising=False)
    shipped = service_triage_config()
    assert shipped.routing.default_queue == "general" and len(shipped.routing.rules) > 1
    path = tmp_path / "triage.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    monkeypatch.setenv("AGORA_TRIAGE_CONFIG", str(path))
    config = service_triage_config()
    assert [(r.name, r.queue) for r in config.routing.rules] == [("delivery", "delivery_team")]
    assert config.urgency == shipped.urgency  # sections the file leaves out keep the defaults


def test_a_file_broken_after_start_up_keeps_the_served_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "triage.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    monkeypatch.setenv("AGORA_TRIAGE_CONFIG", str(path))
    served_config = service_triage_config()
    serving: Any = SimpleNamespace(triage=SimpleNamespace(config=served_config))
    path.write_text(ROUTING.replace("reason:", "reasn:"), encoding="utf-8")  # an edit's typo
    problems: dict[str, str] = {}
    assert _triage_config(serving, problems) is served_config
    assert "AGORA_TRIAGE_CONFIG" in problems["triage_config"]
    assert "reasn" in problems["triage_config"]
    assert "still using the previous one" in problems["triage_config"]
    with pytest.raises(ConfigError, match="AGORA_TRIAGE_CONFIG"):  # at start-up: refused
        _triage_config(None, {})


def test_rules_the_served_models_never_answer_are_listed_under_problems(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A desk's table naming a category its model does not answer is served (the other rules
    route), and /model_info's problems say which rule and value, with the label it resembles."""

    def fit(rows: list[tuple[str, str]]) -> TfidfClassifier:
        texts, labels = zip(*rows, strict=True)
        config = TfidfConfig(min_df=1, calibration_folds=0, c=20.0)
        return TfidfClassifier(config).fit(list(texts), list(labels))

    fitted = {
        "sentiment-zh": ("sentiment", fit([("太差了", "negative"), ("很满意", "positive")])),
        "category-zh": ("category", fit([("账号被盗", "账号问题"), ("扣了两次钱", "支付问题")])),
    }

    def load_slot_model(slot: str, folder: str, name: str, version: str) -> tuple:
        task, classifier = fitted[slot]
        return task, "zh", TaskModel(classifier, name, version)

    monkeypatch.setattr(served_models, "load_slot_model", load_slot_model)
    cache: Any = SimpleNamespace(
        resolve=lambda name: ChampionRef(name, "1", "registry", "/nowhere", "now", "sqlite://")
    )
    slots = {slot: SlotModel(f"agora-triage-{slot}", "registry") for slot in fitted}
    routing = {
        "default_queue": "general_desk",
        "rules": [
            {"name": "account", "queue": "account_security", "when": {"category": ["账户问题"]}},
            {"name": "payment", "queue": "payments", "when": {"category": ["支付问题"]}},
        ],
    }
    config = TriageConfig.from_mapping({**default_sections(), "routing": routing})
    problems: dict[str, str] = {}
    engine, refs = served_models._load_triage(slots, cache, config, problems)
    assert engine is not None and set(refs) == set(fitted)
    assert list(problems) == ["routing"]
    assert "rule 'account' tests category '账户问题'" in problems["routing"]
    assert "did you mean '账号问题'?" in problems["routing"]
