"""`agora batch embed --encoder` that loads no sentence encoder is refused in one sentence.

Regression (a scale-out trial): a mistyped encoder name or a folder without a model reached the
user as a transformers traceback (OSError offline, ValueError for a folder), after the dataset
was read; on Ray, from the first worker that tried to load it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.mark.parametrize("encoder", ["no-such-org/no-such-encoder", "empty-folder"])
def test_an_encoder_that_does_not_load_is_refused_before_the_work(
    encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as every entry point sets it
    monkeypatch.setenv("AGORA_EMBEDDING_CACHE", str(tmp_path / "cache"))
    if encoder == "empty-folder":
        encoder = str(tmp_path / "empty")
        Path(encoder).mkdir()
    # The dataset is never read: the encoder is checked first.
    args = ["batch", "embed", "--dataset", "no-such-dataset", "--encoder", encoder]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"--encoder {encoder}: no sentence encoder loads from it" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cache").exists()
