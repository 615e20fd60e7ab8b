"""The served-models table: one row per triage slot, names training and serving both read, and
what fits a slot (the check promotion runs before binding a model to it)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from features.text_splits import FIXED_SPLITS, Task
from models.served_models import (
    RECOMMENDER_FAMILY,
    RECOMMENDER_MODEL,
    RECOMMENDER_SLOT,
    SERVING_SLOT_TAG,
    SLOT_BOUND_AT_TAG,
    TRIAGE_FAMILY,
    TRIAGE_SLOTS,
    ModelFacts,
    SlotMismatchError,
    bound_slots,
    check_slot_fit,
    default_registered_name,
    default_triage_dataset,
    is_slot_name,
    recommender_registered_name,
    served_slot_names,
    slot_names,
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


def test_recommenders_of_other_datasets_get_their_own_name() -> None:
    assert recommender_registered_name("movielens-100k") == RECOMMENDER_MODEL
    assert recommender_registered_name("my-shop") == "agora-recommender-my-shop"


def test_every_slot_has_a_default_name() -> None:
    assert slot_names() == [*triage_slot_names(), RECOMMENDER_SLOT]
    assert default_registered_name(RECOMMENDER_SLOT) == RECOMMENDER_MODEL
    assert default_registered_name("sentiment-zh") == "agora-triage-sentiment-zh"
    with pytest.raises(KeyError, match=r"unknown slot 'product'.*recommender"):
        default_registered_name("product")


def _bound(slot: str, at: str) -> dict[str, str]:
    return {SERVING_SLOT_TAG: slot, SLOT_BOUND_AT_TAG: at}


def test_the_newest_binding_of_a_slot_wins_and_unknown_slots_are_ignored() -> None:
    tagged = [
        ("mine-v1", _bound("sentiment-en", "2026-01-01T00:00:00Z")),
        ("mine-v2", _bound("sentiment-en", "2026-02-01T00:00:00Z")),  # e.g. a racing promotion
        ("shop", _bound("recommender", "2026-01-01T00:00:00Z")),
        ("future", _bound("summary-en", "2026-03-01T00:00:00Z")),  # a slot this code lacks
        ("plain", {}),
    ]
    assert bound_slots(tagged) == {"sentiment-en": "mine-v2", "recommender": "shop"}
    assert bound_slots(reversed(tagged)) == bound_slots(tagged)  # order-free


SENTIMENT_EN = ModelFacts(TRIAGE_FAMILY, "sentiment", "en", ("negative", "neutral", "positive"))


def test_a_fitting_model_passes_each_slot_check() -> None:
    check_slot_fit("sentiment-en", SENTIMENT_EN, "m v1")
    check_slot_fit("sentiment-en", replace(SENTIMENT_EN, classes=("negative", "positive")), "m")
    check_slot_fit("category", ModelFacts(TRIAGE_FAMILY, "category", "en", ("card",)), "m")
    check_slot_fit(RECOMMENDER_SLOT, ModelFacts(RECOMMENDER_FAMILY), "m")


@pytest.mark.parametrize(
    ("slot", "facts", "message"),
    [
        (
            "sentiment-en",
            replace(SENTIMENT_EN, language="und"),
            r"m v3 was trained on text of undetermined language \('und'\).*--language en",
        ),
        (
            "sentiment-en",
            replace(SENTIMENT_EN, language="zh"),
            r"trained on Chinese \('zh'\) text.*serves English \('en'\).*fits slot 'sentiment-zh'",
        ),
        (
            "sentiment-en",
            replace(SENTIMENT_EN, classes=("0", "1")),
            r"no 'negative' class \(its classes: 0, 1\).*--label-map 0=negative,1=positive",
        ),
        ("reason", SENTIMENT_EN, r"m v3 predicts sentiment, but slot 'reason' serves reason"),
        ("category", ModelFacts(RECOMMENDER_FAMILY), r"recommender: it can only serve slot 're"),
        (RECOMMENDER_SLOT, SENTIMENT_EN, r"m v3 is a sentiment model: slot 'recommender' serves"),
        ("sentiment-en", ModelFacts(TRIAGE_FAMILY), r"records no task or language"),
    ],
)
def test_a_model_that_cannot_serve_the_slot_is_refused_with_a_sentence(
    slot: str, facts: ModelFacts, message: str
) -> None:
    with pytest.raises(SlotMismatchError, match=message):
        check_slot_fit(slot, facts, "m v3")


def test_a_task_in_another_language_has_a_slot_of_its_own() -> None:
    """`TASK-LANG` serves a task beside the standing slots (a Chinese desk's own reasons next to
    the airline reasons), for any language the detector knows; one name per slot."""
    slot = triage_slot("reason-zh")
    assert (slot.task, slot.language, slot.dataset) == (Task.REASON, "zh", None)
    assert default_registered_name("sentiment-es") == "agora-triage-sentiment-es"
    assert is_slot_name("category-ja") and is_slot_name(RECOMMENDER_SLOT)
    with pytest.raises(KeyError, match="slot 'reason-en' is called 'reason'"):
        triage_slot("reason-en")
    with pytest.raises(KeyError, match="'xx' is not an ISO 639-1 code"):
        triage_slot("reason-xx")
    for name in ("summary-en", "reason-zh-tw", "Reason-zh", "reason_zh"):
        assert not is_slot_name(name)
    with pytest.raises(KeyError, match=r"unknown slot 'product'.*recommender, or TASK-LANG"):
        default_registered_name("product")


def test_language_slots_are_served_when_bound_after_the_standing_ones() -> None:
    assert served_slot_names() == slot_names()
    named = ["sentiment-es", "reason-zh", "reason", "nonsense", "reason-zh"]
    assert served_slot_names(named) == [
        *triage_slot_names(), "reason-zh", "sentiment-es", RECOMMENDER_SLOT
    ]  # fmt: skip
    tagged = [("zh-reasons", _bound("reason-zh", "2026-01-01T00:00:00Z"))]
    assert bound_slots(tagged) == {"reason-zh": "zh-reasons"}


def test_a_language_slot_takes_a_model_of_its_task_and_language() -> None:
    zh_reason = ModelFacts(TRIAGE_FAMILY, "reason", "zh", ("配送", "退款"))
    check_slot_fit("reason-zh", zh_reason, "m v1")
    check_slot_fit("sentiment-es", replace(SENTIMENT_EN, language="es"), "m v1")
    with pytest.raises(SlotMismatchError, match=r"Chinese \('zh'\) text.*fits slot 'reason-zh'"):
        check_slot_fit("reason", zh_reason, "m v1")
    with pytest.raises(SlotMismatchError, match=r"'es' text.*fits slot 'sentiment-es'"):
        check_slot_fit("sentiment-en", replace(SENTIMENT_EN, language="es"), "m v1")
    with pytest.raises(SlotMismatchError, match="no 'negative' class"):
        check_slot_fit(
            "sentiment-es", ModelFacts(TRIAGE_FAMILY, "sentiment", "es", ("0", "1")), "m"
        )
