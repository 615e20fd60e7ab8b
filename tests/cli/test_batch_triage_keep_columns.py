"""`agora batch triage --keep-column`: kept columns come back exactly as the input wrote them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import batch as batch_cli
from cli.main import app
from tests.cli.tiny_triage import SENTIMENT, tiny_sentiment_champion
from training.batch import TriageChampion

# Spaces inside, before and after, a space alone, an empty value, zeros, "NA".
LABELS = [" Neg", "Pos ", "  both  ", " ", "", "00123", "NA"]


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> TriageChampion:
    return tiny_sentiment_champion(tmp_path_factory.mktemp("sentiment"))


@pytest.fixture(autouse=True)
def served(champion: TriageChampion, monkeypatch: pytest.MonkeyPatch) -> None:
    # The champions come from the registry in real use; here from the tiny folder.
    monkeypatch.setattr(batch_cli, "served_triage_champions", lambda _uri=None: [champion])


def _triage(table: Path, out: Path, *keep: str) -> pd.DataFrame:
    args = ["batch", "triage", str(table), "--out", str(out), "--language", "en"]
    for column in keep:
        args += ["--keep-column", column]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out)


def test_kept_values_keep_their_spaces_in_every_input_format(tmp_path: Path) -> None:
    """Regression (a user trial): a kept value ' Neg' was reported to come back as 'Neg'."""
    texts = [f" {text} " for text, _ in SENTIMENT[: len(LABELS)]]
    texts += ["ok"] * (len(LABELS) - len(texts))
    frame = pd.DataFrame({" label ": LABELS, "text": texts})
    tables = {
        "csv": tmp_path / "in.csv",
        "semicolon": tmp_path / "semi.csv",
        "tsv": tmp_path / "in.tsv",
        "parquet": tmp_path / "in.parquet",
    }
    frame.to_csv(tables["csv"], index=False)
    frame.to_csv(tables["semicolon"], index=False, sep=";")
    frame.to_csv(tables["tsv"], index=False, sep="\t")
    frame.to_parquet(tables["parquet"], index=False)
    for kind, table in tables.items():
        out = _triage(table, tmp_path / f"{kind}.parquet", " label ", "text")
        assert out[" label "].tolist() == LABELS, kind
        assert out["text"].tolist() == texts, kind
        assert list(out.columns[:2]) == [" label ", "text"], kind


def test_a_kept_column_the_output_already_has_is_refused_first(tmp_path: Path) -> None:
    """A kept 'sentiment' (or a column kept twice) failed with a traceback after the work."""
    table = tmp_path / "in.csv"
    pd.DataFrame({"text": ["hello"], "sentiment": ["pos"], "id": ["1"]}).to_csv(table, index=False)
    out = tmp_path / "out.parquet"
    for keep, fragment in (
        (["sentiment"], "the output has its own column of that name"),
        (["id", "id"], "names a column twice"),
    ):
        args = ["batch", "triage", str(table), "--out", str(out)]
        result = CliRunner().invoke(app, [*args, *(f"--keep-column={c}" for c in keep)])
        assert result.exit_code == 2 and fragment in result.output, result.output
        assert "Traceback" not in result.output and not out.exists()


def test_a_language_tag_is_read_as_its_language_and_a_country_is_refused(tmp_path: Path) -> None:
    """Regression: `--language en-US` (or zh-CN) was passed on as given, so every row came back
    unsupported_language; `--language cn` (a country) the same, without a word."""
    table = tmp_path / "in.csv"
    pd.DataFrame({"text": ["my bag was lost", "great crew"]}).to_csv(table, index=False)
    out = tmp_path / "out.parquet"
    args = ["batch", "triage", str(table), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--language", "en-US"])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(out)["status"].tolist() == ["ok", "ok"]
    refused = CliRunner().invoke(app, [*args, "--language", "cn"])
    assert refused.exit_code == 2 and "'cn' is not an ISO 639-1" in refused.output
