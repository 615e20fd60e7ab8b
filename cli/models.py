"""`agora models ...`: the registry lifecycle (list, promote behind the gate, rollback).

A refused promotion or a failed registry call exits with 1 (see `cli.exit_codes`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from cli.exit_codes import STEP_FAILED, step_failed
from cli.options import TrackingOption

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from training.promotion import VersionSummary

# MLflow is imported inside the commands: importing it is slow, and `agora --help` should not be.
app = typer.Typer(help="Registered models: list versions, promote to @champion, roll back.")


def _client(tracking_uri: str | None) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    from training.tracking import configure_tracking

    configure_tracking(tracking_uri)
    return MlflowClient()


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
    tracking_uri: TrackingOption = None,
) -> None:
    """Move @champion to a version if it is at least as good as the current champion."""
    from training.promotion import PromotionRefusedError, RegistryError, promote

    client = _client(tracking_uri)
    try:
        promoted = promote(client, name, version, force=force, reason=reason)
    except (PromotionRefusedError, RegistryError) as error:
        typer.secho(f"refused: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(STEP_FAILED) from None
    typer.echo(f"{name}: champion is now v{promoted.version}")


@app.command("rollback")
def rollback_cmd(
    name: str,
    reason: Annotated[str, typer.Option(help="Why; recorded on the version.")] = "rollback",
    tracking_uri: TrackingOption = None,
) -> None:
    """Restore the previous champion."""
    from training.promotion import RegistryError, rollback

    client = _client(tracking_uri)
    try:
        restored = rollback(client, name, reason=reason)
    except RegistryError as error:
        raise step_failed(error) from None
    typer.echo(f"{name}: champion restored to v{restored.version}")
