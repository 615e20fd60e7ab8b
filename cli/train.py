"""`agora train recommender` and `agora train triage`: parse options, call the pipeline.

Bad input (an unknown config key, a negative factor count, k <= 0, an unknown dataset, model or
task) ends with one sentence naming the field and exit code 2, before any training. Heavy modules
(MLflow, torch, scikit-learn) are imported inside the commands, so `agora --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.exit_codes import BAD_INPUT_ERRORS, bad_input, step_failed
from cli.options import (
    DEFAULT_CLASSIFIER_KIND,
    ExportOption,
    RecommenderName,
    TrackingOption,
)
from cli.outputs import check_output_file, check_output_folder
from features.text_splits import Task, split_notes
from models.classifiers.catalog import ClassifierType

if TYPE_CHECKING:
    from training.recommender.config import RecommenderRunConfig
    from training.recommender.pipeline import TrainingOutcome

app = typer.Typer(help="Train a model, log it to MLflow and register it.", no_args_is_help=True)


@app.command("recommender")
def train_recommender_command(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset name, e.g. movielens-100k.")],
    model: Annotated[
        RecommenderName | None,
        typer.Option("--model", help="The model type (or set `model:` in --config)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Run config YAML (see configs/recommender/).")
    ] = None,
    tune: Annotated[
        int, typer.Option("--tune", help="Optuna trials on a validation split of the train data.")
    ] = 0,
    budget_minutes: Annotated[
        float | None,
        typer.Option(
            "--budget-minutes",
            help="Tune on a validation split of the train data within this many minutes (0: no "
            "tuning). Default: 3 when neither --config nor --tune is given and no committed "
            "tuned config belongs to the dataset, else 0. A hybrid that loses to one of its "
            "components on validation is replaced by that component.",
        ),
    ] = None,
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
    from models.served_models import recommender_registered_name
    from training.recommender.config import (
        DEFAULT_BUDGET_MINUTES,
        committed_tuned_config,
        load_run_config,
    )
    from training.recommender.steps import SplitInBackground
    from training.recommender.tuning import validated_params

    if tune < 0:
        raise bad_input(f"--tune must be >= 0 (the number of optuna trials), got {tune}")
    if budget_minutes is not None and budget_minutes < 0:
        raise bad_input(f"--budget-minutes must be >= 0 (0: no tuning), got {budget_minutes}")
    if tune and budget_minutes:
        raise bad_input(
            "--tune (a number of trials) and --budget-minutes are alternatives; give one"
        )
    # Both are written after the model is registered: a path that cannot be written is
    # refused before the training, not after it.
    if export_dir is not None:
        check_output_folder(export_dir, "--export-dir")
    if save_config is not None:
        check_output_file(save_config, "--save-config")
    try:
        if config is None and tune == 0 and budget_minutes is None and model is not None:
            config = committed_tuned_config(model.value, dataset)
            if config is not None:
                typer.echo(f"using {config} (tuned on {dataset}; --budget-minutes 3 re-tunes)")
        if budget_minutes is None:
            budget_minutes = DEFAULT_BUDGET_MINUTES if config is None and tune == 0 else 0.0
        run_config = load_run_config(config, None if model is None else model.value)
        validated_params(run_config, tune, budget_minutes)  # a bad config fails before loading
        # The dataset is read and split while the pipeline's modules (MLflow) are imported:
        # 20M interactions on 2 cores, about 1-2 s of the command's wall clock.
        split = SplitInBackground(dataset, run_config.split)
        from training.recommender.pipeline import train_recommender

        outcome = train_recommender(
            dataset,
            run_config,
            tune_trials=tune,
            export_dir=export_dir,
            tracking_uri=tracking_uri,
            show_progress=True,
            split=split,
            budget_minutes=budget_minutes,
        )
    except BAD_INPUT_ERRORS as error:
        raise bad_input(error) from None
    if outcome.budgeted is not None:
        for line in outcome.budgeted.summary():
            typer.echo(line)
    typer.echo(f"model: {outcome.model}  params: {outcome.params}")
    if outcome.text_encoder_note is not None:
        typer.echo(f"item texts read by {outcome.text_encoder_note}")
    if outcome.tuning_best is not None:
        typer.echo(
            f"best validation {run_config.tuning.metric}@{run_config.k}: {outcome.tuning_best:.4f}"
        )
    typer.echo(f"fit: {outcome.fit_seconds:.1f} s  peak memory: {outcome.peak_memory_mib:.0f} MiB")
    steps = outcome.step_seconds
    typer.echo("time by step: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    for name, value in outcome.metrics.items():
        shown = f"{value:.0f}" if name == "users_evaluated" else f"{value:.4f}"
        typer.echo(f"  {name:<20}{shown}")
    typer.echo(f"MLflow run: {outcome.run_id}")
    registered = recommender_registered_name(dataset)
    typer.echo(f"registered: {registered} version {outcome.model_version}")
    if export_dir is not None:
        typer.echo(f"exported to {export_dir}")
    if save_config is not None:
        _save_config(outcome, run_config, dataset, tune, save_config)


def _save_config(
    outcome: TrainingOutcome,
    run_config: RecommenderRunConfig,
    dataset: str,
    tune: int,
    path: Path,
) -> None:
    """Write the effective config, with the command that tuned it when it was tuned."""
    from training.recommender.config import save_run_config

    effective = outcome.effective_config
    if tune or outcome.budgeted is not None:
        command = " ".join(["agora", *sys.argv[1:]])
        effective = effective.model_copy(
            update={"provenance": {"command": command, **effective.provenance}}
        )
        how = f"--tune {tune}" if tune else "--budget-minutes"
        header = (
            f"{outcome.model} on {dataset}: params tuned by `agora train recommender {how}`"
            " on a validation split carved from the training split (see provenance)."
        )
    else:
        header = f"{outcome.model} on {dataset}: the config of MLflow run {outcome.run_id}."
    save_run_config(effective, path, header=header)
    typer.echo(f"config written to {path}")


@app.command("triage")
def train_triage_command(
    task: Annotated[Task, typer.Option(help="What the model predicts.")] = (Task.SENTIMENT),
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset name (default: airline-sentiment, or bitext-intents for category)."
        ),
    ] = None,
    model: Annotated[
        ClassifierType, typer.Option(help="The classifier kind.")
    ] = DEFAULT_CLASSIFIER_KIND,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML with text/tfidf/embedding/finetune/ensemble sections."),
    ] = None,
    tracking_uri: TrackingOption = None,
    registered_name: Annotated[
        str | None,
        typer.Option(help="Registry name (default: agora-triage-<task>[-<language>])."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Smoke run: only the first N train and N/4 test rows."),
    ] = None,
) -> None:
    """Train a triage classifier on its fixed split, log it to MLflow and register it."""
    from training.triage.config import load_config
    from training.triage.pipeline import train_triage

    try:
        settings = load_config(config)  # validated before any data is read
        result = train_triage(
            task.value,
            dataset,
            model.value,
            settings,
            tracking_uri,
            registered_name,
            limit=limit,
        )
    except (*BAD_INPUT_ERRORS, ValueError) as error:
        raise bad_input(error) from None
    except OSError as error:
        raise step_failed(error) from None
    report = result.trained.report
    typer.echo(
        f"{result.registered_name} version {result.version} (run {result.run_id}): "
        f"accuracy {report.accuracy:.4f}, macro-F1 {report.macro_f1:.4f}, ECE {report.ece:.4f}"
    )
    for note in split_notes(result.trained.split):
        typer.echo(f"note: {note}")


@app.command("sentiment-champion")
def train_sentiment_champion_command(
    dataset: Annotated[
        str, typer.Option(help="English sentiment dataset (labels negative/neutral/positive).")
    ] = "airline-sentiment",
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML with text/tfidf/finetune sections."),
    ] = None,
    budget_minutes: Annotated[
        float, typer.Option(min=1, help="Training time for all candidates together.")
    ] = 20.0,
    min_accuracy: Annotated[float, typer.Option(min=0, max=1)] = 0.84,
    min_macro_f1: Annotated[float, typer.Option(min=0, max=1)] = 0.80,
    min_texts_per_second: Annotated[
        float, typer.Option(min=0, help="Per core (one inference thread), batches of 64.")
    ] = 250.0,
    promote: Annotated[
        bool, typer.Option(help="Promote the chosen candidate to @champion (gated).")
    ] = True,
    registered_name: Annotated[
        str | None, typer.Option(help="Registry name (default: the sentiment-en slot's).")
    ] = None,
) -> None:
    """Train TF-IDF, a fine-tuned MiniLM served from ONNX (int8 where it costs <= 0.5 point),
    their ensemble and, as the budget allows, the ensemble with the fine-tunes of the config's
    other seeds and those fine-tunes' weights averaged into one network; register each with
    in-domain, out-of-domain and speed figures; promote the one that transfers best among those
    meeting the bar, and say why."""
    from cli.sentiment_champion import select_and_promote
    from training.triage.config import load_config
    from training.triage.selection import SelectionPolicy

    policy = SelectionPolicy(min_accuracy, min_macro_f1, min_texts_per_second, budget_minutes)
    try:
        settings = load_config(config)
        select_and_promote(dataset, settings, policy, typer.echo, promote, registered_name)
    except (*BAD_INPUT_ERRORS, ValueError) as error:
        raise bad_input(error) from None
    except OSError as error:
        raise step_failed(error) from None
