"""A Chinese catalog's content model: item texts in Han script are read by character n-grams
fitted on the catalog (`features.han_ngrams`), not by the English sentence encoder; the choice
is made at fit from the texts' script, saved with the model, and queries follow it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.embeddings import DEFAULT_ENCODER, TextEncoder
from features.han_ngrams import NAME as HAN_NGRAMS
from models.recommenders import create_recommender, load_recommender
from models.recommenders.embedding import HAN_ENCODER_FILE, EmbeddingRecommender
from models.recommenders.hybrid import HybridRecommender
from training.recommender.tracking import content_encoder_note

# Four topics, each a few words of its own; every post also carries words every topic uses and
# sometimes an English brand, as posts on a Chinese platform do.
TOPICS = {
    "美食": ["火锅", "奶茶", "烤肉", "甜品", "小龙虾", "探店", "食谱"],
    "宠物": ["猫咪", "狗狗", "猫粮", "驱虫", "铲屎官", "遛狗", "猫砂"],
    "数码": ["手机", "耳机", "续航", "芯片", "屏幕", "快充", "降噪"],
    "育儿": ["宝宝", "孩子", "辅食", "绘本", "早教", "亲子", "哄睡"],
}
GENERIC = ["推荐", "分享", "真的", "体验", "周末", "值得", "新手", "攻略", "避坑", "好用"]
BRANDS = ["Nike", "iPhone", "Switch", "IKEA"]


def chinese_catalog(per_topic: int = 12, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(interactions, items): users keep to one topic; the last two items of a topic are cold."""
    rng = random.Random(seed)
    items, topic_of = [], {}
    for name, words in TOPICS.items():
        for n in range(per_topic):
            a, b, c = rng.sample(words, 3)
            g, h = rng.sample(GENERIC, 2)
            title = f"{g}｜{a}{h}"
            feeling, brand = rng.choice(["好", "方便", "失望"]), rng.choice(BRANDS)
            text = f"这次{g}{b}，{c}和{a}都很{feeling}。{brand}也{h}。"
            item_id = f"{name}-{n}"
            items.append((item_id, title, text))
            topic_of[item_id] = name
    rows = []
    for user in range(24):
        name = list(TOPICS)[user % 4]
        for n in rng.sample(range(per_topic - 2), 5):
            rows.append((f"u{user}", f"{name}-{n}", 1.0))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    catalog = pd.DataFrame(items, columns=["item_id", "title", "text"])
    return interactions, catalog


def same_topic_share(model: EmbeddingRecommender | HybridRecommender, k: int = 5) -> float:
    """Mean share of each item's k most similar items that are of its own topic."""
    ids = [f"{name}-{n}" for name in TOPICS for n in range(12)]
    shares = [
        np.mean([rec.item_id.split("-")[0] == item.split("-")[0] for rec in answer])
        for item in ids
        if (answer := model.similar_items(item, k=k))
    ]
    return float(np.mean(shares))


@pytest.fixture(scope="module")
def fitted(encoder: TextEncoder) -> EmbeddingRecommender:
    interactions, items = chinese_catalog()
    model = create_recommender("embedding", {}, encoder=encoder).fit(interactions, items)
    assert isinstance(model, EmbeddingRecommender)
    return model


def test_similar_items_of_a_chinese_catalog_keep_to_the_topic(fitted: EmbeddingRecommender) -> None:
    # Regression: Chinese item texts were embedded by all-MiniLM-L6-v2, an English model, and
    # similar items of a Chinese post mostly came from other topics.
    # (measured on this catalog: 0.82 with n-grams, 0.33 with all-MiniLM-L6-v2; chance 0.23)
    assert fitted.text_encoder_name == HAN_NGRAMS
    assert same_topic_share(fitted) >= 0.7


def test_the_sentence_encoder_on_the_same_catalog_is_what_the_fix_replaces(
    fitted: EmbeddingRecommender, encoder: TextEncoder
) -> None:
    interactions, items = chinese_catalog()
    forced = create_recommender("embedding", {"text_encoder": "sentence"}, encoder=encoder)
    forced.fit(interactions, items)
    assert isinstance(forced, EmbeddingRecommender)
    assert forced.text_encoder_name == DEFAULT_ENCODER
    assert same_topic_share(forced) < same_topic_share(fitted) - 0.2


def test_a_chinese_text_query_finds_its_topic(fitted: EmbeddingRecommender) -> None:
    answer = fitted.recommend_for_text("周末带宝宝，有什么绘本推荐", k=5)
    assert [rec.item_id.split("-")[0] for rec in answer] == ["育儿"] * 5


def test_cold_items_are_similar_to_their_topic(fitted: EmbeddingRecommender) -> None:
    cold = [f"{name}-11" for name in TOPICS]  # nobody interacted with them
    assert not fitted.catalog.has_interactions[fitted.catalog.items.lookup(cold)].any()
    topics = [
        [rec.item_id.split("-")[0] == item.split("-")[0] for rec in fitted.similar_items(item, k=3)]
        for item in cold
    ]
    assert np.mean(topics) >= 0.75


def test_the_ngram_encoder_is_saved_with_the_model_and_named_in_the_manifest(
    fitted: EmbeddingRecommender, tmp_path: Path
) -> None:
    folder = fitted.save(tmp_path / "zh")
    assert (folder / HAN_ENCODER_FILE).exists()
    assert json.loads((folder / "manifest.json").read_text())["text_encoder"] == HAN_NGRAMS
    assert not list(folder.rglob("*.pkl"))
    loaded = load_recommender(folder, encoder=None)
    query = "猫咪掉毛，猫粮怎么选"
    assert loaded.recommend_for_text(query, k=5) == fitted.recommend_for_text(query, k=5)
    fresh = "新手铲屎官：猫砂和驱虫"  # an item published after training
    assert np.array_equal(loaded.embed_texts([fresh]), fitted.embed_texts([fresh]))


def test_an_english_catalog_keeps_the_sentence_encoder(
    interactions: pd.DataFrame, items: pd.DataFrame, encoder: TextEncoder
) -> None:
    model = create_recommender("embedding", {}, encoder=encoder).fit(interactions, items)
    assert isinstance(model, EmbeddingRecommender)
    assert model.text_encoder_name == DEFAULT_ENCODER
    assert model.text_encoder_note is not None and "0% of 11 item texts" in model.text_encoder_note


def test_a_hybrid_reads_a_chinese_catalog_through_its_content_component(
    encoder: TextEncoder,
) -> None:
    interactions, items = chinese_catalog()
    config = {"components": [{"type": "ease"}, {"type": "embedding", "weight": 0.0}]}
    hybrid = create_recommender("hybrid", config, encoder=encoder).fit(interactions, items)
    assert isinstance(hybrid, HybridRecommender)
    note = content_encoder_note(hybrid)  # what the training run prints and tags
    assert note is not None and note.startswith("han-ngrams") and "100% of 48" in note
    cold = hybrid.similar_items("数码-11", k=3)
    assert [rec.item_id.split("-")[0] for rec in cold] == ["数码"] * 3
    answer = hybrid.recommend_for_text("降噪耳机续航怎么样", k=3)
    assert [rec.item_id.split("-")[0] for rec in answer] == ["数码"] * 3


def test_a_large_chinese_catalog_answers_through_the_graph(
    fitted: EmbeddingRecommender, encoder: TextEncoder
) -> None:
    interactions, items = chinese_catalog()
    graphed = create_recommender("embedding", {"ann": {"min_items": 10}}, encoder=encoder)
    graphed.fit(interactions, items)
    assert isinstance(graphed, EmbeddingRecommender) and graphed.norm_index is not None
    for answer, exact in [
        (
            graphed.recommend_for_text("手机快充和降噪耳机", k=5),
            fitted.recommend_for_text("手机快充和降噪耳机", k=5),
        ),
        (graphed.similar_items("宠物-3", k=5), fitted.similar_items("宠物-3", k=5)),
    ]:  # the graph's candidates are re-scored in float64, the exact path's query in float32
        assert [rec.item_id for rec in answer] == [rec.item_id for rec in exact]
        assert [rec.score for rec in answer] == pytest.approx(
            [rec.score for rec in exact], abs=1e-6
        )
