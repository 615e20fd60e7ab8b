"""The models a triage engine runs: task -> language -> classifier, checked once at start-up.

Callers pass `{"sentiment": {"en": clf, "zh": clf}, "reason": clf, ...}`; a bare classifier (not
a per-language mapping) serves `default_language` only. Every entry must be a fitted
`TextClassifier` (or a `TaskModel` naming it), tasks must be known, a sentiment model is required
and must have a "negative" class, because complaints are defined from it.

Each model is served its inputs prepared with the text handling it was trained with: the one its
artifact records (`TextClassifier.text_config`). A model saved before artifacts recorded it gets
the engine's, with a logged warning, since nothing says what it was trained on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from features.text import TextConfig
from models.classifiers import TextClassifier
from models.config import ConfigError
from models.triage.schema import TASKS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskModel:
    """A classifier with the name and version reported in results.

    `text` is how its inputs are prepared; None (the usual case) means the classifier's own
    `text_config`, resolved when the engine is built.
    """

    classifier: TextClassifier
    name: str
    version: str | None = None
    text: TextConfig | None = None


ModelSpec = TextClassifier | TaskModel | Mapping[str, TextClassifier | TaskModel]


def _as_task_model(task: str, language: str, spec: object, engine_text: TextConfig) -> TaskModel:
    if isinstance(spec, TaskModel):
        model = spec
    elif isinstance(spec, TextClassifier):
        model = TaskModel(spec, name=f"{task}-{language}-{spec.model_type}")
    else:
        raise ConfigError(
            f"models['{task}']['{language}'] must be a TextClassifier or TaskModel, "
            f"got {type(spec).__name__}"
        )
    if not model.classifier.is_fitted:
        raise ConfigError(f"models['{task}']['{language}'] ({model.name}) is not fitted")
    text = model.text or model.classifier.text_config
    if text is None:
        logger.warning(
            "%s model for '%s' (%s) records no text handling (saved before artifacts carried "
            "it): serving it inputs prepared with the engine's",
            task,
            language,
            model.name,
        )
        text = engine_text
    return dataclasses.replace(model, text=text)


def build_task_models(
    models: Mapping[str, ModelSpec], engine_text: TextConfig, default_language: str = "en"
) -> dict[str, dict[str, TaskModel]]:
    """Normalise the caller's mapping to task -> language -> TaskModel, checking every entry;
    each model's `text` is resolved (its own, else `engine_text`)."""
    unknown = [task for task in models if task not in TASKS]
    if unknown:
        raise ConfigError(f"unknown triage task(s) {unknown}; known tasks: {list(TASKS)}")
    built: dict[str, dict[str, TaskModel]] = {}
    for task, spec in models.items():
        per_language = spec if isinstance(spec, Mapping) else {default_language: spec}
        built[task] = {
            lang: _as_task_model(task, lang, m, engine_text) for lang, m in per_language.items()
        }
    if not built.get("sentiment"):
        raise ConfigError("a sentiment model is required: it defines the supported languages")
    for language, model in built["sentiment"].items():
        if "negative" not in model.classifier.classes_:
            raise ConfigError(
                f"sentiment model for '{language}' ({model.name}) has no 'negative' class "
                f"(classes: {model.classifier.classes_}); complaints are defined from it"
            )
    return built
