"""`agora train sentiment-champion`: bad input ends with a sentence and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app


def test_an_unknown_dataset_is_refused_before_any_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGORA_HOME", str(tmp_path))
    result = CliRunner().invoke(
        app, ["train", "sentiment-champion", "--dataset", "nope", "--budget-minutes", "1"]
    )
    assert result.exit_code == 2
    assert "unknown dataset 'nope'" in result.output
    assert "candidate" not in result.output  # nothing was trained


def test_a_bar_outside_zero_to_one_is_refused() -> None:
    result = CliRunner().invoke(app, ["train", "sentiment-champion", "--min-accuracy", "1.5"])
    assert result.exit_code == 2
