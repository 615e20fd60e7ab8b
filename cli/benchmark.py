"""`agora benchmark recommender` and `agora benchmark triage`: every model of a family on one
fixed protocol, one table. Bad input exits with 2 before any training (see `cli.exit_codes`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.exit_codes import BAD_INPUT_ERRORS, bad_input, step_failed
from cli.options import (
    DEFAULT_CONFIG_VARIANT,
    ConfigVariant,
    ExportOption,
    RecommenderName,
)
from cli.outputs import check_output_folder
from models.classifiers.catalog import ClassifierType

app = typer.Typer(
    help="Train and evaluate every model of a family on a fixed protocol; print one table.",
    no_args_is_help=True,
)

PUBLISHED_ANCHORS = (
    "published NDCG@10 on this protocol (Microsoft Recommenders' MovieLens-100K benchmark): "
    "BiVAE 0.4751, BPR 0.4420, LightGCN 0.4176, SAR 0.3883"
)


@app.command("recommender")
def benchmark_recommender_command(
    dataset: Annotated[str, typer.Option("--dataset")] = "movielens-100k",
    models: Annotated[
        list[RecommenderName] | None,
        typer.Option("--model", help="Only these models (repeatable); default all."),
    ] = None,
    variant: Annotated[
        ConfigVariant, typer.Option("--configs", help="Which committed configs.")
    ] = DEFAULT_CONFIG_VARIANT,
    export_dir: ExportOption = None,
) -> None:
    """Train and evaluate every recommender on protocol P (ML-100K, 75/25 per user, seed 42)."""
    from training.recommender.benchmark import format_table, run_benchmark

    if export_dir is not None:
        check_output_folder(export_dir, "--export-dir")  # before the benchmark, not after it
    try:
        rows = run_benchmark(
            dataset,
            models=None if models is None else [m.value for m in models],
            variant=variant.value,
            export_dir=export_dir,
            show_progress=True,
        )
    except BAD_INPUT_ERRORS as error:
        raise bad_input(error) from None
    typer.echo(
        f"\n{dataset}: per-user stratified 75/25 split, seed 42, all test items relevant, "
        f"seen items excluded, full ranking, configs: {variant.value}"
    )
    typer.echo(format_table(rows))
    if dataset == "movielens-100k":
        typer.echo(PUBLISHED_ANCHORS)
    if export_dir is not None:
        typer.echo(
            f"exported to {export_dir}: check with "
            f"python bench/recompute_recommender_metrics.py {export_dir}"
        )


def _kinds(models: str) -> list[str]:
    """'tfidf, embedding' -> ['tfidf', 'embedding']; an unknown kind is bad input."""
    known = [kind.value for kind in ClassifierType]
    chosen = [name.strip() for name in models.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        shown = ", ".join(unknown) or "(none)"
        raise bad_input(f"--models: {shown} not among {', '.join(known)}")
    return chosen


@app.command("triage")
def benchmark_triage_command(
    models: Annotated[str, typer.Option(help="Comma-separated classifier kinds.")] = ",".join(
        kind.value for kind in ClassifierType
    ),
    splits: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated DATASET/TASK splits (default: airline-sentiment/"
            "sentiment, airline-sentiment/reason, waimai-10k/sentiment, "
            "bitext-intents/category)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML with text/tfidf/embedding/finetune/ensemble sections."),
    ] = None,
    save_dir: Annotated[
        Path | None, typer.Option(help="Save every trained model under this folder.")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Also write the rows as JSON here.")] = None,
    per_class: Annotated[
        bool, typer.Option("--per-class", help="Also print each class's F1 per split.")
    ] = False,
) -> None:
    """Train and evaluate every triage model on the fixed splits; print one table."""
    from training.triage.benchmark import (
        BENCHMARK_SPLITS,
        format_per_class,
        format_table,
        parse_split_name,
        run_benchmark,
        write_json,
    )
    from training.triage.config import load_config

    chosen = _kinds(models)
    try:
        settings = load_config(config)
        wanted = (
            BENCHMARK_SPLITS
            if splits is None
            else tuple(parse_split_name(s.strip()) for s in splits.split(",") if s.strip())
        )
    except (*BAD_INPUT_ERRORS, ValueError) as error:
        raise bad_input(error) from None
    try:
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
    except (*BAD_INPUT_ERRORS, ValueError) as error:
        raise bad_input(error) from None
    except OSError as error:
        raise step_failed(error) from None
    typer.echo(format_table(rows))
    if per_class:
        typer.echo("\n" + format_per_class(rows))
    if output is not None:
        write_json(rows, output)
