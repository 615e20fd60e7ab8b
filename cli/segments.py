"""`agora segments`: put every user in one tier and a taste cluster, log it, store it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.exit_codes import BAD_INPUT_ERRORS, bad_input, step_failed
from cli.options import StoreOption, TrackingOption
from data.store import StoreError

app = typer.Typer(
    help="User segments: tiers by activity and complaints, taste clusters (see README).",
)


@app.callback(invoke_without_command=True)
def segments_command(
    dataset: Annotated[
        str, typer.Option(help="Catalog or imported dataset whose users (and champion) to use.")
    ] = "movielens-100k",
    config: Annotated[
        Path | None,
        typer.Option(help="Segments config YAML (default: configs/segments/default.yaml)."),
    ] = None,
    store_url: StoreOption = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Compute every user's tier and taste cluster, log the run, replace the stored segments."""
    from training.segments import run_segments

    try:
        outcome = run_segments(dataset, config, store_url, tracking_uri)
    except BAD_INPUT_ERRORS as error:
        raise bad_input(error) from None
    except StoreError as error:
        raise step_failed(error) from None
    typer.echo(f"{outcome.users} users segmented (MLflow run {outcome.run_id})")
    for tier, users in outcome.tier_sizes.items():
        typer.echo(f"  {tier:<12} {users:>8}")
    typer.echo(
        f"taste clusters ({outcome.factor_source}): "
        + ", ".join(f"{c}: {n}" for c, n in sorted(outcome.cluster_sizes.items()))
    )
    typer.echo(f"took {outcome.seconds:.1f} s")
