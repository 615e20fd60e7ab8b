"""The triage engine with tiny real TF-IDF models: results, batching, nulls, input errors."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from features.text import TextConfig, model_input
from models.classifiers import ScoredTexts
from models.classifiers.tfidf import TfidfClassifier
from models.config import ConfigError
from models.triage import TaskModel, TriageEngine, TriageInputError, TriageResult
from models.triage.config import TriageConfig, default_sections, load_triage_config


def config_with(**sections: object) -> TriageConfig:
    return TriageConfig.from_mapping({**default_sections(), **sections})


@pytest.fixture
def engine(
    en_sentiment: TfidfClassifier,
    zh_sentiment: TfidfClassifier,
    en_reason: TfidfClassifier,
    en_category: TfidfClassifier,
) -> TriageEngine:
    return TriageEngine(
        {
            "sentiment": {
                "en": TaskModel(en_sentiment, "airline-sentiment", "3"),
                "zh": zh_sentiment,
            },
            "reason": en_reason,
            "category": {"en": en_category},
        },
        load_triage_config(),
    )


def test_english_complaint_gets_every_field(engine: TriageEngine) -> None:
    result = engine.triage("@united my bag was lost and nobody helps", customer_id="c-1")
    assert result.status == "ok"
    assert (result.language.code, result.language.method) == ("en", "detector")
    assert result.sentiment is not None and result.sentiment.label == "negative"
    assert result.sentiment.band in {"high", "medium", "low"}
    assert sum(result.sentiment.probabilities.values()) == pytest.approx(1.0)
    assert result.complaint is not None and result.complaint.is_complaint
    assert result.complaint.probability == result.sentiment.probabilities["negative"]
    assert result.reason is not None and result.reason.label == "Lost Luggage"
    assert result.category is not None and result.category.taxonomy == "category"
    assert not any("no product model" in w for w in result.warnings)  # no such task any more
    assert result.routing.queue == "baggage"
    assert {e.task for e in result.evidence} >= {"sentiment", "reason"}
    assert {(m.task, m.name, m.version) for m in result.models} >= {
        ("sentiment", "airline-sentiment", "3"),
        ("reason", "reason-en-tfidf", None),
    }
    assert result.customer_id == "c-1"


def test_complaint_is_the_negative_probability_threshold(
    en_sentiment: TfidfClassifier,
) -> None:
    text = "terrible service, flight delayed again"
    p_negative = en_sentiment.predict_proba([text])[0][en_sentiment.classes_.index("negative")]
    below = {"thresholds": {"complaint_min_negative": min(1.0, p_negative + 1e-6)}}
    at = {"thresholds": {"complaint_min_negative": p_negative}}
    models = {"sentiment": {"en": en_sentiment}}
    assert not TriageEngine(models, config_with(**below)).triage(text).complaint.is_complaint
    assert TriageEngine(models, config_with(**at)).triage(text).complaint.is_complaint


def test_reason_runs_on_complaints_only(engine: TriageEngine) -> None:
    result = engine.triage("love this airline, thanks for the smooth flight")
    assert result.complaint is not None and not result.complaint.is_complaint
    assert result.reason is None
    assert result.category is not None  # category applies to every text


def test_reason_below_threshold_or_cant_tell_is_unsure(
    en_sentiment: TfidfClassifier, en_reason: TfidfClassifier
) -> None:
    strict = config_with(thresholds={"reason_min_probability": 0.999})
    engine = TriageEngine({"sentiment": en_sentiment, "reason": en_reason}, strict)
    result = engine.triage("my bag was lost, terrible")
    assert result.reason is not None and result.reason.label == "unsure"
    assert result.reason.top[0].label == "Lost Luggage"  # the best guess is still reported
    assert all(e.task != "reason" for e in result.evidence)
    lenient = config_with(thresholds={"reason_min_probability": 0.0})
    engine = TriageEngine({"sentiment": en_sentiment, "reason": en_reason}, lenient)
    result = engine.triage("just bad, no idea what happened, awful")
    assert result.reason is not None and result.reason.top[0].label == "Can't Tell"
    assert result.reason.label == "unsure"


def test_chinese_uses_the_chinese_model_and_nulls_missing_ones(engine: TriageEngine) -> None:
    result = engine.triage("送餐太慢了，饭都凉了")
    assert (result.language.code, result.language.method) == ("zh", "script")
    assert result.sentiment is not None and result.sentiment.label == "negative"
    assert [m.language for m in result.models] == ["zh"]
    assert result.category is None  # English-only models
    # No Chinese reason model: the reason comes from the shipped keyword rules, and says so.
    assert result.reason is not None and result.reason.source == "keywords"
    assert (result.reason.label, result.reason.matched) == ("配送", ["送餐"])
    assert any("no reason model for language 'zh'" in w for w in result.warnings)
    assert result.routing.queue == "zh_support"


def test_unsupported_language_is_explicit(engine: TriageEngine) -> None:
    result = engine.triage("Мой багаж потерян и никто не помогает")
    assert result.status == "unsupported_language"
    assert result.language.code == "ru" and not result.language.supported
    assert result.sentiment is None and result.complaint is None and result.models == []
    assert result.urgency.level == "normal"
    assert result.routing.queue == "multilingual_review"
    assert any("unsupported language 'ru'" in w for w in result.warnings)


def test_given_language_skips_detection(engine: TriageEngine) -> None:
    result = engine.triage("ok", language="EN")
    assert (result.language.code, result.language.method) == ("en", "given")
    assert engine.triage("ok", language="fr").status == "unsupported_language"


def test_short_text_uses_the_fallback_language_with_a_warning(engine: TriageEngine) -> None:
    result = engine.triage("ok")
    assert (result.status, result.language.method, result.language.code) == ("ok", "fallback", "en")
    assert any("using fallback 'en'" in w for w in result.warnings)


def test_without_fallback_short_text_is_undetermined(en_sentiment: TfidfClassifier) -> None:
    engine = TriageEngine({"sentiment": en_sentiment}, config_with(fallback_language=None))
    result = engine.triage("ok")
    assert result.status == "undetermined_language"
    assert result.language.code is None and result.sentiment is None
    assert result.routing.queue == "multilingual_review"


def test_fallback_is_not_used_for_another_script(engine: TriageEngine) -> None:
    result = engine.triage("Да")  # Cyrillic, too short to tell ru from uk
    assert result.status in {"unsupported_language", "undetermined_language"}
    assert result.language.code != "en"


@pytest.mark.parametrize("raw", ["", "   \n ", b"\x00\xff\xfe\x01", "😡😡", "12345"])
def test_empty_and_garbage_inputs_get_an_empty_result(engine: TriageEngine, raw: object) -> None:
    result = engine.triage(raw)  # type: ignore[arg-type]
    assert result.status == "empty"
    assert result.sentiment is None and result.language.code is None
    assert result.urgency.level == "low"
    assert result.routing.queue == "needs_review"
    assert any("nothing to classify" in w for w in result.warnings)


def test_long_text_is_truncated_and_still_triaged(engine: TriageEngine) -> None:
    text = "my bag was lost and nobody helps. " * 3100  # ~105 KB
    result = engine.triage(text)
    assert result.status == "ok" and result.truncated
    assert result.original_chars == len(text)
    assert any("truncated" in w for w in result.warnings)


def test_urgency_rules_and_routing(engine: TriageEngine) -> None:
    result = engine.triage("my bag was lost and my lawyer will sue you", prior_contacts=3)
    rules = {f.rule for f in result.urgency.fired}
    assert {"complaint", "legal", "repeat_contact"} <= rules
    assert result.urgency.level == "high"
    assert result.routing.queue == "legal_escalation"
    assert engine.triage("飞机上着火了，很不安全").urgency.level == "critical"


def test_result_round_trips_through_json(engine: TriageEngine) -> None:
    for text in ["my bag was lost", "送餐太慢了", "", "Мой багаж потерян"]:
        result = engine.triage(text)
        assert TriageResult.model_validate_json(result.model_dump_json()) == result


def test_batch_equals_singles(engine: TriageEngine) -> None:
    texts = ["my bag was lost", "送餐太慢了，饭都凉了", "", "great crew, thank you", "Мой багаж"]
    contacts = [0, 2, 0, 5, 1]
    batch = engine.triage_batch(texts, prior_contacts=contacts)
    singles = [engine.triage(t, prior_contacts=c) for t, c in zip(texts, contacts, strict=True)]
    assert batch == singles


def spy(classifier: TfidfClassifier, calls: list[int]) -> Callable[[list[str]], ScoredTexts]:
    original = classifier.score

    def counting(texts: list[str]) -> ScoredTexts:
        calls.append(len(texts))
        return original(texts)

    return counting


@pytest.mark.parametrize("evidence_terms", [0, 3])
def test_batch_calls_each_model_once_per_language(
    monkeypatch: pytest.MonkeyPatch,
    en_sentiment: TfidfClassifier,
    zh_sentiment: TfidfClassifier,
    en_reason: TfidfClassifier,
    evidence_terms: int,
) -> None:
    # Evidence reuses the scored batch: turning it on must not score (vectorise) texts again.
    # Spy on copies: the fitted fixtures are shared by the whole session.
    en_sentiment, zh_sentiment, en_reason = (
        copy.deepcopy(m) for m in (en_sentiment, zh_sentiment, en_reason)
    )
    calls: dict[str, list[int]] = {"en": [], "zh": [], "reason": []}
    monkeypatch.setattr(en_sentiment, "score", spy(en_sentiment, calls["en"]))
    monkeypatch.setattr(zh_sentiment, "score", spy(zh_sentiment, calls["zh"]))
    monkeypatch.setattr(en_reason, "score", spy(en_reason, calls["reason"]))
    for model in (en_sentiment, zh_sentiment, en_reason):
        monkeypatch.setattr(model, "predict_proba", None)  # the engine must go through `score`
    engine = TriageEngine(
        {"sentiment": {"en": en_sentiment, "zh": zh_sentiment}, "reason": en_reason},
        config_with(evidence_terms=evidence_terms),
    )
    texts = ["my bag was lost"] * 7 + ["送餐太慢了"] * 3 + ["great crew thanks"] * 2
    results = engine.triage_batch(texts)
    complaints = sum(r.language.code == "en" and r.complaint.is_complaint for r in results)
    assert calls == {"en": [9], "zh": [3], "reason": [complaints]}
    assert results
    if evidence_terms:
        assert any(r.evidence for r in results)
    else:
        assert all(r.evidence == [] for r in results)


def test_batch_evidence_equals_one_text_at_a_time(
    en_sentiment: TfidfClassifier, zh_sentiment: TfidfClassifier, en_reason: TfidfClassifier
) -> None:
    engine = TriageEngine(
        {"sentiment": {"en": en_sentiment, "zh": zh_sentiment}, "reason": en_reason},
        config_with(evidence_terms=3),
    )
    texts = [
        "my bag was lost and nobody helps",
        "送餐太慢了，饭都凉了",
        "great crew, thank you so much",
        "flight delayed three hours, rude staff",
        "what time does the flight board",
        "late late late again",
    ]
    batch = [r.evidence for r in engine.triage_batch(texts)]
    assert any(batch)
    assert batch == [engine.triage(text).evidence for text in texts]


def test_batch_of_nothing_is_an_empty_list(engine: TriageEngine) -> None:
    assert engine.triage_batch([]) == []


def test_batch_accepts_any_iterable_of_texts(engine: TriageEngine) -> None:
    texts = ["my bag was lost", "送餐太慢了"]
    expected = engine.triage_batch(texts)
    assert engine.triage_batch(np.array(texts, dtype=object)) == expected
    assert engine.triage_batch(tuple(texts), prior_contacts=np.array([0, 0])) == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.triage(None), r"texts\[0\].*NoneType"),
        (lambda e: e.triage_batch(["ok", 5]), r"texts\[1\].*int"),
        (lambda e: e.triage_batch("my bag was lost"), "texts must be a sequence.*not str"),
        (lambda e: e.triage_batch(42), "texts must be a sequence.*not int"),
        (lambda e: e.triage("ok", language="english"), r"languages\[0\].*'english'"),
        (lambda e: e.triage("ok", prior_contacts=-1), r"prior_contacts\[0\].*-1"),
        (lambda e: e.triage("ok", prior_contacts=True), r"prior_contacts\[0\]"),
        (lambda e: e.triage("ok", customer_id=7), r"customer_ids\[0\]"),
        (lambda e: e.triage_batch(["a", "b"], languages=["en"]), "languages has 1 items for 2"),
    ],
)
def test_bad_arguments_raise_a_typed_error(
    engine: TriageEngine, call: Callable[[TriageEngine], object], message: str
) -> None:
    with pytest.raises(TriageInputError, match=message):
        call(engine)


def test_construction_errors_are_clear(
    en_sentiment: TfidfClassifier, zh_sentiment: TfidfClassifier, en_reason: TfidfClassifier
) -> None:
    with pytest.raises(ConfigError, match="sentiment model is required"):
        TriageEngine({"reason": en_reason})
    with pytest.raises(ConfigError, match=r"unknown triage task.*'sentimnet'"):
        TriageEngine({"sentimnet": en_sentiment})
    with pytest.raises(ConfigError, match="has no 'negative' class"):
        TriageEngine({"sentiment": en_reason})
    with pytest.raises(ConfigError, match="not fitted"):
        TriageEngine({"sentiment": TfidfClassifier()})
    with pytest.raises(ConfigError, match="TextClassifier or TaskModel"):
        TriageEngine({"sentiment": {"en": "model.npz"}})  # type: ignore[dict-item]
    engine = TriageEngine({"sentiment": {"zh": zh_sentiment}}, config_with(fallback_language=None))
    assert engine.supported_languages == {"zh"}


def test_a_fallback_without_its_model_is_unused_not_fatal(
    zh_sentiment: TfidfClassifier, caplog: pytest.LogCaptureFixture
) -> None:
    """A Chinese-only desk serves no English model: the shipped fallback ('en') then names no
    served language. The service used to refuse to start; now such texts stay undetermined."""
    with caplog.at_level(logging.WARNING, logger="models.triage.engine"):
        engine = TriageEngine({"sentiment": {"zh": zh_sentiment}})
    assert engine.fallback_language is None
    assert "fallback_language 'en' has no sentiment model (served: zh)" in caplog.text
    assert engine.triage("ok").status == "undetermined_language"
    assert engine.triage("我的外卖一直没送到").status == "ok"


def test_evidence_can_be_turned_off(en_sentiment: TfidfClassifier) -> None:
    engine = TriageEngine({"sentiment": en_sentiment}, config_with(evidence_terms=0))
    assert engine.triage("my bag was lost").evidence == []
    engine = TriageEngine({"sentiment": en_sentiment}, config_with(evidence_terms=2))
    evidence = engine.triage("my bag was lost and nobody helps").evidence
    assert evidence and all(len(e.terms) <= 2 for e in evidence)


class _Recording(TfidfClassifier):
    """A fitted TF-IDF model that records the texts it is asked to score."""

    def __init__(self, fitted: TfidfClassifier, seen: list[str]) -> None:
        self.__dict__.update(copy.deepcopy(fitted).__dict__)
        self.seen = seen

    def score(self, texts: Sequence[str]) -> ScoredTexts:  # the engine's one scoring call
        self.seen.extend(texts)
        return super().score(texts)


def test_each_model_reads_the_text_prepared_with_its_own_text_settings(
    en_sentiment: TfidfClassifier, en_reason: TfidfClassifier
) -> None:
    """Regression: the engine served every model its own text settings, not the model's."""
    sentiment_seen: list[str] = []
    reason_seen: list[str] = []
    sentiment = _Recording(en_sentiment, sentiment_seen)
    sentiment.set_text_config(TextConfig(masked_names=("United",), mask_handles=False))
    reason = _Recording(en_reason, reason_seen)
    reason.set_text_config(TextConfig(mask_urls=False, max_chars=40))
    engine = TriageEngine({"sentiment": sentiment, "reason": reason}, load_triage_config())
    text = "@united lost my bag, United never helps https://t.co/x1 " + "terrible " * 5
    result = engine.triage(text, language="en")
    assert result.complaint is not None and result.complaint.is_complaint
    assert sentiment_seen == [model_input(text, sentiment.text_config)]
    assert reason_seen == [model_input(text, reason.text_config)]
    assert sentiment_seen[0].startswith("@brand lost my bag, brand never helps http ")
    assert reason_seen[0] == "@user lost my bag, United never helps"  # its own max_chars=40
    assert not result.truncated  # the engine's own cleaning decides what the result reports


def test_a_model_without_text_settings_reads_the_engines_with_a_warning(
    en_sentiment: TfidfClassifier, caplog: pytest.LogCaptureFixture
) -> None:
    assert en_sentiment.text_config is None  # as loaded from an artifact saved before it existed
    seen: list[str] = []
    engine = TriageEngine({"sentiment": _Recording(en_sentiment, seen)}, load_triage_config())
    assert "records no text handling" in caplog.text
    text = "@united lost my bag https://t.co/x1"
    engine.triage(text, language="en")
    assert seen == [model_input(text, load_triage_config().text)]


def test_warm_up_runs_every_task_model_once(
    engine: TriageEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: a model that loads on its first prediction (an embedding classifier's encoder)
    # loaded on the first /triage of its language, after the service said ready.
    ran: list[str] = []
    for task, by_language in engine.models.items():
        for language, model in by_language.items():
            predict = model.classifier.predict_proba

            def counted(texts: Sequence[str], name: str = f"{task}-{language}", inner=predict):
                ran.append(name)
                return inner(texts)

            monkeypatch.setattr(model.classifier, "predict_proba", counted)
    engine.warm_up()
    assert sorted(ran) == ["category-en", "reason-en", "sentiment-en", "sentiment-zh"]
