"""Emerging terms: a word that took a larger share of recent complaints ranks first; a word as
common before as now, or seen in too few texts, does not emerge."""

from __future__ import annotations

from features.complaint_terms import complaint_terms, emerging_terms


def test_a_rising_word_emerges_and_steady_or_rare_words_do_not() -> None:
    baseline = ["my flight was late"] * 90 + ["lost luggage at the gate"] * 10
    recent = (
        ["my flight was late"] * 30
        + ["lost luggage at the gate"] * 30
        + ["strange smell onboard"] * 2  # new, but in two texts only
    )
    terms = emerging_terms(recent, baseline, top=5)
    names = [t.term for t in terms]
    assert set(names[:3]) == {"lost", "luggage", "gate"}  # the words of the rising texts
    luggage = next(t for t in terms if t.term == "luggage")
    assert (luggage.recent_texts, luggage.baseline_texts) == (30, 10)
    assert luggage.recent_share == 30 / 62 and luggage.baseline_share == 0.1
    assert "late" not in names and "flight" not in names  # their share fell
    assert "smell" not in names  # fewer than min_texts recent texts


def test_no_recent_texts_or_only_stop_words_give_no_terms() -> None:
    assert emerging_terms([], ["anything at all"]) == []
    assert emerging_terms(["the and of"] * 10, []) == []


def test_unspaced_chinese_is_read_as_character_pairs() -> None:
    assert complaint_terms("我的bag丢了, Refund ASAP") == ["我的", "丢了", "bag", "refund", "asap"]
    # A whole clause is not one term: the pairs repeat across differently worded complaints.
    recent = [f"第{i}次了，退款还没到账，客服不回复" for i in range(8)]
    recent += [f"申请退款{i}天了" for i in range(4)]
    baseline = [f"菜品很好吃，送餐也快，第{i}次点" for i in range(12)]
    terms = [term.term for term in emerging_terms(recent, baseline, top=5, min_texts=5)]
    assert terms[0] == "退款"
    assert all(len(term) == 2 for term in terms)
