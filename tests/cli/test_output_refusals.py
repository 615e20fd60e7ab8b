"""An output path a command could not write is refused in one sentence before any work.

Regression (a user trial): `agora batch recommend/triage --out` given a folder, a path under a
file or a place nobody may write to failed with a traceback after all the work;
`agora batch recommend --out a.csv` wrote Parquet under a .csv name; `agora train recommender
--export-dir FILE` crashed and `--save-config FILE/x.yaml` crashed after the model was registered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.cli.refusal_checks import forbid_work, refused


@pytest.fixture(autouse=True)
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_work(monkeypatch, "output")


def _unwritable_outputs(tmp_path: Path) -> list[tuple[Path, str]]:
    a_file = tmp_path / "taken.txt"
    a_file.write_text("x")
    return [
        (tmp_path, "is a folder"),
        (a_file / "x.parquet", "is a file, not a folder"),
        (a_file / "deeper" / "x.parquet", "is a file, not a folder"),
        (Path("/proc/agora-x.parquet"), "cannot create a file in /proc"),
        (tmp_path / "recs.csv", "the output is Parquet; give a path ending in .parquet"),
    ]


def test_batch_recommend_refuses_an_output_it_cannot_write(tmp_path: Path) -> None:
    for out, fragment in _unwritable_outputs(tmp_path):
        refused(["batch", "recommend", "--dataset", "movielens-100k", "--out", str(out)], fragment)


def test_batch_triage_refuses_an_output_it_cannot_write(tmp_path: Path) -> None:
    table = tmp_path / "texts.csv"
    table.write_text("text\nhello\n")
    for out, fragment in _unwritable_outputs(tmp_path):
        refused(["batch", "triage", str(table), "--out", str(out)], fragment)


def test_batch_evaluate_and_embed_check_their_outputs_first(tmp_path: Path) -> None:
    a_file = tmp_path / "taken.txt"
    a_file.write_text("x")
    json_out = str(a_file / "m.json")
    refused(["batch", "evaluate", "--dataset", "movielens-100k", "--json", json_out], "is a file")
    refused(["batch", "embed", "--dataset", "movielens-100k", "--out", str(tmp_path / "v.csv")])


def test_a_new_output_folder_is_made_and_nothing_else_is_written(tmp_path: Path) -> None:
    """A missing folder is no refusal: it is created (as the command would), holding nothing."""
    out = tmp_path / "new" / "folder" / "recs.parquet"
    result = CliRunner().invoke(
        app, ["batch", "recommend", "--dataset", "movielens-100k", "--out", str(out)]
    )
    assert isinstance(result.exception, AssertionError)  # the check passed: the work began
    assert out.parent.is_dir() and not list(out.parent.iterdir())


def test_train_recommender_checks_its_export_and_config_paths_before_training(
    tmp_path: Path,
) -> None:
    a_file = tmp_path / "taken.txt"
    a_file.write_text("x")
    train = ["train", "recommender", "--dataset", "movielens-100k", "--model", "popularity"]
    refused([*train, "--export-dir", str(a_file)], "--export-dir", "is a file, not a folder")
    refused([*train, "--save-config", str(a_file / "x.yaml")], "--save-config", "is a file")
    refused([*train, "--save-config", str(tmp_path)], "--save-config", "is a folder")
    refused(["benchmark", "recommender", "--export-dir", str(a_file)], "is a file, not a folder")
