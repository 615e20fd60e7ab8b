"""Whether a routing table's rules can match what the served models answer.

A rule's `sentiment`, `reason` and `category` values are compared exactly with a result's labels,
so a value no served model gives never matches, and nothing else says so: a desk's table that
spells a category `账户问题` where its model answers `账号问题` sends every account ticket on to
the next rule or the default queue, each answer looking as valid as the others. The engine runs
this check when it is built (the service lists what it finds under `problems` in /model_info).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping

from data.label_maps import quote_labels
from models.triage.config import TriageConfig, shipped_routing
from models.triage.routing import RoutingConfig
from models.triage.schema import UNSURE
from models.triage.task_models import TaskModel

# The conditions that test a model's answer: their values must be labels a served model gives.
LABEL_CONDITIONS = ("sentiment", "reason", "category")
# Per task, per language: the labels a result's field can hold.
Answers = Mapping[str, Mapping[str, Collection[str]]]


def routing_problems(
    config: TriageConfig,
    models: Mapping[str, Mapping[str, TaskModel]],
    keyword_reasons: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """What in `config`'s routing table can never match the answers of `models` (task ->
    language -> model) and of the reason keyword rules of languages no reason model serves
    (`keyword_reasons`: language -> labels), one sentence each.

    A desk's own table is checked; the shipped one is not: it routes every taxonomy Agora trains
    (airline reasons, Bitext and CFPB categories) whichever of them is served.
    """
    if config.routing == shipped_routing():
        return []
    unsure_reasons = set(config.thresholds.unsure_reasons)
    answers = {
        task: {
            language: answered_labels(task, model, unsure_reasons)
            for language, model in by_language.items()
        }
        for task, by_language in models.items()
    }
    for language, labels in (keyword_reasons or {}).items():
        answers.setdefault("reason", {})[language] = {*labels, UNSURE}
    return unmatchable_values(config.routing, answers)


def answered_labels(task: str, model: TaskModel, unsure_reasons: Collection[str]) -> set[str]:
    """The labels a result's `task` field can hold from `model` (as the engine sets them): its
    classes, less the reasons meaning "could not tell", and "unsure" (not for sentiment)."""
    classes = {str(label) for label in model.classifier.classes_}
    if task == "sentiment":
        return classes
    if task == "reason":
        classes -= set(unsure_reasons)
    return classes | {UNSURE}


def unmatchable_values(config: RoutingConfig, answers: Answers) -> list[str]:
    """One sentence per rule condition naming a label no served model answers for the rule's
    languages (every served language when the rule names none), or a task no model serves there."""
    found: list[str] = []
    for rule in config.rules:
        languages = rule.when.language
        where = f" for {', '.join(languages)}" if languages is not None else ""
        for task in LABEL_CONDITIONS:
            wanted = getattr(rule.when, task)
            if not wanted:
                continue
            by_language = answers.get(task, {})
            allowed = {
                label
                for language, labels in by_language.items()
                if languages is None or language in languages
                for label in labels
            }
            if not allowed:
                found.append(
                    f"rule '{rule.name}' tests {task}, but no served model answers {task}{where}"
                )
                continue
            for value in (v for v in wanted if v not in allowed):
                close = difflib.get_close_matches(value, sorted(allowed), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                found.append(
                    f"rule '{rule.name}' tests {task} '{value}', which no served model answers"
                    f"{where}{hint}; {task} labels served: {_by_language(by_language, languages)}"
                )
    return found


def _by_language(
    by_language: Mapping[str, Collection[str]], languages: Collection[str] | None
) -> str:
    """`zh: '其他', '内容举报' ...; en: 'ACCOUNT', ...`: each language's labels apart, so a desk's
    own labels are not hidden behind another language's."""
    return "; ".join(
        f"{language}: {quote_labels(labels)}"
        for language, labels in sorted(by_language.items())
        if languages is None or language in languages
    )
