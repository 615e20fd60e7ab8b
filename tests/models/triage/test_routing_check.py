"""A desk's routing table checked against the labels its served models answer."""

from __future__ import annotations

import logging

import pytest

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.triage import TriageEngine
from models.triage.config import TriageConfig, default_sections, load_triage_config
from models.triage.routing import RoutingConfig
from models.triage.routing_check import unmatchable_values

# The labels a Chinese desk's category model and the shipped English ones answer.
ANSWERS = {
    "sentiment": {"en": {"negative", "neutral", "positive"}, "zh": {"negative", "positive"}},
    "category": {
        "en": {"ACCOUNT", "REFUNDS", "unsure"},
        "zh": {"账号问题", "支付问题", "其他", "unsure"},
    },
}


def table(*rules: dict) -> RoutingConfig:
    return RoutingConfig.from_mapping({"default_queue": "general_desk", "rules": list(rules)})


def test_a_misspelt_category_is_named_with_the_label_it_resembles() -> None:
    """Regression: a desk's rule for 账户问题 (its model answers 账号问题) never matched, unsaid."""
    problems = unmatchable_values(
        table({"name": "account", "queue": "account_security", "when": {"category": ["账户问题"]}}),
        ANSWERS,
    )
    assert len(problems) == 1
    assert "rule 'account' tests category '账户问题', which no served model answers" in problems[0]
    assert "did you mean '账号问题'?" in problems[0]
    assert "zh: 'unsure', '其他', '支付问题', '账号问题'" in problems[0]  # the desk's own, apart


def test_labels_the_models_answer_and_unsure_are_fine() -> None:
    rules = (
        {"name": "account", "queue": "account_security", "when": {"category": ["账号问题"]}},
        {"name": "vague", "queue": "review", "when": {"category": ["unsure"], "language": ["zh"]}},
        {"name": "en_refunds", "queue": "billing", "when": {"category": ["REFUNDS"]}},
        {"name": "praise", "queue": "feedback", "when": {"sentiment": ["positive"]}},
    )
    assert unmatchable_values(table(*rules), ANSWERS) == []


def test_a_rule_limited_to_a_language_is_checked_against_that_language_only() -> None:
    when = {"language": ["zh"], "category": ["REFUNDS"]}
    rule = {"name": "zh_refunds", "queue": "billing", "when": when}
    problems = unmatchable_values(table(rule), ANSWERS)
    assert len(problems) == 1 and "category 'REFUNDS'" in problems[0] and "for zh" in problems[0]
    assert "en:" not in problems[0]


def test_a_task_no_model_serves_is_named() -> None:
    rule = {"name": "delivery", "queue": "delivery", "when": {"reason": ["配送"]}}
    assert unmatchable_values(table(rule), ANSWERS) == [
        "rule 'delivery' tests reason, but no served model answers reason"
    ]


def _fit(rows: list[tuple[str, str]]) -> TfidfClassifier:
    texts, labels = zip(*rows, strict=True)
    config = TfidfConfig(min_df=1, calibration_folds=0, c=20.0)
    return TfidfClassifier(config).fit(list(texts), list(labels))


@pytest.fixture(scope="module")
def desk_models() -> dict:
    sentiment = _fit([("账号被盗了太差了", "negative"), ("退款一直不到账", "negative"),
                      ("谢谢客服很满意", "positive"), ("处理得很快很好", "positive")])  # fmt: skip
    category = _fit([("账号被盗登录不了", "账号问题"), ("收不到验证码登录", "账号问题"),
                     ("会员扣了两次钱", "支付问题"), ("充值没有到账退款", "支付问题")])  # fmt: skip
    reason = _fit([("等太久了", "Late Flight"), ("说不清楚", "Can't Tell")])
    return {"sentiment": {"zh": sentiment}, "category": {"zh": category}, "reason": {"zh": reason}}


def test_the_engine_logs_and_keeps_what_its_desk_table_cannot_match(
    desk_models: dict, caplog: pytest.LogCaptureFixture
) -> None:
    routing = {
        "default_queue": "general_desk",
        "rules": [
            {"name": "account", "queue": "account_security", "when": {"category": ["账户问题"]}},
            {"name": "payment", "queue": "payments", "when": {"category": ["支付问题"]}},
            # a reason the threshold turns into 'unsure' is never a result's reason
            {"name": "vague", "queue": "review", "when": {"reason": ["Can't Tell"]}},
        ],
    }
    config = TriageConfig.from_mapping({**default_sections(), "routing": routing})
    with caplog.at_level(logging.WARNING, logger="models.triage.engine"):
        engine = TriageEngine(desk_models, config)
    assert [p.split(",")[0] for p in engine.routing_problems] == [
        "rule 'account' tests category '账户问题'",
        "rule 'vague' tests reason 'Can't Tell'",
    ]
    assert "routing table: rule 'account'" in caplog.text
    # the check only reports: the table still routes what it can
    assert engine.triage("会员扣了两次钱", language="zh").routing.queue == "payments"


def test_the_shipped_table_is_not_checked(desk_models: dict) -> None:
    """It routes every taxonomy Agora trains (CFPB, Bitext, airline), whichever is served."""
    assert TriageEngine(desk_models, load_triage_config()).routing_problems == ()


def test_reasons_of_the_keyword_rules_are_labels_a_desk_table_may_route(desk_models: dict) -> None:
    """A zh desk without a reason model gets its reasons from keyword rules: a rule on one of
    them matches, and is not reported as a reason no served model answers."""
    models = {task: by_language for task, by_language in desk_models.items() if task != "reason"}
    routing = {
        "default_queue": "general_desk",
        "rules": [
            {
                "name": "pay",
                "queue": "payments",
                "when": {"language": ["zh"], "reason": ["支付问题"]},
            },
            {"name": "typo", "queue": "payments", "when": {"reason": ["支付问提"]}},
        ],
    }
    config = TriageConfig.from_mapping({**default_sections(), "routing": routing})
    engine = TriageEngine(models, config)
    assert [p.split(",")[0] for p in engine.routing_problems] == [
        "rule 'typo' tests reason '支付问提'"
    ]
    assert "did you mean '支付问题'?" in engine.routing_problems[0]
    assert engine.triage("付款失败了，支付失败扣了钱", language="zh").routing.queue == "payments"
