"""The served models: the one table of registered names, serving slots and what each is trained on.

Training registers a model under the name given here, promotion moves its `@champion` alias, and
serving loads that champion into the slot given here. Both layers (and the tests) read this
module, so a name changed on one side only can never leave serving silently without a champion.

Triage: one slot per (task, language). Sentiment has a model per language (it defines which
languages triage supports); the other tasks' models are English-only. Each slot's default dataset
is the one its fixed split (and so its champion's evaluation) comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from features.text_splits import Task

CHAMPION_ALIAS = "champion"

RECOMMENDER_MODEL = "agora-recommender"
RECOMMENDER_SLOT = "recommender"

TRIAGE_MODEL_PREFIX = "agora-triage"


@dataclass(frozen=True)
class TriageSlot:
    """One served triage model: its slot, what it predicts and for which language, the dataset
    its canonical version is trained and evaluated on, and the name it is registered under."""

    slot: str
    task: Task
    language: str
    dataset: str
    registered_name: str


TRIAGE_SLOTS: tuple[TriageSlot, ...] = (
    TriageSlot(
        "sentiment-en", Task.SENTIMENT, "en", "airline-sentiment", "agora-triage-sentiment-en"
    ),
    TriageSlot("sentiment-zh", Task.SENTIMENT, "zh", "waimai-10k", "agora-triage-sentiment-zh"),
    TriageSlot("reason", Task.REASON, "en", "airline-sentiment", "agora-triage-reason"),
    TriageSlot("category", Task.CATEGORY, "en", "bitext-intents", "agora-triage-category"),
)


def triage_slot(slot: str) -> TriageSlot:
    """The slot named `slot`; KeyError lists the known slots."""
    for entry in TRIAGE_SLOTS:
        if entry.slot == slot:
            return entry
    raise KeyError(f"unknown triage slot '{slot}' (known: {', '.join(triage_slot_names())})")


def triage_slot_names() -> list[str]:
    return [entry.slot for entry in TRIAGE_SLOTS]


def default_triage_dataset(task: Task | str) -> str:
    """The dataset a task trains on when none is given: its first slot's (English first)."""
    return next(entry.dataset for entry in TRIAGE_SLOTS if entry.task == Task(task))


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
