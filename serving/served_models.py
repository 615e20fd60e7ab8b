"""The models one service instance serves, loaded together and swapped as one unit.

A `ServedModels` is immutable: a reload builds a complete new one and the service replaces its
reference in one assignment, so each request runs wholly on the old or wholly on the new models.
Each slot (the recommender, and the triage slots of `models.served_models`) serves its
registered model's `@champion`, resolved and cached by `ChampionCache`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from features.language import warm_up_detector
from models.classifiers import load_classifier
from models.recommenders import Recommender, load_recommender
from models.served_models import RECOMMENDER_SLOT, triage_slot, triage_slot_names
from models.triage import TaskModel, TriageConfig, TriageEngine, load_triage_config
from serving.champion_cache import ChampionCache, ChampionRef, ChampionUnavailableError
from serving.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModels:
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
            refs[RECOMMENDER_SLOT] = self.recommender_ref
        return refs

    def versions(self) -> dict[str, str]:
        return {slot: f"{ref.name}@{ref.version}" for slot, ref in self.refs().items()}


def _load_recommender(
    settings: Settings, cache: ChampionCache, problems: dict[str, str]
) -> tuple[Recommender | None, ChampionRef | None]:
    try:
        ref = cache.resolve(settings.recommender_model)
        return load_recommender(ref.native_path), ref
    except (ChampionUnavailableError, OSError, ValueError) as error:
        problems[RECOMMENDER_SLOT] = str(error)
        logger.error("recommender not served: %s", error)
        return None, None


def _load_triage(
    settings: Settings, cache: ChampionCache, config: TriageConfig, problems: dict[str, str]
) -> tuple[TriageEngine | None, dict[str, ChampionRef]]:
    models: dict[str, dict[str, TaskModel]] = {}
    refs: dict[str, ChampionRef] = {}
    for slot, registered in settings.triage_models.items():
        if slot not in triage_slot_names():
            known = ", ".join(triage_slot_names())
            problems[slot] = f"unknown triage slot '{slot}' (known: {known})"
            continue
        served = triage_slot(slot)
        try:
            ref = cache.resolve(registered)
            classifier = load_classifier(ref.native_path)
        except (ChampionUnavailableError, OSError, ValueError) as error:
            problems[slot] = str(error)
            logger.warning("triage slot %s not served: %s", slot, error)
            continue
        by_language = models.setdefault(str(served.task), {})
        by_language[served.language] = TaskModel(classifier, registered, ref.version)
        refs[slot] = ref
    if "sentiment" not in models:
        problems.setdefault("triage", "no sentiment champion: triage needs at least one")
        return None, refs
    # Each model is served with the text handling its artifact records (see TaskModel).
    return TriageEngine(models, config), refs


def load_served_models(settings: Settings, cache: ChampionCache) -> ServedModels:
    """Resolve and load every champion; what cannot be loaded is listed in `problems`."""
    problems: dict[str, str] = {}
    # The language detector's models load (a few seconds) while the champions are fetched and
    # read, rather than on the first request or after the models.
    config = load_triage_config()
    warm_up = threading.Thread(
        target=warm_up_detector, args=(config.language,), name="language-warm-up"
    )
    warm_up.start()
    recommender, recommender_ref = _load_recommender(settings, cache, problems)
    triage, triage_refs = _load_triage(settings, cache, config, problems)
    warm_up.join()
    served = ServedModels(recommender, recommender_ref, triage, triage_refs, problems)
    logger.info("models loaded: %s; problems: %s", served.versions(), problems or "none")
    return served
