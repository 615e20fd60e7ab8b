"""`agora train triage` / `agora benchmark triage`: options are checked before any work, and a
refused option exits with 2 like every other bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "triage", "--model", "svm"], "'svm' is not one of"),
        (["train", "triage", "--task", "mood"], "'mood' is not one of"),
        (["benchmark", "triage", "--splits", "waimai-10k"], "DATASET/TASK"),
        (["benchmark", "triage", "--models", "tfidf,svm"], "svm"),
    ],
)
def test_a_bad_option_is_refused_by_name(args: list[str], fragment: str) -> None:
    """Regression: triage refused bad input with exit code 1 where recommenders used 2."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output


def test_bad_config_fails_naming_the_field_before_training(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("finetune:\n  max_length: 4\ntfidf:\n  colour: blue\n")
    result = runner.invoke(app, ["train", "triage", "--config", str(config)])
    assert result.exit_code == 2
    assert "finetune.max_length" in result.output
    assert "tfidf.colour: unknown field" in result.output
