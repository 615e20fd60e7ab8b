"""Urgency rules on literal inputs: keywords, negativity, repeat contact, base levels."""

from __future__ import annotations

import pytest

from models.config import ConfigError
from models.triage.config import load_triage_config
from models.triage.urgency import (
    KeywordRule,
    ModelSignals,
    NegativityRule,
    RepeatContactTier,
    UrgencyAssessor,
    UrgencyConfig,
)

COMPLAINT = ModelSignals(is_complaint=True, negative_probability=0.7)
PRAISE = ModelSignals(is_complaint=False, negative_probability=0.1)
UNASSESSED = ModelSignals(is_complaint=None, negative_probability=None)


@pytest.fixture
def assessor() -> UrgencyAssessor:
    return UrgencyAssessor(
        UrgencyConfig(
            keyword_rules=(
                KeywordRule(name="safety", level="critical", keywords=("fire", "unsafe", "安全")),
                KeywordRule(
                    name="legal", level="high", keywords=("sue", "lawyer", "legal action", "12315")
                ),
            ),
            strong_negativity=NegativityRule(min_negative_probability=0.95, level="high"),
            repeat_contact=(
                RepeatContactTier(min_prior_contacts=1, level="normal"),
                RepeatContactTier(min_prior_contacts=3, level="high"),
            ),
        )
    )


def fired(result: object) -> dict[str, str]:
    return {f.rule: f.level for f in result.fired}  # type: ignore[attr-defined]


def test_base_levels(assessor: UrgencyAssessor) -> None:
    assert assessor.assess("bad", COMPLAINT, 0).level == "normal"
    assert assessor.assess("nice", PRAISE, 0).level == "low"
    assert assessor.assess("хорошо", UNASSESSED, 0).level == "normal"
    assert assessor.assess("", UNASSESSED, 0, empty=True).level == "low"
    assert fired(assessor.assess("bad", COMPLAINT, 0)) == {"complaint": "normal"}


def test_safety_keyword_raises_to_critical_and_says_why(assessor: UrgencyAssessor) -> None:
    result = assessor.assess("Engine on FIRE, this is unsafe", PRAISE, 0)
    assert result.level == "critical"
    safety = next(f for f in result.fired if f.rule == "safety")
    assert "'fire'" in safety.reason and "'unsafe'" in safety.reason


@pytest.mark.parametrize("text", ["this is an issue", "he was fired", "pursue it", "lawyers"])
def test_english_keywords_match_whole_words_only(assessor: UrgencyAssessor, text: str) -> None:
    assert set(fired(assessor.assess(text, PRAISE, 0))) == {"no_complaint"}


def test_multi_word_keyword_tolerates_spacing(assessor: UrgencyAssessor) -> None:
    assert "legal" in fired(assessor.assess("we will take LEGAL   action", PRAISE, 0))


@pytest.mark.parametrize(
    ("text", "rule"),
    [("食品不安全，吃了肚子疼", "safety"), ("我要打12315投诉", "legal"), ("我要找lawyer", "legal")],
)
def test_chinese_keywords_match_inside_sentences(
    assessor: UrgencyAssessor, text: str, rule: str
) -> None:
    assert rule in fired(assessor.assess(text, COMPLAINT, 0))


def test_a_rule_lists_spaced_and_unspaced_keywords_in_text_order(
    assessor: UrgencyAssessor,
) -> None:
    result = assessor.assess("不安全! fire, 安全 firefighter unsafe", COMPLAINT, 0)
    safety = next(f for f in result.fired if f.rule == "safety")
    assert safety.reason == "text mentions '安全', 'fire', 'unsafe'"


def test_number_keyword_does_not_match_inside_longer_numbers(assessor: UrgencyAssessor) -> None:
    assert "legal" not in fired(assessor.assess("订单号123156", COMPLAINT, 0))


def test_strong_negativity_threshold_is_inclusive(assessor: UrgencyAssessor) -> None:
    at = assessor.assess("bad", ModelSignals(True, 0.95), 0)
    below = assessor.assess("bad", ModelSignals(True, 0.9499), 0)
    assert at.level == "high" and "strong_negativity" in fired(at)
    assert below.level == "normal" and "strong_negativity" not in fired(below)


def test_strong_negativity_can_be_disabled() -> None:
    config = UrgencyConfig.from_mapping({"strong_negativity": {"enabled": False}})
    assert UrgencyAssessor(config).assess("bad", ModelSignals(True, 0.99), 0).level == "normal"


def test_repeat_contact_uses_the_highest_tier_reached(assessor: UrgencyAssessor) -> None:
    complaint = ModelSignals(True, 0.6)
    assert "repeat_contact" not in fired(assessor.assess("late", complaint, 0))
    assert fired(assessor.assess("late", complaint, 1))["repeat_contact"] == "normal"
    result = assessor.assess("late", complaint, 5)
    assert result.level == "high"
    assert [f.reason for f in result.fired if f.rule == "repeat_contact"] == [
        "5 prior contacts >= 3"
    ]


def test_a_repeat_contact_does_not_escalate_praise(assessor: UrgencyAssessor) -> None:
    """Regression: a customer's fifth message of praise was urgency high, like a complaint
    chased for the fifth time (37 of 155 praise messages in a week of a trial's traffic)."""
    result = assessor.assess("nice", PRAISE, 5)
    assert result.level == "low" and "repeat_contact" not in fired(result)
    assert fired(assessor.assess("nice", UNASSESSED, 5))["repeat_contact"] == "high"


def test_level_is_the_maximum_of_all_fired_rules(assessor: UrgencyAssessor) -> None:
    result = assessor.assess("my lawyer says the cabin was unsafe", ModelSignals(True, 0.99), 4)
    assert result.level == "critical"
    assert fired(result) == {
        "complaint": "normal",
        "safety": "critical",
        "legal": "high",
        "strong_negativity": "high",
        "repeat_contact": "high",
    }


def test_config_rejects_duplicate_and_reserved_rule_names() -> None:
    rule = {"name": "safety", "level": "high", "keywords": ["fire"]}
    with pytest.raises(ConfigError, match="duplicate rule name 'safety'"):
        UrgencyConfig.from_mapping({"keyword_rules": [rule, rule]})
    with pytest.raises(ConfigError, match="built-in"):
        UrgencyConfig.from_mapping({"keyword_rules": [{**rule, "name": "complaint"}]})


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"keyword_rules": [{"name": "x", "level": "urgent", "keywords": ["a"]}]}, "level"),
        ({"keyword_rules": [{"name": "x", "level": "high", "keywords": []}]}, "keywords"),
        ({"keyword_rules": [{"name": "x", "level": "high", "keywords": [" "]}]}, "keywords"),
        ({"keyword_rules": [{"name": "Safety Rule", "level": "high", "keywords": ["a"]}]}, "name"),
        ({"repeat_contact": [{"min_prior_contacts": 0, "level": "high"}]}, "min_prior_contacts"),
        ({"strong_negativity": {"min_negative_probability": 1.5}}, "min_negative_probability"),
        ({"complaint_levl": "high"}, "complaint_levl: unknown field"),
    ],
)
def test_config_errors_name_the_field(values: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        UrgencyConfig.from_mapping(values)


@pytest.mark.parametrize(
    "text",
    [
        "直播间有人威胁要杀了我，请马上处理",
        "有人一直私信骚扰我",
        "评论区有人恐吓我，说要人肉我",
        "他说要自杀，你们快看看",
        "someone keeps sending me death threats",
        "this stalker follows every stream I do",
        "这个充电宝有安全隐患，充电时发烫",
        "吃出虫子了，食品安全谁来管",
    ],
)
def test_shipped_safety_rule_catches_threats_and_self_harm(text: str) -> None:
    """Regression: the shipped safety keywords held 'harassment' and 'assault' but nothing
    Chinese for a threat, harassment or self-harm, so '有人威胁要杀了我' was urgency normal."""
    shipped = UrgencyAssessor(load_triage_config().urgency)
    assert "safety" in fired(shipped.assess(text, COMPLAINT, 0))


@pytest.mark.parametrize(
    "text",
    [
        "拨打人工客服没人接",
        "双十一秒杀抢不到",
        "物流跟踪一直不更新",
        "跳楼价还这么贵",
        "杀毒软件报毒",
        "师傅辛苦了，谢谢,下雪注意安全",
        "请问账号安全中心在哪里设置？",
    ],
)
def test_shipped_safety_rule_leaves_everyday_words_alone(text: str) -> None:
    """Regression: a bare 安全 made a courier's "注意安全" (stay safe) critical."""
    shipped = UrgencyAssessor(load_triage_config().urgency)
    assert "safety" not in fired(shipped.assess(text, COMPLAINT, 0))


@pytest.mark.parametrize(
    ("text", "rule", "quoted"),
    [
        ("有人威脅要殺我，我要報警", "safety", "'威脅要殺', '報警'"),
        ("再不退款我就起訴你們，找律師", "legal", "'起訴', '律師'"),
        ("我要向記者曝光你們", "public_exposure", "'記者', '曝光'"),
    ],
)
def test_shipped_chinese_keywords_fire_on_traditional_chinese(
    text: str, rule: str, quoted: str
) -> None:
    """Regression: a Traditional Chinese death threat with 報警 (Hong Kong and Taiwan users)
    was urgency normal, where the same words in Simplified were critical."""
    result = UrgencyAssessor(load_triage_config().urgency).assess(text, COMPLAINT, 0)
    reasons = {f.rule: f.reason for f in result.fired}
    assert reasons[rule] == f"text mentions {quoted}"  # quoted as the text wrote them


def test_a_keyword_written_in_traditional_matches_simplified_text() -> None:
    rule = KeywordRule(name="refund_threat", level="high", keywords=("退費", "檢舉"))
    assessor = UrgencyAssessor(UrgencyConfig(keyword_rules=(rule,)))
    assert "refund_threat" in fired(assessor.assess("不退费我就检举你们", COMPLAINT, 0))
    assert "refund_threat" not in fired(assessor.assess("我要退货", COMPLAINT, 0))


@pytest.mark.parametrize(
    ("text", "takeover"),
    [
        ("我的账号被盗了，有人在用我的账号发广告", True),
        ("帳號被盜了，請幫忙凍結", True),
        ("收到异地登录提醒，不是我本人操作", True),
        ("my account was hacked last night", True),
        ("怎么修改密码？", False),
        ("账号登录一直提示验证码错误", False),
    ],
)
def test_shipped_account_takeover_rule(text: str, takeover: bool) -> None:
    """Regression: an account in someone else's hands now (被盗, 异地登录) stayed urgency normal,
    the level of a late parcel, on a Chinese desk's inbox."""
    result = UrgencyAssessor(load_triage_config().urgency).assess(text, COMPLAINT, 0)
    assert ("account_takeover" in fired(result)) is takeover
    assert (result.level == "high") is takeover


def test_strong_negativity_threshold_per_language() -> None:
    """Regression: one threshold for every language made a third of Chinese complaints "high"
    (the waimai model is surer than the airline one); a language can have its own."""
    config = UrgencyConfig(
        strong_negativity=NegativityRule(
            min_negative_probability=0.99, min_negative_probability_by_language={"zh": 0.998}
        )
    )
    assessor = UrgencyAssessor(config)
    sure = ModelSignals(is_complaint=True, negative_probability=0.995, language="zh")
    assert "strong_negativity" not in fired(assessor.assess("太慢了", sure, 0))
    surer = ModelSignals(is_complaint=True, negative_probability=0.999, language="zh")
    assert "strong_negativity" in fired(assessor.assess("太慢了", surer, 0))
    english = ModelSignals(is_complaint=True, negative_probability=0.995, language="en")
    assert "strong_negativity" in fired(assessor.assess("so slow", english, 0))


def test_per_language_negativity_threshold_is_checked() -> None:
    with pytest.raises(ValueError, match="not an ISO 639-1 language code"):
        NegativityRule(min_negative_probability_by_language={"chinese": 0.9})
