"""Importing labelled texts: --task, --label-map, --language and per-row detection, on tiny
CSVs the tests write; the detector is a fake, so no model is loaded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from data import schemas as S
from data.imported import DataImportError, ImportReport, import_file, list_imported
from data.label_maps import parse_label_map
from data.labelled_import import LabelledTextOptions, LanguageSource
from data.loaders import load_labelled_texts
from data.schemas import Kind

_REVIEWS = (
    "review,stars\n"
    "awful and slow,0\n"
    "great food,1\n"
    "cold again,0\n"
    "lovely,1\n"
    "no idea,2\n"  # not in the map: rejected, counted
    "meh,\n"  # empty label: rejected as before
)


# The data folder is shared by the session's tests: each test imports under its own name.


def _write(tmp_path: Path, text: str, name: str = "reviews.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import(path: Path, options: LabelledTextOptions, name: str = "reviews") -> ImportReport:
    mapping = {S.TEXT: "review", S.LABEL: "stars"}
    return import_file(path, Kind.LABELLED_TEXT, mapping, name, options)


def test_label_map_is_applied_and_unmapped_values_are_rejected_and_counted(
    tmp_path: Path,
) -> None:
    options = LabelledTextOptions(label_map={"0": "negative", "1": "positive", "7": "neutral"})
    report = _import(_write(tmp_path, _REVIEWS), options)
    assert (report.rows_read, report.rows_kept) == (6, 4)
    assert report.rejected == {"empty label": 1, "label '2' not in --label-map": 1}
    assert report.labelled.unused_label_map == ["7"]
    frame = load_labelled_texts("reviews")
    assert frame[S.LABEL].tolist() == ["negative", "positive", "negative", "positive"]
    source = list_imported()["reviews"]["sources"]["labelled-text"]
    assert source["label_map"] == {"0": "negative", "1": "positive", "7": "neutral"}
    assert source["label_map_unused"] == ["7"]
    assert source["task"] == "sentiment"
    assert source["labels"] == {"negative": 2, "positive": 2}


def test_many_unmapped_values_are_reported_in_a_short_list(tmp_path: Path) -> None:
    rows = "".join(f"text {i},{i}\n" for i in range(10))
    options = LabelledTextOptions(label_map={"0": "negative", "1": "positive"})
    report = _import(_write(tmp_path, "review,stars\n" + rows), options, "ten-values")
    assert len(report.rejected) == 6  # five values named, the other three together
    assert report.rejected["label (other 3 values) not in --label-map"] == 3
    assert report.rows_rejected == 8


def test_sentiment_labels_that_cannot_be_served_are_refused_at_import(tmp_path: Path) -> None:
    # Regression (issue 15): a 0/1 set imported and trained, then could never be served.
    path = _write(tmp_path, _REVIEWS)
    with pytest.raises(DataImportError) as caught:
        _import(path, LabelledTextOptions(), "refused")
    message = str(caught.value)
    assert "'reviews.csv' has labels '0', '1', '2'" in message
    assert "--label-map 0=negative,1=neutral,2=positive" in message
    assert "refused" not in list_imported()


def test_task_category_writes_the_label_column_as_category_without_the_sentiment_check(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "review,team\nwhere is my card,cards\nloan rate,loans\nx,\n")
    report = import_file(
        path,
        Kind.LABELLED_TEXT,
        {S.TEXT: "review", S.LABEL: "team"},
        "routed",
        LabelledTextOptions(task="category", label_map={"cards": "Credit card", "loans": "Loan"}),
    )
    assert report.rows_kept == 2 and report.rejected == {"empty label": 1}
    frame = load_labelled_texts("routed")
    assert frame[S.CATEGORY].tolist() == ["Credit card", "Loan"]
    assert frame[S.LABEL].tolist() == ["Credit card", "Loan"]  # the one column fills both


def test_task_category_prefers_a_category_column_and_keeps_the_label(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,label,category\nhi,greet,GENERAL\npay,pay_bill,PAYMENT\nq,ask,\n")
    report = import_file(
        path, Kind.LABELLED_TEXT, {}, "intents", LabelledTextOptions(task="category")
    )
    assert report.rejected == {"empty category": 1}
    frame = load_labelled_texts("intents")
    assert frame[S.CATEGORY].tolist() == ["GENERAL", "PAYMENT"]
    assert frame[S.LABEL].tolist() == ["greet", "pay_bill"]


def test_category_labels_typed_in_another_case_or_with_spaces_are_one_class(
    tmp_path: Path,
) -> None:
    """Regression: a typed category column ('Billing', 'billing ', ' BILLING') was imported as
    three classes, outer spaces kept; the model split one category's examples between them."""
    path = _write(
        tmp_path,
        "text,category\nrefund,Billing\ncharged twice,billing \ninvoice, BILLING\n"
        "late bill,Billing\ncrash,bug\nblank page,Bug \n",
    )
    report = import_file(
        path, Kind.LABELLED_TEXT, {}, "typed", LabelledTextOptions(task="category")
    )
    frame = load_labelled_texts("typed")
    assert frame[S.CATEGORY].tolist() == ["Billing"] * 4 + ["bug"] * 2  # most rows' spelling
    assert frame[S.LABEL].tolist() == frame[S.CATEGORY].tolist()
    assert report.labelled.labels == {"Billing": 4, "bug": 2}
    assert any("'Billing' (also 'billing', 'BILLING')" in note for note in report.notes)
    assert any("'bug' (also 'Bug')" in note for note in report.notes)


def test_task_without_any_label_column_names_the_map_to_use(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,other\nhi,x\n")
    with pytest.raises(DataImportError, match="--map reason=SOURCE"):
        import_file(path, Kind.LABELLED_TEXT, {}, "x", LabelledTextOptions(task="reason"))


def test_language_flag_is_validated_and_set_on_every_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,label\nslow,negative\nfast,positive\n")
    with pytest.raises(DataImportError, match="'englsh' is not an ISO 639-1"):
        import_file(path, Kind.LABELLED_TEXT, {}, "x", LabelledTextOptions(language="englsh"))

    def never(texts: Sequence[str]) -> list[str | None]:
        raise AssertionError("the detector must not run when --language is given")

    report = import_file(
        path, Kind.LABELLED_TEXT, {}, "given", LabelledTextOptions(language="EN-us", detect=never)
    )
    assert report.labelled.language_source is LanguageSource.GIVEN
    assert load_labelled_texts("given")[S.LANGUAGE].tolist() == ["en", "en"]
    assert list_imported()["given"]["sources"]["labelled-text"]["language"] == {
        "source": "given",
        "rows": {"en": 2},
    }


def test_detector_is_used_when_no_language_is_given(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,label\n太慢了,negative\nslow,negative\n??,positive\n")
    seen: list[list[str]] = []

    def fake_detect(texts: Sequence[str]) -> list[str | None]:
        seen.append(list(texts))
        return ["zh", "en", None]

    report = import_file(
        path, Kind.LABELLED_TEXT, {}, "mixed", LabelledTextOptions(detect=fake_detect)
    )
    assert seen == [["太慢了", "slow", "??"]]
    assert report.labelled.language_source is LanguageSource.DETECTED
    assert report.labelled.languages == {"zh": 1, "en": 1, "": 1}
    assert load_labelled_texts("mixed")[S.LANGUAGE].tolist() == ["zh", "en", ""]


def test_language_column_is_normalised_and_bad_codes_rejected(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "text,label,lang\na,negative,EN\nb,positive,zh-CN\nc,negative,klingon\nd,positive,\n",
    )

    def never(texts: Sequence[str]) -> list[str | None]:
        raise AssertionError("the detector must not run when the file has a language column")

    report = import_file(
        path, Kind.LABELLED_TEXT, {S.LANGUAGE: "lang"}, "tagged", LabelledTextOptions(detect=never)
    )
    assert report.rejected == {"language 'klingon' is not an ISO 639-1 code": 1}
    assert report.labelled.language_source is LanguageSource.COLUMN
    assert load_labelled_texts("tagged")[S.LANGUAGE].tolist() == ["en", "zh", ""]


def test_without_a_detector_rows_keep_no_language(tmp_path: Path) -> None:
    path = _write(tmp_path, "text,label\nslow,negative\nfast,positive\n")
    report = import_file(path, Kind.LABELLED_TEXT, {}, "plain")
    assert report.labelled.language_source is LanguageSource.NONE
    assert load_labelled_texts("plain")[S.LANGUAGE].tolist() == ["", ""]


def test_labelled_options_are_refused_for_other_kinds(tmp_path: Path) -> None:
    path = _write(tmp_path, "user_id,item_id\n1,2\n")
    with pytest.raises(DataImportError, match="labelled-text only"):
        import_file(path, Kind.INTERACTIONS, {}, "x", LabelledTextOptions(language="en"))


_TRIAL_LABELS = (" Positive", "NEUTRAL", "neg", "NEG")


def _trial_file(tmp_path: Path) -> Path:
    rows = "".join(f"text {i},{_TRIAL_LABELS[i % 4]}\n" for i in range(40))
    return _write(tmp_path, "review,stars\n" + rows, "trial.csv")


def test_the_suggested_label_map_keeps_every_row_of_mixed_case_labels(tmp_path: Path) -> None:
    """Regression: --label-map switched off case/space folding, so the map the refusal suggested
    rejected " Positive" and "NEUTRAL" (and the import still exited 0)."""
    path = _trial_file(tmp_path)
    with pytest.raises(DataImportError) as caught:
        _import(path, LabelledTextOptions(language="en"), "trial-refused")
    suggestion = str(caught.value).split("--label-map ")[1].split(" ")[0]
    assert suggestion == "neg=negative,neutral=neutral,positive=positive"
    options = LabelledTextOptions(label_map=parse_label_map(suggestion), language="en")
    report = _import(path, options, "trial")
    assert (report.rows_kept, report.rejected) == (40, {})
    assert report.labelled.labels == {"negative": 20, "neutral": 10, "positive": 10}


def test_a_label_map_leaving_one_class_is_refused_naming_the_unmapped_labels(
    tmp_path: Path,
) -> None:
    """Regression: a map that rejected every row but one label's was imported (exit 0) as a
    one-class sentiment set."""
    options = LabelledTextOptions(label_map={"neg": "negative"}, language="en")
    with pytest.raises(DataImportError) as caught:
        _import(_trial_file(tmp_path), options, "one-class")
    message = str(caught.value)
    assert "keeps only the label 'negative' (20 rows)" in message
    assert "20 rows were rejected because their label ('neutral', 'positive')" in message
    assert "one-class" not in list_imported()


def test_unmapped_labels_are_counted_in_the_summary(tmp_path: Path) -> None:
    options = LabelledTextOptions(label_map={"neg": "negative", "positive": "positive"})
    report = _import(_trial_file(tmp_path), options.checked(), "two-classes")
    assert report.labelled.unmapped_labels == {"neutral": 10}
    assert report.rejected == {"label 'neutral' not in --label-map": 10}
    source = list_imported()["two-classes"]["sources"]["labelled-text"]
    assert source["label_map_unmapped"] == {"neutral": 10}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("written", [[1.0, 0.0], [1, 0]])
def test_numeric_labels_match_a_0_1_label_map(
    tmp_path: Path, suffix: str, written: list[float]
) -> None:
    """Regression: labels written 1.0/0.0 (CSV) or a Parquet float or integer label column were
    not matched by --label-map 0=negative,1=positive."""
    frame = pd.DataFrame({"review": [f"text {i}" for i in range(6)], "stars": written * 3})
    path = tmp_path / f"numeric{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    options = LabelledTextOptions(label_map={"0": "negative", "1": "positive"}, language="en")
    report = _import(path, options, "numeric-labels")
    assert (report.rows_kept, report.rejected) == (6, {})
    assert report.labelled.labels == {"positive": 3, "negative": 3}
