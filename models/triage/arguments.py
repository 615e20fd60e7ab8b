"""Checks of a triage call's arguments: each bad one is a `TriageInputError` naming it and its
position, raised before any model runs."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


class TriageInputError(ValueError):
    """A triage call got invalid arguments; the message names the argument and position."""


def as_list(name: str, values: object) -> list:
    """An iterable argument as a list; a bare str/bytes or a non-iterable is a clear error."""
    if isinstance(values, str | bytes | bytearray) or not isinstance(values, Iterable):
        raise TriageInputError(
            f"{name} must be a sequence with one item per text, not {type(values).__name__}"
        )
    return list(values)


def aligned(name: str, values: Iterable[object] | None, count: int, default: object) -> list:
    """`values` as a list of `count` items (all `default` when None); a length mismatch raises."""
    if values is None:
        return [default] * count
    values = as_list(name, values)
    if len(values) != count:
        raise TriageInputError(f"{name} has {len(values)} items for {count} texts")
    return list(values)


def language_code(index: int, language: object) -> str | None:
    """A caller-given language as a lowercase ISO 639 code; anything else is a clear error."""
    if language is None:
        return None
    if not isinstance(language, str) or not _LANGUAGE_CODE.match(language.strip().lower()):
        raise TriageInputError(
            f"languages[{index}] must be an ISO 639-1 code such as 'en' or 'zh', got {language!r}"
        )
    return language.strip().lower()


def check_customer(index: int, customer_id: object, contacts: object) -> tuple[str | None, int]:
    """A text's customer id (a str or None) and prior contact count (an int >= 0)."""
    if customer_id is not None and not isinstance(customer_id, str):
        raise TriageInputError(
            f"customer_ids[{index}] must be a str or None, got {type(customer_id).__name__}"
        )
    if isinstance(contacts, bool) or not isinstance(contacts, int | np.integer) or contacts < 0:
        raise TriageInputError(f"prior_contacts[{index}] must be an int >= 0, got {contacts!r}")
    return customer_id, int(contacts)
