"""The served models: the one table of registered names, serving slots and what each is trained on.

Training registers a model under the name given here, promotion moves its `@champion` alias, and
serving loads that champion into the slot given here. Both layers (and the tests) read this
module, so a name changed on one side only can never leave serving silently without a champion.

Triage: one slot per (task, language). Sentiment has a model per language (it defines which
languages triage supports). The standing slots (`TRIAGE_SLOTS`) are served by default, each from
the dataset its fixed split (and so its champion's evaluation) comes from; a slot `TASK-LANG`
(`reason-zh`, `sentiment-es`, ...) serves a task in any other language the detector knows, and
exists once a model is bound to it: a team with its own Chinese complaint reasons or Spanish
tickets serves them beside the defaults instead of in their place.

A slot serves its default registered name unless a registered model is bound to it: promotion
with a slot (`agora models promote NAME --slot SLOT`) tags NAME in the registry with the slot,
which is how every replica of the service learns it (they share only the registry). What fits a
slot (task, language, the sentiment classes) is decided here, once, for the promotion that binds
and for anyone who asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from features.language import known_language_codes
from features.text_splits import Task

CHAMPION_ALIAS = "champion"

RECOMMENDER_MODEL = "agora-recommender"
RECOMMENDER_SLOT = "recommender"
RECOMMENDER_DATASET = "movielens-100k"  # the dataset `agora-recommender` is trained on

TRIAGE_FAMILY = "triage"
RECOMMENDER_FAMILY = "recommender"
# Registered-model tags of a slot binding: the slot, and when it was bound (the newest binding of
# a slot wins if two models ever claim it, e.g. two promotions racing).
SERVING_SLOT_TAG = "agora.serving_slot"
SLOT_BOUND_AT_TAG = "agora.serving_slot_bound_at"
# Complaints are defined from this class (models.triage): a sentiment slot's model needs it.
NEGATIVE_CLASS = "negative"

TRIAGE_MODEL_PREFIX = "agora-triage"


@dataclass(frozen=True)
class TriageSlot:
    """One served triage model: its slot, what it predicts and for which language, the dataset
    its canonical version is trained and evaluated on, and the name it is registered under."""

    slot: str
    task: Task
    language: str
    dataset: str | None  # None: a language slot, whose models all come from the user's data
    registered_name: str


TRIAGE_SLOTS: tuple[TriageSlot, ...] = (
    TriageSlot(
        "sentiment-en", Task.SENTIMENT, "en", "airline-sentiment", "agora-triage-sentiment-en"
    ),
    TriageSlot("sentiment-zh", Task.SENTIMENT, "zh", "waimai-10k", "agora-triage-sentiment-zh"),
    TriageSlot("reason", Task.REASON, "en", "airline-sentiment", "agora-triage-reason"),
    TriageSlot("category", Task.CATEGORY, "en", "bitext-intents", "agora-triage-category"),
)


# A language slot: a task and a lowercase ISO 639-1 code (the codes the language detector gives).
_LANGUAGE_SLOT = re.compile(
    rf"(?P<task>{'|'.join(t.value for t in Task)})-(?P<language>[a-z]{{2}})"
)


def triage_slot(slot: str) -> TriageSlot:
    """The slot named `slot`, standing or `TASK-LANG`; KeyError says why a name is not one."""
    for entry in TRIAGE_SLOTS:
        if entry.slot == slot:
            return entry
    match = _LANGUAGE_SLOT.fullmatch(slot)
    if match is None:
        raise KeyError(f"unknown triage slot '{slot}' (known: {_known_slots_text()})")
    task, language = Task(match["task"]), match["language"]
    standing = _standing_slot(task, language)
    if standing is not None:  # one name per slot: bindings and pins must agree on it
        raise KeyError(f"slot '{slot}' is called '{standing.slot}'")
    if language not in known_language_codes():
        raise KeyError(
            f"unknown triage slot '{slot}': '{language}' is not an ISO 639-1 code the language "
            "detector knows"
        )
    return TriageSlot(slot, task, language, None, f"{TRIAGE_MODEL_PREFIX}-{task}-{language}")


def _standing_slot(task: Task, language: str) -> TriageSlot | None:
    return next((s for s in TRIAGE_SLOTS if (s.task, s.language) == (task, language)), None)


def _known_slots_text(*standing: str) -> str:
    names = ", ".join([*triage_slot_names(), *standing])
    return f"{names}, or TASK-LANG such as reason-zh or sentiment-es"


def slot_for(task: Task | str, language: str) -> str | None:
    """The name of the slot serving `task` in `language` (None: no slot can, e.g. 'und')."""
    task = Task(task)
    standing = _standing_slot(task, language)
    if standing is not None:
        return standing.slot
    return f"{task}-{language}" if language in known_language_codes() else None


def triage_slot_names() -> list[str]:
    """The standing triage slots (served by default), in their table order."""
    return [entry.slot for entry in TRIAGE_SLOTS]


def is_slot_name(slot: str) -> bool:
    """Whether `slot` names a serving slot: standing, `TASK-LANG`, or the recommender's."""
    if slot == RECOMMENDER_SLOT:
        return True
    try:
        triage_slot(slot)
    except KeyError:
        return False
    return True


def served_slot_names(named: Iterable[str] = ()) -> list[str]:
    """The slots a service serves: the standing triage slots, the language slots among `named`
    (those bound in the registry or pinned by the environment), then the recommender's."""
    standing = triage_slot_names()
    extra = sorted({s for s in named if s not in standing and s != RECOMMENDER_SLOT})
    return [*standing, *(s for s in extra if is_slot_name(s)), RECOMMENDER_SLOT]


def default_triage_dataset(task: Task | str) -> str:
    """The dataset a task trains on when none is given: its first slot's (English first)."""
    return next(
        entry.dataset for entry in TRIAGE_SLOTS if entry.task == Task(task) and entry.dataset
    )


def triage_registered_name(task: Task | str, language: str, dataset: str) -> str:
    """The registry name of a triage model of `task` for `language`, trained on `dataset`.

    The slot's name when the dataset is the slot's own; otherwise the dataset is appended (e.g.
    agora-triage-category-cfpb-complaints), so a champion is only ever compared with models
    evaluated on the same split, and a model of another dataset is never served by accident.
    """
    task = Task(task)
    for entry in TRIAGE_SLOTS:
        if (entry.task, entry.language) == (task, language):
            if entry.dataset == dataset:
                return entry.registered_name
            return f"{entry.registered_name}-{dataset}"
    return f"{TRIAGE_MODEL_PREFIX}-{task}-{language}-{dataset}"


def recommender_registered_name(dataset: str) -> str:
    """The registry name of a recommender trained on `dataset`: `agora-recommender` for the
    default dataset, else with the dataset appended, so the gate only compares a catalog's
    champion with models evaluated on that catalog's split."""
    if dataset == RECOMMENDER_DATASET:
        return RECOMMENDER_MODEL
    return f"{RECOMMENDER_MODEL}-{dataset}"


def slot_names() -> list[str]:
    """The standing serving slots: the triage slots, then the recommender's (language slots
    come on top of these when bound: `served_slot_names`)."""
    return [*triage_slot_names(), RECOMMENDER_SLOT]


def default_registered_name(slot: str) -> str:
    """The registered name a slot serves when no model is bound to it; KeyError if unknown."""
    if slot == RECOMMENDER_SLOT:
        return RECOMMENDER_MODEL
    try:
        return triage_slot(slot).registered_name
    except KeyError as error:
        if not _LANGUAGE_SLOT.fullmatch(slot):
            known = _known_slots_text(RECOMMENDER_SLOT)
            raise KeyError(f"unknown slot '{slot}' (known: {known})") from None
        raise KeyError(error.args[0]) from None


def bound_slots(models: Iterable[tuple[str, Mapping[str, str]]]) -> dict[str, str]:
    """Slot -> bound registered name, from (name, registered-model tags) pairs.

    Tags naming an unknown slot are ignored (a binding made by a newer version of Agora); when
    several models claim one slot, the newest binding wins (then the name, so every reader picks
    the same one).
    """
    newest: dict[str, tuple[str, str]] = {}
    for name, tags in models:
        slot = tags.get(SERVING_SLOT_TAG)
        if slot is None or not is_slot_name(slot):
            continue
        key = (tags.get(SLOT_BOUND_AT_TAG, ""), name)
        if slot not in newest or key > newest[slot]:
            newest[slot] = key
    return {slot: name for slot, (_, name) in newest.items()}


class SlotMismatchError(ValueError):
    """A registered model cannot serve a slot; the message says why and what to do."""


@dataclass(frozen=True)
class ModelFacts:
    """What a registered version is, as far as a serving slot cares (None: not recorded)."""

    family: str | None  # TRIAGE_FAMILY or RECOMMENDER_FAMILY
    task: str | None = None
    language: str | None = None
    classes: tuple[str, ...] | None = None


_LANGUAGE_NAMES = {"en": "English", "zh": "Chinese"}


def _language_name(code: str) -> str:
    return f"{_LANGUAGE_NAMES[code]} ('{code}')" if code in _LANGUAGE_NAMES else f"'{code}'"


def check_slot_fit(slot: str, facts: ModelFacts, model: str) -> None:
    """Raise SlotMismatchError unless the model described by `facts` (called `model` in the
    message, e.g. "my-model v3") can serve `slot`.

    A recommender serves only the recommender slot; a triage model only a slot of its task and
    language; a sentiment model needs a `negative` class.
    """
    if slot == RECOMMENDER_SLOT:
        if facts.family != RECOMMENDER_FAMILY:
            what = f"a {facts.task} model" if facts.task else "not a recommender"
            raise SlotMismatchError(f"{model} is {what}: slot '{slot}' serves a recommender")
        return
    entry = triage_slot(slot)  # KeyError for an unknown slot
    if facts.family == RECOMMENDER_FAMILY:
        raise SlotMismatchError(
            f"{model} is a recommender: it can only serve slot '{RECOMMENDER_SLOT}'"
        )
    if facts.task is None or facts.language is None:
        raise SlotMismatchError(
            f"{model} records no task or language (tags agora.task, agora.language): "
            "retrain it with `agora train triage`, then promote it"
        )
    if facts.task != entry.task:
        raise SlotMismatchError(
            f"{model} predicts {facts.task}, but slot '{slot}' serves {entry.task}"
        )
    if facts.language != entry.language:
        raise SlotMismatchError(_language_mismatch(slot, entry, facts, model))
    if entry.task == Task.SENTIMENT:
        if facts.classes is None:
            raise SlotMismatchError(
                f"{model} records no classes (tag agora.classes, or its artifact's manifest)"
            )
        if NEGATIVE_CLASS not in facts.classes:
            found = ", ".join(facts.classes)
            raise SlotMismatchError(
                f"{model} has no '{NEGATIVE_CLASS}' class (its classes: {found}), and a "
                f"sentiment slot needs one: complaints are defined from it. Import the data "
                f"again with --label-map (e.g. --label-map 0=negative,1=positive), retrain, "
                f"then promote"
            )


def _language_mismatch(slot: str, entry: TriageSlot, facts: ModelFacts, model: str) -> str:
    serves = f"slot '{slot}' serves {_language_name(entry.language)} text"
    if facts.language == "und":
        return (
            f"{model} was trained on text of undetermined language ('und') and {serves}: "
            f"import the data again with --language {entry.language} (or a language column), "
            "retrain, then promote"
        )
    fitting = slot_for(entry.task, facts.language)
    hint = f" (it fits slot '{fitting}')" if fitting else ""
    return f"{model} was trained on {_language_name(facts.language)} text and {serves}{hint}"
