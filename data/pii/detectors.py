"""Finders for the personal data with a fixed shape: emails, IBANs, Chinese resident ids, cards.

Every finder scans with one regular expression whose repetitions are all bounded and whose
start is pinned by a look-behind (a candidate cannot start inside a word or a digit run), so a
failed attempt costs a bounded number of steps and the whole scan is linear in the text. What a
shape alone cannot tell (a checksum, a birth date, a country's IBAN layout) is checked in code,
with `python-stdnum`'s IBAN registry and resident-id check character.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterator
from typing import NamedTuple

from stdnum import numdb
from stdnum.cn import ric


class Found(NamedTuple):
    """A span of the text holding personal data of one kind."""

    kind: str
    start: int
    end: int


EMAIL = "email"
IBAN = "iban"
NATIONAL_ID = "national_id"
CARD = "card"

# The local part may be at most 64 characters (RFC 5321) and must start a run of its own
# characters: without that pin, every position of a long run would be retried (the quadratic bug).
# Domain labels are delimited by dots, which labels cannot contain, so their split is unambiguous.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}"
    r"@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9-]|\.[A-Za-z0-9])",
    re.ASCII,
)

# Country code, check digits, then the BBAN written compactly or in groups of four.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}"
    r"(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)"
    r"(?![A-Za-z0-9])",
    re.ASCII,
)

# Region (6), birth date (8, century 18-20), sequence (3), check character (digit or X).
_NATIONAL_ID = re.compile(
    r"(?<![A-Za-z0-9])\d{6} ?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]) ?\d{3}[\dXx]"
    r"(?![A-Za-z0-9])",
    re.ASCII,
)

# 13-19 digits written compactly, or grouped by single spaces or dashes (4-4-4-4, 4-6-5, and
# a trailing group that may be the CVV typed after the number).
_CARD = re.compile(
    r"(?<![A-Za-z0-9_.,-])(?:\d{13,19}|\d{4}(?:[ -]\d{3,6}){2,4})(?![A-Za-z0-9]|[.,-]\d)",
    re.ASCII,
)
# What customers type right after a card number: its expiry and security code, each maybe
# labelled. Matched only at the end of a confirmed card, at most three pieces.
_CARD_TAIL = re.compile(
    r"(?:[\s,;:/|-]{1,3}"
    r"(?:(?:exp(?:iry|ires|iration)?(?:\s?date)?|valid(?:\s?(?:thru|through|until))?"
    r"|cvv2?|cvc2?|csc|cvn|cid|security\s?code|code)\.?\s?[:#=-]?\s?)?"
    r"(?:(?:0[1-9]|1[0-2])\s?[/-]\s?(?:20)?\d{2}|\d{3,4})(?![A-Za-z0-9]|[/-]\d)){1,3}",
    re.ASCII | re.IGNORECASE,
)
# A security code named as such is sensitive even without its card.
_SECURITY_CODE = re.compile(
    r"(?<![A-Za-z])(?:cvv2?|cvc2?|csc|cvn|security\s?code)\s?[:#=-]?\s?\d{3,4}(?![0-9])",
    re.ASCII | re.IGNORECASE,
)

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NOT_DIGIT = re.compile(r"\D", re.ASCII)
_GROUP = re.compile(r"\d+", re.ASCII)

# Checks run on every candidate, so each is a few string operations; an adversary can fill
# 100 KB with candidates that pass a shape and fail (or pass) a checksum.
_DOUBLED = str.maketrans("0123456789", "0246813579")  # a digit doubled, digits summed
_LETTER_VALUES = str.maketrans({chr(ord("A") + i): str(10 + i) for i in range(26)})
_BBAN_FIELD = re.compile(r"([1-9][0-9]*)!([nac])")
_BBAN_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check used by payment card numbers."""
    doubled = digits[-2::-2].translate(_DOUBLED)
    return sum(map(int, digits[-1::-2] + doubled)) % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616: mod-97 check digits and the country's BBAN layout (python-stdnum's registry)."""
    number = _NOT_ALNUM.sub("", candidate).upper()
    if int((number[4:] + number[:4]).translate(_LETTER_VALUES)) % 97 != 1:
        return False
    layout = _bban_layout(number[:2])
    return layout is not None and layout.fullmatch(number[4:]) is not None


@functools.cache  # keyed by a two-letter country code: at most 676 entries
def _bban_layout(country: str) -> re.Pattern[str] | None:
    """The country's BBAN as a pattern ("4!a6!n8!n": 4 letters, 6 digits, 8 digits), if known."""
    properties = numdb.get("iban").info(country)[0][1]
    if "bban" not in properties:
        return None
    fields = _BBAN_FIELD.findall(properties["bban"])
    return re.compile("".join(f"{_BBAN_CLASS[kind]}{{{size}}}" for size, kind in fields))


def resident_id_valid(candidate: str) -> bool:
    """GB 11643: the ISO 7064 MOD 11-2 check character and a real birth date, not in the future."""
    number = candidate.replace(" ", "").upper()
    if ric.calc_check_digit(number) != number[17]:  # it ignores the check character given
        return False
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born <= datetime.date.today()


def find_emails(text: str) -> Iterator[Found]:
    for match in _EMAIL.finditer(text):
        yield Found(EMAIL, match.start(), match.end())


def find_ibans(text: str) -> Iterator[Found]:
    for match in _IBAN.finditer(text):
        if iban_valid(match.group()):
            yield Found(IBAN, match.start(), match.end())


def find_national_ids(text: str) -> Iterator[Found]:
    """Chinese resident identity numbers."""
    for match in _NATIONAL_ID.finditer(text):
        if resident_id_valid(match.group()):
            yield Found(NATIONAL_ID, match.start(), match.end())


def find_cards(text: str) -> Iterator[Found]:
    """Luhn-valid card numbers, together with an expiry or CVV typed right after them."""
    for match in _CARD.finditer(text):
        if not _is_card(match.group()):
            continue
        tail = _CARD_TAIL.match(text, match.end())
        yield Found(CARD, match.start(), tail.end() if tail else match.end())
    lowered = text.lower()  # a cheap test first: the case-blind scan costs a few ms per 100 KB
    if "cv" in lowered or "csc" in lowered or "security" in lowered:
        for match in _SECURITY_CODE.finditer(text):
            yield Found(CARD, match.start(), match.end())


def _is_card(candidate: str) -> bool:
    """The whole run is a card number, or all of it but a trailing 3-4 digit CVV is."""
    digits = _NOT_DIGIT.sub("", candidate)
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return True
    groups = _GROUP.findall(candidate)
    if len(groups) < 3 or not 3 <= len(groups[-1]) <= 4:
        return False
    number = digits[: -len(groups[-1])]
    return 13 <= len(number) <= 19 and luhn_valid(number)
