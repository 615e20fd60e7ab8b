"""`agora models ...`: the registry lifecycle (list, promote behind the gate, rollback) and the
serving slots (`promote --slot`, `slots`, `unbind`).

A refused promotion (the gate, or a model that cannot serve the slot) or a failed registry call
exits with 1; an unknown slot name or a tracking URI that cannot serve (a bare path, a SQLite
registry that does not exist, a server that does not answer) with 2 (see `cli.exit_codes`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cli.exit_codes import BAD_INPUT_ERRORS, STEP_FAILED, bad_input, step_failed
from cli.options import TrackingOption
from models.served_models import default_registered_name, slot_names

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from training.promotion import VersionSummary
    from training.rescore import Rescored

# MLflow is imported inside the commands: importing it is slow, and `agora --help` should not be.
app = typer.Typer(
    help="Registered models: list versions, promote to @champion, roll back, bind serving slots."
)


def _slot_name(value: str | None) -> str | None:
    """Typer callback: a serving slot's name (standing, TASK-LANG such as reason-zh, or the
    recommender's); anything else is refused (exit 2) with the names it could be."""
    if value is not None:
        try:
            default_registered_name(value)
        except KeyError as error:
            raise typer.BadParameter(str(error.args[0])) from None
    return value


T = TypeVar("T")


def _client(tracking_uri: str | None) -> MlflowClient:
    """The registry's client. Every command here reads a registry that must already exist: a
    mistyped SQLite path is refused (exit 2) rather than created and listed as empty."""
    from mlflow.tracking import MlflowClient

    from training.tracking import configure_tracking
    from training.tracking_store import TrackingStoreError

    try:
        configure_tracking(tracking_uri, must_exist=True)
    except TrackingStoreError as error:
        raise bad_input(error) from None
    return MlflowClient()


def _registry_call(call: Callable[..., T], *args: Any) -> T:
    """`call(*args)`; a registry that cannot answer ends the command as a failed step."""
    from mlflow.exceptions import MlflowException

    try:
        return call(*args)
    except MlflowException as error:
        raise step_failed(f"the registry did not answer: {error.message}") from None


def _line(v: VersionSummary) -> str:
    metric = (
        f"{v.primary_metric}={v.primary_value:.4f}" if v.primary_value is not None else "(no eval)"
    )
    created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(v.created_at))
    aliases = ",".join(v.aliases) or "-"
    return f"  v{v.version:<5} {aliases:<10} {metric:<24} {created}  run {v.run_id or '-'}"


@app.command("list")
def list_cmd(
    name: Annotated[str | None, typer.Argument(help="One registered model; default all.")] = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Show each registered model's versions with their metrics and aliases."""
    from training.promotion import RegistryError, list_models, list_versions

    client = _client(tracking_uri)
    names = [name] if name else list_models(client)
    if not names:
        typer.echo("no registered models yet: train one with 'agora train ...'")
    for model in names:
        try:
            versions = list_versions(client, model)
        except RegistryError as error:
            raise step_failed(error) from None
        typer.echo(model)
        for version in versions:
            typer.echo(_line(version))


@app.command("promote")
def promote_cmd(
    name: str,
    version: Annotated[str | None, typer.Argument(help="Default: the newest version.")] = None,
    force: Annotated[bool, typer.Option(help="Skip the metric gate (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option(help="Why; recorded on the version.")] = None,
    slot: Annotated[
        str | None,
        typer.Option(
            help="Also make NAME the model this serving slot serves (every replica follows the "
            "registry); the version must fit the slot (task, language, classes). Slots: "
            f"{', '.join(slot_names())}, or TASK-LANG (e.g. reason-zh, sentiment-es) for a task "
            "in another language, served beside the standing slots.",
            callback=_slot_name,
        ),
    ] = None,
    rescore: Annotated[
        bool,
        typer.Option(
            help="First score the champion on the candidate's evaluation data, when the two were "
            "evaluated on different data: a recommender's split (e.g. after a re-import), a "
            "triage model's test part (e.g. after `agora retrain triage`)."
        ),
    ] = False,
    guard: Annotated[
        list[str] | None,
        typer.Option(
            help="METRIC=DROP: how far a guard metric may fall (rise, for ece), in metric units "
            "(accuracy=0.02) or percent of the champion's (coverage_at_10=20%); replaces the "
            "default guard on METRIC or adds one. Repeatable.",
        ),
    ] = None,
    no_guards: Annotated[
        bool, typer.Option(help="Check the primary metric only (needs --reason).")
    ] = False,
    tracking_uri: TrackingOption = None,
) -> None:
    """Move @champion to a version if it is at least as good as the current champion on the
    primary metric, and its guard metrics fell no further than allowed.

    With --slot, NAME also becomes the model the slot serves; when the version already is the
    champion, only the binding is made.
    """
    from training.guards import TAG_GUARDS, parse_guard
    from training.promotion import PromotionRefusedError, RegistryError, promote
    from training.slots import slot_bindings

    try:
        guards = [parse_guard(spec) for spec in guard or []]
    except ValueError as error:
        raise bad_input(error) from None
    if guards and (no_guards or force):
        skipped = "--force skips the whole gate" if force else "--no-guards skips every guard"
        raise bad_input(f"--guard would not be checked: {skipped}; give one or the other")
    if no_guards and not reason:
        raise bad_input("--no-guards needs --reason: say why the guards are skipped")
    client = _client(tracking_uri)
    try:
        before = {b.slot: b for b in _registry_call(slot_bindings, client)} if slot else {}
        scored = _rescored(client, name, version) if rescore and not force else None
        promoted = promote(
            client,
            name,
            version,
            force=force,
            reason=reason,
            slot=slot,
            champion_score=scored.value if scored else None,
            scored_champion=scored.champion_version if scored else None,
            guards=guards,
            no_guards=no_guards,
            champion_metrics=scored.metrics if scored else None,
        )
    except (PromotionRefusedError, RegistryError) as error:
        typer.secho(f"refused: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(STEP_FAILED) from None
    typer.echo(f"{name}: champion is now v{promoted.version}")
    if TAG_GUARDS in promoted.tags:
        typer.echo(f"guards: {promoted.tags[TAG_GUARDS]}")
    if slot is not None:
        was = before[slot].name if slot in before else None  # a language slot's first model
        typer.echo(
            f"slot {slot}: serves {name}"
            + (f" (was {was})" if was not in (name, None) else "")
            + "; a running service follows on /admin/reload or its alias watch"
        )


@app.command("slots")
def slots_cmd(tracking_uri: TrackingOption = None) -> None:
    """Show which registered model each serving slot serves, and its champion."""
    from training.promotion import champion
    from training.slots import slot_bindings

    client = _client(tracking_uri)
    for binding in _registry_call(slot_bindings, client):
        current = champion(client, binding.name)
        served = f"@champion v{current.version}" if current else "(no champion)"
        how = (
            f"bound {binding.bound_at} by {binding.bound_by}: {binding.reason}"
            if binding.bound
            else "default"
        )
        typer.echo(f"  {binding.slot:<13} {binding.name:<40} {served:<16} {how}")


@app.command("unbind")
def unbind_cmd(
    slot: Annotated[str, typer.Argument(help="The serving slot to release.", callback=_slot_name)],
    reason: Annotated[str, typer.Option(help="Why; recorded on the model.")] = "unbind",
    tracking_uri: TrackingOption = None,
) -> None:
    """Release a serving slot: it serves its default registered model again."""
    from training.slots import unbind_slot

    released = _registry_call(unbind_slot, _client(tracking_uri), slot, reason)
    # A language slot (reason-zh, ...) has no default model: released, it serves nothing.
    serves = f"serves {default_registered_name(slot)}" if slot in slot_names() else "not served"
    if released:
        typer.echo(f"slot {slot}: released by {', '.join(released)}; {serves}")
    else:
        typer.echo(f"slot {slot}: nothing was bound; {serves}")


@app.command("rollback")
def rollback_cmd(
    name: str,
    reason: Annotated[str, typer.Option(help="Why; recorded on the version.")] = "rollback",
    tracking_uri: TrackingOption = None,
) -> None:
    """Restore the previous champion."""
    from training.promotion import PromotionRefusedError, RegistryError, rollback

    client = _client(tracking_uri)
    try:
        restored = rollback(client, name, reason=reason)
    except (PromotionRefusedError, RegistryError) as error:
        raise step_failed(error) from None
    typer.echo(f"{name}: champion restored to v{restored.version}")


def _rescored(client: Any, name: str, version: str | None) -> Rescored | None:
    """The champion's scores on the candidate's evaluation data (`--rescore`)."""
    from training.rescore import RescoreError, rescore_champion

    typer.echo(f"re-scoring the champion of {name} on the candidate's evaluation data ...")
    try:
        rescored = rescore_champion(client, name, version)
    except (RescoreError, *BAD_INPUT_ERRORS) as error:
        raise bad_input(error) from None
    if rescored is None:
        typer.echo("no other champion to re-score")
        return None
    typer.echo(
        f"champion v{rescored.champion_version} on {rescored.dataset}: "
        f"{rescored.metric} {rescored.value:.4f}"
    )
    return rescored
