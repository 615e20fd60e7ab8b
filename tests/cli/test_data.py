"""`agora data` as a user runs it: exit codes and one-sentence errors."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_fetch_with_no_mirror_and_no_network_fails_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_DATA_DIR", str(tmp_path / "empty-cache"))

    def no_network(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    result = runner.invoke(app, ["data", "fetch", "movielens-100k", "--mirror", "/nonexistent"])
    assert result.exit_code == 1  # a failed step, not bad input
    assert "movielens-100k" in result.output
    assert "/nonexistent" in result.output
    assert "https://files.grouplens.org/datasets/movielens/ml-100k.zip" in result.output


def test_import_with_missing_column_exits_nonzero_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    result = runner.invoke(
        app,
        [
            "data",
            "import",
            str(path),
            "--kind",
            "interactions",
            "--map",
            "user_id=userId,item_id=b",
        ],
    )
    assert result.exit_code == 2
    assert "userId" in result.output


def test_unknown_dataset_is_bad_input() -> None:
    for command in (["fetch", "no-such-data"], ["verify", "no-such-data"]):
        result = runner.invoke(app, ["data", *command])
        assert result.exit_code == 2, result.output
        assert "no-such-data" in result.output


def test_list_shows_catalog_and_imports(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("user_id,item_id\n1,2\n")
    assert (
        runner.invoke(app, ["data", "import", str(path), "--kind", "interactions"]).exit_code == 0
    )
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0
    for name in ("movielens-100k", "airline-sentiment", "waimai-10k", "mine"):
        assert name in result.output


def test_synth_creates_a_named_dataset() -> None:
    result = runner.invoke(app, ["data", "synth", "--interactions", "5000", "--name", "tiny-synth"])
    assert result.exit_code == 0, result.output
    from data.loaders import load_interactions, load_items

    assert len(load_interactions("tiny-synth")) == 5000
    assert len(load_items("tiny-synth")) >= 200


@pytest.mark.integration
def test_fetch_then_verify_from_mirror(mirror: Path) -> None:
    assert runner.invoke(app, ["data", "fetch", "waimai-10k"]).exit_code == 0
    result = runner.invoke(app, ["data", "verify", "waimai-10k"])
    assert result.exit_code == 0 and "waimai-10k: ok" in result.output


def test_synth_takes_the_numbers_of_users_and_items() -> None:
    args = ["data", "synth", "--interactions", "3000", "--users", "40", "--items", "900"]
    result = runner.invoke(app, [*args, "--name", "shaped-synth"])
    assert result.exit_code == 0, result.output
    from data.loaders import load_interactions, load_items

    assert len(load_items("shaped-synth")) == 900
    assert load_interactions("shaped-synth")["user_id"].nunique() <= 40


def test_synth_refuses_fewer_items_than_taste_clusters() -> None:
    result = runner.invoke(app, ["data", "synth", "--interactions", "3000", "--items", "2"])
    assert result.exit_code != 0
    assert "at least one item per cluster" in result.output
