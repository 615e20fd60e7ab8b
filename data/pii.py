"""Redact personal data (emails, phone and card numbers) before text is stored or logged.

Patterns rather than an NER library: the offline machines this runs on cannot download NER
models, and these three kinds have regular shapes. Card numbers are confirmed with the Luhn
checksum so order numbers and timestamps are not redacted by accident; phone numbers need at
least 7 digits (international, North-American and mainland-China mobile formats), and a
bare digit run longer than 12 is left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

EMAIL_TOKEN = "[EMAIL]"
PHONE_TOKEN = "[PHONE]"
CARD_TOKEN = "[CARD]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
# +country code or a leading digit, then digit groups separated by spaces, dots, dashes or
# parentheses; the digit count is checked afterwards.
# ASCII-only look-arounds: a number glued to Chinese text ("手机号13812345678") still counts.
_PHONE = re.compile(
    r"(?<![A-Za-z0-9+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d[\d\s.-]{5,16}\d(?![A-Za-z0-9])"
)


@dataclass
class Redaction:
    text: str
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def redacted(self) -> bool:
        return bool(self.counts)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def redact(text: str) -> Redaction:
    """Replace emails, card numbers and phone numbers with placeholder tokens."""
    counts: Counter[str] = Counter()

    def email(match: re.Match[str]) -> str:
        counts["email"] += 1
        return EMAIL_TOKEN

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            counts["card"] += 1
            return CARD_TOKEN
        return match.group()

    def phone(match: re.Match[str]) -> str:
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        # A bare run of 13+ digits is an order or account number, not a phone number.
        bare = raw.isdigit() and not raw.startswith("+")
        if 7 <= len(digits) <= (12 if bare else 15):
            counts["phone"] += 1
            return PHONE_TOKEN
        return match.group()

    out = _EMAIL.sub(email, text)
    out = _CARD.sub(card, out)
    out = _PHONE.sub(phone, out)
    return Redaction(out, counts)
