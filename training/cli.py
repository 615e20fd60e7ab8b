"""The `agora` command line: thin wrappers that parse options and call pipeline steps."""

from __future__ import annotations

import logging

import typer

from training import cli_data, cli_models
from training.demo import run_demo

app = typer.Typer(
    help=(
        "Agora: personalized feeds and feedback triage for community platforms.\n\n"
        "Fetch data with 'agora data', train and compare models, and run the end-to-end demo."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_data.app, name="data")
app.add_typer(cli_models.app, name="models")
# Subcommand groups the pipelines attach their commands to (see training/cli_*.py).
train_app = typer.Typer(
    help="Train a model, log it to MLflow and register it.", no_args_is_help=True
)
benchmark_app = typer.Typer(
    help="Train and evaluate every model of a family on a fixed protocol; print one table.",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")
app.add_typer(benchmark_app, name="benchmark")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail.")) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def demo() -> None:
    """Run the main job end to end on the default datasets (what `make demo` runs)."""
    run_demo(typer.echo)

