"""The served knowledge base's switches and catch-up, without a server (a fake encoder)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from data.store import Store
from data.store.tables import resolutions
from models.classifiers.onnx_runner import inference_threads, set_inference_threads
from models.knowledge import KbEncoder
from serving.knowledge import KnowledgeSettings, ServedKnowledge


class OneHot:
    """Texts mentioning "bag" point one way, everything else another."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([[1.0, 0.0] if "bag" in t else [0.0, 1.0] for t in texts], np.float32)


def test_settings_come_from_the_environment() -> None:
    assert KnowledgeSettings.from_env({}).enabled
    assert not KnowledgeSettings.from_env({"AGORA_SIMILAR_CASES": "0"}).enabled
    assert KnowledgeSettings.from_env({"AGORA_KB_REFRESH_S": "0.5"}).refresh_s == 0.5
    with pytest.raises(ValueError, match="AGORA_KB_REFRESH_S"):
        KnowledgeSettings.from_env({"AGORA_KB_REFRESH_S": "0"})
    default = KnowledgeSettings.from_env({})
    assert default.encoder is KbEncoder.STATIC_LEXICAL and default.min_similarity == 0.32
    static = KnowledgeSettings.from_env({"AGORA_KB_ENCODER": "static"})
    assert static.encoder is KbEncoder.STATIC and static.min_similarity == 0.4
    transformer = KnowledgeSettings.from_env({"AGORA_KB_ENCODER": "minilm-int8"})
    assert transformer.encoder is KbEncoder.MINILM_INT8 and transformer.min_similarity == 0.5
    with pytest.raises(ValueError, match="AGORA_KB_ENCODER must be one of"):
        KnowledgeSettings.from_env({"AGORA_KB_ENCODER": "bert"})


def test_catch_up_embeds_only_new_resolutions_and_off_answers_nothing(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    served = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
    served.base.latin.encoder = OneHot()  # the real one is exported on first use
    assert served.similar_cases("my bag is lost") == [] and served.catch_up() == 0
    bag = store.triage.record("lost bag", {}, {}, "en", True, "c1")
    store.resolutions.add(bag, "found it", "resolved", "ana")
    assert served.catch_up() == 1 and served.catch_up() == 0
    assert [c.triage_id for c in served.similar_cases("where is my bag")] == [bag]
    assert served.similar_cases("great movies") == []  # similarity 0 < the threshold
    off = ServedKnowledge(store.resolutions, KnowledgeSettings(enabled=False), tmp_path)
    off.base.latin.encoder = OneHot()
    off.catch_up()
    assert off.similar_cases("where is my bag") == []


def test_a_case_erased_with_its_customer_is_dropped_at_the_next_catch_up(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    served = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
    served.base.latin.encoder = OneHot()
    mine = store.triage.record("lost bag", {}, {}, "en", True, "c1")
    theirs = store.triage.record("my bag is gone", {}, {}, "en", True, "c2")
    for triage_id in (mine, theirs):
        store.resolutions.add(triage_id, "found it", "resolved", "ana")
    assert served.catch_up() == 2
    assert {c.triage_id for c in served.similar_cases("where is my bag")} == {mine, theirs}
    store.erasures.erase_user("c1", "dpo")
    served.catch_up()
    assert [c.triage_id for c in served.similar_cases("where is my bag")] == [theirs]
    # A worker that starts after the erasure never reads the case; the erased list is a no-op.
    fresh = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
    fresh.base.latin.encoder = OneHot()
    assert fresh.catch_up() == 1
    assert [c.triage_id for c in fresh.similar_cases("where is my bag")] == [theirs]


def test_the_worker_builds_the_configured_encoder_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serving.knowledge

    built: list[tuple[Path, KbEncoder]] = []

    def build(cache_dir: Path, kind: KbEncoder) -> OneHot:
        built.append((cache_dir, kind))
        return OneHot()

    monkeypatch.setattr(serving.knowledge, "knowledge_encoder", build)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    settings = KnowledgeSettings.from_env({"AGORA_KB_ENCODER": "static"})
    served = ServedKnowledge(store.resolutions, settings, tmp_path / "cache")
    assert built == []  # nothing resolved yet: no encoder
    bag = store.triage.record("lost bag", {}, {}, "en", True, "c1")
    store.resolutions.add(bag, "found it", "resolved", "ana")
    assert served.catch_up() == 1
    assert built == [(tmp_path / "cache", KbEncoder.STATIC)]


def test_a_correction_after_the_case_is_held_refiles_it(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    served = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
    served.base.latin.encoder = OneHot()
    outputs = {"reason": {"label": "late_flight"}, "category": {"label": "delta"}}
    bag = store.triage.record("lost bag", outputs, {}, "en", True, "c1")
    store.resolutions.add(bag, "found it", "resolved", "ana")
    served.catch_up()
    [before] = served.similar_cases("where is my bag")
    assert before.reason == "late_flight" and before.category == "delta"
    store.triage.add_correction(bag, "reason", "damaged_luggage", "ana")
    store.triage.add_correction(bag, "reason", "lost_luggage", "ben")  # the latest wins
    store.triage.add_correction(bag, "queue", "baggage", "ana")
    store.triage.add_correction(bag, "sentiment", "negative", "ana")  # not a filing label
    assert served.catch_up() == 0  # nothing embedded again
    [after] = served.similar_cases("where is my bag")
    assert (after.reason, after.category, after.queue) == ("lost_luggage", "delta", "baggage")
    # Ranking follows the corrected reason: a query of that reason finds it first.
    assert served.similar_cases("where is my bag", "lost_luggage")[0].triage_id == bag


def test_a_resolution_committed_after_a_higher_number_is_still_embedded(tmp_path: Path) -> None:
    """On PostgreSQL two concurrent resolutions can commit out of number order; a worker that
    has read the higher one must still find the lower one (rows inserted with explicit numbers
    play that order out)."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    served = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
    served.base.latin.encoder = OneHot()
    bag = store.triage.record("lost bag", {}, {}, "en", True, "c1")
    movie = store.triage.record("great movie", {}, {}, "en", True, "c2")

    def resolve(seq: int, triage_id: str) -> None:
        row = {
            "seq": seq,
            "resolution_id": f"r{seq}",
            "triage_id": triage_id,
            "redacted_resolution": "done",
            "outcome": "resolved",
            "agent": "ana",
            "created_at": 0.0,
            "ordinal": 1,
        }
        with store.engine.begin() as connection:
            connection.execute(resolutions.insert(), [row])

    resolve(2, movie)
    assert served.catch_up() == 1
    resolve(1, bag)  # took number 1 before the other, committed after it was read
    assert served.catch_up() == 1
    assert [c.triage_id for c in served.similar_cases("where is my bag")] == [bag]


def test_a_chinese_case_is_served_without_building_the_english_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: /triage and the desk answered every Chinese complaint `similar_cases: []`."""
    import serving.knowledge

    def build(cache_dir: Path, kind: KbEncoder) -> OneHot:
        raise AssertionError("a Chinese case needs no English encoder")

    monkeypatch.setattr(serving.knowledge, "knowledge_encoder", build)
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    served = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
    topup = store.triage.record("充值了会员但是没有到账，要求退款！", {}, {}, "zh", True, "c1")
    store.resolutions.add(topup, "会员已补发到账", "resolved", "xiaoli")
    assert served.catch_up() == 1
    [case] = served.similar_cases("充值会员没有到账，钱扣了，要求退款")
    assert case.triage_id == topup and case.resolution == "会员已补发到账"
    assert served.similar_cases("客服态度很好，谢谢") == []


def test_the_graph_is_built_with_the_workers_share_of_the_cores(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    before = inference_threads()
    try:
        set_inference_threads(2)  # as share_the_cores gives one worker of one on two cores
        served = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
        assert served.base.latin.index_threads == served.base.han.index_threads == 2
        set_inference_threads(0)  # 0: all cores
        served = ServedKnowledge(store.resolutions, KnowledgeSettings(), tmp_path / "cache")
        assert served.base.han.index_threads == (os.cpu_count() or 1)
    finally:
        set_inference_threads(before)
