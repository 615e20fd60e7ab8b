"""A tracking URI that cannot serve the command is refused in one sentence before any work,
and a read-only registry command never creates the registry it was pointed at.

Regressions (a user trial): a bare path as --tracking-uri gave MLflow's "file store maintenance
mode" traceback; `agora models list --tracking-uri sqlite:////mistyped/mlflow.db` created the
folder and an empty registry and answered "no registered models yet" (exit 0); `agora train
triage --tracking-uri http://127.0.0.1:9` trained, retried for minutes, then failed.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.main import app
from tests.cli.refusal_checks import forbid_work, refused
from training.tracking import configure_tracking


@pytest.fixture(autouse=True)
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_work(monkeypatch, "tracking URI")


def _nobody_listens() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_bare_path_is_refused_with_the_sqlite_uri_to_give(tmp_path: Path) -> None:
    path = tmp_path / "nonexist" / "mlflow.db"
    suggestion = f"sqlite:///{path}"
    commands = [
        ["models", "promote", "X"],
        ["models", "list"],
        ["train", "recommender", "--dataset", "movielens-100k", "--model", "popularity"],
        ["train", "triage", "--task", "sentiment"],
        ["batch", "recommend", "--dataset", "movielens-100k", "--out", str(tmp_path / "r.parquet")],
    ]
    for command in commands:
        refused([*command, "--tracking-uri", str(path)], "is a file path", suggestion)
    assert not path.parent.exists()


def test_read_only_registry_commands_refuse_a_registry_that_does_not_exist(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nonexist" / "mlflow.db"
    uri = f"sqlite:///{path}"
    table = tmp_path / "texts.csv"
    table.write_text("text\nhello\n")
    commands = [
        ["models", "list"],
        ["models", "slots"],
        ["models", "promote", "agora-recommender"],
        ["models", "rollback", "agora-recommender"],
        ["models", "unbind", "recommender"],
        ["batch", "recommend", "--dataset", "movielens-100k", "--out", str(tmp_path / "r.parquet")],
        ["batch", "triage", str(table), "--out", str(tmp_path / "t.parquet")],
        ["batch", "evaluate", "--dataset", "movielens-100k"],
    ]
    for command in commands:
        refused([*command, "--tracking-uri", uri], f"no MLflow store at {path}")
    assert not path.parent.exists()  # nothing was created
    # The registry made (as training makes it), the same command reads it.
    configure_tracking(uri)
    result = CliRunner().invoke(app, ["models", "list", "--tracking-uri", uri])
    assert result.exit_code == 0 and "no registered models yet" in result.output, result.output


def test_the_local_default_registry_of_a_fresh_home_still_reads_as_empty(
    isolated_home: Path,
) -> None:
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0 and "no registered models yet" in result.output, result.output


def test_a_tracking_server_nobody_answers_at_is_refused_before_training() -> None:
    uri = _nobody_listens()
    for command in (
        ["train", "triage", "--task", "sentiment"],
        ["train", "recommender", "--dataset", "movielens-100k", "--model", "popularity"],
        ["models", "list"],
    ):
        refused([*command, "--tracking-uri", uri], f"no MLflow tracking server answers at {uri}")


def test_a_training_with_a_registry_that_does_not_exist_yet_creates_it(tmp_path: Path) -> None:
    """Training is no read-only command: its new SQLite store is made (the work then begins)."""
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    result = CliRunner().invoke(
        app, ["train", "triage", "--task", "sentiment", "--tracking-uri", uri]
    )
    assert isinstance(result.exception, AssertionError)  # the data was about to be read
    assert MlflowClient(tracking_uri=uri).search_registered_models() == []
