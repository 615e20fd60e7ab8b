"""`redact`: every finder run over the text once, overlaps settled by priority, spans replaced.

The finders work on a copy of the text in which full-width digits and signs (common in Chinese
text) are mapped one-for-one to ASCII, so spans found in the copy are the spans of the original.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from data.pii.detectors import (
    CARD,
    EMAIL,
    IBAN,
    NATIONAL_ID,
    Found,
    find_cards,
    find_emails,
    find_ibans,
    find_national_ids,
)
from data.pii.phones import PHONE, find_phones

EMAIL_TOKEN = "[EMAIL]"
PHONE_TOKEN = "[PHONE]"
CARD_TOKEN = "[CARD]"
IBAN_TOKEN = "[IBAN]"
NATIONAL_ID_TOKEN = "[NATIONAL_ID]"
# Replaces a fragment of redacted text quoted elsewhere (an evidence term such as "example" from
# "jo@example.com"): the fragment alone has no shape to recognise.
REDACTED_TOKEN = "[REDACTED]"

TOKENS = {
    EMAIL: EMAIL_TOKEN,
    IBAN: IBAN_TOKEN,
    NATIONAL_ID: NATIONAL_ID_TOKEN,
    CARD: CARD_TOKEN,
    PHONE: PHONE_TOKEN,
}

# Earlier finders win overlaps: the stricter the check, the earlier (an email may hold digits, an
# IBAN's digits may pass Luhn, an 18-digit resident id may pass Luhn too).
_FINDERS: tuple[Callable[[str], Iterator[Found]], ...] = (
    find_emails,
    find_ibans,
    find_national_ids,
    find_cards,
    find_phones,
)

# Texts with neither a digit nor an "@" hold nothing the finders look for.
_MAY_HOLD_PII = re.compile(r"[0-9@\uff10-\uff19\uff20]")
_TO_ASCII = str.maketrans(
    {chr(0xFF10 + d): str(d) for d in range(10)}
    | {"＋": "+", "（": "(", "）": ")", "－": "-", "＠": "@", "．": ".", "\u3000": " "}
)


@dataclass
class Redaction:
    """The redacted text and how many items of each kind were replaced.

    `removed` holds the replaced pieces themselves, in memory only, so that fragments of them
    quoted elsewhere can be recognised (`redact_term`); never store or log it.
    """

    text: str
    counts: Counter[str] = field(default_factory=Counter)
    removed: tuple[str, ...] = field(default=(), repr=False)

    @property
    def redacted(self) -> bool:
        return bool(self.counts)

    def redact_term(self, term: str) -> str:
        """`term` redacted; a term that quotes part of a removed piece is replaced whole."""
        needle = term.strip().casefold()
        if needle and "\0" not in needle and needle in self._removed_folded:
            return REDACTED_TOKEN
        return redact(term).text

    @functools.cached_property
    def _removed_folded(self) -> str:
        """The removed pieces in one string (NUL-separated): one search per term, however many."""
        return "\0".join(piece.casefold() for piece in self.removed)


def redact(text: str) -> Redaction:
    """Replace emails, IBANs, Chinese resident ids, cards (with CVV/expiry) and phone numbers.

    Each kind becomes its token (`[EMAIL]`, `[IBAN]`, `[NATIONAL_ID]`, `[CARD]`, `[PHONE]`); the
    cost is linear in the length of the text, whatever its shape.
    """
    if not _MAY_HOLD_PII.search(text):
        return Redaction(text)
    scanned = text if text.isascii() else text.translate(_TO_ASCII)
    spans = _without_overlaps(
        (found for finder in _FINDERS for found in finder(scanned)), len(text)
    )
    if not spans:
        return Redaction(text)
    pieces: list[str] = []
    removed: list[str] = []
    counts: Counter[str] = Counter()
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(TOKENS[span.kind])
        removed.append(text[span.start : span.end])
        counts[span.kind] += 1
        position = span.end
    pieces.append(text[position:])
    return Redaction("".join(pieces), counts, tuple(removed))


def _without_overlaps(found: Iterable[Found], length: int) -> list[Found]:
    """Spans in text order, each kept unless it overlaps one found by an earlier finder."""
    taken = bytearray(length)  # one flag per character: linear however many spans there are
    kept: list[Found] = []
    for span in found:
        if taken.find(1, span.start, span.end) == -1:
            taken[span.start : span.end] = b"\x01" * (span.end - span.start)
            kept.append(span)
    return sorted(kept, key=lambda span: span.start)
