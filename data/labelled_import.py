"""The labelled-text part of an import: what the labels are (`--task`), how their values map
(`--label-map`), each row's language (given, from a column, or detected) and the sentiment check.

Language detection lives in `features.language`, above this layer, so the caller (the CLI, the
composition root) passes it in as a plain callable; without one, rows with no language keep "".
Every row a step refuses is counted under a reason, as in `data.imported`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

from data import schemas as S
from data.label_maps import (
    SENTIMENT_LABELS,
    SentimentLabelError,
    apply_label_map,
    check_sentiment_labels,
    label_keys,
    quote_labels,
    spellings_note,
    unify_spellings,
)
from data.language_codes import LanguageCodeError, normalise_language_code

logger = logging.getLogger(__name__)

# Texts in, one ISO 639-1 code (or None when undetermined) per text out.
DetectLanguages = Callable[[Sequence[str]], Sequence[str | None]]
SENTIMENT = "sentiment"
_NAMED_VALUES = 5  # distinct refused values counted under their own reason; the rest together


class LabelledTextError(ValueError):
    """The labelled-text options or the file's labels cannot be imported; the message says why."""


class LanguageSource(StrEnum):
    """How the rows' language was set."""

    GIVEN = "given"  # --language, for every row
    COLUMN = "column"  # the file's language column
    DETECTED = "detected"  # per row, by the detector the caller passed
    NONE = "none"  # no flag, no column, no detector: every row ""


@dataclass(frozen=True)
class LabelledTextOptions:
    """What the caller says about a labelled-text file (all optional)."""

    task: str = SENTIMENT
    label_map: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    detect: DetectLanguages | None = field(default=None, compare=False)

    def checked(self) -> LabelledTextOptions:
        """These options with the language code normalised; a bad task or code is refused."""
        if self.task not in S.TASK_COLUMNS:
            raise LabelledTextError(
                f"unknown task '{self.task}'; choose one of {', '.join(S.TASK_COLUMNS)}"
            )
        if self.language is None:
            return self
        try:
            code = normalise_language_code(self.language)
        except LanguageCodeError as error:
            raise LabelledTextError(f"--language: {error}") from None
        if not code:
            raise LabelledTextError("--language needs a language code; leave it out to detect")
        return LabelledTextOptions(self.task, self.label_map, code, self.detect)

    @property
    def label_column(self) -> str:
        return S.TASK_COLUMNS[self.task]


@dataclass(frozen=True)
class LabelledTextSummary:
    """What the labelled-text step did, for the report and the dataset's manifest."""

    task: str
    label_map: dict[str, str]
    unused_label_map: list[str]
    # Rows rejected per value the map does not name (by label_key): every row of each value.
    unmapped_labels: dict[str, int]
    labels: dict[str, int]  # kept rows per label of the task's column
    language_source: LanguageSource
    languages: dict[str, int]  # kept rows per language code; "" = undetermined
    notes: tuple[str, ...] = ()  # how the labels were read, for the import's report

    def to_manifest(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "label_map": self.label_map,
            "label_map_unused": self.unused_label_map,
            "label_map_unmapped": self.unmapped_labels,
            "labels": self.labels,
            "language": {"source": str(self.language_source), "rows": self.languages},
        }


def task_mapping(
    columns: Sequence[str], mapping: dict[str, str], task: str
) -> tuple[dict[str, str], bool]:
    """The column mapping with the task's label column resolved, and whether `label` is a copy
    of it.

    Sentiment labels are the `label` column. A reason or category is read from that column
    (`--map category=SOURCE`, or a column of that name), else from the label column; the schema
    requires `label`, so a file with only one of the two fills both from it.
    """
    column = S.TASK_COLUMNS[task]
    if column == S.LABEL:
        return mapping, False

    def source(canonical: str) -> str | None:
        return mapping.get(canonical) or (canonical if canonical in columns else None)

    label_source = source(S.LABEL)
    task_source = source(column) or label_source
    if task_source is None:
        raise LabelledTextError(
            f"--task {task} reads its labels from a '{column}' or a 'label' column and the file "
            f"has neither; map one with --map {column}=SOURCE"
        )
    resolved = {**mapping, column: task_source, S.LABEL: label_source or task_source}
    return resolved, label_source in (None, task_source)


def prepare_labelled(
    frame: pd.DataFrame, options: LabelledTextOptions, subject: str, label_is_copy: bool = False
) -> tuple[pd.DataFrame, Counter[str], LabelledTextSummary]:
    """Apply the task, label map and language steps to validated rows.

    Returns the kept rows, the rejection reasons counted, and the summary. A sentiment set whose
    labels cannot be served raises SentimentLabelError naming them and the `--label-map` to use.
    """
    reasons: Counter[str] = Counter()
    column = options.label_column
    if column != S.LABEL:
        empty = frame[column].fillna("").astype(str).str.strip() == ""
        if empty.any():
            reasons[f"empty {column}"] += int(empty.sum())
        frame = frame[~empty]
    unused: list[str] = []
    unmapped: dict[str, int] = {}
    hints: dict[str, str] | None = None
    if options.label_map:
        keys = label_keys(frame[column])
        mapped = apply_label_map(frame[column], options.label_map)
        reasons.update(_value_reasons(keys, mapped.unmapped, f"{column} %s not in --label-map"))
        unused = mapped.unused_entries
        unmapped = _counts(keys[mapped.unmapped])
        # The file's own values and what the map made of them, for a suggestion that names
        # the values in the file rather than the labels the map produced.
        kept = ~mapped.unmapped
        hints = dict(zip(keys[kept], mapped.values[kept], strict=True))
        frame = frame[kept].copy()
        frame[column] = mapped.values[kept]
        if label_is_copy:
            frame[S.LABEL] = frame[column]
    notes: list[str] = []
    labels = frame[column].astype(str).str.strip()
    if options.task != SENTIMENT and len(frame):
        # A reason or category is the file's own word for it: outer spaces and case are how it
        # was typed, not another class (sentiment labels are folded to the served ones below).
        labels, merged = unify_spellings(labels)
        notes.extend([spellings_note(column, merged)] if merged else [])
        frame = frame.assign(**{column: labels})
        if label_is_copy:
            frame[S.LABEL] = labels
    if options.task == SENTIMENT and len(frame):
        # "Positive", "NEGATIVE": the served classes in another case are those classes.
        folded = labels.str.casefold()
        labels = labels.where(~folded.isin(SENTIMENT_LABELS), folded)
        frame = frame.assign(**{column: labels})
        if label_is_copy:
            frame[S.LABEL] = labels
        mapped_subject = f"{subject} after --label-map" if hints else subject
        check_sentiment_labels(labels, mapped_subject, "import it with", suggest_from=hints)
        _check_two_classes(labels, subject, unmapped)
    frame, language_reasons, source = _set_languages(frame, options)
    reasons.update(language_reasons)
    summary = LabelledTextSummary(
        task=options.task,
        label_map=dict(options.label_map),
        unused_label_map=unused,
        unmapped_labels=unmapped,
        labels=_counts(frame[column]),
        language_source=source,
        languages=_counts(frame[S.LANGUAGE]) if S.LANGUAGE in frame else {},
        notes=tuple(notes),
    )
    return frame, reasons, summary


def _check_two_classes(labels: pd.Series, subject: str, unmapped: dict[str, int]) -> None:
    """Refuse sentiment rows of a single label: no model can be trained on one class, and a
    --label-map that left the other values out would otherwise pass as a smaller import."""
    counts = labels.value_counts()
    if len(counts) >= 2:
        return
    (label, rows), *_ = counts.items()
    kept = (
        f"{subject} keeps only the label '{label}' ({rows} rows), but a sentiment model needs two"
    )
    if unmapped:
        rejected = sum(unmapped.values())
        raise SentimentLabelError(
            f"{kept}: {rejected} rows were rejected because their label "
            f"({quote_labels(unmapped)}) is not in --label-map; add those values to the map"
        )
    raise SentimentLabelError(f"{kept}: add examples of another label")


def _set_languages(
    frame: pd.DataFrame, options: LabelledTextOptions
) -> tuple[pd.DataFrame, Counter[str], LanguageSource]:
    """Every row's language: the flag, else the file's column (codes normalised, bad codes
    refused), else the detector's answer."""
    frame = frame.copy()
    if options.language is not None:
        if S.LANGUAGE in frame:
            logger.info("--language %s replaces the file's language column", options.language)
        frame[S.LANGUAGE] = options.language
        return frame, Counter(), LanguageSource.GIVEN
    if S.LANGUAGE in frame:
        values = frame[S.LANGUAGE].fillna("").astype(str)
        codes = values.map(_code_or_none)
        bad = codes.isna()
        reasons = _value_reasons(values, bad, f"{S.LANGUAGE} %s is not an ISO 639-1 code")
        frame = frame[~bad].copy()
        frame[S.LANGUAGE] = codes[~bad]
        return frame, reasons, LanguageSource.COLUMN
    if options.detect is None or frame.empty:
        frame[S.LANGUAGE] = ""
        return frame, Counter(), LanguageSource.NONE
    detected = list(options.detect(frame[S.TEXT].astype(str).tolist()))
    if len(detected) != len(frame):
        raise LabelledTextError(
            f"the language detector returned {len(detected)} answers for {len(frame)} texts"
        )
    frame[S.LANGUAGE] = [_code_or_none(code or "") or "" for code in detected]
    return frame, Counter(), LanguageSource.DETECTED


def _code_or_none(value: str) -> str | None:
    try:
        return normalise_language_code(value)
    except LanguageCodeError:
        return None


def _value_reasons(values: pd.Series, refused: pd.Series, template: str) -> Counter[str]:
    """Refused rows counted per value ("label '2' not in --label-map") for the most common
    values, the rest under one reason, so a file with many bad values gives a short report."""
    counts = values[refused].astype(str).str.strip().value_counts()
    reasons: Counter[str] = Counter()
    for value, count in counts.iloc[:_NAMED_VALUES].items():
        reasons[template % f"'{value}'"] = int(count)
    rest = int(counts.iloc[_NAMED_VALUES:].sum())
    if rest:
        reasons[template % f"(other {len(counts) - _NAMED_VALUES} values)"] = rest
    return reasons


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in values.astype(str).value_counts().items()}
