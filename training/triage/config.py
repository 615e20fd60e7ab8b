"""Configuration of the triage pipeline: one section per model family, loadable from YAML.

A config file (configs/triage/*.yaml) holds any of the sections `text`, `tfidf`, `embedding`,
`finetune`, `ensemble`, `tasks`; sections left out keep their defaults, unknown keys are rejected
with the field's name, and everything is validated before any data is loaded or model trained.

`tasks` changes model sections for one task only: what suits 3-class sentiment does not always
suit 10 complaint reasons (NB-weighted TF-IDF: +0.9 points of cross-validated accuracy on airline
sentiment, -1.7 points of macro-F1 on reasons). `config.for_task(task)` is the config a task's
models are trained with.

`text` is how texts are cleaned and masked before a model reads them. It is saved in the model's
artifact, and the triage engine prepares that model's serving inputs with it, so a model is always
served the input it was trained on. Its default is the engine's shipped text handling
(models/triage/triage.yaml).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, model_validator

from features.text import TextConfig
from features.text_splits import Task
from models.classifiers.base import TextClassifier
from models.classifiers.catalog import ClassifierType
from models.classifiers.embedding import EmbeddingClassifier, EmbeddingConfig
from models.classifiers.ensemble import EarlyExit, EnsembleClassifier
from models.classifiers.finetune_config import FineTuneConfig
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.config import ConfigError, FrozenConfig, describe_validation_error
from models.triage.config import load_triage_config

# One config section per classifier type; a `tasks` entry may change these (not `text`).
MODEL_SECTIONS: tuple[str, ...] = tuple(ClassifierType)


class EarlyExitConfig(FrozenConfig):
    """Let one cheap member answer alone for the texts it is at least `min_confidence` sure of.

    The other members (the fine-tunes, which cost nearly all of an ensemble's time) then score
    only the rest. Training reports the share that exited and how many test answers differ from
    the full average (`ensemble_exit_share`, `ensemble_exit_changed`).
    """

    member: ClassifierType = ClassifierType.TFIDF
    min_confidence: float = Field(0.9, gt=0.5, le=1.0)


class EnsembleConfig(FrozenConfig):
    """Which members to average and with which weights (None = equal).

    Each "finetune" entry becomes one fine-tuned member per seed in `finetune_seeds`: seeds give
    different validation splits, data orders and head initialisations, and averaging them
    removes much of the run-to-run spread of a single fine-tune (on airline sentiment, test
    accuracy 0.821 and 0.838 for seeds 42 and 43).
    """

    members: tuple[ClassifierType, ...] = (ClassifierType.FINETUNE, ClassifierType.TFIDF)
    finetune_seeds: tuple[int, ...] = (42, 43)
    weights: tuple[float, ...] | None = Field(
        None, description="one per member after expanding finetune seeds; None = equal"
    )
    early_exit: EarlyExitConfig | None = Field(
        default_factory=EarlyExitConfig,
        description="a cheap member that answers alone when sure; None = always average. The "
        "default (TF-IDF) applies only to ensembles that have a TF-IDF member",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.members:
            raise ValueError("members must name at least one model")
        if ClassifierType.ENSEMBLE in self.members:
            raise ValueError("members: an ensemble cannot be a member of an ensemble")
        if len(set(self.members)) != len(self.members):
            raise ValueError(f"members must not repeat: {self.members}")
        if not self.finetune_seeds or len(set(self.finetune_seeds)) != len(self.finetune_seeds):
            raise ValueError(
                f"finetune_seeds must be distinct, at least one: {self.finetune_seeds}"
            )
        if self.weights is not None:
            plan = self.member_plan()
            if len(self.weights) != len(plan):
                raise ValueError(
                    f"weights has {len(self.weights)} entries for {len(plan)} members "
                    f"({', '.join(f'{k}' if s is None else f'{k}@{s}' for k, s in plan)})"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        if self.early_exit is not None and (
            "early_exit" in self.model_fields_set or self.early_exit.member in self.members
        ):
            kind = self.early_exit.member
            if kind == ClassifierType.FINETUNE or kind not in self.members:
                raise ValueError(
                    f"early_exit.member must be one of the members other than finetune "
                    f"(one model, not one per seed), got {kind}; members: "
                    f"{', '.join(self.members)}"
                )
            plan = self.member_plan()
            index = [k for k, _ in plan].index(kind)
            if self.weights is not None and self.weights[index] <= 0:
                raise ValueError("early_exit.member must have a positive weight")
        return self

    def early_exit_for(self, kinds: list[str]) -> EarlyExit | None:
        """The early exit of an ensemble whose members are of `kinds`, in order (None when
        there is none, or its member is not among `kinds`)."""
        if self.early_exit is None or self.early_exit.member not in kinds:
            return None
        return EarlyExit(kinds.index(self.early_exit.member), self.early_exit.min_confidence)

    def member_plan(self) -> list[tuple[str, int | None]]:
        """(kind, seed) of each member in order; seed is None for non-fine-tuned members."""
        plan: list[tuple[str, int | None]] = []
        for kind in self.members:
            if kind == "finetune":
                plan += [("finetune", seed) for seed in self.finetune_seeds]
            else:
                plan.append((kind, None))
        return plan


@cache
def serving_text_config() -> TextConfig:
    """The text handling the triage engine applies by default (models/triage/triage.yaml).

    Read once per process: the shipped files do not change while it runs, and TextConfig is
    immutable, so every config and `model_inputs` call can share the one value.
    """
    return load_triage_config().text


class TriageConfig(FrozenConfig):
    """Hyper-parameters of every triage model family (the `--config` file)."""

    text: TextConfig = Field(
        default_factory=serving_text_config,
        description="cleaning and masking of model inputs; saved with the model, which the "
        "engine serves with it",
    )
    tfidf: TfidfConfig = Field(default_factory=TfidfConfig)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    finetune: FineTuneConfig = Field(default_factory=FineTuneConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    tasks: dict[Task, dict[str, dict[str, Any]]] = Field(
        default_factory=lambda: {Task.SENTIMENT: {"tfidf": {"nb_weighting": True, "c": 4.0}}},
        description="per task, changes to model sections: {sentiment: {tfidf: {c: 4.0}}}",
    )

    @model_validator(mode="after")
    def _check_tasks(self) -> Self:
        for task, sections in self.tasks.items():
            unknown = sorted(set(sections) - set(MODEL_SECTIONS))
            if unknown:
                raise ValueError(
                    f"tasks.{task}: unknown section {', '.join(unknown)}; "
                    f"choose from {', '.join(MODEL_SECTIONS)}"
                )
            self.for_task(task)  # every override is validated now, not when the task trains
        return self

    def for_split(self, task: Task | str, language: str | None) -> TriageConfig:
        """`for_task`, with the text handling decided for a model of `language` texts
        (`TextConfig.for_language`: Traditional Chinese folded for a Chinese set)."""
        config = self.for_task(task)
        text = config.text.for_language(language)
        return config if text == config.text else config.model_copy(update={"text": text})

    def for_task(self, task: Task | str) -> TriageConfig:
        """This config with the `tasks` entry of `task` applied to its model sections."""
        changes: dict[str, Any] = {}
        for name, values in self.tasks.get(Task(task), {}).items():
            section = getattr(self, name)
            try:
                changes[name] = type(section).model_validate({**section.model_dump(), **values})
            except ValidationError as error:
                raise ValueError(
                    describe_validation_error(f"tasks.{task}.{name} section", error)
                ) from None
        return self.model_copy(update=changes) if changes else self


def load_config(path: str | Path | None) -> TriageConfig:
    """The config in `path`, or all defaults when no file is given."""
    return TriageConfig() if path is None else TriageConfig.from_yaml(path)


def build_finetune(config: TriageConfig, seed: int) -> TextClassifier:
    """A fine-tuned classifier from the finetune section, with `seed` instead of its own."""
    from models.classifiers.finetune import FineTunedClassifier  # torch: only when needed

    return FineTunedClassifier(config.finetune.model_copy(update={"seed": seed}))


def classifier_type(model: str) -> ClassifierType:
    """`model` as a ClassifierType; an unknown name is a ConfigError listing the known ones."""
    try:
        return ClassifierType(model)
    except ValueError:
        known = ", ".join(ClassifierType)
        raise ConfigError(f"model: unknown model '{model}'; choose one of {known}") from None


def build_classifier(model: str, config: TriageConfig) -> TextClassifier:
    """An unfitted classifier of type `model` configured from its section of `config`."""
    match classifier_type(model):
        case ClassifierType.TFIDF:
            return TfidfClassifier(config.tfidf)
        case ClassifierType.EMBEDDING:
            return EmbeddingClassifier(config.embedding)
        case ClassifierType.FINETUNE:
            return build_finetune(config, config.finetune.seed)
        case ClassifierType.ENSEMBLE:
            plan = config.ensemble.member_plan()
            members = [
                build_classifier(kind, config) if seed is None else build_finetune(config, seed)
                for kind, seed in plan
            ]
            early_exit = config.ensemble.early_exit_for([kind for kind, _ in plan])
            return EnsembleClassifier(members, config.ensemble.weights, early_exit)
