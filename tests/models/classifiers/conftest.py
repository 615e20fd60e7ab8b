"""Tiny, separable three-class texts that every classifier test trains on, and a tiny network."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from models.classifiers.finetune import MeanPoolingClassifier

_VOCABULARY = {
    "negative": ["late", "delayed", "lost", "rude", "cancelled", "awful", "broken", "😡"],
    "neutral": ["what", "time", "gate", "schedule", "which", "terminal", "when", "info"],
    "positive": ["thanks", "great", "lovely", "awesome", "friendly", "best", "smooth", "❤"],
}
_FILLER = ["the", "flight", "crew", "my", "bag", "was", "and", "today", "seat", "app"]


def make_texts(per_class: int, seed: int) -> tuple[list[str], list[str]]:
    """Short texts whose class is given by its cue words, mixed with shared filler words."""
    rng = random.Random(seed)
    texts, labels = [], []
    for label, cues in _VOCABULARY.items():
        for _ in range(per_class):
            words = rng.sample(cues, 2) + rng.sample(_FILLER, 3)
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(label)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


@pytest.fixture(scope="session")
def tiny_train() -> tuple[list[str], list[str]]:
    return make_texts(per_class=30, seed=1)


@pytest.fixture(scope="session")
def tiny_test() -> tuple[list[str], list[str]]:
    return make_texts(per_class=10, seed=2)


@pytest.fixture(scope="session")
def tiny_network() -> Callable[[], MeanPoolingClassifier]:
    """Builds a 2-layer random BERT (vocabulary of 50 ids) under a three-class head, in eval mode:
    the same weights at every call."""
    import torch
    from transformers import BertConfig, BertModel

    from models.classifiers.finetune import MeanPoolingClassifier

    def build() -> MeanPoolingClassifier:
        torch.manual_seed(1)
        config = BertConfig(
            vocab_size=50,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
        )
        return MeanPoolingClassifier(BertModel(config), 3, dropout=0.0).eval()

    return build


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random BERT with MiniLM's vocabulary, saved where a config can name it."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from features.embeddings import DEFAULT_ENCODER, resolve_encoder_path

    folder = tmp_path_factory.mktemp("tiny-encoder")
    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder_path(DEFAULT_ENCODER))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=tokenizer.model_max_length,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
