"""Serving slots in the registry: which registered model serves which slot, and what fits one.

A binding is a registered-model tag (`agora.serving_slot`) on the model that serves the slot, with
who bound it, when and why beside it: the registry is the one thing every replica of the service
shares, so a binding made on one machine reaches them all. One model per slot: binding a slot
takes the tag off the model that held it, and each model keeps a short history of its bindings.

What a version is (family, task, language, classes) is read from the tags the training pipelines
put on it; a version registered before a tag existed is read from its artifact's manifest, or,
for task and language, from the slot whose default registered name it carries.
"""

from __future__ import annotations

import getpass
import json
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from models.served_models import (
    RECOMMENDER_FAMILY,
    SERVING_SLOT_TAG,
    SLOT_BOUND_AT_TAG,
    TRIAGE_FAMILY,
    TRIAGE_SLOTS,
    ModelFacts,
    bound_slots,
    check_slot_fit,
    default_registered_name,
    served_slot_names,
)

logger = logging.getLogger(__name__)

TAG_FAMILY = "agora.family"
TAG_TASK = "agora.task"
TAG_LANGUAGE = "agora.language"
TAG_CLASSES = "agora.classes"  # a JSON list of the classifier's classes
SLOT_BOUND_BY_TAG = "agora.serving_slot_bound_by"
SLOT_REASON_TAG = "agora.serving_slot_reason"
SLOT_HISTORY_TAG = "agora.serving_slot_history"
_BINDING_TAGS = (SERVING_SLOT_TAG, SLOT_BOUND_AT_TAG, SLOT_BOUND_BY_TAG, SLOT_REASON_TAG)
_HISTORY_KEPT = 20  # entries per model: the tag stays small, the recent story stays readable
_MAX_CLASSES_TAG = 8000  # MLflow's limit on a run tag's value; longer lists stay in the manifest


def classes_tag(classes: Sequence[str]) -> dict[str, str]:
    """The `agora.classes` tag of a classifier with `classes` (none when too long for a tag:
    a slot check then reads the classes from the artifact's manifest)."""
    value = json.dumps(list(classes), ensure_ascii=False)
    return {TAG_CLASSES: value} if len(value) <= _MAX_CLASSES_TAG else {}


def _native_manifest(name: str, version: str) -> dict[str, Any]:
    """The `manifest.json` of a version's native model folder: two small downloads, not the
    whole model (a fine-tuned encoder is tens of megabytes)."""
    base = f"models:/{name}/{version}"
    with tempfile.TemporaryDirectory(prefix="agora-manifest-") as folder:
        spec_path = mlflow.artifacts.download_artifacts(f"{base}/MLmodel", dst_path=folder)
        spec = yaml.safe_load(Path(spec_path).read_text())
        native = spec["flavors"]["python_function"]["artifacts"]["native"]["path"]
        manifest = mlflow.artifacts.download_artifacts(
            f"{base}/{native}/manifest.json", dst_path=folder
        )
        return dict(json.loads(Path(manifest).read_text(encoding="utf-8")))


def _default_slot_of(name: str) -> tuple[str, str] | None:
    """(task, language) of the triage slot whose default registered name is `name`."""
    for entry in TRIAGE_SLOTS:
        if entry.registered_name == name:
            return str(entry.task), entry.language
    return None


def version_facts(name: str, version: str, tags: Mapping[str, str]) -> ModelFacts:
    """What version `version` of `name` is: from its tags, else its artifact's manifest."""
    family, classes = tags.get(TAG_FAMILY), tags.get(TAG_CLASSES)
    task, language = tags.get(TAG_TASK), tags.get(TAG_LANGUAGE)
    parsed = tuple(json.loads(classes)) if classes else None
    if family is None or (family == TRIAGE_FAMILY and parsed is None):
        try:
            manifest = _native_manifest(name, version)
        except (MlflowException, OSError, KeyError, TypeError, ValueError) as error:
            logger.warning("%s v%s: no readable manifest (%s)", name, version, error)
            manifest = {}
        if family is None and manifest.get("family") is not None:
            family = RECOMMENDER_FAMILY if manifest["family"] == "recommender" else TRIAGE_FAMILY
        if family == TRIAGE_FAMILY and parsed is None and "classes" in manifest:
            parsed = tuple(str(c) for c in manifest["classes"])
    if family == TRIAGE_FAMILY and (task is None or language is None):
        task, language = _default_slot_of(name) or (task, language)
    return ModelFacts(family=family, task=task, language=language, classes=parsed)


def check_version_fits(name: str, version: str, tags: Mapping[str, str], slot: str) -> None:
    """Raise SlotMismatchError (models.served_models) unless the version can serve `slot`."""
    check_slot_fit(slot, version_facts(name, version, tags), f"{name} v{version}")


@dataclass(frozen=True)
class SlotBinding:
    """Which registered model a slot serves: a bound model (with who, when and why), or the
    slot's default name when nothing is bound."""

    slot: str
    name: str
    bound: bool
    bound_at: str | None = None
    bound_by: str | None = None
    reason: str | None = None


def _bound_models(client: MlflowClient) -> dict[str, dict[str, str]]:
    """Registered models carrying a slot tag: name -> tags (one registry call)."""
    models = client.search_registered_models(
        filter_string=f"tags.`{SERVING_SLOT_TAG}` != ''", max_results=1000
    )
    return {m.name: dict(m.tags or {}) for m in models}


def slot_bindings(client: MlflowClient) -> list[SlotBinding]:
    """Every slot and the model it serves, in `models.served_models.slot_names` order."""
    tagged = _bound_models(client)
    bound = bound_slots(tagged.items())
    bindings = []
    for slot in served_slot_names(bound):
        name = bound.get(slot)
        if name is None:
            bindings.append(SlotBinding(slot, default_registered_name(slot), bound=False))
            continue
        tags = tagged[name]
        bindings.append(
            SlotBinding(
                slot,
                name,
                bound=True,
                bound_at=tags.get(SLOT_BOUND_AT_TAG),
                bound_by=tags.get(SLOT_BOUND_BY_TAG),
                reason=tags.get(SLOT_REASON_TAG),
            )
        )
    return bindings


def _record(client: MlflowClient, name: str, entry: dict[str, str]) -> None:
    tags = client.get_registered_model(name).tags or {}
    history = list(json.loads(tags.get(SLOT_HISTORY_TAG, "[]")))[-(_HISTORY_KEPT - 1) :]
    client.set_registered_model_tag(name, SLOT_HISTORY_TAG, json.dumps([*history, entry]))


def _release(client: MlflowClient, name: str, slot: str, why: str, who: str, when: str) -> None:
    for key in _BINDING_TAGS:
        client.delete_registered_model_tag(name, key)
    _record(client, name, {"action": "unbound", "slot": slot, "by": who, "at": when, "why": why})
    logger.info("slot %s: %s unbound by %s (%s)", slot, name, who, why)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def bind_slot(
    client: MlflowClient, name: str, slot: str, reason: str, by: str | None = None
) -> list[str]:
    """Bind registered model `name` to `slot` (checked by the caller), taking the slot from the
    models that held it; returns their names. A model holds one slot: binding it to another
    releases its old one."""
    who, when = by or getpass.getuser(), _now()
    tagged = _bound_models(client)
    previous = [other for other, tags in tagged.items() if tags.get(SERVING_SLOT_TAG) == slot]
    held = tagged.get(name, {}).get(SERVING_SLOT_TAG)
    if held is not None and held != slot:
        _release(client, name, held, f"bound to slot {slot} instead", who, when)
    for key, value in {
        SERVING_SLOT_TAG: slot,
        SLOT_BOUND_AT_TAG: when,
        SLOT_BOUND_BY_TAG: who,
        SLOT_REASON_TAG: reason,
    }.items():
        client.set_registered_model_tag(name, key, value)
    _record(client, name, {"action": "bound", "slot": slot, "by": who, "at": when, "why": reason})
    replaced = [other for other in previous if other != name]
    for other in replaced:
        _release(client, other, slot, f"slot {slot} bound to {name}", who, when)
    logger.info("slot %s: %s bound by %s (%s)", slot, name, who, reason)
    return replaced


def unbind_slot(client: MlflowClient, slot: str, reason: str, by: str | None = None) -> list[str]:
    """Release `slot` (it serves its default name again); returns the models that held it."""
    who, when = by or getpass.getuser(), _now()
    held = [
        name for name, tags in _bound_models(client).items() if tags.get(SERVING_SLOT_TAG) == slot
    ]
    for name in held:
        _release(client, name, slot, reason, who, when)
    return held
