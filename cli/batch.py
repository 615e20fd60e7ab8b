"""`agora batch`: top-k for every user, triage of a table of texts, offline evaluation of a
recommender, item-text embeddings of a catalog, in one process or on Ray.

The champions are resolved the way the service resolves them (`cli.champions`); the batch
pipelines in `training.batch` then get only the models' saved folders.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.champions import (
    champion_run,
    check_registry,
    check_trained_for,
    recommender_champion,
    served_triage_champions,
)
from cli.exit_codes import BAD_INPUT_ERRORS, bad_input, step_failed
from cli.options import EncodingOption, StoreOption, TrackingOption, choices
from cli.outputs import PARQUET, check_output_file, write_parquet, write_text
from data.error_text import first_line
from data.language_codes import LanguageCodeError, normalise_language_code

if TYPE_CHECKING:
    from features.embeddings import TextEncoder
    from training.batch import EngineSettings

app = typer.Typer(
    help="Batch work with the champions: recommendations for every user, triage of a table, "
    "offline evaluation of a recommender, item-text embeddings of a catalog. "
    "Runs in this process (--engine local) or on a Ray cluster (--engine ray [--address]).",
    no_args_is_help=True,
)

EngineName = choices("EngineName", ("local", "ray"))
LOCAL_ENGINE = EngineName("local")
EngineOption = Annotated[
    EngineName,
    typer.Option(
        help="local: this process. ray: Ray actors, on the cluster at --address or on a local "
        "Ray runtime with --workers CPUs."
    ),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        help="A running Ray cluster to join (HEAD:PORT, as `ray start --head` prints; 'auto' "
        "finds one on this machine). Needs --engine ray."
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Worker processes (default: one per core, or per CPU of the --address cluster).",
    ),
]


def _engine_settings(engine: str, address: str | None, workers: int | None) -> EngineSettings:
    from training.batch import EngineSettings

    try:
        return EngineSettings(engine=str(engine), address=address, workers=workers)  # type: ignore[arg-type]
    except ValueError as error:
        raise bad_input(error) from None


def _finish(started: float, engine: str, processes: int) -> str:
    return f"{processes} worker process(es) ({engine}); {time.perf_counter() - started:.1f} s wall"


def _retired_items(store_url: str | None) -> frozenset[str]:
    """The items retired in the store, said on the console. A `--store-url` must hold a store;
    without one, a default store that does not exist yet means none (and says so)."""
    from data.store import Store, StoreError

    try:
        store = Store(store_url, must_exist=True)
    except StoreError as error:
        if store_url is not None:
            raise bad_input(error) from None
        typer.echo(f"retired items not left out: {first_line(error)} (give --store-url)")
        return frozenset()
    retired = store.retirements.retired_ids()
    store.engine.dispose()
    typer.echo(f"{len(retired)} retired items left out")
    return retired


@app.command("recommend")
def recommend_command(
    dataset: Annotated[str, typer.Option(help="Dataset whose every user gets a list.")],
    out: Annotated[
        Path, typer.Option(help="Parquet file to write (user_id, rank, item_id, score).")
    ],
    k: Annotated[int, typer.Option(min=1, max=1000, help="Items per user.")] = 10,
    model: Annotated[
        str | None,
        typer.Option(help="Registered model whose @champion to use (default: the dataset's)."),
    ] = None,
    engine: EngineOption = LOCAL_ENGINE,
    address: AddressOption = None,
    workers: WorkersOption = None,
    users_per_batch: Annotated[int, typer.Option(min=1, help="Users per batch.")] = 256,
    tracking_uri: TrackingOption = None,
    store_url: StoreOption = None,
) -> None:
    """Top-k for every user of DATASET with its @champion recommender, written to Parquet.
    Items retired in the store (`POST /items/retire`) are left out, as every feed leaves them."""
    from data.schemas import USER_ID
    from models.served_models import recommender_registered_name
    from serving.champion_cache import ChampionUnavailableError
    from training.batch import recommend_all
    from training.recommender.steps import load_dataset

    started = time.perf_counter()
    settings = _engine_settings(engine, address, workers)
    check_registry(tracking_uri)  # both before the work, not after it
    check_output_file(out, "--out", PARQUET)
    retired = _retired_items(store_url)
    try:
        interactions, _ = load_dataset(dataset)
    except BAD_INPUT_ERRORS as error:
        raise bad_input(error) from None
    name = model or recommender_registered_name(dataset)
    try:
        version, source, folder = recommender_champion(name, tracking_uri)
    except ChampionUnavailableError as error:
        raise step_failed(error) from None
    check_trained_for(name, version, dataset, tracking_uri)
    typer.echo(f"{name} v{version} ({source}) for {interactions[USER_ID].nunique()} users")
    try:
        outcome = recommend_all(
            folder,
            interactions[USER_ID].unique().tolist(),
            k,
            settings,
            users_per_batch,
            retired=retired,
        )
    except ConnectionError as error:  # no Ray cluster at --address
        raise step_failed(error) from None
    write_parquet(outcome.recommendations, out)
    rows = len(outcome.recommendations)
    rows_per_second = rows / outcome.seconds if outcome.seconds else float("inf")
    typer.echo(
        f"{outcome.users} users, {rows} rows -> {out} "
        f"({outcome.unknown_users} users unknown to the model, left out)"
    )
    typer.echo(
        f"throughput: {outcome.users_per_second:,.0f} users/s, "
        f"{rows_per_second:,.0f} rows/s over {outcome.seconds:.2f} s "
        f"on {_finish(started, settings.engine, outcome.processes)}"
    )


@app.command("triage")
def triage_command(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="CSV or Parquet table of texts.")
    ],
    out: Annotated[Path, typer.Option(help="Parquet file to write (one row per text).")],
    text_column: Annotated[str, typer.Option(help="The column holding the texts.")] = "text",
    language: Annotated[
        str | None,
        typer.Option(help="ISO 639-1 language of every text (skips detection, as /triage_batch)."),
    ] = None,
    keep_columns: Annotated[
        list[str] | None,
        typer.Option("--keep-column", help="Input column copied to the output (repeatable)."),
    ] = None,
    engine: EngineOption = LOCAL_ENGINE,
    address: AddressOption = None,
    workers: WorkersOption = None,
    texts_per_batch: Annotated[int, typer.Option(min=1, help="Texts per batch.")] = 1000,
    tracking_uri: TrackingOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Triage every text of INPUT with the served triage champions, written to Parquet (with
    the service's triage settings: AGORA_TRIAGE_CONFIG, if set)."""
    from serving.served_models import service_triage_config
    from training.batch import read_texts, triage_all
    from training.batch.triage import OUTPUT_COLUMNS

    started = time.perf_counter()
    settings = _engine_settings(engine, address, workers)
    check_registry(tracking_uri)
    check_output_file(out, "--out", PARQUET)
    # A kept column beside the output's own, or kept twice, could not be inserted after the work.
    clashing = sorted({c for c in keep_columns or [] if c in OUTPUT_COLUMNS})
    if clashing:
        raise bad_input(
            f"--keep-column {', '.join(clashing)}: the output has its own column of that name"
        )
    if len(set(keep_columns or [])) < len(keep_columns or []):
        raise bad_input("--keep-column names a column twice")
    if language is not None:
        # As `agora data import --language` and /triage read it: "zh-CN" is Chinese. Passed
        # as given, it made every row unsupported_language.
        try:
            language = normalise_language_code(language) or None
        except LanguageCodeError as error:
            raise bad_input(error) from None
    try:
        table = read_texts(input_path, text_column, encoding)
    except (OSError, ValueError) as error:
        raise bad_input(error) from None
    missing = [c for c in keep_columns or [] if c not in table.columns]
    if missing:
        raise bad_input(f"{input_path} has no column(s) {', '.join(missing)}")
    try:
        config = service_triage_config()  # the service's routing and urgency, if it has its own
    except ValueError as error:
        raise bad_input(error) from None
    champions = served_triage_champions(tracking_uri)
    typer.echo(
        f"{len(table)} texts; champions: "
        + ", ".join(f"{c.slot}={c.name} v{c.version}" for c in champions)
    )
    try:
        outcome = triage_all(
            champions,
            table[text_column].tolist(),
            [language] * len(table),
            settings,
            texts_per_batch,
            config,
        )
    except (ValueError, ConnectionError) as error:  # no sentiment champion; no cluster
        raise step_failed(error) from None
    results = outcome.results
    for column in reversed(keep_columns or []):
        results.insert(0, column, table[column].to_numpy())
    write_parquet(results, out)
    typer.echo(f"{outcome.texts} texts -> {out}")
    typer.echo(
        f"throughput: {outcome.texts_per_second:,.0f} rows/s over {outcome.seconds:.2f} s "
        f"on {_finish(started, settings.engine, outcome.processes)}"
    )


@app.command("evaluate")
def evaluate_command(
    dataset: Annotated[str, typer.Option(help="Dataset whose test split is scored.")],
    model: Annotated[
        str | None,
        typer.Option(help="Registered model whose @champion to score (default: the dataset's)."),
    ] = None,
    k: Annotated[int, typer.Option(min=1, max=1000, help="The cut-off of the metrics.")] = 10,
    max_users: Annotated[
        int | None,
        typer.Option(min=1, help="Score a seeded sample of this many test users (default: all)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the user sample.")] = 0,
    engine: EngineOption = LOCAL_ENGINE,
    address: AddressOption = None,
    workers: WorkersOption = None,
    users_per_batch: Annotated[int, typer.Option(min=1, help="Users per batch.")] = 256,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the metrics to this JSON file.")
    ] = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Score DATASET's @champion recommender on the test split it was trained beside, its
    lists computed on the engine (every test user unless --max-users)."""
    import json

    from models.served_models import recommender_registered_name
    from serving.champion_cache import ChampionUnavailableError
    from training.batch import evaluate_on_engine
    from training.recommender.config import SplitConfig
    from training.recommender.steps import prepare_split

    started = time.perf_counter()
    settings = _engine_settings(engine, address, workers)
    check_registry(tracking_uri)
    if json_out is not None:
        check_output_file(json_out, "--json")
    name = model or recommender_registered_name(dataset)
    from mlflow.exceptions import MlflowException

    try:
        version, source, folder = recommender_champion(name, tracking_uri)
        check_trained_for(name, version, dataset, tracking_uri)
        run = champion_run(name, version, tracking_uri)
    except ChampionUnavailableError as error:
        raise step_failed(error) from None
    except MlflowException as error:  # the cached champion is there, its run cannot be read
        raise step_failed(
            f"{name} v{version}'s training run (its split) could not be read from the "
            f"registry: {error.message}"
        ) from None
    except ValueError as error:
        raise bad_input(error) from None
    try:
        data = prepare_split(dataset, SplitConfig(train_ratio=run.train_ratio, seed=run.seed))
    except BAD_INPUT_ERRORS as error:
        raise bad_input(error) from None
    if run.eval_fingerprint is not None and run.eval_fingerprint != data.fingerprint():
        # The same name over other data (re-imported, regenerated): its "test split" would
        # score the model on other pairs, some perhaps among those it was trained on.
        raise bad_input(
            f"{dataset}'s test split is not the one {name} v{version} was evaluated on at "
            "training (the dataset was re-imported or regenerated since, or the version "
            "predates how it is split now): retrain it on the dataset as it is"
        )
    typer.echo(
        f"{name} v{version} ({source}) on {dataset}'s test split "
        f"(train_ratio {run.train_ratio}, seed {run.seed})"
    )
    try:
        outcome = evaluate_on_engine(
            folder, data.train, data.test, k, settings=settings, max_users=max_users,
            seed=seed, users_per_batch=users_per_batch,
        )  # fmt: skip
    except ConnectionError as error:  # no Ray cluster at --address
        raise step_failed(error) from None
    evaluation = outcome.evaluation
    scored = len(evaluation.recommendations)
    sample = f" (a seeded sample, seed {seed})" if evaluation.sampled else ""
    typer.echo(f"users scored: {scored} of {evaluation.users_total}{sample}")
    for metric, value in evaluation.metrics.items():
        shown = f"{value:.0f}" if metric == "users_evaluated" else f"{value:.4f}"
        typer.echo(f"  {metric:<20}{shown}")
    low, high = evaluation.ndcg_ci95
    typer.echo(f"  ndcg@{k} 95% interval {low:.4f}-{high:.4f}")
    at_training = run.metrics.get(f"ndcg_at_{k}")
    if at_training is not None:
        typer.echo(f"  ndcg@{k} registered with v{version} at training: {at_training:.4f}")
    typer.echo(
        f"throughput: {outcome.users_per_second:,.0f} users/s over {outcome.list_seconds:.2f} s "
        f"on {_finish(started, settings.engine, outcome.processes)}"
    )
    if json_out is not None:
        report = {
            "model": name, "version": version, "dataset": dataset, "k": k,
            "users_scored": scored, "users_total": evaluation.users_total,
            "metrics": evaluation.metrics, "ndcg_ci95": [low, high],
        }  # fmt: skip
        write_text(json.dumps(report, indent=2), json_out)


@app.command("embed")
def embed_command(
    dataset: Annotated[str, typer.Option(help="Dataset whose item texts are embedded.")],
    encoder: Annotated[
        str | None,
        typer.Option(help="Sentence encoder: a name or a local path (default: the recommenders')."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write item_id, vector to this Parquet file.")
    ] = None,
    engine: EngineOption = LOCAL_ENGINE,
    address: AddressOption = None,
    workers: WorkersOption = None,
    texts_per_batch: Annotated[int, typer.Option(min=1, help="Texts per batch.")] = 256,
) -> None:
    """Embed every item text of DATASET (as the embedding recommender assembles them) on the
    engine, into the embedding cache the recommenders read (AGORA_EMBEDDING_CACHE)."""
    import numpy as np
    import pandas as pd

    from data.loaders import available_kinds, load_items
    from data.schemas import ITEM_ID, Kind
    from features.embeddings import DEFAULT_ENCODER, EmbeddingCache
    from features.item_text import assemble_item_texts
    from training.batch import embed_all

    started = time.perf_counter()
    settings = _engine_settings(engine, address, workers)
    if out is not None:
        check_output_file(out, "--out", PARQUET)
    encoder = encoder or DEFAULT_ENCODER
    text_encoder = _loaded_encoder(encoder)
    try:
        if Kind.ITEMS not in available_kinds(dataset):
            raise bad_input(f"dataset '{dataset}' has no items table: no item texts to embed")
        items = load_items(dataset)
    except BAD_INPUT_ERRORS as error:
        raise bad_input(error) from None
    ids = items[ITEM_ID].astype(str).drop_duplicates().tolist()
    texts = assemble_item_texts(items, ids)
    cache = EmbeddingCache(text_encoder)
    todo = cache.missing([text for text in texts if text])
    typer.echo(
        f"{dataset}: {len(ids)} items, {sum(1 for t in texts if t)} with text, {len(todo)} texts "
        f"not yet in the cache {cache.path}"
    )
    if todo:
        try:
            outcome = embed_all(todo, encoder, settings, texts_per_batch)
        except ConnectionError as error:  # no Ray cluster at --address
            raise step_failed(error) from None
        added = cache.add(todo, outcome.vectors)
        typer.echo(
            f"embedded {added} texts: {outcome.texts_per_second:,.0f} texts/s over "
            f"{outcome.seconds:.2f} s on {_finish(started, settings.engine, outcome.processes)}"
        )
    if out is not None:
        present = [i for i, text in enumerate(texts) if text]
        vectors = cache.encode([texts[i] for i in present]) if present else np.zeros((0, 0))
        frame = pd.DataFrame(
            {ITEM_ID: [ids[i] for i in present], "vector": [row.tolist() for row in vectors]}
        )
        write_parquet(frame, out)
        typer.echo(f"{len(frame)} item vectors -> {out}")


def _loaded_encoder(encoder: str) -> TextEncoder:
    """`encoder` loaded here first, so a name or folder that holds no sentence encoder ends the
    command in one sentence (exit 2) before any work: every worker loads it by that name, and
    the first one's failure reached the user as a transformers traceback."""
    from features.embeddings import TextEncoder

    text_encoder = TextEncoder(encoder)
    try:
        _ = text_encoder.model
    except (OSError, ValueError) as error:
        cause = first_line(error).rstrip(".")
        raise bad_input(
            f"--encoder {encoder}: no sentence encoder loads from it ({cause}); give a local "
            "folder of a sentence-transformers model, or a name already in the Hugging Face cache"
        ) from None
    return text_encoder
