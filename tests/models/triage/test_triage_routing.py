"""Routing table on literal facts: first match wins, conditions, default queue, validation."""

from __future__ import annotations

import pytest

from models.config import ConfigError
from models.triage.routing import RoutingConfig, RoutingFacts, route

TABLE = RoutingConfig.from_mapping(
    {
        "default_queue": "general",
        "rules": [
            {"name": "unreadable", "queue": "review", "when": {"status": ["empty"]}},
            {"name": "safety", "queue": "safety_escalation", "when": {"fired_rules": ["safety"]}},
            {"name": "chinese", "queue": "zh_support", "when": {"language": ["zh"]}},
            {"name": "baggage", "queue": "baggage", "when": {"reason": ["Lost Luggage"]}},
            {
                "name": "billing",
                "queue": "billing",
                "when": {"category": ["REFUNDS", "PAYMENT"], "is_complaint": True},
            },
            {"name": "urgent", "queue": "priority", "when": {"min_urgency": "high"}},
            {"name": "complaint", "queue": "complaints", "when": {"is_complaint": True}},
        ],
    }
)


def facts(**values: object) -> RoutingFacts:
    base: dict[str, object] = {"status": "ok", "language": "en", "urgency": "normal"}
    return RoutingFacts(**{**base, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "queue", "rule"),
    [
        ({}, "general", None),
        ({"status": "empty", "language": None}, "review", "unreadable"),
        ({"fired_rules": frozenset({"safety"}), "language": "zh"}, "safety_escalation", "safety"),
        ({"language": "zh", "reason": "Lost Luggage"}, "zh_support", "chinese"),
        ({"reason": "Lost Luggage"}, "baggage", "baggage"),
        ({"category": "REFUNDS", "is_complaint": True}, "billing", "billing"),
        ({"category": "REFUNDS", "is_complaint": False}, "general", None),
        ({"category": "REFUNDS", "is_complaint": None}, "general", None),
        ({"urgency": "critical"}, "priority", "urgent"),
        ({"urgency": "high", "is_complaint": True}, "priority", "urgent"),
        ({"urgency": "normal", "is_complaint": True}, "complaints", "complaint"),
    ],
)
def test_first_matching_rule_wins(given: dict, queue: str, rule: str | None) -> None:
    result = route(facts(**given), TABLE)
    assert (result.queue, result.rule) == (queue, rule)


def test_fired_rules_condition_needs_an_overlap() -> None:
    assert route(facts(fired_rules=frozenset({"legal"})), TABLE).queue == "general"


def test_catch_all_rule_is_allowed_last_only() -> None:
    catch_all = {"name": "everything", "queue": "triage"}
    table = RoutingConfig.from_mapping({"rules": [catch_all]})
    assert route(facts(), table).queue == "triage"
    with pytest.raises(ConfigError, match=r"'everything' has no conditions.*1 rule"):
        RoutingConfig.from_mapping(
            {"rules": [catch_all, {"name": "late", "queue": "x", "when": {"language": ["en"]}}]}
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"default_queue": "General Queue"}, "default_queue"),
        ({"rules": [{"name": "a", "queue": "客服"}]}, "rules.0.queue"),
        (
            {"rules": [{"name": "a", "queue": "q", "when": {"categroy": ["X"]}}]},
            "rules.0.when.categroy: unknown field",
        ),
        (
            {"rules": [{"name": "a", "queue": "q", "when": {"urgency": ["urgent"]}}]},
            "rules.0.when.urgency",
        ),
        (
            {"rules": [{"name": "a", "queue": "q", "when": {"status": ["broken"]}}]},
            "rules.0.when.status",
        ),
        (
            {
                "rules": [
                    {"name": "a", "queue": "q", "when": {"language": ["en"]}},
                    {"name": "a", "queue": "r", "when": {"language": ["zh"]}},
                ]
            },
            "duplicate rule name 'a'",
        ),
    ],
)
def test_invalid_tables_are_rejected_naming_the_field(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RoutingConfig.from_mapping(values)


def test_a_team_name_as_queue_is_refused_with_what_a_name_may_hold() -> None:
    """Regression: a queue named after the team (账号安全组) was refused with only a regex."""
    rule = {"name": "account", "queue": "账号安全组", "when": {"category": ["账号问题"]}}
    with pytest.raises(ConfigError) as refused:
        RoutingConfig.from_mapping({"rules": [rule]})
    message = str(refused.value)
    assert "rules.0.queue: '账号安全组' is not a name Agora takes" in message
    assert "such as account_security" in message and "goes in the rule's description" in message
    assert "Value error" not in message and "[a-z]" not in message
    described = {**rule, "queue": "account_security", "description": "账号安全组"}
    assert RoutingConfig.from_mapping({"rules": [described]}).rules[0].description == "账号安全组"
