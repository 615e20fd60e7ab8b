"""The durable store: an idempotent event log, triage records, complaints and corrections, and
the input it refuses (with a StoreError the service answers as a 4xx, never a 500).

Runs against SQLite always, and against PostgreSQL too when AGORA_TEST_POSTGRES_URL is set
(fixtures in tests/data/conftest.py).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from data import schemas as S
from data.events import EVENT_COLUMNS, EVENT_ID_LENGTH, EVENT_SEQ, MAX_FUTURE_S
from data.store import Event, Store, StoreConflictError, StoreError
from data.store.tables import corrections
from data.store.triage_log import CORRECTION_DISPUTED, CORRECTION_SEQ


def _event(n: int, user: str = "u1", item: str | None = None, kind: str = "view") -> Event:
    return Event(f"e{n}", user, item or f"i{n}", kind, 1_700_000_000 + n)


def test_retried_batches_insert_each_event_once(store: Store) -> None:
    first = store.events.add([_event(1), _event(2)])
    retry = store.events.add([_event(2), _event(3)])
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (retry.inserted, retry.duplicates) == (1, 1)
    assert store.events.count() == 3
    frame = store.events.frame("u1")
    assert list(frame.columns) == EVENT_COLUMNS
    assert frame[S.ITEM_ID].tolist() == ["i1", "i2", "i3"]
    assert frame[EVENT_SEQ].is_monotonic_increasing and frame[EVENT_SEQ].is_unique


def test_invalid_events_are_refused_naming_the_field(store: Store) -> None:
    with pytest.raises(StoreError, match="event type 'teleport'"):
        store.events.add([Event("e1", "u", "i", "teleport", 0)])
    with pytest.raises(StoreError, match="user_id"):
        store.events.add([Event("e1", " ", "i", "view", 0)])
    with pytest.raises(StoreError, match="repeats an event_id"):
        store.events.add([_event(1), _event(1)])
    assert store.events.count() == 0  # nothing of a refused batch is written
    assert store.events.frame().empty and list(store.events.frame().columns) == EVENT_COLUMNS


@pytest.mark.parametrize(
    ("event", "message"),
    [
        # Regression: an event_id longer than its column was a 500 on PostgreSQL.
        (Event("e" * (EVENT_ID_LENGTH + 1), "u", "i", "view", 0), "event_id is 129 characters"),
        # Regression: a NUL in an id was a 500 on PostgreSQL.
        (Event("e1", "u\x00", "i", "view", 0), "user_id contains the control character U\\+0000"),
        (Event("e1", "u", "i\ud800", "view", 0), "item_id contains the control character"),
        # Regression: a timestamp of 2**63 was a 500 (it overflows BIGINT).
        (Event("e1", "u", "i", "view", 2**63), "timestamp must be epoch seconds"),
        # Regression: a timestamp in the year 2100 was accepted and stayed "most recent" forever.
        (Event("e1", "u", "i", "view", 4_102_444_800), "timestamp must be epoch seconds"),
        (Event("e1", "u", "i", "view", -1), "timestamp must be epoch seconds"),
        (Event("e1", "u", "i", "view", 0, float("nan")), "weight must be finite"),
        (Event("e1", "u", "i", "view", 0, float("inf")), "weight must be finite"),
        (Event("e1", "u", "i", "rating", 0, 1e300), "weight must be finite"),
    ],
)
def test_what_the_schema_cannot_hold_is_refused_before_the_write(
    store: Store, event: Event, message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        store.events.add([_event(1), event])
    assert store.events.count() == 0


def test_a_timestamp_up_to_a_day_ahead_is_accepted(store: Store) -> None:
    ahead = int(time.time()) + MAX_FUTURE_S - 60  # clients' clocks drift
    assert store.events.add([Event("e1", "u", "i", "view", ahead)]).inserted == 1


def test_an_event_id_resent_with_different_content_is_a_conflict(store: Store) -> None:
    """Regression: re-sending an event_id with different content was counted as a duplicate."""
    store.events.add([_event(1), _event(2)])
    changed = Event("e2", "u1", "i2", "like", 1_700_000_002)
    with pytest.raises(StoreConflictError, match="already stored with different content") as caught:
        store.events.add([_event(3), changed, _event(1)])
    assert caught.value.ids == ["e2"]
    assert store.events.count() == 2  # the whole batch was refused, e3 included
    again = store.events.add([_event(1), _event(2), _event(3)])
    assert (again.inserted, again.duplicates) == (1, 2)


def test_a_users_events_and_triaged_complaint_items_are_returned_as_stored(
    store: Store,
) -> None:
    store.events.add(
        [_event(1, item="a"), _event(2, item="b"), _event(3, item="b", kind="complaint")]
    )
    store.events.add([_event(4, user="u2", item="a")])
    mine = store.events.frame("u1")
    assert mine[[S.ITEM_ID, "type"]].values.tolist() == [
        ["a", "view"],
        ["b", "view"],
        ["b", "complaint"],
    ]
    assert store.events.frame("u2")[S.ITEM_ID].tolist() == ["a"]
    store.triage.record(
        "the movie c was offensive", {"is_complaint": True}, {}, "en", True, "u1", "c"
    )
    store.triage.record("c again!", {"is_complaint": True}, {}, "en", True, "u1", "c")
    store.triage.record("love film d", {"is_complaint": False}, {}, "en", False, "u1", "d")
    assert store.triage.complained_items("u1") == {"c"}
    assert store.triage.complained_items("someone-else") == set()


def test_an_agents_is_complaint_correction_decides_whether_a_feed_blocks_the_item(
    store: Store,
) -> None:
    """Regression: a complaint an agent corrected to "not a complaint" kept its item out of
    the user's feeds for good, and a missed complaint an agent corrected never blocked its."""
    first = store.triage.record("c was awful", {}, {}, "en", True, "u1", "c")
    store.triage.record("d is fine I guess", {}, {}, "en", False, "u1", "d")
    assert store.triage.complained_items("u1") == {"c"}
    store.triage.add_correction(first, "is_complaint", "false", "ana")
    assert store.triage.complained_items("u1") == set()
    store.triage.add_correction(first, "sentiment", "negative", "ana")  # another field: no say
    assert store.triage.complained_items("u1") == set()
    store.triage.add_correction(first, "is_complaint", "true", "bo")  # the latest one decides
    assert store.triage.complained_items("u1") == {"c"}
    missed = store.triage.record("e broke again", {}, {}, "en", False, "u1", "e")
    store.triage.add_correction(missed, "is_complaint", "true", "ana")
    assert store.triage.complained_items("u1") == {"c", "e"}
    # Another complaint naming the same item still blocks it when one is corrected away.
    store.triage.record("c, still awful", {}, {}, "en", True, "u1", "c")
    store.triage.add_correction(first, "is_complaint", "false", "ana")
    assert store.triage.complained_items("u1") == {"c", "e"}


def test_triage_text_is_redacted_and_corrections_are_idempotent(store: Store) -> None:
    triage_id = store.triage.record(
        "email me: jo@example.com, card 4111 1111 1111 1111",
        {"evidence": ["jo@example.com"], "sentiment": {"probability": 0.87654321}},
        {"sentiment": "3"},
        "en",
        True,
        customer_id="c1",
    )
    assert store.triage.prior_contacts("c1") == 1
    triage = store.triage
    cid, inserted = triage.add_correction(triage_id, "sentiment", "neutral", "agent-7", "fix-1")
    again = triage.add_correction(triage_id, "sentiment", "neutral", "agent-7", "fix-1")
    assert inserted and again == (cid, False)
    with pytest.raises(StoreConflictError, match="'fix-1' already stored"):
        triage.add_correction(triage_id, "sentiment", "positive", "agent-7", "fix-1")
    triage.add_correction(triage_id, "sentiment", "negative", "agent-8")
    frame = triage.corrected_texts("sentiment")
    assert frame[S.LABEL].tolist() == ["negative"]  # the latest correction wins
    # Its position in the corrections log (PostgreSQL's sequence also moved for the refusals).
    with store.engine.connect() as connection:
        last = connection.execute(select(func.max(corrections.c.seq))).scalar_one()
    assert frame[CORRECTION_SEQ].tolist() == [last]
    stored_text = frame[S.TEXT].iloc[0]
    assert "jo@example.com" not in stored_text and "4111" not in stored_text
    with pytest.raises(StoreError, match="unknown triage_id"):
        triage.add_correction("nope", "sentiment", "neutral", "a")
    with pytest.raises(StoreError, match="agent contains the control character"):
        triage.add_correction(triage_id, "sentiment", "neutral", "a\x00")


def test_a_retried_triage_is_recorded_once_and_adds_no_contact(store: Store) -> None:
    """Regression: retries of one /triage raised the customer's urgency (each was a contact)."""
    triage = store.triage

    def contact(key: str, text: str = "my order never came") -> tuple[int, str]:
        prior = triage.prior_contacts("c1", idempotency_key=key)
        return prior, triage.record(text, {}, {}, "en", True, "c1", "i9", idempotency_key=key)

    first = contact("k1")
    assert [contact("k1") for _ in range(3)] == [first] * 3  # same id, same prior contacts
    assert first[0] == 0 and triage.prior_contacts("c1") == 1
    second = contact("k2")
    assert second[0] == 1 and second[1] != first[1]
    assert contact("k1") == first  # a late retry still counts only what came before it
    assert triage.prior_contacts("c1") == 2
    with pytest.raises(StoreConflictError, match="idempotency_key already used"):
        contact("k1", "a different complaint")
    with pytest.raises(StoreError, match="needs a customer_id"):
        triage.record("text", {}, {}, "en", False, idempotency_key="k3")


def test_prior_contacts_since_a_time_leave_older_contacts_out(store: Store) -> None:
    triage = store.triage
    triage.record("my order never came", {}, {}, "en", True, "c1")
    recorded = time.time()
    assert triage.prior_contacts("c1", since=recorded - 60) == 1
    assert triage.prior_contacts("c1", since=recorded + 60) == 0  # older than the window
    assert triage.prior_contacts("c1") == 1


def test_text_a_column_cannot_hold_is_stored_with_a_replacement_character(store: Store) -> None:
    """Regression guard: a NUL in a triage text must not fail the write on PostgreSQL."""
    triage_id = store.triage.record("bad\x00byte \ud800", {"e": ["x\x00"]}, {}, "en", False, "c")
    store.triage.add_correction(triage_id, "sentiment", "neutral", "agent-7")
    assert store.triage.corrected_texts("sentiment")[S.TEXT].tolist() == ["bad\ufffdbyte \ufffd"]


def test_a_record_agents_corrected_to_different_labels_is_marked_disputed(store: Store) -> None:
    """Regression: two agents' opposite corrections of one record reached the retrain as the
    latest alone, and nothing said the agents had disagreed."""
    disputed = store.triage.record("so-so trip", {}, {}, "en", False, customer_id="c1")
    agreed = store.triage.record("great trip", {}, {}, "en", False, customer_id="c2")
    store.triage.add_correction(disputed, "sentiment", "positive", "ana")
    store.triage.add_correction(disputed, "sentiment", "negative", "bob")
    store.triage.add_correction(agreed, "sentiment", "positive", "ana")
    store.triage.add_correction(agreed, "sentiment", "positive", "bob")
    frame = store.triage.corrected_texts("sentiment").set_index("triage_id")
    assert frame.loc[disputed, S.LABEL] == "negative"
    assert frame[CORRECTION_DISPUTED].to_dict() == {disputed: True, agreed: False}
