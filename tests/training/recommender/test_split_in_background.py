"""The CLI reads and splits the dataset on a thread while it imports the pipeline: the split it
hands over is `prepare_split`'s, failures reach the caller, and a bad config loads nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from data.catalog import UnknownDatasetError
from data.imported import import_file
from data.schemas import Kind
from training.recommender import steps
from training.recommender.config import SplitConfig
from training.recommender.steps import SplitInBackground, prepare_split


def _import_ratings(folder: Path, name: str) -> None:
    ratings = folder / "ratings.csv"
    rows = [f"u{u},i{(u * 5 + n) % 17},{1 + n % 5}" for u in range(20) for n in range(6)]
    ratings.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    import_file(ratings, Kind.INTERACTIONS, {}, name)


def test_the_background_split_is_prepare_splits(tmp_path: Path) -> None:
    _import_ratings(tmp_path, "tiny")
    config = SplitConfig(train_ratio=0.75, seed=7)
    background = SplitInBackground("tiny", config)
    got, expected = background.result(), prepare_split("tiny", config)
    pd.testing.assert_frame_equal(got.train, expected.train)
    pd.testing.assert_frame_equal(got.test, expected.test)
    assert got.fingerprint() == expected.fingerprint()
    assert background.seconds > 0


def test_a_failure_on_the_thread_is_raised_to_the_caller() -> None:
    background = SplitInBackground("no-such-dataset", SplitConfig())
    with pytest.raises(UnknownDatasetError, match="no-such-dataset"):
        background.result()


def test_a_bad_config_is_refused_before_any_loading_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import_ratings(tmp_path, "tiny")
    started: list[str] = []
    monkeypatch.setattr(steps, "prepare_split", lambda dataset, _: started.append(dataset))
    config = tmp_path / "bad.yaml"
    config.write_text("model: als\nparams:\n  factors: -3\n")
    result = CliRunner().invoke(
        app, ["train", "recommender", "--dataset", "tiny", "--config", str(config)]
    )
    assert result.exit_code == 2, result.output
    assert "factors" in result.output and "Traceback" not in result.output
    assert started == []


def test_the_held_out_fingerprint_is_computed_once_for_a_split_and_its_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import_ratings(tmp_path, "tiny")
    config = SplitConfig(train_ratio=0.75, seed=7)
    expected = prepare_split("tiny", config).fingerprint()
    calls: list[str] = []
    original = steps.pairs_fingerprint

    def counted(dataset: str, frame: pd.DataFrame) -> str:
        calls.append(dataset)
        return original(dataset, frame)

    monkeypatch.setattr(steps, "pairs_fingerprint", counted)
    data = SplitInBackground("tiny", config).result()  # the thread goes on to the fingerprint
    more = data.with_extra_train(data.train.head(3))
    assert [data.fingerprint(), more.fingerprint(), data.fingerprint()] == [expected] * 3
    assert calls == ["tiny"]
