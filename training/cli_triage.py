"""`agora train triage` and `agora benchmark triage`: thin wrappers over training.triage.

Heavy modules (MLflow, torch, scikit-learn) are imported inside the commands, so `agora --help`
stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from training.cli_common import TrackingOption, fail

TASKS = ("sentiment", "reason", "category")
MODELS = ("tfidf", "embedding", "finetune", "ensemble")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="YAML with text/tfidf/embedding/finetune/ensemble sections."),
]


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise fail(f"{option}: '{value}' is not one of {', '.join(allowed)}", 1)
    return value


def train_triage_command(
    task: Annotated[str, typer.Option(help="sentiment | reason | category")] = "sentiment",
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset name (default: airline-sentiment, or bitext-intents for category)."
        ),
    ] = None,
    model: Annotated[str, typer.Option(help="tfidf | embedding | finetune | ensemble")] = "tfidf",
    config: ConfigOption = None,
    tracking_uri: TrackingOption = None,
    registered_name: Annotated[
        str | None,
        typer.Option(help="Registry name (default: agora-triage-<task>[-<language>])."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(help="Smoke run: only the first N train and N/4 test rows of the split."),
    ] = None,
) -> None:
    """Train a triage classifier on its fixed split, log it to MLflow and register it."""
    from models.config import ConfigError
    from training.triage.config import load_config
    from training.triage.pipeline import train_triage

    _choice(task, TASKS, "--task")
    _choice(model, MODELS, "--model")
    try:
        settings = load_config(config)  # validated before any data is read
        result = train_triage(
            task, dataset, model, settings, tracking_uri, registered_name, limit=limit
        )
    except (ConfigError, ValueError, OSError) as error:
        raise fail(str(error), 1) from None
    report = result.trained.report
    typer.echo(
        f"{result.registered_name} version {result.version} (run {result.run_id}): "
        f"accuracy {report.accuracy:.4f}, macro-F1 {report.macro_f1:.4f}, ECE {report.ece:.4f}"
    )


def benchmark_triage_command(
    models: Annotated[str, typer.Option(help="Comma-separated models to compare.")] = ",".join(
        MODELS
    ),
    splits: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated DATASET/TASK splits (default: airline-sentiment/"
            "sentiment, airline-sentiment/reason, waimai-10k/sentiment, "
            "bitext-intents/category)."
        ),
    ] = None,
    config: ConfigOption = None,
    save_dir: Annotated[
        Path | None, typer.Option(help="Save every trained model under this folder.")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Also write the rows as JSON here.")] = None,
) -> None:
    """Train and evaluate every triage model on the fixed splits; print one table."""
    from models.config import ConfigError
    from training.triage.benchmark import (
        BENCHMARK_SPLITS,
        format_table,
        parse_split_name,
        run_benchmark,
        write_json,
    )
    from training.triage.config import load_config

    chosen = [m.strip() for m in models.split(",") if m.strip()]
    for name in chosen:
        _choice(name, MODELS, "--models")
    try:
        settings = load_config(config)
        wanted = (
            BENCHMARK_SPLITS
            if splits is None
            else tuple(parse_split_name(s.strip()) for s in splits.split(",") if s.strip())
        )
        rows = run_benchmark(
            chosen,
            wanted,
            settings,
            save_dir,
            on_row=lambda row: typer.echo(
                f"  {row.split} {row.model}: accuracy {row.accuracy:.4f}, "
                f"macro-F1 {row.macro_f1:.4f}",
                err=True,
            ),
        )
    except (ConfigError, ValueError, OSError) as error:
        raise fail(str(error), 1) from None
    typer.echo(format_table(rows))
    if output is not None:
        write_json(rows, output)


def register(train_app: typer.Typer, benchmark_app: typer.Typer) -> None:
    """Attach the triage commands to the `agora train` and `agora benchmark` groups."""
    train_app.command("triage")(train_triage_command)
    benchmark_app.command("triage")(benchmark_triage_command)
