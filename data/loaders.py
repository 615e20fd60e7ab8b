"""Read catalog and imported datasets into canonical frames (see data.schemas)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data import schemas as S
from data.catalog import CATALOG, UnknownDatasetError
from data.fetch import require
from data.id_categories import read_parquet_with_id_categories, with_sorted_categories
from data.imported import imported_frame_path, list_imported
from data.schemas import Kind, conform


def _movielens_interactions(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        folder / "u.data",
        sep="\t",
        names=[S.USER_ID, S.ITEM_ID, S.RATING, S.TIMESTAMP],
        dtype={S.USER_ID: str, S.ITEM_ID: str, S.RATING: "float64", S.TIMESTAMP: "int64"},
    )
    return conform(frame, Kind.INTERACTIONS)


def _movielens_items(folder: Path) -> pd.DataFrame:
    genre_names = [
        line.split("|")[0]
        for line in (folder / "u.genre").read_text(encoding="latin-1").splitlines()
        if line.strip()
    ]
    columns = [S.ITEM_ID, S.TITLE, "release_date", "video_release_date", "imdb_url", *genre_names]
    raw = pd.read_csv(
        folder / "u.item", sep="|", names=columns, encoding="latin-1", dtype={S.ITEM_ID: str}
    )
    flags = raw[genre_names].to_numpy(dtype=bool)
    raw[S.GENRES] = [
        S.TAG_SEPARATOR.join(
            g for g, on in zip(genre_names, row, strict=True) if on and g != "unknown"
        )
        for row in flags
    ]
    raw[S.ITEM_TEXT] = ""
    return conform(raw[[S.ITEM_ID, S.TITLE, S.ITEM_TEXT, S.GENRES, "release_date"]], Kind.ITEMS)


def _airline_texts(folder: Path) -> pd.DataFrame:
    raw = pd.read_csv(folder / "Tweets.csv", dtype={"tweet_id": str})
    frame = pd.DataFrame(
        {
            S.TEXT: raw["text"],
            S.LABEL: raw["airline_sentiment"],
            S.REASON: raw["negativereason"],
            S.CATEGORY: "",
            S.LANGUAGE: "en",
            "airline": raw["airline"],
            "source_id": raw["tweet_id"],
        }
    )
    return conform(frame, Kind.LABELLED_TEXT)


def _bitext_texts(folder: Path) -> pd.DataFrame:
    # The publisher's CSV starts with a UTF-8 byte-order mark.
    raw = pd.read_csv(folder / "TrainingdatasetBitextsample.csv", encoding="utf-8-sig")
    frame = pd.DataFrame(
        {
            S.TEXT: raw["utterance"],
            S.LABEL: raw["intent"],
            S.REASON: "",
            S.CATEGORY: raw["category"],
            S.LANGUAGE: "en",
            "flags": raw["flags"],
        }
    )
    return conform(frame, Kind.LABELLED_TEXT)


def _cfpb_texts(folder: Path) -> pd.DataFrame:
    # The sample's first two lines are an unzip banner, not data.
    raw = pd.read_csv(folder / "complaints_sample.csv", skiprows=2, dtype=str)
    frame = pd.DataFrame(
        {
            S.TEXT: raw["Consumer complaint narrative"],  # empty for rows without a narrative
            S.LABEL: raw["Product"],
            S.REASON: raw["Issue"],
            S.CATEGORY: raw["Product"],
            S.LANGUAGE: "en",
            "sub_product": raw["Sub-product"],
            "sub_issue": raw["Sub-issue"],
            "timely_response": raw["Timely response?"],
            "source_id": raw["Complaint ID"],
        }
    )
    return conform(frame, Kind.LABELLED_TEXT)


def _waimai_texts(folder: Path) -> pd.DataFrame:
    raw = pd.read_csv(folder / "waimai_10k.csv", dtype={"label": int})
    frame = pd.DataFrame(
        {
            S.TEXT: raw["review"],
            S.LABEL: raw["label"].map({0: "negative", 1: "positive"}),
            S.LANGUAGE: "zh",
        }
    )
    return conform(frame, Kind.LABELLED_TEXT)


_READERS: dict[tuple[str, Kind], Callable[[Path], pd.DataFrame]] = {
    ("movielens-100k", Kind.INTERACTIONS): _movielens_interactions,
    ("movielens-100k", Kind.ITEMS): _movielens_items,
    ("airline-sentiment", Kind.LABELLED_TEXT): _airline_texts,
    ("bitext-intents", Kind.LABELLED_TEXT): _bitext_texts,
    ("cfpb-complaints", Kind.LABELLED_TEXT): _cfpb_texts,
    ("waimai-10k", Kind.LABELLED_TEXT): _waimai_texts,
}


def available_kinds(name: str) -> tuple[Kind, ...]:
    """The kinds of frame dataset `name` provides (catalog or imported)."""
    if name in CATALOG:
        return CATALOG[name].kinds
    imported = list_imported()
    if name in imported:
        return tuple(Kind(k) for k in imported[name]["kinds"])
    raise UnknownDatasetError(
        f"unknown dataset '{name}'; catalog: {', '.join(sorted(CATALOG))}; "
        f"imported: {', '.join(sorted(imported)) or 'none'}"
    )


def load(name: str, kind: Kind | str) -> pd.DataFrame:
    """Dataset `name` as a canonical frame of `kind`, fetching catalog data when it is missing."""
    kind = Kind(kind)
    kinds = available_kinds(name)
    if kind not in kinds:
        offered = ", ".join(kinds)
        raise UnknownDatasetError(f"dataset '{name}' has no {kind} frame (it has: {offered})")
    if name in CATALOG:
        return _READERS[(name, kind)](require(name))
    return conform(pd.read_parquet(imported_frame_path(name, kind)), kind)


def load_interactions(name: str, id_categories: bool = False) -> pd.DataFrame:
    """Dataset `name`'s interactions; `id_categories` reads the user and item ids as sorted
    categoricals (`data.id_categories`): the same ids, codes without hashing each row's text."""
    if not id_categories:
        return load(name, Kind.INTERACTIONS)
    if name in CATALOG or Kind.INTERACTIONS not in available_kinds(name):
        return with_sorted_categories(load(name, Kind.INTERACTIONS))  # or load's error
    path = imported_frame_path(name, Kind.INTERACTIONS)
    return with_sorted_categories(conform(read_parquet_with_id_categories(path), Kind.INTERACTIONS))


def load_items(name: str) -> pd.DataFrame:
    return load(name, Kind.ITEMS)


def load_labelled_texts(name: str) -> pd.DataFrame:
    return load(name, Kind.LABELLED_TEXT)
