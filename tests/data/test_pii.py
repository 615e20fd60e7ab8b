from __future__ import annotations

import pytest

from data.pii import CARD_TOKEN, EMAIL_TOKEN, PHONE_TOKEN, luhn_valid, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at jane.doe+work@example.co.uk now", f"mail me at {EMAIL_TOKEN} now"),
        ("card 4111 1111 1111 1111 was charged twice", f"card {CARD_TOKEN} was charged twice"),
        ("card 4111-1111-1111-1111.", f"card {CARD_TOKEN}."),
        ("call +1 (415) 555-2671 please", f"call {PHONE_TOKEN} please"),
        ("call 415.555.2671", f"call {PHONE_TOKEN}"),
        ("我的手机号是13812345678，快联系我", f"我的手机号是{PHONE_TOKEN}，快联系我"),
        ("+44 20 7946 0958", PHONE_TOKEN),
    ],
)
def test_redacts_personal_data(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "flight UA 1234 was 45 minutes late",
        "order 1234567890123 is missing",  # 13 digits failing the Luhn check: not a card
        "it cost $1,299.99 in 2015",
        "rated 5 stars",
    ],
)
def test_leaves_ordinary_numbers(text: str) -> None:
    result = redact(text)
    assert result.text == text and not result.redacted


def test_counts_what_was_redacted() -> None:
    result = redact("a@b.io and c@d.io, card 5555555555554444")
    assert result.counts == {"email": 2, "card": 1}
    assert result.redacted


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
