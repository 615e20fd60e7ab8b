"""`agora batch` writes its output whole or not at all.

Regression (a scale-out trial): the output was written in place, so a write cut short (Ctrl-C,
a full disk) left a truncated Parquet file where the output goes, or in place of the last run's
complete one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import batch as batch_cli
from cli.main import app
from tests.cli.tiny_triage import tiny_sentiment_champion


@pytest.fixture(autouse=True)
def served(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    champion = tiny_sentiment_champion(tmp_path_factory.mktemp("en"))
    monkeypatch.setattr(batch_cli, "served_triage_champions", lambda _uri=None: [champion])


def _triage(table: Path, out: Path) -> object:
    args = ["batch", "triage", str(table), "--out", str(out), "--language", "en"]
    return CliRunner().invoke(app, args)


def test_a_write_cut_short_leaves_the_last_complete_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "texts.csv"
    table.write_text("text\nmy bag was lost\ngreat crew\n")
    out = tmp_path / "triaged.parquet"
    assert _triage(table, out).exit_code == 0  # type: ignore[attr-defined]
    complete = out.read_bytes()

    def cut_short(frame: pd.DataFrame, path: Path, **_: object) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", cut_short)
    result = _triage(table, out)
    assert isinstance(result.exception, OSError)  # type: ignore[attr-defined]
    assert out.read_bytes() == complete
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.csv", "triaged.parquet"]
