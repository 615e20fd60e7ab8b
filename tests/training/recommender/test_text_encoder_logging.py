"""The encoder that read a catalog's item texts is recorded on the run: for a Chinese catalog it
is not the configured sentence encoder, and the run must say so."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from features.han_ngrams import NAME as HAN_NGRAMS
from models.recommenders import create_recommender
from training.recommender.tracking import log_text_encoder
from training.tracking import configure_tracking


def test_a_chinese_catalogs_run_records_the_ngram_encoder_and_why(tmp_path: Path) -> None:
    titles = ["火锅探店推荐", "猫粮怎么选", "手机续航测评", "宝宝辅食分享", "烤肉食谱", "猫砂避坑"]
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(6)], "title": titles})
    interactions = pd.DataFrame(
        {"user_id": [f"u{i % 3}" for i in range(12)], "item_id": [f"i{i % 6}" for i in range(12)]}
    )
    config = {"components": [{"type": "ease"}, {"type": "embedding", "weight": 0.0}]}
    hybrid = create_recommender("hybrid", config).fit(interactions, items)
    uri = configure_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        log_text_encoder(hybrid)
    data = MlflowClient(tracking_uri=uri).get_run(run.info.run_id).data
    assert data.params["text_encoder"] == HAN_NGRAMS
    assert "100% of 6 item texts are Han script" in data.tags["agora.text_encoder_choice"]
