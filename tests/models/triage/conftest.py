"""Tiny real TF-IDF classifiers for the triage unit tests, trained on literal texts."""

from __future__ import annotations

import pytest

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig

_TINY = TfidfConfig(min_df=1, calibration_folds=0, c=20.0)

EN_SENTIMENT = [
    ("my bag was lost and nobody helps", "negative"),
    ("terrible service, flight delayed again", "negative"),
    ("worst airline ever, rude staff", "negative"),
    ("cancelled my flight with no refund, awful", "negative"),
    ("great crew, thank you so much", "positive"),
    ("love this airline, best flight ever", "positive"),
    ("amazing service and friendly staff", "positive"),
    ("thanks for the smooth flight", "positive"),
    ("what time does the flight board", "neutral"),
    ("is there wifi on this plane", "neutral"),
    ("how do I change my seat", "neutral"),
    ("flying to boston tomorrow", "neutral"),
]
ZH_SENTIMENT = [
    ("送餐太慢了，饭都凉了", "negative"),
    ("太难吃了，再也不点了", "negative"),
    ("等了两个小时，服务太差", "negative"),
    ("非常好吃，送餐很快", "positive"),
    ("味道不错，下次还点", "positive"),
    ("很满意，服务态度好", "positive"),
]
EN_REASON = [
    ("my bag was lost", "Lost Luggage"),
    ("luggage missing after the flight", "Lost Luggage"),
    ("where is my suitcase", "Lost Luggage"),
    ("flight delayed three hours", "Late Flight"),
    ("late again, missed my connection", "Late Flight"),
    ("delayed for hours on the tarmac", "Late Flight"),
    ("the agent was rude on the phone", "Customer Service Issue"),
    ("nobody answers customer service", "Customer Service Issue"),
    ("on hold for an hour with support", "Customer Service Issue"),
    ("no idea what happened", "Can't Tell"),
    ("just bad", "Can't Tell"),
]
EN_CATEGORY = [
    ("I want a refund for my ticket", "REFUNDS"),
    ("refund my money please", "REFUNDS"),
    ("charged twice on my card", "PAYMENT"),
    ("payment failed at checkout", "PAYMENT"),
    ("cannot log in to my account", "ACCOUNT"),
    ("reset my account password", "ACCOUNT"),
    ("where is my order", "ORDER"),
    ("cancel my order", "ORDER"),
]


def _fit(rows: list[tuple[str, str]]) -> TfidfClassifier:
    texts, labels = zip(*rows, strict=True)
    return TfidfClassifier(_TINY).fit(list(texts), list(labels))


@pytest.fixture(scope="session")
def en_sentiment() -> TfidfClassifier:
    return _fit(EN_SENTIMENT)


@pytest.fixture(scope="session")
def zh_sentiment() -> TfidfClassifier:
    return _fit(ZH_SENTIMENT)


@pytest.fixture(scope="session")
def en_reason() -> TfidfClassifier:
    return _fit(EN_REASON)


@pytest.fixture(scope="session")
def en_category() -> TfidfClassifier:
    return _fit(EN_CATEGORY)
