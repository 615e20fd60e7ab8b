"""Label values: the sentiment vocabulary, `--label-map` parsing and the check that a sentiment
set can be served.

A sentiment model is served by the triage engine only when its classes are among negative,
neutral and positive and include negative (complaints are defined from it). Import and training
both refuse a sentiment set that breaks this, with the same sentence: the labels found and the
`--label-map` that would fix them, so a user learns it before any model is trained, not when the
service refuses the model.

A label value is compared (with a map's entries, with the served labels) by its `label_key`: outer
spaces removed, case folded, a whole float as its integer. A spreadsheet writes the same label as
" Positive" or "POSITIVE", and a numeric column with a gap as `1.0`; the map a user writes, or
the one the refusal suggests, should not depend on which.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

NEGATIVE = "negative"
NEUTRAL = "neutral"
POSITIVE = "positive"
SENTIMENT_LABELS: tuple[str, ...] = (NEGATIVE, NEUTRAL, POSITIVE)
# Label spellings a suggested --label-map may name with confidence (by prefix, lower case).
_SENTIMENT_PREFIXES = {"neg": NEGATIVE, "bad": NEGATIVE, "neu": NEUTRAL, "pos": POSITIVE}
_SENTIMENT_WORDS = {"good": POSITIVE}
_SHOWN_LABELS = 8  # labels named in a message; the rest are counted
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_WHOLE_FLOAT = re.compile(r"^(-?\d+)\.0+$")


class LabelMapError(ValueError):
    """A `--label-map` value is malformed; the message names the entry."""


class SentimentLabelError(ValueError):
    """A sentiment set's labels cannot be served; the message names them and the fix."""


@dataclass(frozen=True)
class MappedLabels:
    """Labels after a label map: the mapped values (NaN where unmapped), the unmapped rows'
    mask, and the map entries that matched no row."""

    values: pd.Series
    unmapped: pd.Series
    unused_entries: list[str]


def parse_label_map(text: str | None) -> dict[str, str]:
    """Parse '0=negative,1=positive' into {source value: label}; several sources may share one
    label ('1=negative,2=negative'), but a source may appear only once. Sources are compared by
    `label_key`: 'NEG=negative,neg=negative' is one value named twice to the same label (kept),
    'NEG=negative,neg=neutral' is refused."""
    label_map: dict[str, str] = {}
    seen: dict[str, str] = {}  # label_key -> the source spelling first seen
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise LabelMapError(
                f"--label-map entry '{part.strip()}' is not of the form value=label"
            )
        source, target = (s.strip() for s in part.split("=", 1))
        if not source or not target:
            raise LabelMapError(f"--label-map entry '{part.strip()}' has an empty side")
        if source in label_map:
            raise LabelMapError(f"--label-map names the value '{source}' twice")
        earlier = seen.setdefault(label_key(source), source)
        if label_map.get(earlier, target) != target:
            raise LabelMapError(
                f"--label-map maps '{earlier}' and '{source}', the same value once case and "
                f"spaces are ignored, to different labels ('{label_map[earlier]}', '{target}')"
            )
        label_map[source] = target
    return label_map


def label_key(label: str) -> str:
    """How a label value is matched: outer spaces removed, case folded, `1.0` read as `1`."""
    folded = label.strip().casefold()
    whole = _WHOLE_FLOAT.match(folded)
    return whole.group(1) if whole else folded


def label_keys(values: pd.Series) -> pd.Series:
    """`label_key` of every value (missing ones as their text, 'nan')."""
    folded = values.astype(str).str.strip().str.casefold()
    return folded.str.replace(_WHOLE_FLOAT, r"\1", regex=True)


def unify_spellings(labels: pd.Series) -> tuple[pd.Series, dict[str, list[str]]]:
    """`labels` with outer spaces removed and each label written in several cases read as its
    most common spelling (the first seen on a tie), and the spellings so merged (label -> its
    other spellings). A typed category column holds 'Billing', 'billing ' and ' BILLING' for one
    category: kept apart, each would be a class of its own, splitting the category's examples
    and making the model choose between three names of one answer."""
    stripped = labels.astype(str).str.strip()
    keys = stripped.str.casefold()
    spelling: dict[str, str] = {}
    rows: dict[str, int] = {}
    variants: dict[str, list[str]] = {}
    # value_counts(sort=False) lists values in the order they first appear.
    for text, count in stripped.value_counts(sort=False).items():
        key = str(text).casefold()
        variants.setdefault(key, []).append(str(text))
        if count > rows.get(key, 0):
            rows[key], spelling[key] = int(count), str(text)
    merged = {
        spelling[key]: [v for v in found if v != spelling[key]]
        for key, found in variants.items()
        if len(found) > 1
    }
    return keys.map(spelling), merged


def spellings_note(column: str, merged: dict[str, list[str]]) -> str:
    """The import's note for the labels `unify_spellings` merged."""
    shown = ", ".join(
        f"'{label}' (also {', '.join(repr(v) for v in others)})"
        for label, others in list(merged.items())[:_SHOWN_LABELS]
    )
    more = len(merged) - _SHOWN_LABELS
    shown += f" and {more} more" if more > 0 else ""
    return (
        f"{column} labels written in more than one case were read as one label each, "
        f"spelt as most rows spell it: {shown}"
    )


def apply_label_map(values: pd.Series, label_map: dict[str, str]) -> MappedLabels:
    """Map `values` through `label_map`, both sides compared by `label_key`."""
    keys = label_keys(values)
    mapped = keys.map({label_key(source): target for source, target in label_map.items()})
    present = set(keys.unique())
    unused = [source for source in label_map if label_key(source) not in present]
    return MappedLabels(mapped, mapped.isna(), unused)


def sentiment_label_problem(labels: Iterable[str]) -> str | None:
    """Why `labels` cannot be a served sentiment model's classes, or None when they can."""
    found = set(labels)
    if found - set(SENTIMENT_LABELS):
        return f"labels {quote_labels(found)} are not all negative, neutral or positive"
    if NEGATIVE not in found:
        return f"labels {quote_labels(found)} include no 'negative'"
    return None


def check_sentiment_labels(
    labels: Iterable[str],
    subject: str,
    remedy: str,
    suggest_from: Mapping[str, str] | None = None,
) -> None:
    """Raise SentimentLabelError, in one sentence, when `labels` cannot be served as sentiment.

    `subject` names the data ("dataset 'reviews'"), `remedy` says how to pass the flag
    ("import it with", "re-import it with"). `suggest_from` (labels that came through a
    --label-map) maps each of the file's own values to the label the map gave it: the suggested
    map must name the file's values, not the labels the rejected map produced.
    """
    found = sorted(set(labels), key=_natural_key)
    if sentiment_label_problem(found) is None:
        return
    needs = "sentiment needs negative, neutral or positive labels, negative among them"
    if set(found) <= set(SENTIMENT_LABELS):  # all valid, but no negative row to map
        raise SentimentLabelError(
            f"{subject} has labels {quote_labels(found)}, but {needs}: add negative examples, "
            "or use --task category if the labels are not sentiment"
        )
    suggestion = suggest_label_map(suggest_from or found, hints=suggest_from)
    raise SentimentLabelError(
        f"{subject} has labels {quote_labels(found)}, but {needs}: {remedy} "
        f"--label-map {suggestion} (or --task category if they are not sentiment)"
    )


def suggest_label_map(labels: Iterable[str], hints: Mapping[str, str] | None = None) -> str:
    """An example --label-map for `labels`, each value once by its `label_key`: numbers by order
    (low = negative), known spellings by name, anything else as value=<negative|neutral|positive>
    for the user to choose. `hints` (value -> the label a previous map gave it) are read first:
    'positive=pos' suggests 'positive=positive'."""
    keyed_hints = {label_key(value): hint for value, hint in (hints or {}).items()}
    found = sorted({label_key(label) for label in labels}, key=_natural_key)
    unknown = [label for label in found if label not in SENTIMENT_LABELS]
    guesses = _guess_by_order(unknown) if len(unknown) == len(found) else {}
    entries = []
    for label in found:
        hint = keyed_hints.get(label, "")
        guess = label_key(hint) if label_key(hint) in SENTIMENT_LABELS else _guess_by_name(hint)
        if guess is None and label in SENTIMENT_LABELS:
            guess = label  # named too: a map drops the values it does not name
        guess = guess or guesses.get(label) or _guess_by_name(label)
        entries.append(f"{label}={guess or '<negative|neutral|positive>'}")
    return ",".join(entries)


def quote_labels(labels: Iterable[str]) -> str:
    """'a', 'b' and 3 more: labels for a message, in natural order."""
    ordered = sorted(set(labels), key=_natural_key)
    shown = ", ".join(f"'{label}'" for label in ordered[:_SHOWN_LABELS])
    more = len(ordered) - _SHOWN_LABELS
    return f"{shown} and {more} more" if more > 0 else shown


def _guess_by_order(labels: list[str]) -> dict[str, str]:
    """Numeric labels by order: two values are negative/positive; more split in halves around
    a neutral middle value (1-5 stars: 1,2 negative, 3 neutral, 4,5 positive)."""
    if len(labels) < 2 or not all(_NUMBER.match(label) for label in labels):
        return {}
    half, odd = divmod(len(labels), 2)
    guesses = dict.fromkeys(labels[:half], NEGATIVE) | dict.fromkeys(labels[-half:], POSITIVE)
    if odd:
        guesses[labels[half]] = NEUTRAL
    return guesses


def _guess_by_name(label: str) -> str | None:
    lowered = label.strip().lower()
    if not lowered:
        return None
    if lowered in _SENTIMENT_WORDS:
        return _SENTIMENT_WORDS[lowered]
    return next(
        (v for prefix, v in _SENTIMENT_PREFIXES.items() if lowered.startswith(prefix)), None
    )


def _natural_key(label: str) -> tuple[int, float, str]:
    """Numbers first, by value ('2' before '10'), then text."""
    if _NUMBER.match(label):
        return (0, float(label), label)
    return (1, 0.0, label)
