"""Triage config: shipped defaults, user overrides by section, validation naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.config import ConfigError
from models.triage.config import BandThresholds, TriageConfig, default_sections, load_triage_config
from models.triage.routing import RoutingFacts, route


def test_shipped_defaults_load_and_hold_chinese_keywords() -> None:
    config = load_triage_config()
    keywords = {k for rule in config.urgency.keyword_rules for k in rule.keywords}
    assert {"不安全", "律师", "投诉到", "lawyer", "sue", "fire", "emergency"} <= keywords
    assert config.routing.default_queue == "general"
    assert "United" in config.text.masked_names
    assert config.fallback_language == "en"


def test_shipped_routing_queues_are_plain_identifiers() -> None:
    config = load_triage_config()
    queues = {rule.queue for rule in config.routing.rules} | {config.routing.default_queue}
    assert len(queues) > 1
    assert all(q.isascii() and q.replace("_", "").isalnum() and q.islower() for q in queues)


def test_shipped_routing_sends_safety_before_language() -> None:
    config = load_triage_config()
    facts = RoutingFacts(
        status="ok", language="zh", urgency="critical", fired_rules=frozenset({"safety"})
    )
    assert route(facts, config.routing).queue == "safety_escalation"


def test_defaults_equal_a_config_built_from_the_default_sections() -> None:
    assert load_triage_config() == TriageConfig.from_mapping(default_sections())


def test_user_file_replaces_only_the_sections_it_gives(tmp_path: Path) -> None:
    user = tmp_path / "triage.yaml"
    user.write_text(
        "routing:\n"
        "  default_queue: inbox\n"
        "  rules:\n"
        "    - {name: zh, queue: zh_team, when: {language: [zh]}}\n"
        "thresholds:\n"
        "  complaint_min_negative: 0.7\n",
        encoding="utf-8",
    )
    config = load_triage_config(user)
    defaults = load_triage_config()
    assert config.routing.default_queue == "inbox"
    assert [rule.name for rule in config.routing.rules] == ["zh"]
    assert config.thresholds.complaint_min_negative == 0.7
    assert config.thresholds.reason_min_probability == 0.4  # pydantic default, section replaced
    assert config.urgency == defaults.urgency
    assert config.text == defaults.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "routing:\n  rules:\n    - {name: a, queue: q, when: {categroy: [X]}}\n",
            "routing.rules.0.when.categroy: unknown field",
        ),
        ("thresholds:\n  complaint_min_negative: 1.5\n", "thresholds.complaint_min_negative"),
        ("thresholds:\n  bands: {high: 0.5, medium: 0.7}\n", "thresholds.bands"),
        (
            "urgency:\n  keyword_rules:\n    - {name: x, level: urgent, keywords: [a]}\n",
            "urgency.keyword_rules.0.level",
        ),
        ("text:\n  max_chars: 0\n", "text.max_chars"),
        ("language:\n  candidates: [en, xx]\n", "language.candidates"),
        ("fallback_language: english\n", "fallback_language"),
        ("routng: {}\n", "routng: unknown field"),
        (
            "routing:\n  rules:\n    - {name: a, queue: q, when: {fired_rules: [saftey]}}\n",
            "fired rule 'saftey'",
        ),
        ("- just\n- a list\n", "must be a mapping"),
        ("routing: [unclosed\n", "cannot parse"),
    ],
)
def test_bad_user_files_fail_naming_the_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_triage_config(path)


def test_missing_user_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read triage config"):
        load_triage_config(tmp_path / "missing.yaml")


def test_config_is_frozen() -> None:
    config = load_triage_config()
    with pytest.raises(ValueError, match="frozen"):
        config.evidence_terms = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("probability", "band"),
    [(0.95, "high"), (0.8, "high"), (0.79, "medium"), (0.6, "medium"), (0.59, "low"), (0.0, "low")],
)
def test_confidence_bands(probability: float, band: str) -> None:
    assert BandThresholds(high=0.8, medium=0.6).band(probability) == band
