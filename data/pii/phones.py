"""Finding phone numbers without mistaking order numbers, dates or prices for them.

A digit run is a phone number when its shape says so, not merely its length:
- written with a leading `+` and valid for its country (`phonenumbers`' metadata);
- a North-American number written in the 3-3-4 layout (`(415) 555-2671`, `415.555.2671`,
  `1-800-555-0199`) whose area code and exchange are valid;
- a mainland-China mobile number (11 digits, `1[3-9]`, compact or 3-4-4);
- any other run of 7-15 digits that a phone word introduces ("call me at", "tel:", "手机号").
Everything else (order and flight numbers, dates, times, prices, bare digit runs) is left alone.

`phonenumbers.PhoneNumberMatcher` would find more national formats, but its cost on adversarial
text (digits separated by spaces or dots) exceeds the redaction budget; so candidates are
found here with one bounded pattern and only plausible ones are parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from data.pii.detectors import Found

PHONE = "phone"

# A run of digits and the characters phone numbers are written with, 7-22 characters long, not
# starting inside a word, a number, a decimal or a price.
_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9_+,-])(?<!\d\.)(?:\+ ?)?\(?\d[\d(). -]{5,20}\d(?![A-Za-z0-9])", re.ASCII
)
_NANP = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}", re.ASCII)
_CHINA_MOBILE = re.compile(r"(?:\+?86[ -]?)?1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4})", re.ASCII)
# Shapes that are never phone numbers, even after a phone word ("call on 2015-02-24").
_DATE_OR_TIME = re.compile(
    r"\d{4}[./-]\d{1,2}[./-]\d{1,2}(?: \d{1,2})?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?: \d{1,2})?",
    re.ASCII,
)
_NOT_DIGIT = re.compile(r"\D", re.ASCII)

# A phone word, then at most a few filler words, right before the number. Matched backwards from
# the number (on the reversed text before it), so a candidate costs one anchored match that
# usually fails on its first character, with no scan of the whole text for phone words.
_PHONE_WORDS = (
    "telephone", "phone", "tel", "mobile", "cellphone", "cell", "call", "ring", "text", "sms",
    "whatsapp", "fax", "contact", "电话", "手机", "联系", "致电", "拨打", "☎",
)  # fmt: skip
_FILLERS = ("me", "us", "at", "on", "is", "number", "no", "nr", "号码", "号", "是", "为")
_PHONE_WORD_BEFORE = re.compile(
    r"\+?[\s:#.=(-]{0,3}(?:(?:"
    + "|".join(re.escape(word[::-1]) for word in _FILLERS)
    + r")?[\s:#.=-]{0,3}){0,4}(?:"
    + "|".join(re.escape(word[::-1]) for word in _PHONE_WORDS)
    + r")(?![A-Za-z])",
    re.IGNORECASE,
)
_PHONE_WORD_REACH = 40  # characters before a number that may hold its phone word
_METADATA_CHECKS = 200  # numbers per text checked against phonenumbers' metadata (see _Checks)


def find_phones(text: str) -> Iterator[Found]:
    checks = _Checks()
    for match in _CANDIDATE.finditer(text):
        candidate = match.group()
        digits = _NOT_DIGIT.sub("", candidate)
        if len(digits) < 7:
            continue
        length = _phone_length(candidate, digits, checks)
        worded = not length and len(digits) <= 15
        if worded and _introduced_by_phone_word(text, match.start(), candidate):
            length = len(candidate)
        if length:
            yield Found(PHONE, match.start(), match.start() + length)


class _Checks:
    """How many numbers of one text may still be checked against `phonenumbers`' metadata.

    A check costs tens of microseconds; only a crafted text holds hundreds of phone-shaped
    numbers, and past the budget their shape alone decides (they are redacted a little more
    eagerly, never more slowly).
    """

    def __init__(self, budget: int = _METADATA_CHECKS) -> None:
        self.left = budget

    def valid(self, candidate: str, region: str | None) -> bool | None:
        """Whether the number is valid for its country; None once the budget is spent."""
        if self.left <= 0:
            return None
        self.left -= 1
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.is_valid_number(number)


def _phone_length(candidate: str, digits: str, checks: _Checks) -> int:
    """How many leading characters of the candidate its own shape says are a phone number (0:
    none). A number may share its run with a following group ("415 555 2671 2 times")."""
    if candidate.startswith("+"):
        if len(digits) > 15:
            return 0
        valid = checks.valid(candidate, None)
        if valid is None:  # a known country code and an international length
            valid = len(digits) >= 8 and any(
                int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE for size in (1, 2, 3)
            )
        return len(candidate) if valid else 0
    china = _CHINA_MOBILE.match(candidate)
    if china and _ends_number(candidate, china.end()):
        return china.end()
    nanp = _NANP.match(candidate)
    if nanp and _ends_number(candidate, nanp.end()):
        valid = checks.valid(nanp.group(), "US")
        if valid is None:  # area code and exchange both start with 2-9
            national = _NOT_DIGIT.sub("", nanp.group())[-10:]
            valid = national[0] in "23456789" and national[3] in "23456789"
        return nanp.end() if valid else 0
    return 0


def _ends_number(candidate: str, end: int) -> bool:
    """Whether a number read up to `end` ends there: not followed by another digit (a bare
    run of 12 digits is not a mobile number followed by one more)."""
    return end == len(candidate) or not candidate[end].isdigit()


def _introduced_by_phone_word(text: str, start: int, candidate: str) -> bool:
    if _DATE_OR_TIME.fullmatch(candidate):
        return False
    before = text[max(0, start - _PHONE_WORD_REACH) : start][::-1]
    return _PHONE_WORD_BEFORE.match(before) is not None
