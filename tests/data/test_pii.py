from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from data.pii import (
    CARD_TOKEN,
    EMAIL_TOKEN,
    IBAN_TOKEN,
    NATIONAL_ID_TOKEN,
    PHONE_TOKEN,
    REDACTED_TOKEN,
    luhn_valid,
    redact,
)
from data.pii.detectors import iban_valid, resident_id_valid
from data.store import Store
from data.store.tables import triage_records


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # emails
        ("mail me at jane.doe+work@example.co.uk now", f"mail me at {EMAIL_TOKEN} now"),
        ("(jo_smith@mail.example.org).", f"({EMAIL_TOKEN})."),
        # cards, confirmed by Luhn, with what follows them
        ("card 4111 1111 1111 1111 was charged twice", f"card {CARD_TOKEN} was charged twice"),
        ("card 4111-1111-1111-1111.", f"card {CARD_TOKEN}."),
        ("amex 3782 822463 10005 please", f"amex {CARD_TOKEN} please"),
        ("card 4111 1111 1111 1111 123", f"card {CARD_TOKEN}"),
        ("4111111111111111 exp 12/27 cvv 123, thanks", f"{CARD_TOKEN}, thanks"),
        ("card 5555555555554444, expiry: 09/2028, CVC 4321.", f"card {CARD_TOKEN}."),
        ("the cvv is cvv: 987 sorry", f"the cvv is {CARD_TOKEN} sorry"),
        # phones: international, North-American 3-3-4, mainland-China mobile, after a phone word
        ("call +1 (415) 555-2671 please", f"call {PHONE_TOKEN} please"),
        ("call 415.555.2671", f"call {PHONE_TOKEN}"),
        ("(415) 555-2671 is my cell", f"{PHONE_TOKEN} is my cell"),
        ("toll free 1-800-555-0199", f"toll free {PHONE_TOKEN}"),
        ("+44 20 7946 0958", PHONE_TOKEN),
        ("+33 1 23 45 67 89 ok", f"{PHONE_TOKEN} ok"),
        ("我的手机号是13812345678，快联系我", f"我的手机号是{PHONE_TOKEN}，快联系我"),
        ("电话 +86 138 1234 5678", f"电话 {PHONE_TOKEN}"),
        ("手机号１３８１２３４５６７８", f"手机号{PHONE_TOKEN}"),  # full-width digits
        ("call me at 0612345678 tonight", f"call me at {PHONE_TOKEN} tonight"),
        ("Tel: 020 7946 0958", f"Tel: {PHONE_TOKEN}"),
        ("on hold for an hour...919-675-0985", f"on hold for an hour...{PHONE_TOKEN}"),
        ("call 415 555 2671 2 times", f"call {PHONE_TOKEN} 2 times"),
        (
            "the same failed # 610-362-7498(99) VM full",
            f"the same failed # {PHONE_TOKEN}(99) VM full",
        ),
        # IBANs, checksummed, grouped or compact
        ("IBAN DE89 3704 0044 0532 0130 00.", f"IBAN {IBAN_TOKEN}."),
        ("pay to GB82WEST12345698765432 today", f"pay to {IBAN_TOKEN} today"),
        # Chinese resident id numbers (ISO 7064 check character, may be X)
        ("身份证11010519491231002X。", f"身份证{NATIONAL_ID_TOKEN}。"),
        ("id 110105 19491231 002x", f"id {NATIONAL_ID_TOKEN}"),
    ],
)
def test_redacts_personal_data(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "flight UA 1234 was 45 minutes late",
        "flight UA1234 then AA 100",
        "order 1234567890123 is missing",  # 13 digits failing the Luhn check: not a card
        "order 12345678 and order #987654321",
        "order 123-456-7890 never came",  # an invalid area code: not a phone
        "it cost $1,299.99 in 2015",
        "refund of 1.299,99 EUR",
        "booked on 2015-02-24, back 24/02/2015 or 24.02.2015",
        "departed 2015-02-24 10:30, landed 13:45:10",
        "call on 2015-02-24 about it",  # a phone word before a date: still a date
        "rated 5 stars",
        "card 4111 1111 1111 1112 was declined",  # fails Luhn
        "DE89 3704 0044 0532 0130 01 is wrong",  # fails the IBAN check digits
        "110105194912310021 is not an id",  # wrong check character
        "reference 11010519491331002X",  # month 13: no birth date
        "12345678901234567890 is a long bare run",
        "claim #3526665682 and case 8719519",  # bare runs with no phone word: reference numbers
        "ref 138123456789 twelve digits",  # not a mobile number followed by a digit
        "mail from 153.69.214.203, pi is 3.14159265358979",
    ],
)
def test_leaves_ordinary_numbers(text: str) -> None:
    result = redact(text)
    assert result.text == text and not result.redacted


def test_counts_what_was_redacted() -> None:
    result = redact("a@b.io and c@d.io, card 5555555555554444, IBAN DE89370400440532013000")
    assert result.counts == {"email": 2, "card": 1, "iban": 1}
    assert result.redacted
    assert redact("nothing here").counts == {}


def test_an_email_wins_over_the_digits_inside_it() -> None:
    result = redact("write to 4155552671@sms.example.com")
    assert result.text == f"write to {EMAIL_TOKEN}" and result.counts == {"email": 1}


def test_quadratic_email_pattern_bug_long_runs_are_handled() -> None:
    """Regression: the email pattern retried every start of a long run (100 KB took ~10 s)."""
    for unit in ("a", "a@", "a.", "a@b."):
        text = unit * 20_000
        assert redact(text).text == text
    tail = "a" * 50_000 + " jo@example.com"
    assert redact(tail).text == "a" * 50_000 + f" {EMAIL_TOKEN}"


def test_evidence_terms_quoting_redacted_text_are_replaced() -> None:
    found = redact("email me: jo@example.com, card 4111 1111 1111 1111")
    assert found.redact_term("example") == REDACTED_TOKEN
    assert found.redact_term("1111") == REDACTED_TOKEN
    assert found.redact_term("Jo") == REDACTED_TOKEN
    assert found.redact_term("card") == "card"
    assert found.redact_term("ann@example.org") == EMAIL_TOKEN  # a whole item on its own
    assert redact("plain text").redact_term("plain") == "plain"


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("DE89 3704 0044 0532 0130 01")
    assert not iban_valid("ZZ82WEST12345698765432")  # no such country
    assert resident_id_valid("11010519491231002X")
    assert not resident_id_valid("110105194912310021")


def test_a_stored_triage_holds_no_personal_data(store: Store) -> None:
    text = "mail jo@example.com, card 4111 1111 1111 1111 cvv 123, IBAN DE89370400440532013000"
    terms = ["example", "4111", "card", "jo@example.com", "de89370400440532013000"]
    outputs = {
        "evidence": [
            {
                "task": "complaint",
                "label": "yes",
                "terms": [{"term": t, "weight": 0.1} for t in terms],
            }
        ],
        "warnings": [],
    }
    store.triage.record(text, outputs, {}, "en", True, customer_id="c1")
    with store.engine.connect() as connection:
        stored_text, stored_outputs = connection.execute(
            select(triage_records.c.redacted_text, triage_records.c.outputs)
        ).one()
    assert stored_text == f"mail {EMAIL_TOKEN}, card {CARD_TOKEN}, IBAN {IBAN_TOKEN}"
    stored_terms = [t["term"] for t in json.loads(stored_outputs)["evidence"][0]["terms"]]
    assert stored_terms == [REDACTED_TOKEN, REDACTED_TOKEN, "card", REDACTED_TOKEN, REDACTED_TOKEN]
