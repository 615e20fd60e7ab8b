"""Triage a table of texts batch by batch, on any engine, with the served triage champions.

Each worker builds one `TriageEngine` from the champions' saved folders (the classifiers the
service's slots serve, each with the text handling its artifact records) and runs
`TriageEngine.triage_batch` on its batches: the code `/triage_batch` runs, so a text gets the
same labels and probabilities from either. Every result becomes one row of labels and
probabilities (`triage_rows`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.file_encoding import checked_encoding
from data.table_reader import read_chunks, table_columns
from models.served_models import triage_slot
from models.triage import (
    TaskModel,
    TriageConfig,
    TriageEngine,
    TriageResult,
    load_triage_config,
)
from models.triage.slot_models import load_slot_model
from training.batch.engine import EngineSettings, ShippedFolder, per_second, run_batches, ship

logger = logging.getLogger(__name__)

ROW = "row"  # the text's position in the input table
DEFAULT_TEXTS_PER_BATCH = 1000


@dataclass(frozen=True)
class TriageChampion:
    """One served triage slot's model: its saved folder, registered name and version."""

    slot: str
    folder: str | Path
    name: str
    version: str | None = None


@dataclass(frozen=True)
class _ShippedChampion:
    slot: str
    folder: ShippedFolder
    name: str
    version: str | None


@dataclass(frozen=True)
class TriageBatchOutcome:
    """One row per input text, and how many worker processes computed them in how long."""

    results: pd.DataFrame
    texts: int
    processes: int
    seconds: float

    @property
    def texts_per_second(self) -> float:
        return per_second(self.texts, self.seconds)


def build_engine(
    champions: Sequence[TriageChampion], config: TriageConfig | None = None
) -> TriageEngine:
    """The triage engine over the champions' folders, each checked against its slot the way the
    service checks a pinned model (task and language by the slot, classes by the artifact),
    with the service's triage settings `config` (default: the shipped ones)."""
    models: dict[str, dict[str, TaskModel]] = {}
    for champion in champions:
        task, language, model = load_slot_model(
            champion.slot, champion.folder, champion.name, champion.version
        )
        models.setdefault(task, {})[language] = model
    return TriageEngine(models, config or load_triage_config())


class TriageWorker:
    """One worker's triage engine, built once from the shipped champions."""

    def __init__(
        self, champions: Sequence[_ShippedChampion], config: TriageConfig | None = None
    ) -> None:
        with ExitStack() as stack:
            opened = [stack.enter_context(c.folder.opened()) for c in champions]
            self.engine = build_engine(
                [
                    TriageChampion(c.slot, folder, c.name, c.version)
                    for c, folder in zip(champions, opened, strict=True)
                ],
                config,
            )
        self.engine.warm_up()  # the language detector, before the first batch rather than in it

    def __call__(self, batch: tuple[int, Sequence[str], Sequence[str | None]]) -> pd.DataFrame:
        first_row, texts, languages = batch
        results = self.engine.triage_batch(list(texts), list(languages))
        return triage_rows(results, first_row)


def triage_rows(results: Sequence[TriageResult], first_row: int = 0) -> pd.DataFrame:
    """One row per result: status, language, each task's label and probability (sentiment's
    per-class probabilities as JSON), complaint and what decided it, urgency, queue."""
    rows = []
    for offset, result in enumerate(results):
        sentiment, complaint = result.sentiment, result.complaint
        rows.append(
            {
                ROW: first_row + offset,
                "status": result.status,
                "language": result.language.code,
                "language_confidence": result.language.confidence,
                "sentiment": sentiment.label if sentiment else None,
                "sentiment_probability": sentiment.probability if sentiment else None,
                "sentiment_probabilities": (
                    json.dumps(sentiment.probabilities, sort_keys=True) if sentiment else None
                ),
                "is_complaint": complaint.is_complaint if complaint else None,
                "complaint_probability": complaint.probability if complaint else None,
                # "inquiry": the model's complaint overruled as a question or request.
                "complaint_source": complaint.source if complaint else None,
                "reason": result.reason.label if result.reason else None,
                "reason_probability": result.reason.probability if result.reason else None,
                "category": result.category.label if result.category else None,
                "category_probability": result.category.probability if result.category else None,
                "urgency": result.urgency.level,
                "queue": result.routing.queue,
            }
        )
    frame = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    return frame.astype(_DTYPES)


_DTYPES = {
    ROW: "int64",
    "status": "string",
    "language": "string",
    "language_confidence": "float64",
    "sentiment": "string",
    "sentiment_probability": "float64",
    "sentiment_probabilities": "string",
    "is_complaint": "boolean",
    "complaint_probability": "float64",
    "complaint_source": "string",
    "reason": "string",
    "reason_probability": "float64",
    "category": "string",
    "category_probability": "float64",
    "urgency": "string",
    "queue": "string",
}
OUTPUT_COLUMNS = tuple(_DTYPES)


def triage_all(
    champions: Sequence[TriageChampion],
    texts: Sequence[str],
    languages: Sequence[str | None] | None = None,
    settings: EngineSettings | None = None,
    texts_per_batch: int = DEFAULT_TEXTS_PER_BATCH,
    config: TriageConfig | None = None,
) -> TriageBatchOutcome:
    """Triage every text (row i of the answer is texts[i]); `languages` skips detection per text,
    as the `language` of a `/triage_batch` request does; `config`: the triage settings (routing,
    urgency, ...; default the shipped ones), shipped to every worker."""
    settings = settings or EngineSettings()
    if texts_per_batch < 1:
        raise ValueError(f"texts_per_batch must be at least 1, got {texts_per_batch}")
    if not any(triage_slot(c.slot).task == "sentiment" for c in champions):
        raise ValueError("triage needs a sentiment champion: none was given")
    texts = list(texts)
    languages = list(languages) if languages is not None else [None] * len(texts)
    if len(languages) != len(texts):
        raise ValueError(f"{len(languages)} languages for {len(texts)} texts")
    shipped = [
        _ShippedChampion(c.slot, ship(c.folder, settings), c.name, c.version) for c in champions
    ]
    batches = [
        (start, texts[start : start + texts_per_batch], languages[start : start + texts_per_batch])
        for start in range(0, len(texts), texts_per_batch)
    ]
    run = run_batches(TriageWorker, (shipped, config), batches, settings)
    frames = run.results or [triage_rows([])]
    combined = pd.concat(frames, ignore_index=True)
    logger.info(
        "triaged %d texts on %d %s process(es) in %.1f s",
        len(texts),
        run.processes,
        settings.engine,
        run.seconds,
    )
    return TriageBatchOutcome(combined, len(texts), run.processes, run.seconds)


def read_texts(
    path: str | Path, text_column: str = "text", encoding: str | None = None
) -> pd.DataFrame:
    """A CSV, TSV or Parquet table of texts (by its suffix); ValueError names a missing column.

    Text files are read as `agora data import` reads them (`data.table_reader`: UTF-8 with or
    without a byte-order mark unless `encoding` names another, such as gb18030 for a Chinese
    Excel export; ';'-separated CSV recognised, every value kept as written), so
    an id column such as `00123` comes back unchanged and a text "NA" is a text. A missing
    text becomes "" (triaged as empty), so every row of the input gets a row.
    """
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        table = pd.read_parquet(path)
    else:
        codec = checked_encoding(encoding)
        columns = table_columns(path, codec)
        chunks = list(read_chunks(path, columns, encoding=codec))
        table = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)
    if text_column not in table.columns:
        found = ", ".join(map(str, table.columns))
        raise ValueError(f"{path} has no column '{text_column}' (its columns: {found})")
    table[text_column] = table[text_column].fillna("").astype(str)
    return table
