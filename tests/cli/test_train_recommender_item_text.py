"""`agora train recommender` on a catalog whose items have no text to read."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from data.imported import import_file
from data.schemas import Kind

runner = CliRunner()


def test_the_content_model_on_ratings_without_items_is_refused_in_a_sentence(
    tmp_path: Path,
) -> None:
    """Regression: `--model embedding` on ratings imported without an items file ended in a
    traceback (ValueError from the model) with exit code 1."""
    ratings = tmp_path / "ratings.csv"
    rows = [f"u{u},i{(u * 3 + n) % 12},{1 + n % 5}" for u in range(12) for n in range(4)]
    ratings.write_text("user_id,item_id,rating\n" + "\n".join(rows) + "\n")
    import_file(ratings, Kind.INTERACTIONS, {}, "no-items")
    args = ["train", "recommender", "--dataset", "no-items", "--model", "embedding"]
    result = runner.invoke(app, [*args, "--budget-minutes", "0"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "no items file" in errors[0] and "--model ease or als" in errors[0]
