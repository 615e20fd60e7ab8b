"""How every `agora` command reports a refused input or a failed step: one red line on stderr."""

from __future__ import annotations

import typer


def report_error(message: object) -> None:
    """Print `error: MESSAGE` to stderr (in red on a terminal)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


def fail(message: object, code: int) -> typer.Exit:
    """Report `message` and return the exit to raise: `raise fail(error, 2) from None`."""
    report_error(message)
    return typer.Exit(code)
