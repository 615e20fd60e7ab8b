"""`agora models`: list and promote through the CLI on a real MLflow SQLite registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.main import app
from training.promotion import evaluation_tags
from training.tracking import configure_tracking

pytestmark = pytest.mark.integration  # a real MLflow registry (SQLite under AGORA_HOME)

NAME = "agora-test-model"


def _register(client: MlflowClient, tmp_path: Path, ndcg: float) -> str:
    source = tmp_path / f"artifact-{ndcg}"
    source.mkdir(exist_ok=True)
    tags = evaluation_tags("ndcg_at_10", {"ndcg_at_10": ndcg}, "split-a")
    return str(client.create_model_version(NAME, source=str(source), tags=tags).version)


def test_list_promote_and_a_refusal_is_a_failed_step(isolated_home: Path, tmp_path: Path) -> None:
    configure_tracking()  # the default local store under the test's AGORA_HOME
    client = MlflowClient()
    client.create_registered_model(NAME)
    runner = CliRunner()
    _register(client, tmp_path, 0.40)
    assert runner.invoke(app, ["models", "promote", NAME]).exit_code == 0
    _register(client, tmp_path, 0.20)
    refused = runner.invoke(app, ["models", "promote", NAME])
    assert refused.exit_code == 1 and "worse" in refused.output  # 1: the gate refused, input fine
    listing = runner.invoke(app, ["models", "list", NAME])
    assert listing.exit_code == 0
    assert "ndcg_at_10=0.4000" in listing.output and "champion" in listing.output
