"""The models one service instance serves, loaded together and swapped as one unit.

A `Runtime` is immutable: a reload builds a complete new one and the service replaces its
reference in one assignment, so each request runs wholly on the old or wholly on the new models.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from models.classifiers import load_classifier
from models.recommenders import Recommender, load_recommender
from models.triage import TaskModel, TriageEngine, load_triage_config
from serving.model_store import ChampionRef, ChampionStore, ChampionUnavailableError
from serving.settings import TRIAGE_SLOTS, Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    recommender: Recommender | None
    recommender_ref: ChampionRef | None
    triage: TriageEngine | None
    triage_refs: dict[str, ChampionRef]
    problems: dict[str, str] = field(default_factory=dict)  # slot -> why it is not served
    loaded_at: float = field(default_factory=time.time)

    @property
    def ready(self) -> bool:
        return self.recommender is not None and self.triage is not None

    def refs(self) -> dict[str, ChampionRef]:
        """Every served champion by slot ("recommender", "sentiment-en", ...)."""
        refs = dict(self.triage_refs)
        if self.recommender_ref is not None:
            refs["recommender"] = self.recommender_ref
        return refs

    def versions(self) -> dict[str, str]:
        return {slot: f"{ref.name}@{ref.version}" for slot, ref in self.refs().items()}


def _load_recommender(
    settings: Settings, store: ChampionStore, problems: dict[str, str]
) -> tuple[Recommender | None, ChampionRef | None]:
    try:
        ref = store.resolve(settings.recommender_model)
        return load_recommender(ref.native_path), ref
    except (ChampionUnavailableError, OSError, ValueError) as error:
        problems["recommender"] = str(error)
        logger.error("recommender not served: %s", error)
        return None, None


def _load_triage(
    settings: Settings, store: ChampionStore, problems: dict[str, str]
) -> tuple[TriageEngine | None, dict[str, ChampionRef]]:
    models: dict[str, dict[str, TaskModel]] = {}
    refs: dict[str, ChampionRef] = {}
    for slot, registered in settings.triage_models.items():
        if slot not in TRIAGE_SLOTS:
            problems[slot] = f"unknown triage slot '{slot}' (known: {', '.join(TRIAGE_SLOTS)})"
            continue
        task, language = TRIAGE_SLOTS[slot]
        try:
            ref = store.resolve(registered)
            classifier = load_classifier(ref.native_path)
        except (ChampionUnavailableError, OSError, ValueError) as error:
            problems[slot] = str(error)
            logger.warning("triage slot %s not served: %s", slot, error)
            continue
        models.setdefault(task, {})[language] = TaskModel(classifier, registered, ref.version)
        refs[slot] = ref
    if "sentiment" not in models:
        problems.setdefault("triage", "no sentiment champion: triage needs at least one")
        return None, refs
    engine = TriageEngine(models, load_triage_config())
    engine.warm_up()  # the language detector's models, now rather than on the first request
    return engine, refs


def load_runtime(settings: Settings, store: ChampionStore) -> Runtime:
    """Resolve and load every champion; what cannot be loaded is listed in `problems`."""
    problems: dict[str, str] = {}
    recommender, recommender_ref = _load_recommender(settings, store, problems)
    triage, triage_refs = _load_triage(settings, store, problems)
    runtime = Runtime(recommender, recommender_ref, triage, triage_refs, problems)
    logger.info("runtime loaded: %s; problems: %s", runtime.versions(), problems or "none")
    return runtime
