"""Serving slots in the registry: promotion binds a model to a slot, checked before anything
moves, on a real MLflow SQLite registry with models the real triage pipeline registered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.main import app
from features.text_splits import Task, TextSplit
from models.classifiers.tfidf import TfidfConfig
from models.served_models import SERVING_SLOT_TAG
from training.promotion import PromotionRefusedError, champion, evaluation_tags, promote
from training.slots import SLOT_HISTORY_TAG, TAG_CLASSES, slot_bindings, unbind_slot
from training.tracking import configure_tracking, log_and_register_model, tracked_run
from training.triage.config import TriageConfig
from training.triage.pipeline import train_triage

pytestmark = pytest.mark.integration  # a real MLflow registry (SQLite under AGORA_HOME)

PYFUNC_TRIAGE = Path(__file__).resolve().parents[2] / "training" / "pyfunc_triage.py"


@pytest.fixture
def client(isolated_home: Path) -> MlflowClient:
    configure_tracking()  # the default local store under the test's AGORA_HOME
    return MlflowClient()


def _train(
    dataset: str,
    language: str = "en",
    labels: tuple[str, str] = ("negative", "positive"),
    task: Task = Task.SENTIMENT,
) -> tuple[str, str]:
    """A tiny TF-IDF model trained and registered by the real pipeline: (name, version)."""
    texts = ["late flight again", "lost my bag", "thanks lovely crew", "great trip"] * 4
    tags = [labels[0], labels[0], labels[1], labels[1]] * 4
    split = TextSplit(dataset, task, language, texts, tags, texts, tags, {})
    config = TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    result = train_triage(task, dataset, "tfidf", config, split=split)
    return result.registered_name, result.version


def _slot_of(client: MlflowClient, name: str) -> str | None:
    return (client.get_registered_model(name).tags or {}).get(SERVING_SLOT_TAG)


def test_the_pipeline_tags_what_a_slot_check_reads(client: MlflowClient) -> None:
    name, version = _train("my-tickets", labels=("0", "1"))
    tags = client.get_model_version(name, version).tags
    assert (tags["agora.family"], tags["agora.task"], tags["agora.language"]) == (
        "triage",
        "sentiment",
        "en",
    )
    assert tags["agora.dataset"] == "my-tickets"
    assert json.loads(tags[TAG_CLASSES]) == ["0", "1"]


def test_promotion_binds_the_slot_and_takes_it_from_the_previous_holder(
    client: MlflowClient,
) -> None:
    first, v1 = _train("tickets-a")
    promote(client, first, v1, slot="sentiment-en", by="alice")
    assert champion(client, first).version == v1
    bindings = {b.slot: b for b in slot_bindings(client)}
    assert bindings["sentiment-en"].name == first == "agora-triage-sentiment-en-tickets-a"
    assert bindings["sentiment-en"].bound and bindings["sentiment-en"].bound_by == "alice"
    assert bindings["sentiment-zh"].name == "agora-triage-sentiment-zh"  # unbound: the default
    assert not bindings["sentiment-zh"].bound

    second, v2 = _train("tickets-b")
    promote(client, second, v2, slot="sentiment-en", reason="new desk", by="bob")
    assert {b.slot: b.name for b in slot_bindings(client)}["sentiment-en"] == second
    assert _slot_of(client, first) is None  # one model per slot
    history = json.loads(client.get_registered_model(first).tags[SLOT_HISTORY_TAG])
    assert [entry["action"] for entry in history] == ["bound", "unbound"]
    assert history[-1]["by"] == "bob" and second in history[-1]["why"]

    assert unbind_slot(client, "sentiment-en", "back to the default") == [second]
    assert {b.slot: b.name for b in slot_bindings(client)}["sentiment-en"] == (
        "agora-triage-sentiment-en"
    )


def test_binding_a_champion_again_moves_only_the_binding(client: MlflowClient) -> None:
    name, version = _train("tickets-c")
    promote(client, name, version)  # champion, not bound
    assert _slot_of(client, name) is None
    promoted = promote(client, name, version, slot="sentiment-en")
    assert promoted.version == version and _slot_of(client, name) == "sentiment-en"


@pytest.mark.parametrize(
    ("train", "slot", "message"),
    [
        ({"dataset": "tickets-und", "language": "und"}, "sentiment-en", "--language en"),
        ({"dataset": "tickets-01", "labels": ("0", "1")}, "sentiment-en", "classes: 0, 1"),
        ({"dataset": "tickets-zh", "language": "zh"}, "sentiment-en", "fits slot 'sentiment-zh'"),
        ({"dataset": "tickets-r", "task": Task.REASON}, "sentiment-en", "predicts reason"),
        ({"dataset": "tickets-d"}, "recommender", "serves a recommender"),
    ],
)
def test_a_model_that_cannot_serve_the_slot_is_refused_before_anything_moves(
    client: MlflowClient, train: dict[str, object], slot: str, message: str
) -> None:
    name, version = _train(**train)  # type: ignore[arg-type]
    with pytest.raises(PromotionRefusedError, match=message):
        promote(client, name, version, slot=slot, force=True, reason="force skips only the gate")
    assert champion(client, name) is None and _slot_of(client, name) is None


def test_a_bound_name_keeps_checking_its_slot_on_later_promotions(client: MlflowClient) -> None:
    # Regression: only `--slot` promotions were checked, so a later plain promotion (or a
    # rollback) of a bound name could put a model the slot cannot serve behind it.
    name, v1 = _train("tickets-e")
    promote(client, name, v1, slot="sentiment-en")
    same_name, v2 = _train("tickets-e", labels=("0", "1"))
    assert same_name == name and v2 != v1
    with pytest.raises(PromotionRefusedError, match="classes: 0, 1"):
        promote(client, name, v2, force=True, reason="the gate is skipped, not the slot")
    assert champion(client, name).version == v1 and _slot_of(client, name) == "sentiment-en"


def test_a_recommender_binds_only_the_recommender_slot(
    client: MlflowClient, tmp_path: Path
) -> None:
    name = "agora-recommender-my-shop"
    client.create_registered_model(name)
    tags = {
        **evaluation_tags("ndcg_at_10", {"ndcg_at_10": 0.3}, "shop-split"),
        "agora.family": "recommender",
    }
    version = str(client.create_model_version(name, str(tmp_path), tags=tags).version)
    with pytest.raises(PromotionRefusedError, match="recommender: it can only serve slot 'rec"):
        promote(client, name, version, slot="category")
    promote(client, name, version, slot="recommender")
    assert {b.slot: b.name for b in slot_bindings(client)}["recommender"] == name


def test_a_version_without_the_tags_is_checked_from_its_manifest(
    client: MlflowClient, tmp_path: Path
) -> None:
    """Versions registered before the classes tag existed: the artifact's manifest says."""
    native = tmp_path / "native"
    native.mkdir()
    (native / "manifest.json").write_text(
        json.dumps({"family": "classifier", "classes": ["0", "1"]})
    )
    tags = {"agora.task": "sentiment", "agora.language": "en"}  # no family, no classes
    with tracked_run("agora-test", "old-model"):
        version = log_and_register_model(native, PYFUNC_TRIAGE, "old-sentiment", None, tags)
    with pytest.raises(PromotionRefusedError, match=r"its classes: 0, 1"):
        promote(client, "old-sentiment", version, slot="sentiment-en")


def test_the_cli_binds_refuses_and_lists_slots(client: MlflowClient) -> None:
    runner = CliRunner()
    name, version = _train("tickets-cli")
    bound = runner.invoke(app, ["models", "promote", name, version, "--slot", "sentiment-en"])
    assert bound.exit_code == 0, bound.output
    assert f"slot sentiment-en: serves {name} (was agora-triage-sentiment-en)" in bound.output
    listing = runner.invoke(app, ["models", "slots"])
    assert listing.exit_code == 0
    line = next(row for row in listing.output.splitlines() if "sentiment-en" in row)
    assert name in line and f"@champion v{version}" in line and "bound" in line

    und, und_version = _train("tickets-cli-und", language="und")
    refused = runner.invoke(app, ["models", "promote", und, und_version, "--slot", "sentiment-en"])
    assert refused.exit_code == 1 and "--language en" in refused.output  # refused, input fine
    unknown = runner.invoke(app, ["models", "promote", name, "--slot", "product"])
    assert unknown.exit_code == 2  # a slot that does not exist is bad input

    released = runner.invoke(app, ["models", "unbind", "sentiment-en"])
    assert released.exit_code == 0 and "serves agora-triage-sentiment-en" in released.output
