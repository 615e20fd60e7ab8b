"""`agora train recommender` and `agora benchmark recommender`: parse options, call the pipeline.

Bad input (unknown config key, a negative factor count, k <= 0, an unknown dataset or model)
ends with one `error: ...` sentence naming the field and exit code 2, before any training.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from data.catalog import UnknownDatasetError
from data.fetch import FetchError
from models.config import ConfigError
from training.cli_common import TrackingOption, fail
from training.recommender.config import MODEL_NAMES

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", help=f"One of: {', '.join(MODEL_NAMES)} (or set `model:` in --config)."
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

BAD_INPUT_EXIT = 2
PUBLISHED_ANCHORS = (
    "published NDCG@10 on this protocol (Microsoft Recommenders' MovieLens-100K benchmark): "
    "BiVAE 0.4751, BPR 0.4420, LightGCN 0.4176, SAR 0.3883"
)


def train_recommender_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset name, e.g. movielens-100k.")],
    model: ModelOption = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Run config YAML (see configs/recommender/).")
    ] = None,
    tune: Annotated[
        int, typer.Option("--tune", help="Optuna trials on a validation split of the train data.")
    ] = 0,
    export_dir: ExportOption = None,
    tracking_uri: TrackingOption = None,
    save_config: Annotated[
        Path | None,
        typer.Option(
            "--save-config",
            help="Write the config that reproduces this run (tuned params and how they were "
            "found included), e.g. configs/recommender/ease.tuned.yaml.",
        ),
    ] = None,
) -> None:
    """Train one recommender, evaluate it on the test split, log it to MLflow and register it."""
    from training.recommender.config import load_run_config, save_run_config
    from training.recommender.pipeline import train_recommender

    if tune < 0:
        raise fail(f"--tune must be >= 0 (the number of optuna trials), got {tune}", BAD_INPUT_EXIT)
    try:
        run_config = load_run_config(config, model)
        outcome = train_recommender(
            dataset,
            run_config,
            tune_trials=tune,
            export_dir=export_dir,
            tracking_uri=tracking_uri,
            show_progress=True,
        )
    except (ConfigError, UnknownDatasetError, FetchError) as error:
        raise fail(str(error), BAD_INPUT_EXIT) from None
    typer.echo(f"model: {outcome.model}  params: {outcome.params}")
    if outcome.tuning_best is not None:
        typer.echo(
            f"best validation {run_config.tuning.metric}@{run_config.k}: {outcome.tuning_best:.4f}"
        )
    typer.echo(f"fit: {outcome.fit_seconds:.1f} s")
    for name, value in outcome.metrics.items():
        shown = f"{value:.0f}" if name == "users_evaluated" else f"{value:.4f}"
        typer.echo(f"  {name:<20}{shown}")
    typer.echo(f"MLflow run: {outcome.run_id}")
    typer.echo(f"registered: agora-recommender version {outcome.model_version}")
    if export_dir is not None:
        typer.echo(f"exported to {export_dir}")
    if save_config is not None:
        command = " ".join(["agora", *sys.argv[1:]]) if tune else None
        effective = outcome.effective_config
        if command:
            effective = effective.model_copy(
                update={"provenance": {"command": command, **effective.provenance}}
            )
        header = (
            f"{outcome.model} on {dataset}: params tuned by `agora train recommender --tune {tune}`"
            " on a validation split carved from the training split (see provenance)."
            if tune
            else f"{outcome.model} on {dataset}: the config of MLflow run {outcome.run_id}."
        )
        save_run_config(effective, save_config, header=header)
        typer.echo(f"config written to {save_config}")


def benchmark_recommender_command(
    dataset: Annotated[str, typer.Option("--dataset")] = "movielens-100k",
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Only these models (repeatable); default all."),
    ] = None,
    variant: Annotated[
        str, typer.Option("--configs", help="Which committed configs: tuned or fast.")
    ] = "tuned",
    export_dir: ExportOption = None,
) -> None:
    """Train and evaluate every recommender on protocol P (ML-100K, 75/25 per user, seed 42)."""
    from training.recommender.benchmark import format_table, run_benchmark

    if variant not in ("tuned", "fast"):
        raise fail(f"--configs must be 'tuned' or 'fast', got {variant!r}", BAD_INPUT_EXIT)
    try:
        rows = run_benchmark(
            dataset, models=models, variant=variant, export_dir=export_dir, show_progress=True
        )
    except (ConfigError, UnknownDatasetError, FetchError) as error:
        raise fail(str(error), BAD_INPUT_EXIT) from None
    typer.echo(
        f"\n{dataset}: per-user stratified 75/25 split, seed 42, all test items relevant, "
        f"seen items excluded, full ranking, configs: {variant}"
    )
    typer.echo(format_table(rows))
    if dataset == "movielens-100k":
        typer.echo(PUBLISHED_ANCHORS)
    if export_dir is not None:
        typer.echo(
            f"exported to {export_dir}: check with "
            f"python bench/recompute_recommender_metrics.py {export_dir}"
        )


def register(train_app: typer.Typer, benchmark_app: typer.Typer) -> None:
    """Attach the recommender commands to `agora train` and `agora benchmark`."""
    train_app.command("recommender")(train_recommender_command)
    benchmark_app.command("recommender")(benchmark_recommender_command)
