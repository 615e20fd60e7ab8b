"""`agora train recommender` / `agora benchmark recommender` refuse bad input before training."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from training.recommender import steps

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_data_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to load data means validation came too late: make it loud."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("data was loaded before the config was validated")

    monkeypatch.setattr(steps, "load_dataset", refuse)


def _train(tmp_path: Path, config_text: str, *extra: str):
    config = tmp_path / "run.yaml"
    config.write_text(config_text)
    args = ["train", "recommender", "--dataset", "movielens-100k", "--config", str(config)]
    return runner.invoke(app, [*args, *extra])


def _assert_one_sentence_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.output
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]


def _assert_choice_refused(result, value: str) -> None:
    """An Enum option's unknown value: click's usage error, exit 2 like any bad input."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"'{value}' is not one of" in result.output


def test_unknown_key_is_named(tmp_path: Path) -> None:
    result = _train(tmp_path, "model: als\nlearning_rat: 0.1\n")
    _assert_one_sentence_error(result, "learning_rat", "unknown field")


def test_unknown_model_param_is_named(tmp_path: Path) -> None:
    result = _train(tmp_path, "model: als\nparams:\n  factor: 8\n")
    _assert_one_sentence_error(result, "factor", "unknown field", "als")


def test_negative_factors_are_named(tmp_path: Path) -> None:
    result = _train(tmp_path, "model: als\nparams:\n  factors: -4\n")
    _assert_one_sentence_error(result, "factors", "greater than 0")


@pytest.mark.parametrize("k", ["0", "-3"])
def test_non_positive_k_is_named(tmp_path: Path, k: str) -> None:
    result = _train(tmp_path, f"model: ease\nk: {k}\n")
    _assert_one_sentence_error(result, "k:", "greater than 0")


def test_model_flag_conflicting_with_file_is_refused(tmp_path: Path) -> None:
    result = _train(tmp_path, "model: ease\n", "--model", "als")
    _assert_one_sentence_error(result, "model", "ease", "als")


def test_unknown_model_flag_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train", "recommender", "--dataset", "movielens-100k", "--model", "svd"]
    )
    _assert_choice_refused(result, "svd")


def test_negative_trial_count_is_refused(tmp_path: Path) -> None:
    result = _train(tmp_path, "model: ease\n", "--tune", "-1")
    _assert_one_sentence_error(result, "--tune")


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(
        app, ["train", "recommender", "--dataset", "movielens-100k", "--config", str(missing)]
    )
    _assert_one_sentence_error(result, "nope.yaml")


def test_benchmark_with_bad_config_folder_entry_fails_before_training(tmp_path: Path) -> None:
    result = runner.invoke(app, ["benchmark", "recommender", "--configs", "slow"])
    _assert_choice_refused(result, "slow")


def test_negative_budget_is_refused(tmp_path: Path) -> None:
    result = _train(tmp_path, "model: ease\n", "--budget-minutes", "-1")
    _assert_one_sentence_error(result, "--budget-minutes must be >= 0")


def test_tune_and_budget_together_are_refused(tmp_path: Path) -> None:
    result = _train(tmp_path, "model: ease\n", "--tune", "3", "--budget-minutes", "1")
    _assert_one_sentence_error(result, "--tune", "--budget-minutes", "alternatives")


def test_a_committed_tuned_config_applies_only_to_its_own_dataset() -> None:
    from training.recommender.config import CONFIG_DIR, committed_tuned_config

    assert committed_tuned_config("hybrid", "movielens-100k") == CONFIG_DIR / "hybrid.tuned.yaml"
    assert committed_tuned_config("hybrid", "my-catalog") is None
    assert committed_tuned_config("ease", "movielens-100k") == CONFIG_DIR / "ease.tuned.yaml"
