"""`agora retrain ...`: retrain from stored events/corrections, gate, promote, tell the service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.exit_codes import BAD_INPUT_ERRORS, bad_input, step_failed
from cli.options import (
    DEFAULT_CLASSIFIER_KIND,
    StoreOption,
    TrackingOption,
)
from features.text_splits import Task
from models.classifiers.catalog import ClassifierType

if TYPE_CHECKING:
    from training.retrain.common import RetrainOutcome

app = typer.Typer(
    help="Retrain a champion with what users did and agents corrected, then hot-swap it.",
    no_args_is_help=True,
)

ServiceOption = Annotated[
    str | None,
    typer.Option(
        "--service-url",
        help="Running service to reload after a promotion (default: $AGORA_SERVICE_URL).",
    ),
]
ToleranceOption = Annotated[
    float,
    typer.Option(min=0.0, help="Accept a candidate this far below the champion (metric units)."),
]


def _report(outcome: RetrainOutcome) -> None:
    champion = (
        f"champion v{outcome.champion_version} {outcome.metric} {outcome.champion_score:.4f}"
        if outcome.champion_score is not None
        else "no champion to compare with"
    )
    typer.echo(
        f"{outcome.registered_name}: candidate v{outcome.candidate_version} "
        f"{outcome.metric} {outcome.candidate_score:.4f}; {champion}"
    )
    typer.echo(f"{'promoted' if outcome.promoted else 'not promoted'}: {outcome.decision}")
    if outcome.service_reloaded is not None:
        typer.echo(f"service reloaded: {'yes' if outcome.service_reloaded else 'NO (see log)'}")
    typer.echo(f"took {outcome.seconds:.1f} s")
    if outcome.service_reloaded is False:
        # The promotion stands, but what the command was asked to do is half done: a cron job
        # must not read it as success while the service serves the old model.
        raise step_failed(
            f"v{outcome.candidate_version} was promoted, but the service was not reloaded and "
            "still serves the previous champion: POST /admin/reload once it answers"
        )


@app.command("recommender")
def retrain_recommender_command(
    dataset: str = typer.Option("movielens-100k", help="Catalog or imported dataset."),
    config: Annotated[
        Path | None,
        typer.Option(help="Run config YAML (default: the champion's own, else the fast hybrid)."),
    ] = None,
    store_url: StoreOption = None,
    tracking_uri: TrackingOption = None,
    service_url: ServiceOption = None,
    tolerance: ToleranceOption = 0.0,
) -> None:
    """Retrain the recommender on the dataset plus stored events."""
    from training.retrain.common import NothingNewToLearnError, check_service_url
    from training.retrain.recommender import retrain_recommender

    try:
        check_service_url(service_url)
    except ValueError as error:
        raise bad_input(error) from None
    try:
        outcome = retrain_recommender(
            dataset, config, store_url, tracking_uri, service_url, tolerance=tolerance
        )
    except BAD_INPUT_ERRORS as error:
        raise bad_input(error) from None
    except NothingNewToLearnError as error:  # a normal night, as in `retrain triage`
        typer.echo(str(error))
        return
    _report(outcome)


@app.command("triage")
def retrain_triage_command(
    task: Annotated[Task, typer.Option(help="What the model predicts.")] = Task.SENTIMENT,
    dataset: Annotated[
        str | None, typer.Option(help="Default: the task's dataset (airline-sentiment, ...).")
    ] = None,
    model: Annotated[
        ClassifierType | None,
        typer.Option(
            help="The candidate's classifier kind (default: the champion's, else "
            f"{DEFAULT_CLASSIFIER_KIND.value}).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Triage config YAML.")] = None,
    holdout_share: float = typer.Option(
        0.25, min=0.0, max=0.95, help="Share of corrected texts held out for evaluation."
    ),
    store_url: StoreOption = None,
    tracking_uri: TrackingOption = None,
    service_url: ServiceOption = None,
    tolerance: ToleranceOption = 0.0,
) -> None:
    """Retrain a triage model with the agents' stored corrections."""
    from training.retrain.common import NothingNewToLearnError, check_service_url
    from training.retrain.triage import retrain_triage

    try:
        check_service_url(service_url)
        outcome = retrain_triage(
            task.value,
            dataset,
            None if model is None else model.value,
            config,
            store_url,
            tracking_uri,
            service_url,
            holdout_share=holdout_share,
            tolerance=tolerance,
        )
    except (*BAD_INPUT_ERRORS, ValueError) as error:
        raise bad_input(error) from None
    except NothingNewToLearnError as error:
        # A normal night of a scheduled retrain, like a candidate the gate refuses (also exit
        # 0): nothing failed, and no copy of the champion is registered or promoted.
        typer.echo(str(error))
        return
    if outcome.holdout_share < holdout_share:
        typer.echo(
            f"held out {outcome.holdout_share:.2f} of the corrections, not {holdout_share:.2f}: "
            "the champion was trained on the others, and would be scored on answers it learned"
        )
    as_champion = model is None and outcome.champion_version is not None
    typer.echo(f"candidate: {outcome.model}" + (", the champion's kind" if as_champion else ""))
    other_language = outcome.corrections_other_language
    typer.echo(
        f"corrections: {outcome.corrections_train} in training, {outcome.corrections_holdout} "
        f"held out, {outcome.corrections_skipped} skipped ({other_language} of another "
        f"language, {outcome.corrections_skipped - other_language} with a label the model "
        "does not know)"
    )
    if outcome.corrections_disputed:
        typer.echo(
            f"{outcome.corrections_disputed} corrected records carry different labels from "
            "different corrections (agents disagreed): each was used with its latest"
        )
    if outcome.candidate_holdout_accuracy is not None:
        champion = outcome.champion_holdout_accuracy
        typer.echo(
            f"accuracy on held-out corrections: candidate {outcome.candidate_holdout_accuracy:.3f}"
            + (f", champion {champion:.3f}" if champion is not None else "")
        )
    _report(outcome)
