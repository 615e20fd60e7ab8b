"""The `agora` command: every command group attached in one place, the same way.

Each group lives in the `cli` module named as the command (`agora data` in `cli/data.py`, ...);
`serve`, `bento build` and `demo` are small enough to live here. Before any command runs, the
stack's environment (offline hubs, one OpenBLAS thread) is applied and logging configured.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from cli.demo import run_demo
from cli.exit_codes import BAD_INPUT, bad_input, step_failed
from cli.launcher import (
    PROJECT_ROOT,
    ServiceProcess,
    ServiceStartError,
    port_in_use,
    run_in_foreground,
)
from data.environment import apply_stack_environment
from serving.settings import DEFAULT_HOST, INSECURE_DEV_ENV, WORKERS_ENV

if TYPE_CHECKING:
    from typer._click.core import Command  # Typer carries its own copy of click

# The command groups, each the `app` of its module, in the order `agora --help` lists them.
GROUP_MODULES = (
    "data",
    "train",
    "benchmark",
    "models",
    "retrain",
    "segments",
    "kb",
    "store",
    "report",
    "batch",
)


class CommandGroups(TyperGroup):
    """The `agora` group, which imports a command group's module only when that group runs (or
    `agora --help` lists it): importing all of them cost every command 0.3 s of start-up."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        # Single commands (serve, demo) first, then the groups: the order Typer gives.
        own = super().list_commands(ctx)
        groups = [name for name in own if isinstance(self.commands[name], TyperGroup)]
        return [*(name for name in own if name not in groups), *GROUP_MODULES, *groups]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Command | None:
        if cmd_name not in GROUP_MODULES:
            return super().get_command(ctx, cmd_name)
        module = importlib.import_module(f"cli.{cmd_name}")
        group = typer.main.get_group(module.app)
        group.name = cmd_name
        return group


app = typer.Typer(
    cls=CommandGroups,
    help=(
        "Agora: personalized feeds and feedback triage for community platforms.\n\n"
        "Fetch data ('agora data'), train and compare models, promote them ('agora models'), "
        "serve them ('agora serve'), retrain from feedback ('agora retrain'), or run the demo."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bento_app = typer.Typer(help="Package the service for deployment.", no_args_is_help=True)

app.add_typer(bento_app, name="bento")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail.")) -> None:
    apply_stack_environment()
    # At exit the interpreter's teardown searches the ~260k objects of the libraries a command
    # imported for cycles: 0.6-0.7 s of every command here. Frozen, they are only freed; files
    # are closed and flushed where they are written, not left to the collector.
    atexit.unregister(gc.freeze)  # once per process, however often the callback runs (tests)
    atexit.register(gc.freeze)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (0.0.0.0: every interface).")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 3000,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (default: AGORA_WORKERS, else one per core)."),
    ] = None,
    insecure_dev: Annotated[
        bool,
        typer.Option(
            "--insecure-dev",
            help="Serve every route without API keys (local development only; never expose it).",
        ),
    ] = False,
) -> None:
    """Start the HTTP service (the champion models from the registry) in the foreground.

    The service needs API keys in AGORA_API_KEYS (role:name:key entries) and refuses to start
    without them, unless --insecure-dev.
    """
    if port_in_use(host, port):
        raise bad_input(
            f"port {port} on {host} is in use (another service?); choose another --port"
        )
    env = dict(os.environ)
    if workers is not None:
        env[WORKERS_ENV] = str(workers)
    if insecure_dev:
        env[INSECURE_DEV_ENV] = "1"
    service = ServiceProcess(env, host=host, port=port)
    try:
        code = run_in_foreground(service, lambda url: typer.echo(f"service ready at {url}"))
    except ServiceStartError as error:
        if error.exit_code == BAD_INPUT and service.log_path is None:
            # The start-up checks refused the configuration and already printed their one
            # sentence to this terminal: pass their exit code on, with no second line.
            raise typer.Exit(BAD_INPUT) from None
        raise step_failed(error) from None
    raise typer.Exit(code)


@bento_app.command("build")
def bento_build() -> None:
    """Build a Bento from bentofile.yaml (the service code; models come from the registry)."""
    command = [sys.executable, "-m", "bentoml", "build", "-f", "bentofile.yaml"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, check=False)
    raise typer.Exit(result.returncode)


@app.command()
def demo(
    sentiment_budget_minutes: Annotated[
        float,
        typer.Option(
            min=0,
            help="Training time for the English sentiment candidates (TF-IDF, a fine-tuned "
            "MiniLM, their ensemble, a second seed as time allows); below 5 the fine-tune is "
            "skipped. A second seed starts only when the time left covers what the first "
            "fine-tune took (about 6 minutes on 2 cores without AVX2, 8 on slower ones).",
        ),
    ] = 20.0,
) -> None:
    """Run the main job end to end on the default datasets (what `make demo` runs)."""
    run_demo(typer.echo, sentiment_budget_minutes=sentiment_budget_minutes)


if __name__ == "__main__":
    app()
