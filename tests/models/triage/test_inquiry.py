"""Questions and requests kept out of `complaint` when a 2-class model reads them as negative."""

from __future__ import annotations

import pytest

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.config import ConfigError
from models.triage import TriageEngine
from models.triage.config import TriageConfig, default_sections, load_triage_config
from models.triage.inquiry import InquiryGate, InquiryRule

_TINY = TfidfConfig(min_df=1, calibration_folds=0, c=20.0)
# Like the shipped waimai model: two classes, and the words of a question ("请问", "怎么", "会员",
# "续费") only ever seen in negative reviews, so a plain question reads as negative.
TWO_CLASS = [
    ("请问怎么还没送到，太慢了", "negative"),
    ("会员续费怎么扣了两次钱", "negative"),
    ("请问这是什么味道，太难吃", "negative"),
    ("怎么会员续费后还是普通用户", "negative"),
    ("非常好吃，送餐很快", "positive"),
    ("味道不错，下次还点", "positive"),
    ("很满意，服务态度好", "positive"),
]
QUESTION = "请问会员怎么续费？"


def _fit(rows: list[tuple[str, str]]) -> TfidfClassifier:
    texts, labels = zip(*rows, strict=True)
    return TfidfClassifier(_TINY).fit(list(texts), list(labels))


@pytest.fixture(scope="module")
def two_class() -> TfidfClassifier:
    return _fit(TWO_CLASS)


def _engine(model: TfidfClassifier, **sections: object) -> TriageEngine:
    config = TriageConfig.from_mapping({**default_sections(), **sections})
    return TriageEngine({"sentiment": {"zh": model}}, config, default_language="zh")  # type: ignore[dict-item]


def test_a_plain_chinese_question_was_a_complaint_under_a_two_class_sentiment_model(
    two_class: TfidfClassifier,
) -> None:
    without = _engine(two_class, inquiry={}).triage(QUESTION)
    assert without.complaint is not None and without.complaint.is_complaint  # the bug, shown
    result = _engine(two_class).triage(QUESTION)
    complaint = result.complaint
    assert complaint is not None and not complaint.is_complaint
    assert complaint.source == "inquiry" and "请问" in complaint.matched
    # The model's own probability is kept: the answer shows what was overruled.
    assert complaint.probability == pytest.approx(without.complaint.probability)
    assert complaint.probability >= complaint.threshold
    assert result.reason is None  # reasons are for complaints
    assert result.urgency.level == "low"
    assert "question or request" in result.urgency.fired[0].reason
    assert [(e.task, e.label) for e in result.evidence][1] == ("complaint", "inquiry")
    assert any("not a complaint" in warning for warning in result.warnings)


def test_negative_evidence_keeps_a_question_a_complaint(two_class: TfidfClassifier) -> None:
    engine = _engine(two_class)
    for text in ("请问会员怎么续费失败了？", "请问會員怎麼還沒到賬？"):  # traditional folds too
        complaint = engine.triage(text).complaint
        assert complaint is not None and complaint.is_complaint and complaint.source == "model"


def test_a_marker_holding_a_negation_still_asks_but_a_negation_outside_it_is_evidence() -> None:
    gate = InquiryGate(InquiryRule(markers=("能不能", "吗"), negative=("不",)))
    assert gate.match("能不能开发票") is not None
    assert gate.match("是不是不能开发票了吗") is None


def test_urgency_keywords_are_negative_evidence_too() -> None:
    rule = InquiryRule(markers=("吗",), negative=("失败",))
    assert InquiryGate(rule).match("我要找律师，可以吗") is not None
    assert InquiryGate(rule, urgency_keywords=("律师",)).match("我要找律师，可以吗") is None


def test_a_question_read_as_very_negative_is_not_escalated_for_it(
    two_class: TfidfClassifier,
) -> None:
    strong = {"min_negative_probability": 0.5}
    urgency = {**default_sections()["urgency"], "strong_negativity": strong}
    fired = {f.rule for f in _engine(two_class, urgency=urgency).triage(QUESTION).urgency.fired}
    assert "strong_negativity" not in fired
    off = _engine(two_class, urgency=urgency, inquiry={}).triage(QUESTION).urgency.fired
    assert "strong_negativity" in {f.rule for f in off}


def test_a_model_with_a_neutral_class_is_left_alone_unless_asked() -> None:
    three_class = _fit([*TWO_CLASS, ("今天天气怎样", "neutral"), ("明天几点上班", "neutral")])
    assert three_class.predict_proba([QUESTION])[0][0] >= 0.5  # still read as negative
    shipped = _engine(three_class).triage(QUESTION).complaint
    assert shipped is not None and shipped.is_complaint
    rule = {**default_sections()["inquiry"]["zh"], "applies_to": "any"}
    forced = _engine(three_class, inquiry={"zh": rule}).triage(QUESTION).complaint
    assert forced is not None and not forced.is_complaint


def test_a_language_threshold_replaces_the_default_for_that_language_only(
    two_class: TfidfClassifier,
) -> None:
    thresholds = {"complaint_min_negative_by_language": {"zh": 0.999}}
    result = _engine(two_class, thresholds=thresholds, inquiry={}).triage("怎么还没送到，太慢了")
    assert result.complaint is not None
    assert (result.complaint.is_complaint, result.complaint.threshold) == (False, 0.999)
    config = TriageConfig.from_mapping({**default_sections(), "thresholds": thresholds})
    assert config.thresholds.complaint_threshold("en") == 0.5


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("inquiry:\n  chinese: {markers: [吗], negative: [失败]}\n", "inquiry"),
        ("inquiry:\n  zh: {marker: [吗], negative: [失败]}\n", "inquiry.zh.marker"),
        ("inquiry:\n  zh: {markers: [吗], negative: [失败], applies_to: all}\n", "applies_to"),
        ("thresholds:\n  complaint_min_negative_by_language: {zh-CN: 0.4}\n", "thresholds"),
        ("thresholds:\n  complaint_min_negative_by_language: {zh: 1.5}\n", "thresholds"),
    ],
)
def test_bad_inquiry_or_threshold_config_names_the_field(
    tmp_path: object, section: str, field: str
) -> None:
    path = tmp_path / "triage.yaml"  # type: ignore[operator]
    path.write_text(section, encoding="utf-8")
    with pytest.raises(ConfigError, match=field):
        load_triage_config(path)


def test_the_shipped_rules_cover_chinese_and_english() -> None:
    assert sorted(load_triage_config().inquiry) == ["en", "zh"]
