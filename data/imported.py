"""Import a user's own CSV/TSV/Parquet file as a named dataset in canonical form.

Every row either lands in the canonical frame or is counted as rejected with a reason; nothing is
dropped silently. Imported datasets live beside the catalog cache and are loaded by name like
catalog datasets. Labelled texts take a further step (`data.labelled_import`): the task their
labels are for, a label map, each row's language, and the check that sentiment labels can be served.
A file is read a chunk at a time and only its mapped columns (`data.table_reader`), each chunk's
rows checked (`data.import_rows`) before the next is read, so a public export of several GB
imports in the memory its kept rows need.
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

import pandas as pd

from data import schemas as S
from data.atomic import write_atomic
from data.catalog import CATALOG
from data.event_import import IMPORT_ONLY_COLUMNS, EventMapError, EventTyping
from data.events import EVENT_TYPE
from data.file_encoding import EncodingNameError, checked_encoding, is_utf8
from data.import_rows import ColumnReading, validate_rows
from data.item_tags import read_tags
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
from data.repeated_texts import repeated_texts
from data.schemas import SCHEMAS, Kind, conform
from data.table_reader import (
    TableReadError,
    names_as_written,
    read_chunks,
    separator_note,
    table_columns,
)
from data.timestamps import TimestampFormatError

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
    notes: list[str] = field(default_factory=list)  # how columns were read; catalog mismatches

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
        if canonical in mapping:
            raise DataImportError(
                f"--map names {canonical} twice ('{mapping[canonical]}' and '{source}')"
            )
        mapping[canonical] = source
    return mapping


def _source_columns(columns: Sequence[str], kind: Kind, mapping: dict[str, str]) -> dict[str, str]:
    """Canonical column -> the file's column it is read from; refuses a mapping naming an unknown
    canonical or a missing source, and a required column that is neither mapped nor present.
    Besides the schema's columns, an import reads its IMPORT_ONLY_COLUMNS (an event log's type)."""
    schema = SCHEMAS[kind]
    known = [*schema.columns, *IMPORT_ONLY_COLUMNS.get(kind, ())]
    unknown = [c for c in mapping if c not in known]
    if unknown:
        raise DataImportError(f"'{unknown[0]}' is not a {kind} column (known: {', '.join(known)})")
    sources: dict[str, str] = {}
    for canonical in known:
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
                f"required column '{canonical}' is missing; map it with --map {canonical}=SOURCE, "
                f"SOURCE being one of the file's columns: {', '.join(columns)}"
            )
    return sources


def _read_valid_rows(
    path: Path,
    kind: Kind,
    sources: dict[str, str],
    reading: ColumnReading,
    encoding: str,
    typing: EventTyping | None = None,
) -> tuple[pd.DataFrame, Counter[str], int]:
    """The file's valid rows as canonical columns, the rejections counted, and the rows read.

    Only the mapped columns are read, a chunk at a time, and each chunk is validated before the
    next is read: memory holds the kept rows' kept columns, not the file (a full CFPB export is
    several GB, most of it rows without a narrative and columns no import keeps). With `typing`
    each chunk's rows are valued by their event type, and the pairs a complaint or a dislike
    keeps out of feeds are settled once every row is read (`data.event_import`).
    """
    parts: list[pd.DataFrame] = []
    reasons: Counter[str] = Counter()
    rows_read = 0
    for chunk in read_chunks(path, list(sources.values()), encoding=encoding):
        # Rows labelled by their place in the file, so a refusal can name them.
        index = pd.RangeIndex(rows_read, rows_read + len(chunk))
        rows_read += len(chunk)
        selected = pd.DataFrame({c: chunk[s].to_numpy() for c, s in sources.items()}, index=index)
        kept, why = validate_rows(selected, kind, reading)
        reasons.update(why)
        if typing is not None and len(kept):
            kept, why = typing.read_chunk(kept)
            reasons.update(why)
        if len(kept):
            parts.append(kept)
    reading.timestamps.check()
    logger.info("%s: %d rows read, %d valid", path.name, rows_read, sum(map(len, parts)))
    if typing is not None:
        typing.check()
    if not parts:
        columns = [c for c in sources if typing is None or c != EVENT_TYPE]
        return pd.DataFrame(columns=columns), reasons, rows_read
    kept = pd.concat(parts, ignore_index=True)
    return (typing.settle(kept) if typing is not None else kept), reasons, rows_read


_REPEATED_ITEM = f"repeated {S.ITEM_ID}: an earlier row of an item listed again"


def _last_row_per_item(
    frame: pd.DataFrame, reasons: Counter[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Each item's last row, the earlier ones counted in `reasons`, and a note when any were
    dropped. An item has one title and text; an export that appends an item's updated row
    lists it again, and its last row is the current one."""
    repeated = frame.duplicated(S.ITEM_ID, keep="last")
    if not repeated.any():
        return frame, []
    dropped = int(repeated.sum())
    reasons[_REPEATED_ITEM] += dropped
    items = frame.loc[repeated, S.ITEM_ID].nunique()
    example = frame.loc[repeated, S.ITEM_ID].iloc[0]
    appear = "1 item appears" if items == 1 else f"{items:,} items appear"
    note = (
        f"{appear} on more than one row (e.g. '{example}'): the last row of each was kept, "
        f"{dropped:,} earlier row{'s' if dropped != 1 else ''} dropped"
    )
    return frame[~repeated].reset_index(drop=True), [note]


def _catalog_overlap(name: str, kind: Kind, frame: pd.DataFrame) -> list[str]:
    """A note when dataset `name`'s interactions name items its items file lacks (checked when
    the second of the two is imported): ids spelt differently in the two files would otherwise
    surface only as a catalog twice the size, with no titles."""
    other = {Kind.INTERACTIONS: Kind.ITEMS, Kind.ITEMS: Kind.INTERACTIONS}.get(kind)
    if other is None or not imported_frame_path(name, other).exists():
        return []
    stored = pd.read_parquet(imported_frame_path(name, other), columns=[S.ITEM_ID])[S.ITEM_ID]
    interacted, listed = (
        (frame[S.ITEM_ID], stored) if kind is Kind.INTERACTIONS else (stored, frame[S.ITEM_ID])
    )
    interacted_ids = pd.Index(interacted.astype(str).unique())
    missing = interacted_ids.difference(pd.Index(listed.astype(str).unique()))
    if missing.empty:
        return []
    if len(missing) == len(interacted_ids):
        return [
            f"none of the {len(interacted_ids):,} items with interactions is in the items file "
            f"(e.g. '{missing[0]}'): check that both files spell item ids the same way"
        ]
    return [
        f"{len(missing):,} of {len(interacted_ids):,} items with interactions are not in the "
        f"items file (e.g. '{missing[0]}'): they get no title or genres"
    ]


def _replaced(name: str, kind: Kind) -> list[str]:
    """A note when dataset `name` already has a `kind` frame, which this import replaces: a
    re-import is how a dataset is corrected, but replacing another file's data should be said."""
    if not imported_frame_path(name, kind).exists():
        return []
    manifest_path = imported_root() / name / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    source = manifest.get("sources", {}).get(kind.value, {})
    origin = Path(source["path"]).name if "path" in source else "synthetic data"
    rows = f"{source['rows_kept']:,} rows from {origin}" if "rows_kept" in source else origin
    return [f"replaced the previous {kind} import of '{name}' ({rows})"]


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
    EncodingNameError,
    TimestampFormatError,
    LabelledTextError,
    LabelMapError,
    LanguageCodeError,
    SentimentLabelError,
    EventMapError,
)


def _encoding_notes(path: Path, codec: str) -> list[str]:
    """The note an import prints when a text file was read in another encoding than UTF-8."""
    if is_utf8(codec) or path.suffix.lower() == ".parquet":
        return []
    return [f"{path.name} read as {codec} text (--encoding)"]


def import_file(
    path: Path,
    kind: Kind | str,
    mapping: dict[str, str],
    name: str,
    labelled: LabelledTextOptions | None = None,
    encoding: str | None = None,
    event_map: dict[str, str] | None = None,
) -> ImportReport:
    """Validate `path` as a `kind` frame and store it as imported dataset `name`.

    `labelled` (labelled texts only; default: sentiment labels, no map, no detector) says what
    the labels are for, how their values map and how each row's language is set. `encoding`
    names a CSV or TSV's text encoding (default UTF-8; a Chinese Excel export is gb18030).
    `event_map` (interactions with a `type` column only) maps the file's event type names to
    Agora's (`data.event_import`).
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
    if kind is not Kind.INTERACTIONS and event_map:
        raise DataImportError("--event-map applies to interactions only")
    try:
        options = (labelled or LabelledTextOptions()).checked()
        codec = checked_encoding(encoding)
        written = names_as_written(table_columns(path, codec))
        columns = list(written)
        separator = separator_note(path)
        label_is_copy = False
        if kind is Kind.LABELLED_TEXT:
            mapping, label_is_copy = task_mapping(columns, mapping, options.task)
        reading = ColumnReading()
        sources = _source_columns(columns, kind, mapping)
        typing = _event_typing(sources, event_map)
        read = {canonical: written[source] for canonical, source in sources.items()}
        kept, reasons, rows_read = _read_valid_rows(path, kind, read, reading, codec, typing)
        summary = None
        if kind is Kind.LABELLED_TEXT and not kept.empty:
            kept, more, summary = prepare_labelled(kept, options, f"'{path.name}'", label_is_copy)
            reasons.update(more)
    except _USER_ERRORS as error:
        raise DataImportError(str(error)) from None
    if kept.empty:
        summary = ", ".join(f"{n} {r}" for r, n in reasons.most_common()) or "the file has no rows"
        raise DataImportError(f"no valid rows in {path}: {summary}")
    notes = [*([separator] if separator else []), *_encoding_notes(path, codec), *reading.notes]
    notes.extend(typing.notes() if typing is not None else [])
    notes.extend(_unread_columns(columns, sources, kind))
    notes.extend(summary.notes if summary is not None else ())
    if kind is Kind.ITEMS:
        kept, repeats = _last_row_per_item(kept, reasons)
        notes.extend(repeats)
        if S.GENRES in kept:
            kept[S.GENRES], how = read_tags(kept[S.GENRES])
            notes.extend(how)
    if kind is Kind.LABELLED_TEXT:
        repeated = repeated_texts(kept[S.TEXT], kept[options.label_column]).note()
        notes.extend([repeated] if repeated else [])
    canonical = conform(kept, kind)
    notes.extend(_catalog_overlap(name, kind, canonical))
    notes.extend(_replaced(name, kind))
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
            "encoding": codec,
            "rejected": dict(reasons),
            "notes": notes,
            **(summary.to_manifest() if summary else {}),
            **(typing.to_manifest() if typing is not None else {}),
        },
    )
    return ImportReport(name, kind, rows_read, len(canonical), reasons, summary, notes)


def _event_typing(sources: dict[str, str], event_map: dict[str, str] | None) -> EventTyping | None:
    """How the file's event types are read, when it has a `type` column (mapped or so named)."""
    if EVENT_TYPE not in sources:
        if event_map:
            raise DataImportError(
                f"--event-map needs the file's event-type column: map it with "
                f"--map {EVENT_TYPE}=COLUMN"
            )
        return None
    return EventTyping(event_map=dict(event_map or {}), source=sources[EVENT_TYPE])


def _unread_columns(columns: Sequence[str], sources: dict[str, str], kind: Kind) -> list[str]:
    """A note naming the file's columns the import did not read: an event log's type column or a
    rating under another name, left unmapped, would otherwise change every row's meaning
    without a word (each row read as one plain interaction)."""
    unread = [c for c in columns if c not in sources.values()]
    if not unread:
        return []
    shown = ", ".join(repr(c) for c in unread[:_SHOWN_UNREAD])
    more = len(unread) - _SHOWN_UNREAD
    shown += f" and {more} more" if more > 0 else ""
    known = [*SCHEMAS[kind].columns, *IMPORT_ONLY_COLUMNS.get(kind, ())]
    # "an items import", "a labelled-text import"
    article = "an" if str(kind)[0] in "aeiou" else "a"
    return [
        f"not imported: column{'s' if len(unread) > 1 else ''} {shown} "
        f"({article} {kind} import reads {', '.join(known)}; "
        "map a column to one with --map NAME=COLUMN)"
    ]


_SHOWN_UNREAD = 8  # unread columns a note names; the rest are counted
