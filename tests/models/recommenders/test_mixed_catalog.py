"""A catalog mixing Chinese and English posts: the `script-mix` encoder reads each post by its
script (MiniLM for English, the catalog's n-grams for Chinese); saved pickle-free, and queries
and later-published items go through it too."""

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
from models.recommenders.embedding import MIX_ENCODER_FILE, EmbeddingRecommender

# Four topics in both languages.
ZH = {
    "food": ["火锅", "奶茶", "烤肉", "甜品", "小龙虾", "探店", "食谱"],
    "pets": ["猫咪", "狗狗", "猫粮", "驱虫", "铲屎官", "遛狗", "猫砂"],
    "tech": ["手机", "耳机", "续航", "芯片", "屏幕", "快充", "降噪"],
    "kids": ["宝宝", "孩子", "辅食", "绘本", "早教", "亲子", "哄睡"],
}
EN = {
    "food": ["hotpot", "bubble tea", "barbecue", "dessert", "crayfish", "restaurant", "recipe"],
    "pets": ["cat", "puppy", "cat food", "deworming", "litter box", "dog walking", "kitten"],
    "tech": ["phone", "earbuds", "battery life", "chip", "screen", "fast charging", "laptop"],
    "kids": ["baby", "toddler", "baby food", "picture books", "kindergarten", "bedtime", "toys"],
}
PER_TOPIC = {"zh": 4, "en": 8}  # a third of the posts are Chinese


def mixed_catalog(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(interactions, items) with ids "<topic>-<language>-<n>"; users keep to one topic and read
    both languages; the last post of each topic and language is rated by nobody."""
    rng = random.Random(seed)
    items = []
    for topic in ZH:
        for n in range(PER_TOPIC["zh"]):
            a, b, c = rng.sample(ZH[topic], 3)
            items.append((f"{topic}-zh-{n}", f"{a}{b}分享", f"这次{c}和{a}都很好，推荐。"))
        for n in range(PER_TOPIC["en"]):
            a, b, c = rng.sample(EN[topic], 3)
            items.append((f"{topic}-en-{n}", f"{a} and {b}", f"This time {c} and {a}, recommend."))
    rows = []
    for user in range(16):
        topic = list(ZH)[user % 4]
        for language, count in PER_TOPIC.items():
            for n in rng.sample(range(count - 1), 2):
                rows.append((f"u{user}", f"{topic}-{language}-{n}", 1.0))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    return interactions, pd.DataFrame(items, columns=["item_id", "title", "text"])


def chinese_same_topic_share(model: EmbeddingRecommender, k: int = 3) -> float:
    """Mean share of each Chinese post's k most similar posts in its own topic."""
    _, items = mixed_catalog()
    chinese = [i for i in items["item_id"] if "-zh-" in i]
    answers = [model.similar_items(item, k=k) for item in chinese]
    return float(
        np.mean(
            [
                rec.item_id.split("-")[0] == item.split("-")[0]
                for item, answer in zip(chinese, answers, strict=True)
                for rec in answer
            ]
        )
    )


@pytest.fixture(scope="module")
def mixed(encoder: TextEncoder) -> EmbeddingRecommender:
    interactions, items = mixed_catalog()
    config = {"text_encoder": "script-mix"}
    model = create_recommender("embedding", config, encoder=encoder).fit(interactions, items)
    assert isinstance(model, EmbeddingRecommender)
    return model


def test_the_choice_is_named_and_explained(mixed: EmbeddingRecommender) -> None:
    assert mixed.text_encoder_name == f"{DEFAULT_ENCODER}+{HAN_NGRAMS}"
    note = mixed.text_encoder_note
    assert note is not None and note.startswith("script-mix") and "33% of 48 item texts" in note


def test_chinese_posts_keep_to_their_topic_unlike_with_minilm_alone(
    mixed: EmbeddingRecommender, encoder: TextEncoder
) -> None:
    interactions, items = mixed_catalog()
    sentence = create_recommender("embedding", {"text_encoder": "sentence"}, encoder=encoder)
    sentence.fit(interactions, items)
    assert isinstance(sentence, EmbeddingRecommender)
    assert chinese_same_topic_share(mixed) >= 0.75
    assert chinese_same_topic_share(sentence) < chinese_same_topic_share(mixed) - 0.2


def test_queries_in_either_language_find_their_topic(mixed: EmbeddingRecommender) -> None:
    queries = [("猫粮和猫砂怎么选", "pets"), ("which earbuds have good battery life", "tech")]
    for query, topic in queries:
        answer = mixed.recommend_for_text(query, k=3)
        assert [rec.item_id.split("-")[0] for rec in answer] == [topic] * 3


def test_the_encoder_is_saved_without_pickle_and_read_back_the_same(
    mixed: EmbeddingRecommender, tmp_path: Path
) -> None:
    folder = mixed.save(tmp_path / "mixed")
    assert (folder / MIX_ENCODER_FILE).exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["text_encoder"] == mixed.text_encoder_name
    assert not list(folder.rglob("*.pkl"))
    loaded = load_recommender(folder, encoder=None)
    assert isinstance(loaded, EmbeddingRecommender)
    chinese = "新手铲屎官：猫砂和驱虫"
    assert loaded.recommend_for_text(chinese, k=4) == mixed.recommend_for_text(chinese, k=4)
    assert loaded._encoder is None  # a Chinese query needs no MiniLM
    fresh = ["新手铲屎官：猫砂和驱虫", "a new kitten and her litter box"]  # published later
    assert np.allclose(loaded.embed_texts(fresh), mixed.embed_texts(fresh), atol=1e-6)


class LetterCounts:
    """A stand-in sentence encoder (unit letter counts), so the choice tests load no MiniLM."""

    name = "letter-counts"
    dimension = 26

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        vectors = np.zeros((len(texts), 26), dtype=np.float32)
        for row, text in enumerate(texts):
            for letter in text.lower():
                if "a" <= letter <= "z":
                    vectors[row, ord(letter) - ord("a")] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


def auto_fit(items: pd.DataFrame) -> EmbeddingRecommender:
    interactions = pd.DataFrame({"user_id": ["u0", "u0"], "item_id": items["item_id"][:2]})
    config = {"use_cache": False}
    model = create_recommender("embedding", config, encoder=LetterCounts())  # type: ignore[arg-type]
    model.fit(interactions, items)
    assert isinstance(model, EmbeddingRecommender)
    return model


def test_auto_reads_a_mixed_catalog_with_both_encoders() -> None:
    # Regression: auto read a catalog under half Chinese with MiniLM alone (Chinese posts as
    # unknown word pieces) and one over half with n-grams alone (English posts as word lists).
    _, items = mixed_catalog()
    model = auto_fit(items)
    assert model.text_encoder_name == f"{DEFAULT_ENCODER}+{HAN_NGRAMS}"
    assert model.text_encoder_note is not None and "text_encoder=auto" in model.text_encoder_note


@pytest.mark.parametrize(
    ("zh_posts", "en_posts", "name", "share"),
    [(0, 3, DEFAULT_ENCODER, "0%"), (3, 0, HAN_NGRAMS, "100%"), (120, 1, "+", ">99%")],
)
def test_auto_keeps_one_encoder_for_a_catalog_in_one_script(
    zh_posts: int, en_posts: int, name: str, share: str
) -> None:
    texts = [f"猫粮推荐第{n}篇" for n in range(zh_posts)] + ["cat food"] * en_posts
    items = pd.DataFrame({"item_id": [f"i{n}" for n in range(len(texts))], "title": texts})
    model = auto_fit(items)
    assert name in model.text_encoder_name
    note = model.text_encoder_note
    # one English post among 120 Chinese ones must not read as "100%": the choice turns on it
    assert note is not None and f"{share} of {len(texts)} item texts" in note
