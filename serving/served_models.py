"""The models one service instance serves, loaded together and swapped as one unit.

A `ServedModels` is immutable: a reload builds a complete new one and the service replaces its
reference in one assignment, so each request runs wholly on the old or wholly on the new models.
Each slot (the recommender, and the triage slots of `models.served_models`) serves a registered
model's `@champion`, resolved and cached by `ChampionCache`; which registered model is decided
per slot on every load (`serving.settings.resolve_slot_models`: the environment, else the
registry's binding, else the slot's default name).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

from features.language import warm_up_detector
from features.text_splits import Task
from models.config import ConfigError
from models.recommenders import Recommender, load_recommender
from models.served_models import RECOMMENDER_SLOT, default_registered_name, slot_for, triage_slot
from models.triage import TaskModel, TriageConfig, TriageEngine, load_triage_config
from models.triage.slot_models import load_slot_model
from serving.champion_cache import ChampionCache, ChampionRef, ChampionUnavailableError
from serving.settings import (
    ALL_PARTS,
    BINDING_LOCAL_CACHE,
    BINDING_REGISTRY,
    FEEDS,
    TRIAGE,
    TRIAGE_MODELS_ENV,
    Settings,
    SlotModel,
    resolve_slot_models,
    slot_part,
)

logger = logging.getLogger(__name__)

# A triage config YAML (routing table, urgency rules, thresholds, language handling) whose
# sections replace the shipped defaults': a desk routes its own reasons and categories to its
# own queues. Read at start-up and on every reload, so an edited table applies on /admin/reload.
TRIAGE_CONFIG_ENV = "AGORA_TRIAGE_CONFIG"

WARM_UP_QUERY = "warm up"  # any text: only what answering it loads matters


@dataclass(frozen=True)
class ServedModels:
    recommender: Recommender | None
    recommender_ref: ChampionRef | None
    triage: TriageEngine | None
    triage_refs: dict[str, ChampionRef]
    problems: dict[str, str] = field(default_factory=dict)  # slot -> why it is not served
    loaded_at: float = field(default_factory=time.time)
    slots: dict[str, SlotModel] = field(default_factory=dict)  # slot -> its registered model
    parts: frozenset[str] = ALL_PARTS  # what this service serves (AGORA_PARTS)

    @property
    def ready(self) -> bool:
        """Every part the service serves has its models (a desk without feeds needs none)."""
        return (FEEDS not in self.parts or self.recommender is not None) and (
            TRIAGE not in self.parts or self.triage is not None
        )

    def refs(self) -> dict[str, ChampionRef]:
        """Every served champion by slot ("recommender", "sentiment-en", ...)."""
        refs = dict(self.triage_refs)
        if self.recommender_ref is not None:
            refs[RECOMMENDER_SLOT] = self.recommender_ref
        return refs

    def versions(self) -> dict[str, str]:
        return {slot: f"{ref.name}@{ref.version}" for slot, ref in self.refs().items()}


def resolve_slots(
    settings: Settings,
    cache: ChampionCache,
    quiet: bool = False,
    serving: dict[str, SlotModel] | None = None,
) -> tuple[dict[str, SlotModel], bool]:
    """Which registered model each slot serves now (one registry call for the bindings), and
    whether the bindings came from the registry itself (False: its last record, or none).

    When the registry cannot answer and nothing was recorded, the slots bound in `serving` (what
    the process serves now) stay bound: an outage never switches a slot back to its default.
    """
    bindings = cache.bindings()
    bound, source = bindings.slots, BINDING_REGISTRY
    if bindings.source == BINDING_LOCAL_CACHE:
        source = BINDING_LOCAL_CACHE
    elif bindings.registry_error is not None:  # no record either: keep what is served
        bound = {
            slot: model.name
            for slot, model in (serving or {}).items()
            if model.binding in (BINDING_REGISTRY, BINDING_LOCAL_CACHE)
        }
        source = BINDING_LOCAL_CACHE
    if bindings.registry_error is not None and not quiet:
        logger.warning(
            "slot bindings not read from the registry (%s): using %s",
            bindings.registry_error,
            "the last recorded" if bound else "none",
        )
    slots = resolve_slot_models(settings.pinned_models, bound, source)
    return slots, bindings.registry_error is None


def _load_recommender(
    name: str, cache: ChampionCache, problems: dict[str, str]
) -> tuple[Recommender | None, ChampionRef | None]:
    try:
        ref = cache.resolve(name)
        return load_recommender(ref.native_path), ref
    except (ChampionUnavailableError, OSError, ValueError) as error:
        problems[RECOMMENDER_SLOT] = str(error)
        logger.error("recommender not served: %s", error)
        return None, None


def _load_triage(
    slots: dict[str, SlotModel],
    cache: ChampionCache,
    config: TriageConfig,
    problems: dict[str, str],
    serving: ServedModels | None = None,
) -> tuple[TriageEngine | None, dict[str, ChampionRef]]:
    """The triage engine of the slots' champions. On a reload (`serving`: what is served now) a
    slot whose new champion fails to load keeps the model it serves, with the failure listed:
    dropping it made every text of that task and language go untriaged (a category slot bound
    to a model the running code could not read left the desk without categories)."""
    models: dict[str, dict[str, TaskModel]] = {}
    refs: dict[str, ChampionRef] = {}
    for slot in (s for s in slots if slot_part(s) == TRIAGE):
        registered = slots[slot].name
        try:
            ref = cache.resolve(registered)
            # Promotion checked the binding; a model pinned by the environment was not: at least
            # its classes are checked here (its task and language are taken on trust).
            task, language, model = load_slot_model(slot, ref.native_path, registered, ref.version)
        except (ChampionUnavailableError, OSError, ValueError) as error:
            kept = _served_slot_model(serving, slot)
            if kept is None:
                problems[slot] = str(error)
                logger.warning("triage slot %s not served: %s", slot, error)
                continue
            ref, (task, language, model) = kept
            problems[slot] = f"{error}; still serving {ref.name} v{ref.version}"
            logger.warning("triage slot %s keeps %s v%s: %s", slot, ref.name, ref.version, error)
        models.setdefault(task, {})[language] = model
        refs[slot] = ref
    if "sentiment" not in models:
        problems.setdefault("triage", "no sentiment champion: triage needs at least one")
        return None, refs
    _note_unreached(models, refs, problems)
    # Each model is served with the text handling its artifact records (see TaskModel).
    engine = TriageEngine(models, config)
    if engine.routing_problems:  # rules of the desk's table that never match these models
        problems["routing"] = "; ".join(engine.routing_problems)
    return engine, refs


def _served_slot_model(
    serving: ServedModels | None, slot: str
) -> tuple[ChampionRef, tuple[str, str, TaskModel]] | None:
    """The champion `serving` serves in triage slot `slot` and its (task, language, model)."""
    if serving is None or serving.triage is None or slot not in serving.triage_refs:
        return None
    served = triage_slot(slot)
    model = serving.triage.models.get(str(served.task), {}).get(served.language)
    if model is None:
        return None
    return serving.triage_refs[slot], (str(served.task), served.language, model)


def _note_unreached(
    models: dict[str, dict[str, TaskModel]],
    refs: dict[str, ChampionRef],
    problems: dict[str, str],
) -> None:
    """A slot's model for a language no sentiment model serves (reason-es without sentiment-es)
    never runs: texts of that language are unsupported. Loaded all the same, but listed."""
    for slot in refs:
        served = triage_slot(slot)
        if served.language not in models["sentiment"]:
            sentiment = slot_for(Task.SENTIMENT, served.language)
            problems[slot] = (
                f"loaded, but never used: no sentiment model serves '{served.language}' "
                f"(bind one to slot '{sentiment}'), so those texts are not triaged"
            )


def warm_models(recommender: Recommender | None, triage: TriageEngine | None) -> None:
    """Run each model once, so what it loads on first use loads now, before the service says
    ready (or, on a reload, before the swap): the sentence encoder of a text-query feed (MiniLM
    and its torch import take seconds, and held the worker's first query feed and every request
    that came meanwhile), the language detector, a triage model's encoder or ONNX session.

    A model that fails here is still served, as it was before warming existed: its own requests
    then get its error, and the rest of the service starts (or reloads) as usual.
    """
    started = time.perf_counter()
    try:
        if recommender is not None and recommender.answers_text_queries:
            recommender.recommend_for_text(WARM_UP_QUERY, k=1)
    except Exception:
        logger.exception("warming the recommender's text queries failed")
    try:
        if triage is not None:
            triage.warm_up()
    except Exception:
        logger.exception("warming the triage models failed")
    logger.info("models warmed in %.0f ms", (time.perf_counter() - started) * 1000)


def load_served_models(
    settings: Settings, cache: ChampionCache, serving: ServedModels | None = None
) -> ServedModels:
    """Resolve and load every champion; what cannot be loaded is listed in `problems`.

    `serving`: the models served now, on a reload (their slot bindings outlive a registry outage).
    """
    problems: dict[str, str] = {}
    for slot in settings.pinned_models:
        try:
            default_registered_name(slot)
        except KeyError as error:
            problems[slot] = f"{TRIAGE_MODELS_ENV}: {error.args[0]}"
    slots, _ = _served_slots(settings, cache, serving.slots if serving else None)
    config = _triage_config(serving, problems) if TRIAGE in settings.parts else None
    warm_up = None
    if config is not None:
        # The language detector's models load (a few seconds) while the champions are fetched
        # and read, rather than on the first request or after the models.
        warm_up = threading.Thread(
            target=warm_up_detector, args=(config.language,), name="language-warm-up"
        )
        warm_up.start()
    recommender, recommender_ref = (
        _load_recommender(slots[RECOMMENDER_SLOT].name, cache, problems)
        if RECOMMENDER_SLOT in slots
        else (None, None)
    )
    triage, triage_refs = (
        _load_triage(slots, cache, config, problems, serving) if config is not None else (None, {})
    )
    if warm_up is not None:
        warm_up.join()
    warm_models(recommender, triage)
    served = ServedModels(
        recommender,
        recommender_ref,
        triage,
        triage_refs,
        problems,
        slots=slots,
        parts=settings.parts,
    )
    logger.info("models loaded: %s; problems: %s", served.versions(), problems or "none")
    return served


def _served_slots(
    settings: Settings,
    cache: ChampionCache,
    serving: dict[str, SlotModel] | None = None,
    quiet: bool = False,
) -> tuple[dict[str, SlotModel], bool]:
    """The slots of the parts this service serves (AGORA_PARTS) with their registered models, and
    whether the bindings came from the registry itself (see `resolve_slots`)."""
    slots, from_registry = resolve_slots(settings, cache, quiet=quiet, serving=serving)
    return {s: m for s, m in slots.items() if slot_part(s) in settings.parts}, from_registry


def service_triage_config() -> TriageConfig:
    """The triage settings served: AGORA_TRIAGE_CONFIG's file over the shipped defaults
    (ConfigError, naming the file and field, if it cannot be read or is invalid)."""
    path = os.environ.get(TRIAGE_CONFIG_ENV, "").strip()
    try:
        return load_triage_config(path or None)
    except ConfigError as error:
        raise ConfigError(f"{TRIAGE_CONFIG_ENV}: {error}") from None


def _triage_config(serving: ServedModels | None, problems: dict[str, str]) -> TriageConfig:
    """The triage settings to load with; on a reload, a file broken since start-up keeps the
    settings served (listed under problems) rather than taking triage down with it."""
    try:
        return service_triage_config()
    except ConfigError as error:
        if serving is None or serving.triage is None:
            raise  # start-up: the preflight refuses this with the same sentence
        problems["triage_config"] = f"{error}; still using the previous one"
        logger.error("triage config not reloaded: %s", error)
        return serving.triage.config


def changes_since(served: ServedModels, settings: Settings, cache: ChampionCache) -> dict[str, str]:
    """What moved in the registry since `served` was loaded: slot -> its new registered name
    (a binding changed, or a language slot was bound or released), or name -> its new champion
    version (an alias moved, or a slot that served nothing got a champion other than one that
    already failed to load). Empty when nothing did, or when the registry cannot say (the served
    models keep serving: an outage never switches a slot back to its default)."""
    slots, from_registry = _served_slots(settings, cache, quiet=True)
    moved: dict[str, str] = {}
    if from_registry:
        moved = {
            slot: now.name
            for slot, now in slots.items()
            if slot not in served.slots or now.name != served.slots[slot].name
        }
        # A language slot (reason-zh, ...) comes with its first binding and goes with unbind.
        moved.update({slot: "(unbound)" for slot in served.slots.keys() - slots.keys()})
    refs = served.refs()
    for ref in refs.values():
        current = cache.champion_version(ref.name)
        if current not in (None, ref.version):
            moved[ref.name] = current
    for slot, model in served.slots.items():  # a slot served nothing: has it a champion now?
        if slot not in refs and slot not in moved:
            current = cache.champion_version(model.name)
            tried = cache.cached(model.name)  # a version that was fetched but failed to load
            if current is not None and (tried is None or tried.version != current):
                moved[model.name] = current
    return moved
