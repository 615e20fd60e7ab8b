"""`agora data import --kind labelled-text` with --label-map, --task and --language, and the
sentiment refusal at import and at training, as a user runs them."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from cli.main import app
from data import schemas as S
from data.loaders import load_labelled_texts

runner = CliRunner()
_CSV = "review,y\n送餐太慢了,0\n很好吃,1\n饭都凉了,0\n送得很快,1\n没意见,5\n"


def _csv(tmp_path: Path, text: str = _CSV) -> Path:
    path = tmp_path / "reviews.csv"
    path.write_text(text, encoding="utf-8")
    return path


def _import(path: Path, name: str, *options: str) -> Result:
    return runner.invoke(
        app,
        [
            "data",
            "import",
            str(path),
            "--kind",
            "labelled-text",
            "--map",
            "text=review,label=y",
            "--name",
            name,
            *options,
        ],
    )


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


def test_unmapped_sentiment_labels_exit_2_with_one_sentence(tmp_path: Path) -> None:
    result = _import(_csv(tmp_path), "cli-refused")
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert "has labels '0', '1', '5'" in line
    assert "--label-map 0=negative,1=neutral,5=positive" in line
    assert "Traceback" not in result.output


def test_label_map_and_detection_through_the_cli(tmp_path: Path) -> None:
    # Han script settles Chinese without the statistical detector: no model to load here.
    result = _import(_csv(tmp_path), "cli-mapped", "--label-map", "0=negative,1=positive,2=neutral")
    assert result.exit_code == 0, result.output
    assert "rejected 1: label '5' not in --label-map" in result.output
    assert "--label-map entry '2' matched no row" in result.output
    assert "sentiment labels: negative 2, positive 2" in result.output
    assert "language (detected): zh 4" in result.output
    frame = load_labelled_texts("cli-mapped")
    assert frame[S.LANGUAGE].tolist() == ["zh"] * 4


def test_bad_flags_exit_2_naming_them(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    cases = [
        (["--label-map", "0=negative,1"], "'1' is not of the form value=label"),
        (["--label-map", "0=negative,1=positive", "--language", "chinese"], "'chinese'"),
    ]
    for options, expected in cases:
        result = _import(path, "cli-bad", *options)
        assert result.exit_code == 2, result.output
        assert expected in result.output
    result = runner.invoke(
        app, ["data", "import", str(path), "--kind", "interactions", "--language", "en"]
    )
    assert result.exit_code == 2 and "labelled-text only" in result.output


def test_training_sentiment_on_a_01_column_exits_2_before_any_fit(tmp_path: Path) -> None:
    # The labels were imported as categories (no sentiment check), then trained as sentiment.
    path = _csv(tmp_path, "text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(30)))
    imported = runner.invoke(
        app,
        [
            "data",
            "import",
            str(path),
            "--kind",
            "labelled-text",
            "--task",
            "category",
            "--language",
            "en",
            "--name",
            "cli-zero-one",
        ],
    )
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(
        app, ["train", "triage", "--task", "sentiment", "--dataset", "cli-zero-one"]
    )
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert "dataset 'cli-zero-one' has labels '0', '1'" in line
    assert "re-import it with --label-map 0=negative,1=positive" in line
