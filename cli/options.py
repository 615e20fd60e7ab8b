"""Options several command groups share, and the closed sets they choose from as Enums.

Each Enum is built from the table the lower layers own, never from a copy of it, so a model
type or a task added there shows up in `--help` and is accepted here without an edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, get_args

import typer

from models.classifiers.catalog import ClassifierType
from models.recommenders import RECOMMENDER_TYPES
from training.recommender.benchmark import Variant


def choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """A StrEnum whose members' names and values are `values` (what typer shows and accepts)."""
    return StrEnum(name, [(value, value) for value in values])  # type: ignore[return-value]


RecommenderName = choices("RecommenderName", RECOMMENDER_TYPES)
ConfigVariant = choices("ConfigVariant", get_args(Variant))
# The defaults: TF-IDF trains in seconds and is strong enough; the tuned configs are the published.
DEFAULT_CLASSIFIER_KIND = ClassifierType.TFIDF
DEFAULT_CONFIG_VARIANT = ConfigVariant("tuned")

EncodingOption = Annotated[
    str | None,
    typer.Option(
        help="Text encoding of a CSV or TSV (default UTF-8, with or without a byte-order mark). "
        "Excel on Chinese Windows saves 'CSV' as gb18030 (GBK); big5, shift_jis, cp1252 ...",
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store-url",
        help="The store of events, triages and resolutions (default: $AGORA_STORE_URL, else "
        "SQLite under $AGORA_HOME).",
    ),
]
TrackingOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite under $AGORA_HOME).",
    ),
]

ExportOption = Annotated[
    Path | None,
    typer.Option(
        "--export-dir",
        help="Write train.csv, test.csv, recs*.csv and metrics*.json here "
        "(check them with bench/recompute_recommender_metrics.py).",
    ),
]
