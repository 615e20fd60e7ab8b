"""Emerging terms: a word that took a larger share of recent complaints ranks first; a word as
common before as now, or seen in too few texts, does not emerge."""

from __future__ import annotations

from features.complaint_terms import emerging_terms


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
