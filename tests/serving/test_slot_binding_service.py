"""A slot bound in the registry is what the real service serves, and a reload follows the binding.

The registry is a copy of the session's champions store: binding a slot there leaves the shared
store, and every other module's server, as they were.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from features.text_splits import Task, TextSplit
from models.classifiers.tfidf import TfidfConfig
from tests.serving.conftest import ServiceProcess, service_env
from training.promotion import evaluation_tags, promote
from training.slots import classes_tag, unbind_slot
from training.tracking import configure_tracking, log_and_register_model, run_tags, tracked_run
from training.triage.config import TriageConfig
from training.triage.pipeline import fit_and_evaluate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NAME = "agora-triage-sentiment-en-my-tickets"


def _register_own_sentiment_model(tmp_path: Path) -> str:
    """A user's English sentiment model (tiny, negative/positive), registered with the tags the
    triage pipeline gives a version; returns its version."""
    texts = ["late flight again", "lost my bag", "thanks lovely crew", "great trip"] * 4
    labels = ["negative", "negative", "positive", "positive"] * 4
    split = TextSplit("my-tickets", Task.SENTIMENT, "en", texts, labels, texts, labels, {})
    trained = fit_and_evaluate(
        "tfidf", split, TriageConfig(tfidf=TfidfConfig(calibration_folds=0, min_df=1))
    )
    native = trained.classifier.save(tmp_path / "native")
    tags = {
        **evaluation_tags("macro_f1", {"macro_f1": trained.report.macro_f1}, "my-tickets-split"),
        **run_tags("triage", "tfidf", task="sentiment", language="en", dataset="my-tickets"),
        **classes_tag(trained.classifier.classes_),
    }
    with tracked_run("agora-slot-test", "my-tickets"):  # artifacts under this test's home
        return log_and_register_model(
            native, ROOT / "training" / "pyfunc_triage.py", NAME, None, tags
        )


def test_a_bound_slot_is_served_and_a_reload_follows_its_release(
    champions_home: Path, tmp_path: Path
) -> None:
    store = tmp_path / "mlflow.db"
    shutil.copy(champions_home / "mlflow.db", store)
    uri = configure_tracking(f"sqlite:///{store}")
    client = MlflowClient(uri, uri)
    version = _register_own_sentiment_model(tmp_path)
    promote(client, NAME, version, slot="sentiment-en", reason="our own tickets")

    server = ServiceProcess(service_env(tmp_path / "home", MLFLOW_TRACKING_URI=uri)).start()
    try:
        status, info = server.get("/model_info")
        assert status == 200 and info["ready"], info
        assert info["models"]["sentiment-en"]["name"] == NAME
        assert info["models"]["sentiment-en"]["binding"] == "registry"
        assert info["models"]["sentiment-zh"]["binding"] == "default"
        status, answer = server.post("/triage", {"text": "lost my bag again", "language": "en"})
        assert status == 200, answer
        used = {(m["task"], m["language"]): m["name"] for m in answer["result"]["models"]}
        assert used[("sentiment", "en")] == NAME

        unbind_slot(client, "sentiment-en", "back to the default")
        status, reloaded = server.post("/admin/reload", {})
        assert status == 200 and reloaded["changed"], reloaded
        assert reloaded["models"]["sentiment-en"]["name"] == "agora-triage-sentiment-en"
        assert reloaded["models"]["sentiment-en"]["binding"] == "default"
    finally:
        server.stop()
