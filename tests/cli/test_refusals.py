"""Commands refuse bad input in one sentence, before any work, and never with a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import typer
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from cli.champions import check_trained_for
from cli.main import app
from data.store import Store
from training.retrain.common import RetrainOutcome
from training.tracking import configure_tracking


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_bad_service_url_is_refused_before_the_retrain_promotes(isolated_home: Path) -> None:
    for command in (["retrain", "triage", "--task", "category"], ["retrain", "recommender"]):
        code, output = _run(*command, "--service-url", "notaurl")
        assert code == 2 and "is not an http(s) URL" in output, output
    configure_tracking(None)
    assert MlflowClient().search_registered_models() == []  # nothing was trained or promoted


def test_serve_refuses_a_port_another_service_holds() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code, output = _run("serve", "--insecure-dev", "--port", str(port))
    assert code == 2 and f"port {port} on 127.0.0.1 is in use" in output, output


def test_rolling_back_a_model_nobody_registered_is_a_sentence(isolated_home: Path) -> None:
    code, output = _run("models", "rollback", "nonexistent")
    assert code == 1 and "no registered model is named 'nonexistent'" in output, output


def test_a_store_url_sqlalchemy_cannot_open_is_refused(tmp_path: Path) -> None:
    code, output = _run("kb", "search", "my bag is lost", "--store-url", "bogus://x")
    assert code == 2 and "names 'bogus': use sqlite:///PATH" in output, output
    out = tmp_path / "new" / "folder" / "report.html"
    code, output = _run("report", "complaints", "--out", str(out), "--store-url", "bogus://x")
    assert code == 2 and "names 'bogus': use sqlite:///PATH" in output, output


def test_a_report_of_the_longest_range_into_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "report.html"
    store = f"sqlite:///{tmp_path / 'store.db'}"
    # Regression: a mistyped store path made an empty store and a report of zeros, exit 0.
    code, output = _run("report", "complaints", "--out", str(out), "--store-url", store)
    assert code == 2 and "no store at" in output and not out.exists(), output
    Store(store).engine.dispose()  # the store exists (as the service makes it), empty
    code, output = _run(
        "report", "complaints", "--out", str(out), "--since", "92d", "--store-url", store
    )
    assert code == 0 and out.exists(), output
    assert "whole days of UTC" in output
    # A zone's days are counted by the hour: the longest range still fits the bucket limit.
    code, output = _run(
        "report", "complaints", "--out", str(out), "--since", "92d", "--tz", "America/New_York",
        "--store-url", store,
    )  # fmt: skip
    assert code == 0 and "whole days of America/New_York" in output, output
    code, output = _run(
        "report", "complaints", "--out", str(out), "--since", "93d", "--store-url", store
    )
    assert code == 2 and "at most 92" in output, output


def test_batch_work_refuses_a_model_of_another_dataset_or_kind(tmp_path: Path) -> None:
    configure_tracking(None)
    client = MlflowClient()
    for name, family in (("agora-recommender-shop", "recommender"), ("cats", "triage")):
        client.create_registered_model(name)
        tags = {"agora.family": family, "agora.dataset": "movielens-100k"}
        client.create_model_version(name, (tmp_path / name).as_uri(), tags=tags)
    check_trained_for("agora-recommender-shop", "1", "movielens-100k", None)  # its own: fine
    with pytest.raises(typer.Exit) as refused:
        check_trained_for("agora-recommender-shop", "1", "my-shop", None)
    assert refused.value.exit_code == 2
    with pytest.raises(typer.Exit):
        check_trained_for("cats", "1", "movielens-100k", None)


def test_a_promotion_the_service_was_not_told_of_fails_the_retrain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: with --service-url and the service down (or refusing the key), the retrain
    printed 'service reloaded: NO' and exited 0, so a cron job saw success while the service
    kept serving the old champion."""
    import training.retrain.recommender as retrain

    outcome = RetrainOutcome(
        "agora-recommender", "7", 0.5, "6", 0.4, "ndcg@10", True, "better", False, 1.0
    )
    monkeypatch.setattr(retrain, "retrain_recommender", lambda *args, **kwargs: outcome)
    code, output = _run("retrain", "recommender", "--service-url", "http://127.0.0.1:9")
    assert code == 1, output
    assert "promoted" in output and "still serves the previous champion" in output, output


def test_a_retrain_with_nothing_new_to_learn_says_so_and_exits_0(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A scheduled retrain on a night without corrections is a normal outcome, as a candidate
    # the gate refuses is: a cron job must not read it as a failed step.
    import training.retrain.triage as retrain
    from training.retrain.common import NothingNewToLearnError

    def nothing_new(*args: object, **kwargs: object) -> None:
        raise NothingNewToLearnError("nothing new to learn: m v1 (the champion) ...")

    monkeypatch.setattr(retrain, "retrain_triage", nothing_new)
    code, output = _run("retrain", "triage", "--task", "category")
    assert code == 0 and "nothing new to learn: m v1" in output, output
