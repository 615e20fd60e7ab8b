"""Label maps, the sentiment label check and ISO 639-1 codes, on literal values."""

from __future__ import annotations

import pandas as pd
import pytest

from data.label_maps import (
    LabelMapError,
    SentimentLabelError,
    apply_label_map,
    check_sentiment_labels,
    parse_label_map,
    sentiment_label_problem,
    suggest_label_map,
    unify_spellings,
)
from data.language_codes import ISO_639_1, LanguageCodeError, normalise_language_code


def test_parse_label_map_allows_many_to_one_and_refuses_malformed_entries() -> None:
    assert parse_label_map(" 1=negative, 2=negative,3 = neutral,") == {
        "1": "negative",
        "2": "negative",
        "3": "neutral",
    }
    assert parse_label_map(None) == {}
    with pytest.raises(LabelMapError, match="'0' is not of the form value=label"):
        parse_label_map("0")
    with pytest.raises(LabelMapError, match="empty side"):
        parse_label_map("0=")
    with pytest.raises(LabelMapError, match="'0' twice"):
        parse_label_map("0=negative,0=positive")


def test_apply_label_map_marks_unmapped_rows_and_unused_entries() -> None:
    mapped = apply_label_map(
        pd.Series(["0", " 1", "2", "0"]), {"0": "negative", "1": "positive", "9": "neutral"}
    )
    assert mapped.values.tolist()[:2] == ["negative", "positive"]
    assert mapped.unmapped.tolist() == [False, False, True, False]
    assert mapped.unused_entries == ["9"]


def test_sentiment_problem_needs_known_labels_with_negative() -> None:
    assert sentiment_label_problem(["negative", "positive"]) is None
    assert sentiment_label_problem(["negative", "neutral", "positive"]) is None
    assert "'0', '1'" in (sentiment_label_problem(["1", "0"]) or "")
    assert "no 'negative'" in (sentiment_label_problem(["neutral", "positive"]) or "")


def test_refusal_sentence_names_the_labels_and_the_flag() -> None:
    with pytest.raises(SentimentLabelError) as caught:
        check_sentiment_labels(["1", "0", "1"], "dataset 'mine'", "re-import it with")
    message = str(caught.value)
    assert message.startswith("dataset 'mine' has labels '0', '1'")
    assert "re-import it with --label-map 0=negative,1=positive" in message
    assert message.count(". ") == 0  # one sentence


@pytest.mark.parametrize(
    ("labels", "suggestion"),
    [
        (["0", "1"], "0=negative,1=positive"),
        (["5", "1", "3", "2", "4"], "1=negative,2=negative,3=neutral,4=positive,5=positive"),
        (["10", "2"], "2=negative,10=positive"),  # by value, not as text
        # Labels already served are named too: a map drops the values it does not name.
        # Each value once, as the map matches it (spaces trimmed, case folded, '1.0' as '1').
        (["POS", "neg", "neutral"], "neg=negative,neutral=neutral,pos=positive"),
        (
            ["NEG", "Neg", " neg", "NEUTRAL", " Positive"],
            "neg=negative,neutral=neutral,positive=positive",
        ),
        (["1.0", "0.0", "1"], "0=negative,1=positive"),
        (["happy", "negative"], "happy=<negative|neutral|positive>,negative=negative"),
    ],
)
def test_suggested_label_map(labels: list[str], suggestion: str) -> None:
    assert suggest_label_map(labels) == suggestion


def test_labels_already_valid_but_without_negative_are_refused_without_a_map() -> None:
    with pytest.raises(SentimentLabelError, match="add negative examples"):
        check_sentiment_labels(["neutral", "positive"], "'x.csv'", "import it with")


def test_language_codes_are_normalised_and_validated() -> None:
    assert len(ISO_639_1) == 183
    assert normalise_language_code("EN") == "en"
    assert normalise_language_code(" zh_Hans ") == "zh"
    assert normalise_language_code("pt-BR") == "pt"
    assert normalise_language_code("und") == ""
    assert normalise_language_code("") == ""
    for bad in ("englsh", "xx", "e", "klingon"):
        with pytest.raises(LanguageCodeError, match=f"'{bad}' is not an ISO 639-1"):
            normalise_language_code(bad)


def test_a_language_column_written_in_words_or_three_letters_is_read_as_its_code() -> None:
    """A spreadsheet's language column said "English" and "中文": every row was refused."""
    assert normalise_language_code(" English ") == "en"
    assert normalise_language_code("中文") == normalise_language_code("简体中文") == "zh"
    assert normalise_language_code("CHINESE") == normalise_language_code("zho") == "zh"
    assert normalise_language_code("Español") == "es"
    assert normalise_language_code("eng") == "en"


def test_label_map_keys_match_after_trimming_and_case_folding() -> None:
    """Regression: --label-map matched values exactly, so " Positive" and "NEUTRAL" were rejected
    by the map the refusal itself suggested ('positive=positive,neutral=neutral')."""
    values = pd.Series([" Positive", "NEUTRAL", "neg", "NEG", "Neg"])
    suggested = parse_label_map(
        "NEG=negative,Neg=negative,neg=negative,neutral=neutral,positive=positive"
    )
    mapped = apply_label_map(values, suggested)
    assert not mapped.unmapped.any()
    assert mapped.values.tolist() == ["positive", "neutral", "negative", "negative", "negative"]
    assert mapped.unused_entries == []


def test_one_value_spelt_twice_in_a_label_map_must_map_to_one_label() -> None:
    assert parse_label_map("NEG=negative,neg=negative") == {"NEG": "negative", "neg": "negative"}
    with pytest.raises(LabelMapError, match="'NEG' and 'neg'"):
        parse_label_map("NEG=negative,neg=neutral")


def test_whole_float_labels_match_their_integer_spelling() -> None:
    """Regression: labels written 1.0/0.0 (a CSV of a float column, a Parquet float label) were
    not matched by --label-map 0=negative,1=positive and every row was rejected."""
    mapped = apply_label_map(
        pd.Series(["1.0", "0.0", "1", "0.50"]), {"0": "negative", "1": "positive"}
    )
    assert mapped.values.tolist()[:3] == ["positive", "negative", "positive"]
    assert mapped.unmapped.tolist() == [False, False, False, True]  # 0.50 is not a whole float
    assert apply_label_map(pd.Series(["1"]), {"1.0": "positive"}).values.tolist() == ["positive"]


def test_suggestion_after_a_map_names_the_file_s_own_values() -> None:
    """Regression: after '--label-map positive=pos,negative=neg' the suggested map was built from
    the mapped labels ('neg=negative,pos=positive') and rejected every row of the file."""
    with pytest.raises(SentimentLabelError) as caught:
        check_sentiment_labels(
            ["pos", "neg"],
            "'x.csv' after --label-map",
            "import it with",
            suggest_from={"positive": "pos", "negative": "neg"},
        )
    assert "import it with --label-map negative=negative,positive=positive " in str(caught.value)


def test_unify_spellings_strips_and_merges_case_variants_by_their_most_common_spelling() -> None:
    labels, merged = unify_spellings(pd.Series(["Bug ", "bug", " BUG", "bug", "Refund", "x"]))
    assert labels.tolist() == ["bug", "bug", "bug", "bug", "Refund", "x"]
    assert merged == {"bug": ["Bug", "BUG"]}
    # A tie keeps the spelling seen first.
    assert unify_spellings(pd.Series(["Late", "late"]))[0].tolist() == ["Late", "Late"]
