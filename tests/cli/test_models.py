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


def _register_recommender(
    client: MlflowClient, tmp_path: Path, ndcg: float, coverage: float
) -> str:
    """A version as the recommender pipeline tags it: family, NDCG@10 and its guard metrics."""
    source = tmp_path / f"artifact-{ndcg}-{coverage}"
    source.mkdir(exist_ok=True)
    metrics = {"ndcg_at_10": ndcg, "coverage_at_10": coverage, "recall_at_10": 0.2}
    tags = {**evaluation_tags("ndcg_at_10", metrics, "split-a"), "agora.family": "recommender"}
    return str(client.create_model_version(NAME, source=str(source), tags=tags).version)


def test_promote_refuses_a_broken_guard_and_records_the_guards_it_checked(
    isolated_home: Path, tmp_path: Path
) -> None:
    configure_tracking()
    client = MlflowClient()
    client.create_registered_model(NAME)
    runner = CliRunner()
    v1 = _register_recommender(client, tmp_path, 0.400, 0.30)
    first = runner.invoke(app, ["models", "promote", NAME])
    assert first.exit_code == 0, first.output  # no champion: nothing to guard against
    assert "agora.guards" not in client.get_model_version(NAME, v1).tags

    v2 = _register_recommender(client, tmp_path, 0.401, 0.05)
    refused = runner.invoke(app, ["models", "promote", NAME, v2])
    assert refused.exit_code == 1, refused.output
    assert "coverage_at_10 0.0500 (v2) vs 0.3000 (champion v1), may drop 20%" in refused.output
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == v1

    for bad in (
        ["--guard", "coverage_at_10"],  # no DROP
        ["--no-guards"],  # no --reason
        ["--guard", "ece=0.1", "--force", "--reason", "r"],  # the guard would not be checked
    ):
        assert runner.invoke(app, ["models", "promote", NAME, v2, *bad]).exit_code == 2

    loose = runner.invoke(app, ["models", "promote", NAME, v2, "--guard", "coverage@10=90%"])
    assert loose.exit_code == 0, loose.output
    assert "guards: checked: coverage_at_10, recall_at_10" in loose.output
    tags = client.get_model_version(NAME, v2).tags
    assert tags["agora.guard.coverage_at_10"] == "0.05 vs champion 0.3, may drop 90%: held"
    assert tags["agora.guard.recall_at_10"] == "0.2 vs champion 0.2, may drop 5%: held"
    assert "guards held: coverage_at_10 0.0500 (v2)" in tags["agora.promoted_reason"]

    v3 = _register_recommender(client, tmp_path, 0.402, 0.001)
    off = ["models", "promote", NAME, v3, "--no-guards", "--reason", "coverage measured elsewhere"]
    assert runner.invoke(app, off).exit_code == 0
    tags = client.get_model_version(NAME, v3).tags
    assert tags["agora.guards"] == "off (--no-guards)"
    assert tags["agora.promoted_reason"].endswith(
        "no guards (--no-guards); coverage measured elsewhere"
    )

    # Forced back to v2: the guards of its earlier promotion no longer describe this one.
    back = ["models", "promote", NAME, v2, "--force", "--reason", "back to v2"]
    assert runner.invoke(app, back).exit_code == 0
    tags = client.get_model_version(NAME, v2).tags
    assert tags["agora.guards"] == "off (--force)"
    assert not [key for key in tags if key.startswith("agora.guard.")], tags
