"""Repeated texts of a labelled set: counted, and those whose rows disagree on the label named."""

from __future__ import annotations

import pandas as pd

from data.repeated_texts import RepeatedTexts, repeated_texts


def test_texts_whose_rows_disagree_are_counted_with_an_example() -> None:
    texts = pd.Series(
        ["在吗？", "退款", "在吗？", "退款", "在吗？", "账号被盗"], index=[5, 3, 9, 1, 0, 2]
    )
    labels = pd.Series(["neutral", "negative", "negative", "negative", "positive", "negative"])
    found = repeated_texts(texts, labels)
    assert found == RepeatedTexts(3, 1, ("在吗？", "neutral", ("negative", "positive")))
    note = found.note()
    assert note is not None and note.startswith("3 rows repeat an earlier row's text, and 1 ")
    assert "(e.g. '在吗？': neutral, also negative, positive)" in note


def test_repeats_that_agree_get_a_short_note_and_no_repeats_none() -> None:
    agreeing = repeated_texts(pd.Series(["a", "a", "b"]), pd.Series(["x", "x", "y"]))
    assert agreeing == RepeatedTexts(1, 0)
    assert agreeing.note() == "1 rows repeat an earlier row's text: training learns each text once"
    assert repeated_texts(pd.Series(["a", "b"]), pd.Series(["x", "x"])).note() is None


def test_a_long_example_is_shortened() -> None:
    long = "充值" * 50
    note = repeated_texts(pd.Series([long, long]), pd.Series(["支付问题", "其他"])).note()
    assert note is not None and f"'{long[:40]}...': 支付问题, also 其他" in note
