"""The routing table: ordered rules over a triage result's facts, first match wins.

A rule's `when` lists conditions; every condition given must hold (AND), and a list of values
means any of them (OR). A rule without conditions matches everything, so it may only be the last
rule (the table refuses rules it would make unreachable). No match sends the text to the default
queue. Queue and rule names are plain lowercase identifiers, the same for every operator whatever
their language; `description` is free text for people (any language).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field, model_validator

from models.config import FrozenConfig
from models.triage.schema import RoutingResult, Status, UrgencyLevel, urgency_rank
from models.triage.urgency import Identifier


class RouteConditions(FrozenConfig):
    """Conditions on a result's facts; None means "any"."""

    status: tuple[Status, ...] | None = None
    language: tuple[str, ...] | None = None
    sentiment: tuple[str, ...] | None = None
    is_complaint: bool | None = None
    reason: tuple[str, ...] | None = None
    category: tuple[str, ...] | None = None
    urgency: tuple[UrgencyLevel, ...] | None = None
    min_urgency: UrgencyLevel | None = None
    fired_rules: tuple[str, ...] | None = Field(
        None, description="any of these urgency rules fired"
    )

    def is_catch_all(self) -> bool:
        return all(value is None for value in self.model_dump().values())


class RouteRule(FrozenConfig):
    name: Identifier
    queue: Identifier
    when: RouteConditions = RouteConditions()
    description: str = ""


class RoutingConfig(FrozenConfig):
    """Ordered rules and the default queue; defaults ship in `routing.yaml` beside this module."""

    default_queue: Identifier = "general"
    rules: tuple[RouteRule, ...] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> RoutingConfig:
        names = [rule.name for rule in self.rules]
        for position, rule in enumerate(self.rules):
            if names.count(rule.name) > 1:
                raise ValueError(f"rules: duplicate rule name '{rule.name}'")
            if rule.when.is_catch_all() and position < len(self.rules) - 1:
                raise ValueError(
                    f"rules: rule '{rule.name}' has no conditions and matches everything, so the "
                    f"{len(self.rules) - position - 1} rule(s) after it could never match"
                )
        return self


@dataclass(frozen=True)
class RoutingFacts:
    """The facts of one result the routing table can test."""

    status: Status
    language: str | None
    urgency: UrgencyLevel
    sentiment: str | None = None
    is_complaint: bool | None = None
    reason: str | None = None
    category: str | None = None
    fired_rules: frozenset[str] = field(default_factory=frozenset)


def _holds(when: RouteConditions, facts: RoutingFacts) -> bool:
    checks: list[bool] = []
    for name in ("status", "language", "sentiment", "reason", "category", "urgency"):
        allowed = getattr(when, name)
        if allowed is not None:
            checks.append(getattr(facts, name) in allowed)
    if when.is_complaint is not None:
        checks.append(facts.is_complaint is when.is_complaint)
    if when.min_urgency is not None:
        checks.append(urgency_rank(facts.urgency) >= urgency_rank(when.min_urgency))
    if when.fired_rules is not None:
        checks.append(bool(facts.fired_rules.intersection(when.fired_rules)))
    return all(checks)


def route(facts: RoutingFacts, config: RoutingConfig) -> RoutingResult:
    """The queue of the first rule whose conditions all hold, else the default queue."""
    for rule in config.rules:
        if _holds(rule.when, facts):
            return RoutingResult(queue=rule.queue, rule=rule.name)
    return RoutingResult(queue=config.default_queue, rule=None)
