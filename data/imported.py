"""Import a user's own CSV/TSV/Parquet file as a named dataset in canonical form.

Every row either lands in the canonical frame or is counted as rejected with a reason; nothing is
dropped silently. Imported datasets live beside the catalog cache and are loaded by name like
catalog datasets. Labelled texts take a further step (`data.labelled_import`): the task their
labels are for, a label map, each row's language, and the check that sentiment labels can be served.
A file is read a chunk at a time and only its mapped columns (`data.table_reader`), so a public
export of several GB imports in the memory its kept rows need.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data import schemas as S
from data.atomic import write_atomic
from data.catalog import CATALOG
from data.label_maps import LabelMapError, SentimentLabelError
from data.labelled_import import (
    LabelledTextError,
    LabelledTextOptions,
    LabelledTextSummary,
    prepare_labelled,
    task_mapping,
)
from data.language_codes import LanguageCodeError
from data.paths import data_dir
from data.schemas import SCHEMAS, Kind, conform
from data.table_reader import TableReadError, read_chunks, table_columns

logger = logging.getLogger(__name__)

IMPORTED_FOLDER = "imported"
MANIFEST = "manifest.json"
_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class DataImportError(ValueError):
    """The file or the column mapping cannot be imported; the message says which part."""


@dataclass
class ImportReport:
    name: str
    kind: Kind
    rows_read: int
    rows_kept: int
    rejected: Counter[str] = field(default_factory=Counter)
    labelled: LabelledTextSummary | None = None  # labelled texts only

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_kept


def parse_mapping(text: str | None) -> dict[str, str]:
    """Parse 'user_id=userId,item_id=movieId' into {canonical: source}."""
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise DataImportError(f"mapping entry '{part}' is not of the form canonical=source")
        canonical, source = (s.strip() for s in part.split("=", 1))
        mapping[canonical] = source
    return mapping


def _source_columns(columns: Sequence[str], kind: Kind, mapping: dict[str, str]) -> dict[str, str]:
    """Canonical column -> the file's column it is read from; refuses a mapping naming an unknown
    canonical or a missing source, and a required column that is neither mapped nor present."""
    schema = SCHEMAS[kind]
    unknown = [c for c in mapping if c not in schema.columns]
    if unknown:
        raise DataImportError(
            f"'{unknown[0]}' is not a {kind} column (known: {', '.join(schema.columns)})"
        )
    sources: dict[str, str] = {}
    for canonical in schema.columns:
        source = mapping.get(canonical, canonical)
        if source in columns:
            sources[canonical] = source
        elif canonical in mapping:
            raise DataImportError(
                f"column '{source}' (mapped to {canonical}) is not in the file; "
                f"the file has: {', '.join(columns)}"
            )
        elif canonical in schema.required:
            raise DataImportError(
                f"required column '{canonical}' is missing; map it with --map {canonical}=SOURCE"
            )
    return sources


def _read_valid_rows(
    path: Path, kind: Kind, sources: dict[str, str]
) -> tuple[pd.DataFrame, Counter[str], int]:
    """The file's valid rows as canonical columns, the rejections counted, and the rows read.

    Only the mapped columns are read, a chunk at a time, and each chunk is validated before the
    next is read: memory holds the kept rows' kept columns, not the file (a full CFPB export is
    several GB, most of it rows without a narrative and columns no import keeps).
    """
    parts: list[pd.DataFrame] = []
    reasons: Counter[str] = Counter()
    rows_read = 0
    for chunk in read_chunks(path, list(sources.values())):
        rows_read += len(chunk)
        selected = pd.DataFrame({c: chunk[s] for c, s in sources.items()})
        kept, why = validate_rows(selected, kind)
        reasons.update(why)
        if len(kept):
            parts.append(kept)
    logger.info("%s: %d rows read, %d valid", path.name, rows_read, sum(map(len, parts)))
    if not parts:
        return pd.DataFrame(columns=list(sources)), reasons, rows_read
    return pd.concat(parts, ignore_index=True), reasons, rows_read


def _to_epoch_seconds(values: pd.Series) -> pd.Series:
    """Integers pass as epoch seconds; other text is parsed as a date. NaN marks failures."""
    numeric = pd.to_numeric(values, errors="coerce")
    parsed = pd.to_datetime(values.where(numeric.isna()), errors="coerce", utc=True, format="mixed")
    as_seconds = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return numeric.where(numeric.notna(), as_seconds)


def validate_rows(frame: pd.DataFrame, kind: Kind) -> tuple[pd.DataFrame, Counter[str]]:
    """Split rows into kept and rejected; return the kept frame and rejection reasons counted."""
    schema = SCHEMAS[kind]
    bad = np.zeros(len(frame), dtype=bool)
    reasons: Counter[str] = Counter()

    def reject(mask: pd.Series, reason: str) -> None:
        # A row is counted once, under the first reason that rejects it.
        new = mask.to_numpy(dtype=bool) & ~bad
        if new.any():
            reasons[reason] += int(new.sum())
        bad[new] = True

    for column in schema.required:
        text = frame[column].astype(str).str.strip()
        reject(frame[column].isna() | (text == "") | (text == "nan"), f"empty {column}")
    if S.RATING in frame:
        ratings = pd.to_numeric(frame[S.RATING], errors="coerce")
        reject(ratings.isna() | ~np.isfinite(ratings.fillna(0)), f"{S.RATING} is not a number")
        frame[S.RATING] = ratings
    if S.TIMESTAMP in frame:
        stamps = _to_epoch_seconds(frame[S.TIMESTAMP])
        reject(stamps.isna(), f"{S.TIMESTAMP} is neither epoch seconds nor a date")
        frame[S.TIMESTAMP] = stamps
    kept = frame[~bad].copy()
    if S.TIMESTAMP in kept:
        kept[S.TIMESTAMP] = kept[S.TIMESTAMP].astype("int64")
    return kept, reasons


def imported_root() -> Path:
    return data_dir() / IMPORTED_FOLDER


def imported_frame_path(name: str, kind: Kind) -> Path:
    return imported_root() / name / f"{kind.value}.parquet"


def list_imported() -> dict[str, dict[str, Any]]:
    """Manifests of every imported dataset, by name."""
    root = imported_root()
    found: dict[str, dict[str, Any]] = {}
    if root.is_dir():
        for manifest in sorted(root.glob(f"*/{MANIFEST}")):
            found[manifest.parent.name] = json.loads(manifest.read_text())
    return found


def record_frame(name: str, kind: Kind, source: dict[str, Any]) -> None:
    """Add `kind` (already written at imported_frame_path) to dataset `name`'s manifest."""
    manifest_path = imported_root() / name / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"kinds": []}
    manifest["kinds"] = sorted({*manifest["kinds"], kind.value})
    manifest.setdefault("sources", {})[kind.value] = source
    write_atomic(manifest_path, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2)))


# What reading the file and the labelled-text step raise for a user's mistake; import_file
# reports each as one DataImportError.
_USER_ERRORS = (
    TableReadError,
    LabelledTextError,
    LabelMapError,
    LanguageCodeError,
    SentimentLabelError,
)


def import_file(
    path: Path,
    kind: Kind | str,
    mapping: dict[str, str],
    name: str,
    labelled: LabelledTextOptions | None = None,
) -> ImportReport:
    """Validate `path` as a `kind` frame and store it as imported dataset `name`.

    `labelled` (labelled texts only; default: sentiment labels, no map, no detector) says what
    the labels are for, how their values map and how each row's language is set.
    """
    kind = Kind(kind)
    if not _NAME_PATTERN.match(name):
        raise DataImportError(
            f"dataset name '{name}' must be lower-case letters, digits, '.', '_' or '-'"
        )
    if name in CATALOG:
        raise DataImportError(f"'{name}' is a catalog dataset; choose another name")
    if kind is not Kind.LABELLED_TEXT and labelled is not None:
        raise DataImportError("--task, --label-map and --language apply to labelled-text only")
    try:
        options = (labelled or LabelledTextOptions()).checked()
        columns = table_columns(path)
        label_is_copy = False
        if kind is Kind.LABELLED_TEXT:
            mapping, label_is_copy = task_mapping(columns, mapping, options.task)
        kept, reasons, rows_read = _read_valid_rows(
            path, kind, _source_columns(columns, kind, mapping)
        )
        summary = None
        if kind is Kind.LABELLED_TEXT and not kept.empty:
            kept, more, summary = prepare_labelled(kept, options, f"'{path.name}'", label_is_copy)
            reasons.update(more)
    except _USER_ERRORS as error:
        raise DataImportError(str(error)) from None
    if kept.empty:
        summary = ", ".join(f"{n} {r}" for r, n in reasons.most_common()) or "the file has no rows"
        raise DataImportError(f"no valid rows in {path}: {summary}")
    canonical = conform(kept, kind)
    target = imported_frame_path(name, kind)
    write_atomic(target, lambda tmp: canonical.to_parquet(tmp, index=False))
    record_frame(
        name,
        kind,
        {
            "path": str(path.resolve()),
            "mapping": mapping,
            "rows_read": rows_read,
            "rows_kept": len(canonical),
            "rejected": dict(reasons),
            **(summary.to_manifest() if summary else {}),
        },
    )
    return ImportReport(name, kind, rows_read, len(canonical), reasons, summary)
