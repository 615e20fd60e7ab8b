"""The served-models table: one row per triage slot, names training and serving both read."""

from __future__ import annotations

import pytest

from features.text_splits import FIXED_SPLITS, Task
from models.served_models import (
    RECOMMENDER_MODEL,
    TRIAGE_SLOTS,
    default_triage_dataset,
    triage_registered_name,
    triage_slot,
    triage_slot_names,
)


def test_registered_names_are_the_published_ones() -> None:
    assert RECOMMENDER_MODEL == "agora-recommender"
    assert {s.slot: s.registered_name for s in TRIAGE_SLOTS} == {
        "sentiment-en": "agora-triage-sentiment-en",
        "sentiment-zh": "agora-triage-sentiment-zh",
        "reason": "agora-triage-reason",
        "category": "agora-triage-category",
    }


def test_every_slot_trains_on_a_fixed_split_and_names_itself() -> None:
    assert TRIAGE_SLOTS
    for slot in TRIAGE_SLOTS:
        assert (slot.dataset, slot.task) in FIXED_SPLITS
        assert triage_registered_name(slot.task, slot.language, slot.dataset) == (
            slot.registered_name
        )
        assert triage_slot(slot.slot) == slot
    assert len(set(triage_slot_names())) == len(TRIAGE_SLOTS)
    assert {slot.task for slot in TRIAGE_SLOTS} == set(Task)  # every task is served


def test_default_datasets_and_names_off_the_table() -> None:
    assert default_triage_dataset("sentiment") == "airline-sentiment"
    assert default_triage_dataset(Task.CATEGORY) == "bitext-intents"
    assert triage_registered_name("category", "en", "cfpb-complaints") == (
        "agora-triage-category-cfpb-complaints"
    )
    with pytest.raises(KeyError, match=r"unknown triage slot 'product'.*sentiment-en"):
        triage_slot("product")
