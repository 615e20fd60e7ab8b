"""Exports re-scored by the independent bench script agree with Agora's own metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app
from training.recommender.benchmark import run_benchmark

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "recompute_recommender_metrics.py"
runner = CliRunner()


def _recompute(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.integration
def test_cli_export_agrees_with_independent_recompute(mirror: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["train", "recommender", "--dataset", "movielens-100k", "--model", "popularity"]
    result = runner.invoke(app, [*args, "--export-dir", str(export), "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert "MLflow run:" in result.output and "ndcg@10" in result.output

    train = pd.read_csv(export / "train.csv", dtype=str)
    test = pd.read_csv(export / "test.csv", dtype=str)
    recs = pd.read_csv(export / "recs.csv", dtype={"user_id": str, "item_id": str})
    # Protocol P: 100,000 ratings, each user's rows split ~75/25, 943 users with ten items each.
    assert len(train) + len(test) == 100_000
    assert 0.74 < len(train) / 100_000 < 0.76
    assert recs.groupby("user_id").size().eq(10).all() and recs.user_id.nunique() == 943

    checked = _recompute(export)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "agrees with agora" in checked.stdout


@pytest.mark.integration
def test_benchmark_exports_per_model_and_recompute_catches_tampering(
    mirror: Path, tmp_path: Path
) -> None:
    export = tmp_path / "bench"
    rows = run_benchmark(models=["popularity", "itemknn"], variant="fast", export_dir=export)
    assert {row.model for row in rows} == {"popularity", "itemknn"}
    by_model = {row.model: row.metrics["ndcg@10"] for row in rows}
    assert by_model["itemknn"] > by_model["popularity"]  # personalisation beats the baseline

    checked = _recompute(export)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("agrees with agora") == 2

    # Reverse each user's list: the same items, so only a rank-aware check can notice.
    recs_path = export / "recs_itemknn.csv"
    recs = pd.read_csv(recs_path, dtype={"user_id": str, "item_id": str})
    recs["rank"] = 11 - recs["rank"]
    recs.sort_values(["user_id", "rank"]).to_csv(recs_path, index=False)
    tampered = _recompute(export)
    assert tampered.returncode == 1
    assert "DISAGREES" in tampered.stdout and "ndcg@10" in tampered.stdout


def test_recompute_flags_recommended_training_items(tmp_path: Path) -> None:
    """The script's protocol check: a list holding one of the user's training items fails."""
    pd.DataFrame({"user_id": ["1", "1"], "item_id": ["a", "b"]}).to_csv(
        tmp_path / "train.csv", index=False
    )
    pd.DataFrame({"user_id": ["1"], "item_id": ["c"]}).to_csv(tmp_path / "test.csv", index=False)
    pd.DataFrame({"user_id": ["1", "1"], "rank": [1, 2], "item_id": ["c", "a"]}).to_csv(
        tmp_path / "recs.csv", index=False
    )
    checked = _recompute(tmp_path)
    assert checked.returncode == 1
    assert "recommended_seen_items': 1" in checked.stdout
    assert "ndcg@10=1.000000" in checked.stdout  # the hit at rank 1 of 1 relevant item
