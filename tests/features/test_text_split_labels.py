"""Sentiment splits refuse labels the engine cannot serve; a split without a language column
takes its language from the writing script."""

from __future__ import annotations

import pandas as pd
import pytest

from data import schemas as S
from features.text_splits import SplitError, SplitSpec, Task, split_frame

_ZH = ["送餐太慢了", "味道很难吃", "饭都凉了", "很好吃", "送得很快", "推荐这家", "量很足"]


def _frame(
    labels: tuple[str, str], texts: list[str] | None = None, language: str = ""
) -> pd.DataFrame:
    texts = texts or [f"text number {i}" for i in range(40)]
    rows = [
        {S.TEXT: f"{text} {i}", S.LABEL: labels[i % 2], S.CATEGORY: f"team {i % 2}"}
        for i, text in enumerate(texts * (40 // len(texts) + 1))
    ]
    frame = pd.DataFrame(rows[:40])
    frame[S.LANGUAGE] = language
    return frame


def test_sentiment_split_with_unmapped_labels_is_refused_naming_them_and_the_flag() -> None:
    # Regression (issue 15): a 0/1 set trained a sentiment model the engine could never serve.
    with pytest.raises(SplitError) as caught:
        split_frame(_frame(("0", "1")), SplitSpec("mine", Task.SENTIMENT, S.LABEL))
    message = str(caught.value)
    assert message.startswith("dataset 'mine' has labels '0', '1'")
    assert "re-import it with --label-map 0=negative,1=positive" in message


def test_sentiment_split_without_negative_is_refused() -> None:
    with pytest.raises(SplitError, match=r"'neutral', 'positive'.*add negative examples"):
        split_frame(_frame(("neutral", "positive")), SplitSpec("mine", Task.SENTIMENT, S.LABEL))


def test_other_tasks_take_any_labels() -> None:
    split = split_frame(_frame(("0", "1")), SplitSpec("mine", Task.CATEGORY, S.CATEGORY))
    assert split.classes == ["team 0", "team 1"]


def test_language_comes_from_the_column_first() -> None:
    split = split_frame(
        _frame(("negative", "positive"), _ZH, "ja"), SplitSpec("m", Task.SENTIMENT, S.LABEL)
    )
    assert (split.language, split.lineage["language_source"]) == ("ja", "column")


def test_chinese_split_without_language_takes_it_from_the_script() -> None:
    # Regression (issue 15): a Chinese set imported without a language column was registered
    # as "und".
    split = split_frame(
        _frame(("negative", "positive"), _ZH), SplitSpec("m", Task.SENTIMENT, S.LABEL)
    )
    assert (split.language, split.lineage["language_source"]) == ("zh", "script")


def test_latin_split_without_language_stays_undetermined() -> None:
    # Latin script is shared by many languages: the script alone does not say which.
    split = split_frame(_frame(("negative", "positive")), SplitSpec("m", Task.SENTIMENT, S.LABEL))
    assert (split.language, split.lineage["language_source"]) == ("und", "none")
