"""The fixed triage splits: dedup before splitting, stratified, reproducible, filtered per task."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data import schemas as S
from features.text_splits import (
    SplitError,
    SplitSpec,
    Task,
    load_split,
    split_frame,
    split_notes,
)


def _frame() -> pd.DataFrame:
    rows = []
    for i in range(40):
        rows.append({S.TEXT: f"late flight {i}", S.LABEL: "negative", S.REASON: "Late Flight"})
        rows.append({S.TEXT: f"rude agent {i}", S.LABEL: "negative", S.REASON: "Customer Service"})
        rows.append({S.TEXT: f"thanks crew {i}", S.LABEL: "positive", S.REASON: ""})
    rows += [{S.TEXT: "late flight 0", S.LABEL: "positive", S.REASON: ""}] * 3  # duplicates
    rows += [{S.TEXT: f"lost bag {i}", S.LABEL: "negative", S.REASON: "Lost"} for i in range(3)]
    rows.append({S.TEXT: "   ", S.LABEL: "negative", S.REASON: "Late Flight"})  # empty text
    frame = pd.DataFrame(rows)
    frame[S.LANGUAGE] = "en"
    return frame


def test_duplicates_are_dropped_before_splitting() -> None:
    split = split_frame(_frame(), SplitSpec("toy", Task.SENTIMENT, S.LABEL))
    texts = split.train_texts + split.test_texts
    assert len(texts) == len(set(texts))
    assert not set(split.train_texts) & set(split.test_texts)
    assert split.lineage["duplicates_dropped"] == 3
    assert "   " not in texts


def test_split_is_stratified_80_20_and_reproducible() -> None:
    spec = SplitSpec("toy", Task.SENTIMENT, S.LABEL)
    first, second = split_frame(_frame(), spec), split_frame(_frame(), spec)
    assert first.test_texts == second.test_texts
    total = len(first.train_texts) + len(first.test_texts)
    assert len(first.test_texts) == pytest.approx(0.2 * total, abs=1)
    test_share = first.test_labels.count("positive") / len(first.test_labels)
    all_share = (first.train_labels + first.test_labels).count("positive") / total
    assert test_share == pytest.approx(all_share, abs=0.02)
    assert first.language == "en" and first.lineage["seed"] == 42


def test_reason_keeps_negative_rows_with_a_reason_and_drops_tiny_classes() -> None:
    split = split_frame(_frame(), SplitSpec("toy", Task.REASON, S.REASON, only_negative=True))
    assert split.classes == ["Customer Service", "Late Flight"]
    assert split.lineage["classes_dropped"] == "Lost"  # 3 rows < 5
    assert split.train_texts and split.test_texts
    assert all(not t.startswith("thanks") for t in split.train_texts + split.test_texts)


def test_notes_name_dropped_classes_and_a_mix_of_languages() -> None:
    """Regression: a class of 3 texts vanished with one INFO log line, and a set of 691 English
    and 500 Chinese texts was registered as English without a word."""
    reason = split_frame(_frame(), SplitSpec("toy", Task.REASON, S.REASON, only_negative=True))
    assert split_notes(reason) == [
        "classes with fewer than 5 texts were left out of training and evaluation (Lost=3): "
        "the model never answers them"
    ]
    agreeing = _frame().drop_duplicates(S.TEXT)  # no text with two labels: no note of that
    mixed = agreeing.copy()
    mixed.loc[mixed.index % 3 == 0, S.LANGUAGE] = "zh"
    notes = split_notes(split_frame(mixed, SplitSpec("toy", Task.SENTIMENT, S.LABEL)))
    assert len(notes) == 1 and "several languages (en 82, zh 41)" in notes[0]
    assert "registered as 'en'" in notes[0]
    plain = split_frame(agreeing, SplitSpec("toy", Task.SENTIMENT, S.LABEL))
    assert split_notes(plain) == []


def test_a_text_labelled_differently_in_its_rows_is_noted() -> None:
    """Regression: a helpdesk export's repeated texts with different labels were trained on
    their first row's label, and nothing said that the other rows' labels were not learnt."""
    split = split_frame(_frame(), SplitSpec("toy", Task.SENTIMENT, S.LABEL))
    assert split.lineage["duplicates_conflicting"] == 1
    assert split_notes(split) == [
        "3 rows repeat an earlier row's text, and 1 of those texts carry different labels in "
        "different rows (e.g. 'late flight 0': negative, also positive): training learns each "
        "text once, with its first row's label; make the rows agree in the file to choose"
    ]
    assert "late flight 0" in split.train_texts + split.test_texts


def test_unusable_requests_are_clear_errors() -> None:
    with pytest.raises(SplitError, match="no column 'category'"):
        split_frame(_frame(), SplitSpec("toy", Task.CATEGORY, S.CATEGORY))
    only_one = _frame()
    only_one[S.LABEL] = "negative"
    with pytest.raises(SplitError, match="fewer than 2 classes"):
        split_frame(only_one, SplitSpec("toy", Task.SENTIMENT, S.LABEL))
    with pytest.raises(SplitError, match="unknown task 'mood'"):
        load_split("airline-sentiment", "mood")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("dataset", "task", "train", "test", "classes"),
    [
        ("airline-sentiment", "sentiment", 11541, 2886, 3),
        ("airline-sentiment", "reason", 7269, 1818, 10),
        ("waimai-10k", "sentiment", 9584, 2396, 2),
        ("bitext-intents", "category", 17210, 4303, 11),
    ],
)
def test_fixed_splits_on_the_real_datasets(
    mirror: Path, dataset: str, task: str, train: int, test: int, classes: int
) -> None:
    split = load_split(dataset, task)
    assert (len(split.train_texts), len(split.test_texts)) == (train, test)
    assert len(split.classes) == classes
    assert sorted(set(split.test_labels)) == split.classes


def test_texts_of_undetermined_language_are_not_called_another_language() -> None:
    """Regression: an English set whose short texts the detector could not place (20 %) was
    told it was 'in several languages (en 98, und 25)' and to import each language apart."""
    frame = _frame().drop_duplicates(S.TEXT)
    frame.loc[frame.index % 5 == 0, S.LANGUAGE] = ""
    notes = split_notes(split_frame(frame, SplitSpec("toy", Task.SENTIMENT, S.LABEL)))
    assert len(notes) == 1 and "several languages" not in notes[0]
    assert "of no language the detector could tell" in notes[0]
    assert "import with --language en" in notes[0]
