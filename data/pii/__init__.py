"""Redact personal data before text is stored: `redact(text) -> Redaction(text, counts)`.

Covered, each replaced by a token naming its kind:
- emails (`[EMAIL]`);
- IBANs with a valid country format and check digits, compact or in groups of four (`[IBAN]`);
- Chinese resident identity numbers: 18 characters, known region, real birth date, ISO 7064
  check character, which may be X (`[NATIONAL_ID]`);
- payment card numbers confirmed by the Luhn check, together with an expiry date or security
  code typed right after them; a security code named as such ("cvv 123") on its own (`[CARD]`);
- phone numbers: international (`+` and a number valid for its country), North-American in the
  3-3-4 layout, mainland-China mobile, and any 7-15 digit run that a phone word introduces
  ("call me at", "tel:", "手机号") (`[PHONE]`).

Not covered: names, postal addresses, other national ids, national phone formats written without
a `+` and without a phone word before them (such as `020 7946 0958`), numbers spelled out in
words. Order and flight numbers, dates, times, prices and bare digit runs that pass no check are
deliberately left alone: they carry the meaning of a complaint.

Patterns and checksums rather than an NER library: the offline machines this runs on cannot
download NER models, and these kinds have regular shapes. Every pattern is bounded and anchored,
so the cost is linear in the text whatever its shape (`bench/pii_redaction.py` checks the budget).
"""

from __future__ import annotations

from data.pii.detectors import luhn_valid
from data.pii.redaction import (
    CARD_TOKEN,
    EMAIL_TOKEN,
    IBAN_TOKEN,
    NATIONAL_ID_TOKEN,
    PHONE_TOKEN,
    REDACTED_TOKEN,
    Redaction,
    redact,
)

__all__ = [
    "CARD_TOKEN",
    "EMAIL_TOKEN",
    "IBAN_TOKEN",
    "NATIONAL_ID_TOKEN",
    "PHONE_TOKEN",
    "REDACTED_TOKEN",
    "Redaction",
    "luhn_valid",
    "redact",
]
