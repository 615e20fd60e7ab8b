"""What every `agora` command group shares: error reporting and the MLflow store option.

A refused input or a failed step is one red line on stderr and a non-zero exit code.
"""

from __future__ import annotations

from typing import Annotated

import typer

TrackingOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow store (default: $MLFLOW_TRACKING_URI, else sqlite under $AGORA_HOME).",
    ),
]


def report_error(message: object) -> None:
    """Print `error: MESSAGE` to stderr (in red on a terminal)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


def fail(message: object, code: int) -> typer.Exit:
    """Report `message` and return the exit to raise: `raise fail(error, 2) from None`."""
    report_error(message)
    return typer.Exit(code)
