"""A triage champion's saved folder loaded as the task model of its serving slot.

The service (its registry champions) and batch triage (champions shipped to workers) build a
TriageEngine from the same folders the same way: the classifier is loaded, its classes checked
against the slot (a sentiment slot needs a `negative` class, ...), and it joins the engine under
the slot's task and language.
"""

from __future__ import annotations

from pathlib import Path

from models.classifiers import load_classifier
from models.served_models import TRIAGE_FAMILY, ModelFacts, check_slot_fit, triage_slot
from models.triage.task_models import TaskModel


def load_slot_model(
    slot: str, folder: str | Path, name: str, version: str | None
) -> tuple[str, str, TaskModel]:
    """(task, language, model) of the classifier saved in `folder`, served in `slot` as `name`
    version `version`; ValueError (from the slot check) if it cannot serve the slot."""
    served = triage_slot(slot)
    classifier = load_classifier(folder)
    facts = ModelFacts(TRIAGE_FAMILY, served.task, served.language, tuple(classifier.classes_))
    check_slot_fit(slot, facts, f"{name} v{version}")
    return str(served.task), served.language, TaskModel(classifier, name, version)
