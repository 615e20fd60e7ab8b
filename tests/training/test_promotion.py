"""Promotion gate, rollback and the audit trail, on a real MLflow SQLite registry."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from training.guards import Guard
from training.promotion import (
    PromotionRefusedError,
    RegistryError,
    champion,
    evaluation_tags,
    promote,
    rollback,
)
from training.tracking import configure_tracking

pytestmark = pytest.mark.integration  # a real MLflow registry (SQLite under AGORA_HOME)

NAME = "agora-test-model"


@pytest.fixture
def client(tmp_path: Path, isolated_home: Path) -> MlflowClient:
    configure_tracking()  # the default local store under the test's AGORA_HOME
    client = MlflowClient()
    client.create_registered_model(NAME)
    return client


def _register(
    client: MlflowClient, tmp_path: Path, ndcg: float, fingerprint: str = "split-a"
) -> str:
    source = tmp_path / f"artifact-{ndcg}"
    source.mkdir(exist_ok=True)
    tags = evaluation_tags("ndcg_at_10", {"ndcg_at_10": ndcg, "recall_at_10": 0.1}, fingerprint)
    return str(client.create_model_version(NAME, source=str(source), tags=tags).version)


def test_first_version_becomes_champion_and_records_who_why_when(
    client: MlflowClient, tmp_path: Path
) -> None:
    v1 = _register(client, tmp_path, 0.40)
    promoted = promote(client, NAME, by="alice")
    assert promoted.version == v1 and "champion" in promoted.aliases
    assert promoted.tags["agora.promoted_by"] == "alice"
    assert promoted.tags["agora.promoted_reason"] == "no current champion"
    assert promoted.tags["agora.promoted_at"].endswith("Z")


def test_gate_refuses_a_worse_candidate_and_accepts_a_better(
    client: MlflowClient, tmp_path: Path
) -> None:
    v1 = _register(client, tmp_path, 0.40)
    promote(client, NAME, v1)
    v2 = _register(client, tmp_path, 0.35)
    with pytest.raises(PromotionRefusedError, match="worse"):
        promote(client, NAME, v2)
    assert champion(client, NAME).version == v1
    v3 = _register(client, tmp_path, 0.40)  # equal is "at least as good"
    assert promote(client, NAME, v3).version == v3


def test_gate_refuses_different_evaluation_data(client: MlflowClient, tmp_path: Path) -> None:
    promote(client, NAME, _register(client, tmp_path, 0.40, "split-a"))
    other = _register(client, tmp_path, 0.90, "split-b")
    with pytest.raises(PromotionRefusedError, match="different data"):
        promote(client, NAME, other)


def test_force_needs_a_reason_and_rollback_restores(client: MlflowClient, tmp_path: Path) -> None:
    v1 = _register(client, tmp_path, 0.40)
    promote(client, NAME, v1)
    v2 = _register(client, tmp_path, 0.10)
    with pytest.raises(PromotionRefusedError, match="reason"):
        promote(client, NAME, v2, force=True)
    forced = promote(client, NAME, v2, force=True, reason="hotfix for a broken feature")
    assert forced.tags["agora.promoted_reason"] == "forced: hotfix for a broken feature"
    restored = rollback(client, NAME, reason="v2 hurt engagement", by="bob")
    assert restored.version == v1
    assert champion(client, NAME).version == v1
    assert restored.tags["agora.rolled_back_by"] == "bob"
    with pytest.raises(RegistryError, match="no previous champion"):
        rollback(client, NAME)


def test_unknown_version_is_a_clear_error(client: MlflowClient) -> None:
    with pytest.raises(RegistryError, match="no version 42"):
        promote(client, NAME, "42")


def test_champion_rescored_on_new_evaluation_data(client: MlflowClient, tmp_path: Path) -> None:
    promote(client, NAME, _register(client, tmp_path, 0.40, "split-a"))
    candidate = _register(client, tmp_path, 0.50, "split-b")  # e.g. with held-out corrections
    with pytest.raises(PromotionRefusedError, match="worse"):
        promote(client, NAME, candidate, champion_score=0.55)
    promoted = promote(client, NAME, candidate, champion_score=0.45)
    assert promoted.version == candidate
    assert "0.4500 (champion" in promoted.tags["agora.promoted_reason"]


def test_two_promotions_at_once_both_reach_the_history(
    client: MlflowClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: each read the history, and the last to write dropped the other's entry, so a
    # rollback restored the wrong version. A slow alias move makes the two overlap.
    import training.promotion as promotion

    v1 = _register(client, tmp_path, 0.40)
    promote(client, NAME, v1)
    v2, v3 = _register(client, tmp_path, 0.41), _register(client, tmp_path, 0.42)
    real_move = promotion._move_champion

    def slow_move(*args: object, **kwargs: object) -> None:
        time.sleep(0.5)
        real_move(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(promotion, "_move_champion", slow_move)
    outcomes: dict[str, object] = {}

    def try_promote(version: str) -> None:
        try:
            outcomes[version] = promote(MlflowClient(), NAME, version).version
        except PromotionRefusedError as refused:
            outcomes[version] = refused

    threads = [threading.Thread(target=try_promote, args=(v,)) for v in (v3, v2)]
    for thread in threads:
        thread.start()
        time.sleep(0.1)  # v3 reads first; v2 reads while v3 is moving
    for thread in threads:
        thread.join()
    # v3 moved first; v2 was then gated against v3 (0.41 < 0.42), not against v1
    assert outcomes[v3] == v3 and isinstance(outcomes[v2], PromotionRefusedError), outcomes
    assert champion(client, NAME).version == v3
    assert rollback(client, NAME).version == v1


def test_a_rescored_champion_that_moved_meanwhile_refuses_the_promotion(
    client: MlflowClient, tmp_path: Path
) -> None:
    v1 = _register(client, tmp_path, 0.40)
    promote(client, NAME, v1)
    v2 = _register(client, tmp_path, 0.45)
    promote(client, NAME, v2)  # while a retrain was scoring v1 on its own data
    v3 = _register(client, tmp_path, 0.50, "split-new")
    with pytest.raises(PromotionRefusedError, match="moved to v2 after v1 was re-scored"):
        promote(client, NAME, v3, champion_score=0.30, scored_champion=v1)
    assert promote(client, NAME, v3, champion_score=0.30, scored_champion=v2).version == v3


def test_a_retrain_candidate_the_gate_refuses_records_why(
    client: MlflowClient, tmp_path: Path
) -> None:
    """Regression: a retrain's refused candidate carried nothing in the registry about the
    comparison (the champion's re-scored figure, the refusal), so MLflow could not say why the
    newest version was not the champion."""
    from training.retrain.common import promote_if_not_worse

    v1 = _register(client, tmp_path, 0.40)
    promote(client, NAME, v1)
    v2 = _register(client, tmp_path, 0.38)
    promoted, decision = promote_if_not_worse(NAME, v2, (v1, 0.42), reason="retrain")
    assert not promoted and "worse" in decision
    tags = client.get_model_version(NAME, v2).tags
    assert tags["agora.refused_reason"] == decision and "0.4200" in decision
    assert tags["agora.refused_at"].endswith("Z")


def test_a_retrain_candidate_is_guarded_on_the_champions_rescored_metrics(
    client: MlflowClient, tmp_path: Path
) -> None:
    """A retrain passes the champion's re-scored metrics, so the default guards apply to it."""
    from training.retrain.common import promote_if_not_worse

    def register(ndcg: float, coverage: float) -> str:
        source = tmp_path / f"artifact-{ndcg}-{coverage}"
        source.mkdir()
        metrics = {"ndcg_at_10": ndcg, "coverage_at_10": coverage, "recall_at_10": 0.1}
        tags = {**evaluation_tags("ndcg_at_10", metrics, "split-a"), "agora.family": "recommender"}
        return str(client.create_model_version(NAME, source=str(source), tags=tags).version)

    v1 = register(0.40, 0.30)
    promote(client, NAME, v1)
    v2 = register(0.41, 0.10)
    rescored = {"ndcg_at_10": 0.40, "coverage_at_10": 0.30, "recall_at_10": 0.1}
    promoted, decision = promote_if_not_worse(NAME, v2, (v1, 0.40), "retrain", 0.0, rescored)
    assert not promoted and "the coverage_at_10 guard" in decision, decision
    rescored["coverage_at_10"] = 0.11  # the champion, on the retrain's data, reached little more
    promoted, decision = promote_if_not_worse(NAME, v2, (v1, 0.40), "retrain", 0.0, rescored)
    assert promoted and "guards held: coverage_at_10 0.1000 (v2) vs 0.1100" in decision, decision


def test_a_guard_asked_for_on_a_metric_the_candidate_lacks_is_refused(
    client: MlflowClient, tmp_path: Path
) -> None:
    """A misspelt `--guard` (here `coverage_at_1O`) was skipped, and the version promoted with
    nothing guarded."""
    promote(client, NAME, _register(client, tmp_path, 0.40))
    candidate = _register(client, tmp_path, 0.45)
    with pytest.raises(PromotionRefusedError, match=r"'coverage_at_1O'.*records no such metric"):
        promote(client, NAME, candidate, guards=[Guard("coverage_at_1O", 0.2, relative=True)])
    assert champion(client, NAME).version != candidate
