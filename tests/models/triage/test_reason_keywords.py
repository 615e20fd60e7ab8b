"""Complaint reasons from keyword rules for a language no reason model serves (Chinese desks)."""

from __future__ import annotations

import pytest

from models.classifiers.tfidf import TfidfClassifier
from models.config import ConfigError
from models.triage import TaskModel, TriageEngine
from models.triage.config import TriageConfig, default_sections, load_triage_config

PAYMENT_TABLE = {
    "zh": [
        {"label": "支付问题", "keywords": ["支付失败", "扣款", "支付失敗"]},
        {"label": "账号问题", "keywords": ["封号", "账号"]},
        {"label": "app", "keywords": ["crash"]},
    ]
}


def _engine(zh: TfidfClassifier, en: TfidfClassifier, reason: object = None, **sections: object):
    config = TriageConfig.from_mapping({**default_sections(), **sections})
    models: dict[str, object] = {"sentiment": {"zh": zh, "en": TaskModel(en, "en-sent", "1")}}
    if reason is not None:
        models["reason"] = reason
    return TriageEngine(models, config)  # type: ignore[arg-type]


def test_chinese_complaints_without_a_reason_model_got_no_reason_so_no_reason_spike_could_alert(
    zh_sentiment: TfidfClassifier, en_sentiment: TfidfClassifier
) -> None:
    engine = _engine(zh_sentiment, en_sentiment, reason_keywords=PAYMENT_TABLE)
    result = engine.triage("更新之后支付失败，太差了，等了两个小时")
    assert result.complaint is not None and result.complaint.is_complaint
    assert result.reason is not None
    assert (result.reason.label, result.reason.source) == ("支付问题", "keywords")
    assert result.reason.matched == ["支付失败"]
    # No made-up confidence: a keyword match is not a probability.
    assert result.reason.probability is None and result.reason.band is None
    assert [(e.task, e.label, [t.term for t in e.terms]) for e in result.evidence][-1] == (
        "reason",
        "支付问题",
        ["支付失败"],
    )
    assert [e.task for e in result.evidence] == ["sentiment", "reason"]  # task order kept


def test_first_rule_wins_traditional_and_latin_keywords_match(
    zh_sentiment: TfidfClassifier, en_sentiment: TfidfClassifier
) -> None:
    engine = _engine(zh_sentiment, en_sentiment, reason_keywords=PAYMENT_TABLE)
    both = engine.triage("账号被封号了，扣款也没退，服务太差", language="zh")
    assert both.reason is not None and both.reason.label == "支付问题"  # listed first
    assert engine.triage("支付失敗，服務太差", language="zh").reason.label == "支付问题"  # type: ignore[union-attr]
    # Latin words match whole and case-blind inside Chinese text, not inside another word.
    assert engine.triage("又CRASH了，服务太差", language="zh").reason.label == "app"  # type: ignore[union-attr]
    assert engine.triage("crashed 了，服务太差", language="zh").reason.label == "unsure"  # type: ignore[union-attr]


def test_no_rule_matching_is_unsure_and_praise_gets_no_reason(
    zh_sentiment: TfidfClassifier, en_sentiment: TfidfClassifier
) -> None:
    engine = _engine(zh_sentiment, en_sentiment, reason_keywords=PAYMENT_TABLE)
    unmatched = engine.triage("等了两个小时，服务太差")
    assert unmatched.reason is not None
    assert (unmatched.reason.label, unmatched.reason.matched) == ("unsure", [])
    praise = engine.triage("非常好吃，送餐很快，支付也方便")
    assert praise.complaint is not None and not praise.complaint.is_complaint
    assert praise.reason is None  # reasons are for complaints, as with a model


def test_a_reason_model_for_the_language_wins_over_the_keywords(
    zh_sentiment: TfidfClassifier, en_sentiment: TfidfClassifier
) -> None:
    engine = _engine(
        zh_sentiment,
        en_sentiment,
        reason={"zh": zh_sentiment},  # any classifier bound for zh: its classes are the reasons
        reason_keywords=PAYMENT_TABLE,
    )
    result = engine.triage("更新之后支付失败，太差了")
    assert result.reason is not None and result.reason.source == "model"
    assert result.reason.label in {"negative", "positive", "unsure"}


def test_keyword_reasons_route_and_are_correction_choices(
    zh_sentiment: TfidfClassifier, en_sentiment: TfidfClassifier
) -> None:
    routing = {
        "default_queue": "general",
        "rules": [{"name": "zh_pay", "queue": "zh_payments", "when": {"reason": ["支付问题"]}}],
    }
    engine = _engine(zh_sentiment, en_sentiment, reason_keywords=PAYMENT_TABLE, routing=routing)
    assert engine.triage("支付失败，太差了").routing.queue == "zh_payments"
    assert engine.label_choices()["reason"] == ["app", "支付问题", "账号问题"]
    assert engine.correction_label("reason", " 支付问题 ") == "支付问题"


def test_shipped_chinese_table_names_the_day_five_payment_complaints() -> None:
    table = load_triage_config().reason_keywords["zh"]
    assert table[0].label == "骚扰与辱骂"  # safety-adjacent topics first
    from models.triage.reason_keywords import ReasonKeywordMatcher

    matcher = ReasonKeywordMatcher(table)
    for text in (
        "更新之后付款一直失败，提示支付异常",
        "微信支付扣款成功了但是app里显示订单未支付",
        "支付失敗，錢已經扣了，會員沒有開通",
        "payment failed 了三次，钱被扣了",
    ):
        assert matcher.reason(text).label == "支付问题", text
    assert matcher.reason("打开app就闪退，手机是华为的").label == "闪退与故障"
    assert matcher.reason("帳號被盜了，密碼也被改了").label == "账号问题"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"chinese": [{"label": "x", "keywords": ["y"]}]}, "not an ISO 639-1"),
        ({"zh": [{"label": "unsure", "keywords": ["y"]}]}, "must not be 'unsure'"),
        ({"zh": [{"label": "a", "keywords": [" "]}]}, "must not be blank"),
        (
            {"zh": [{"label": "a", "keywords": ["x"]}, {"label": "a", "keywords": ["y"]}]},
            "two rules",
        ),
        ({"zh": [{"label": "a", "keywords": ["x"], "kw": 1}]}, "kw"),
    ],
)
def test_a_broken_table_is_refused_with_its_field(table: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TriageConfig.from_mapping({**default_sections(), "reason_keywords": table})
