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
        (["--label-map", "0=negative,1=positive", "--language", "klingon"], "'klingon'"),
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


def _trial_csv(tmp_path: Path) -> Path:
    labels = (" Positive", "NEUTRAL", "neg", "NEG", "Neg")
    rows = "".join(f"text {i},{labels[i % 5]}\n" for i in range(50))
    return _csv(tmp_path, "review,y\n" + rows)


def test_the_map_the_refusal_suggests_imports_every_row(tmp_path: Path) -> None:
    """Regression: the map the tool suggested for " Positive"/"NEUTRAL"/"neg"/"NEG" labels
    kept 658 and rejected 872 rows of a trial file, with exit 0."""
    path = _trial_csv(tmp_path)
    refused = _import(path, "cli-trial", "--language", "en")
    assert refused.exit_code == 2, refused.output
    (line,) = _error_lines(refused.output)
    assert "--label-map neg=negative,neutral=neutral,positive=positive " in line
    # The map an earlier version suggested (each spelling named) works too.
    old_suggestion = "NEG=negative,Neg=negative,neg=negative,neutral=neutral,positive=positive"
    result = _import(path, "cli-trial", "--language", "en", "--label-map", old_suggestion)
    assert result.exit_code == 0, result.output
    assert "kept 50, rejected 0" in result.output
    assert "warning:" not in result.output


def test_unmapped_labels_are_warned_about_and_one_class_left_is_refused(tmp_path: Path) -> None:
    """Regression: rows rejected for a label missing from --label-map passed silently, down to
    a one-class sentiment set imported with exit 0."""
    path = _trial_csv(tmp_path)
    result = _import(
        path, "cli-two", "--language", "en", "--label-map", "neg=negative,positive=positive"
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning: 10 rows were rejected because their label is not in --label-map: "
        "'neutral' (10 rows)" in result.output
    )
    result = _import(path, "cli-one", "--language", "en", "--label-map", "neg=negative")
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert "keeps only the label 'negative' (30 rows), but a sentiment model needs two" in line
    assert "('neutral', 'positive') is not in --label-map" in line


def test_suggestion_after_a_map_to_other_names_names_the_file_s_values(tmp_path: Path) -> None:
    """Regression: '--label-map positive=pos,negative=neg' was answered with
    '--label-map neg=negative,pos=positive', which rejects every row of the file."""
    rows = "".join(f"text {i},{('positive', 'negative')[i % 2]}\n" for i in range(10))
    path = _csv(tmp_path, "review,y\n" + rows)
    options = ("--language", "en", "--label-map", "positive=pos,negative=neg")
    refused = _import(path, "cli-renamed", *options)
    assert refused.exit_code == 2, refused.output
    (line,) = _error_lines(refused.output)
    assert "after --label-map has labels 'neg', 'pos'" in line
    suggestion = line.split("import it with --label-map ")[1].split(" ")[0]
    assert suggestion == "negative=negative,positive=positive"
    result = _import(path, "cli-renamed", "--language", "en", "--label-map", suggestion)
    assert result.exit_code == 0 and "kept 10, rejected 0" in result.output, result.output


# What Excel on Chinese Windows saves as "CSV": GB18030/GBK bytes, CRLF line ends, a Chinese
# header, a multi-line cell, a blank row, a duplicate row, an emoji (GB18030 holds it), 负面/正面.
_EXCEL_ZH = (
    "工单号,内容,情感\r\n"
    'T1,"视频一直加载不出来😡\n第二行：订单号123",负面\r\n'
    ",,\r\n"
    "T2,客服很耐心，谢谢！,正面\r\n"
    "T2,客服很耐心，谢谢！,正面\r\n"
    "T3,The app keeps crashing 闪退,负面\r\n"
)


def test_a_chinese_excel_csv_imports_with_encoding_gb18030(tmp_path: Path) -> None:
    """Regression: a GB18030 export was refused with only 'save it as UTF-8', and there was no
    way to read it as it is; the refusal now names --encoding gb18030, which imports it."""
    path = tmp_path / "工单.csv"
    path.write_bytes(_EXCEL_ZH.encode("gb18030"))
    options = ["--map", "text=内容,label=情感", "--label-map", "负面=negative,正面=positive"]
    args = ["data", "import", str(path), "--kind", "labelled-text", "--name", "zh-excel"]
    refused = runner.invoke(app, [*args, *options])
    assert refused.exit_code == 2, refused.output
    (line,) = _error_lines(refused.output)
    assert "add --encoding gb18030" in line
    assert "Traceback" not in refused.output

    result = runner.invoke(app, [*args, *options, "--encoding", "gb18030"])
    assert result.exit_code == 0, result.output
    assert "read 5 rows, kept 4, rejected 1" in result.output
    assert "read as gb18030 text" in result.output
    frame = load_labelled_texts("zh-excel")
    assert frame[S.TEXT].tolist()[0] == "视频一直加载不出来😡\n第二行：订单号123"
    assert frame[S.LABEL].tolist() == ["negative", "positive", "positive", "negative"]

    unknown = runner.invoke(app, [*args, *options, "--encoding", "gbk2"])
    assert unknown.exit_code == 2
    (line,) = _error_lines(unknown.output)
    assert "unknown encoding 'gbk2'" in line


def test_a_file_that_is_not_the_encoding_given_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes("text,label\n好,negative\n".encode("utf-16"))
    args = ["data", "import", str(path), "--kind", "labelled-text", "--name", "x16"]
    result = runner.invoke(app, [*args, "--encoding", "big5"])
    assert result.exit_code == 2, result.output
    (line,) = _error_lines(result.output)
    assert "is not big5 text" in line and "--encoding" in line
