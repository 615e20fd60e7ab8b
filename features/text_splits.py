"""The FIXED evaluation splits of the triage tasks: every benchmark and pipeline uses these.

One rule for every split: keep the rows the task applies to, drop rows with an empty text, drop
duplicate texts (keeping the first, so a tweet and its retweet never straddle train and test),
drop classes too small to stratify, then a stratified 80/20 split with seed 42.

| split                       | dataset           | label column | rows kept                       |
|-----------------------------|-------------------|--------------|---------------------------------|
| airline-sentiment/sentiment | airline-sentiment | label        | all                             |
| airline-sentiment/reason    | airline-sentiment | reason       | negative tweets with a reason   |
| waimai-10k/sentiment        | waimai-10k        | label        | all                             |
| bitext-intents/category     | bitext-intents    | category     | all (11 categories)             |
| cfpb-complaints/category    | cfpb-complaints   | category     | rows with a narrative (product) |
| cfpb-complaints/reason      | cfpb-complaints   | reason       | rows with a narrative (issue)   |

Other (imported) datasets get the same rule with the task's column: sentiment -> label,
reason -> reason, category -> category, rows with an empty label dropped.

A sentiment split is refused, before any model is fitted, when its labels are not negative /
neutral / positive with negative among them: the triage engine could never serve the model. The
split's language is the language column's most common value; a dataset without one (imported
before per-row detection) takes it from the writing script when most texts share one that only
one language uses (Han: zh), so a Chinese set is not registered as "und".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from data import schemas as S
from data.label_maps import SentimentLabelError, check_sentiment_labels
from data.loaders import load_labelled_texts
from data.repeated_texts import repeated_texts
from features.language import SCRIPT_LANGUAGE, script_profile

logger = logging.getLogger(__name__)

TEST_SIZE = 0.2
SEED = 42
# A class needs a few rows for a stratified 80/20 split to put it on both sides; CFPB's sample
# has retired products with 3-5 narratives, which are dropped (and recorded in the lineage).
MIN_CLASS_ROWS = 5
# Texts whose script is read to infer a split's language when it has no language column.
SCRIPT_SAMPLE = 1000


class Task(StrEnum):
    """What a triage classifier predicts."""

    SENTIMENT = "sentiment"
    REASON = "reason"
    CATEGORY = "category"


_TASK_COLUMN = {Task(task): column for task, column in S.TASK_COLUMNS.items()}


@dataclass(frozen=True)
class SplitSpec:
    """How one (dataset, task) split is built."""

    dataset: str
    task: Task
    label_column: str
    only_negative: bool = False  # reason: only complaints (negative rows) carry a reason


FIXED_SPLITS: dict[tuple[str, Task], SplitSpec] = {
    ("airline-sentiment", Task.SENTIMENT): SplitSpec("airline-sentiment", Task.SENTIMENT, S.LABEL),
    ("airline-sentiment", Task.REASON): SplitSpec(
        "airline-sentiment", Task.REASON, S.REASON, only_negative=True
    ),
    ("waimai-10k", Task.SENTIMENT): SplitSpec("waimai-10k", Task.SENTIMENT, S.LABEL),
    ("bitext-intents", Task.CATEGORY): SplitSpec("bitext-intents", Task.CATEGORY, S.CATEGORY),
    ("cfpb-complaints", Task.CATEGORY): SplitSpec("cfpb-complaints", Task.CATEGORY, S.CATEGORY),
    # Every CFPB row is a complaint, so the issue needs no negative filter (unlike airline's).
    ("cfpb-complaints", Task.REASON): SplitSpec("cfpb-complaints", Task.REASON, S.REASON),
}


class SplitError(ValueError):
    """A split cannot be built (unknown task, too few rows or classes); the message says why."""


@dataclass(frozen=True)
class TextSplit:
    """Train and test texts with labels, plus what is needed to record the split's lineage."""

    dataset: str
    task: Task
    language: str
    train_texts: list[str]
    train_labels: list[str]
    test_texts: list[str]
    test_labels: list[str]
    lineage: dict[str, object] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.train_labels))


def load_split(dataset: str, task: Task | str) -> TextSplit:
    """The fixed split of `dataset` for `task` (see the module table); loads the dataset."""
    task = _parse_task(task)
    spec = FIXED_SPLITS.get((dataset, task)) or SplitSpec(dataset, task, _TASK_COLUMN[task])
    return split_frame(load_labelled_texts(dataset), spec)


def split_frame(frame: pd.DataFrame, spec: SplitSpec) -> TextSplit:
    """Apply the fixed rule to a canonical labelled-text frame."""
    if spec.label_column not in frame.columns:
        raise SplitError(f"dataset '{spec.dataset}' has no column '{spec.label_column}'")
    rows = frame
    if spec.only_negative:
        rows = rows[rows[S.LABEL] == "negative"]
    rows = rows[(rows[S.TEXT].str.strip() != "") & (rows[spec.label_column] != "")]
    if spec.task == Task.SENTIMENT:
        try:
            check_sentiment_labels(
                rows[spec.label_column], f"dataset '{spec.dataset}'", "re-import it with"
            )
        except SentimentLabelError as error:
            raise SplitError(str(error)) from None
    repeated = repeated_texts(rows[S.TEXT], rows[spec.label_column])
    deduplicated = rows.drop_duplicates(subset=S.TEXT, keep="first")
    duplicates_dropped = len(rows) - len(deduplicated)
    rows = deduplicated
    counts = rows[spec.label_column].value_counts()
    small = sorted(counts[counts < MIN_CLASS_ROWS].index.tolist())
    small_rows = "|".join(f"{label}={int(counts[label])}" for label in small)
    if small:
        logger.info(
            "%s/%s: dropping classes with < %d rows: %s",
            spec.dataset,
            spec.task,
            MIN_CLASS_ROWS,
            small,
        )
        rows = rows[~rows[spec.label_column].isin(small)]
    if rows[spec.label_column].nunique() < 2:
        raise SplitError(
            f"{spec.dataset}/{spec.task}: column '{spec.label_column}' has fewer than 2 classes "
            f"with {MIN_CLASS_ROWS}+ rows after filtering ({len(rows)} rows left)"
        )
    # Imported on use: the CLI builds its choices from Task and must start without sklearn.
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        rows, test_size=TEST_SIZE, stratify=rows[spec.label_column], random_state=SEED
    )
    language, language_source = _language(rows)
    lineage: dict[str, object] = {
        "task": str(spec.task),
        "label_column": spec.label_column,
        "only_negative": spec.only_negative,
        "dedup": "drop duplicate texts, keep first",
        "duplicates_dropped": duplicates_dropped,
        "duplicates_conflicting": repeated.conflicting_texts,
        "duplicates_note": repeated.note() or "",
        "min_class_rows": MIN_CLASS_ROWS,
        "classes_dropped": "|".join(small),
        "classes_dropped_rows": small_rows,
        "language_counts": _language_counts(rows),
        "test_size": TEST_SIZE,
        "seed": SEED,
        "stratified": True,
        "train_rows": len(train),
        "test_rows": len(test),
        "language": language,
        "language_source": language_source,
    }
    return TextSplit(
        dataset=spec.dataset,
        task=spec.task,
        language=language,
        train_texts=train[S.TEXT].tolist(),
        train_labels=train[spec.label_column].tolist(),
        test_texts=test[S.TEXT].tolist(),
        test_labels=test[spec.label_column].tolist(),
        lineage=lineage,
    )


# Below this share of rows in its most common language, a set is reported as mixed.
MIXED_LANGUAGE_SHARE = 0.9
_UNDETERMINED = "und"  # how `_language_counts` writes a row of no language


def split_notes(split: TextSplit) -> list[str]:
    """What a user should know about how their set was trained, from the split's lineage:
    texts whose rows disagree on their label (one was learnt), classes too small to train on,
    and a set in several languages trained as one."""
    notes = []
    if split.lineage.get("duplicates_conflicting"):  # texts whose rows disagree on the label
        notes.append(str(split.lineage["duplicates_note"]))
    dropped = str(split.lineage.get("classes_dropped_rows", ""))
    if dropped:
        notes.append(
            f"classes with fewer than {MIN_CLASS_ROWS} texts were left out of training and "
            f"evaluation ({dropped.replace('|', ', ')}): the model never answers them"
        )
    notes.extend(_language_notes(split))
    return notes


def _language_notes(split: TextSplit) -> list[str]:
    """A note when the set is in several languages, or when many of its texts are of no
    language the detector could tell. Undetermined texts (short ones: "ok thanks", "在吗")
    are no other language: counted as one, an English set read as mixed and was told to import
    each language apart, which no file can do for texts of no language."""
    entries = str(split.lineage.get("language_counts", "")).split("|")
    rows = {k: int(v) for k, _, v in (entry.partition("=") for entry in entries) if v}
    known = {k: v for k, v in rows.items() if k != _UNDETERMINED}
    total = sum(known.values())
    if total and known.get(split.language, 0) < MIXED_LANGUAGE_SHARE * total:
        return [
            f"the texts are in several languages ({', '.join(f'{k} {v}' for k, v in rows.items())}"
            f"); the model was registered as '{split.language}', the most common, and its figures "
            "mix them. To serve each language from its own slot, import each as its own dataset"
        ]
    undetermined = rows.get(_UNDETERMINED, 0)
    if total and undetermined >= (1 - MIXED_LANGUAGE_SHARE) * (total + undetermined):
        return [
            f"{undetermined} of {total + undetermined} texts are of no language the detector could "
            f"tell (short texts, most often); they were trained as '{split.language}' with the "
            f"rest. If every text is '{split.language}', import with --language {split.language}"
        ]
    return []


def _parse_task(task: Task | str) -> Task:
    try:
        return Task(task)
    except ValueError:
        raise SplitError(
            f"unknown task '{task}'; choose one of {', '.join(t.value for t in Task)}"
        ) from None


def _language_counts(rows: pd.DataFrame) -> str:
    """Rows per value of the language column, most common first ("en=691|zh=500"); empty when
    the set has no language column. A set in several languages is trained as its most common."""
    if S.LANGUAGE not in rows.columns:
        return ""
    counts = rows[S.LANGUAGE].replace("", _UNDETERMINED).value_counts()
    return "|".join(f"{language}={int(count)}" for language, count in counts.items())


def _language(rows: pd.DataFrame) -> tuple[str, str]:
    """The split's language and where it came from: the most common value of the language
    column ("column"), else the language of the dominant writing script when most texts of a
    sample share one ("script"), else "und" ("none")."""
    if S.LANGUAGE in rows.columns:
        languages = rows[S.LANGUAGE][rows[S.LANGUAGE] != ""]
        if len(languages):
            return str(languages.mode().iloc[0]), "column"
    sample = rows[S.TEXT].sample(min(SCRIPT_SAMPLE, len(rows)), random_state=SEED).tolist()
    scripts = pd.Series([script_profile(text).dominant for text in sample], dtype=object)
    by_language = scripts.map(SCRIPT_LANGUAGE).value_counts()
    if len(by_language) and by_language.iloc[0] > len(sample) / 2:
        return str(by_language.index[0]), "script"
    return "und", "none"
