"""The `agora` command line: thin wrappers that parse options and call pipeline steps."""

from __future__ import annotations

import logging
import os
import subprocess

import typer

from training import cli_data, cli_models, cli_retrain
from training.demo import BENTOML, PROJECT_ROOT, SERVICE_PATH, run_demo

app = typer.Typer(
    help=(
        "Agora: personalized feeds and feedback triage for community platforms.\n\n"
        "Fetch data ('agora data'), train and compare models, promote them ('agora models'), "
        "serve them ('agora serve'), retrain from feedback ('agora retrain'), or run the demo."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cli_data.app, name="data")
app.add_typer(cli_models.app, name="models")
app.add_typer(cli_retrain.app, name="retrain")
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
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(3000, help="Port to listen on."),
) -> None:
    """Start the HTTP service (the champion models from the registry) in the foreground."""
    bentoml = str(BENTOML)
    os.execv(bentoml, [bentoml, "serve", SERVICE_PATH, "--host", host, "--port", str(port)])


bento_app = typer.Typer(help="Package the service for deployment.", no_args_is_help=True)
app.add_typer(bento_app, name="bento")


@bento_app.command("build")
def bento_build() -> None:
    """Build a Bento from bentofile.yaml (the service code; models come from the registry)."""
    result = subprocess.run([str(BENTOML), "build", "-f", "bentofile.yaml"], cwd=PROJECT_ROOT)
    raise typer.Exit(result.returncode)


@app.command()
def demo() -> None:
    """Run the main job end to end on the default datasets (what `make demo` runs)."""
    run_demo(typer.echo)


from training import cli_recommender  # noqa: E402  (attaches to the groups above)

cli_recommender.register(train_app, benchmark_app)

from training import cli_triage  # noqa: E402  (attaches to the groups above)

cli_triage.register(train_app, benchmark_app)
