"""The published-items log: an item stored once per content, its latest row wins, followed by seq.

Runs against SQLite, and PostgreSQL too when AGORA_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import pytest

from data.store import InvalidPublicationError, PublishedItem, Store
from data.store.published_items import MAX_PUBLISHED_PER_CALL


def test_publishing_stores_new_content_once_and_edits_as_new_rows(store: Store) -> None:
    log = store.published
    follower = log.follower()
    first = PublishedItem("p1", "Nebula Run", "A heist on a space station.", ("Sci-Fi",))
    assert log.publish([first, PublishedItem("p2", "Garden Diaries")], "platform") == (
        ("p1", "p2"),
        (),
    )
    assert log.publish([first], "platform") == ((), ("p1",))  # a retry writes nothing
    edited = PublishedItem("p1", "Nebula Run (director's cut)", first.text, first.genres)
    assert log.publish([edited], "platform") == (("p1",), ())
    read: list[PublishedItem] = []
    follower.drain(lambda seqs: read.extend(log.items_at(seqs)))
    latest = {item.item_id: item for item in read}
    assert latest["p1"].title == "Nebula Run (director's cut)"
    assert latest["p1"].genres == ("Sci-Fi",) and latest["p2"].genres == ()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (PublishedItem(" p", "t"), "starts or ends with spaces"),
        (PublishedItem("p", ""), "title must be a non-empty"),
        (PublishedItem("p", "t" * 301), "at most 300"),
        (PublishedItem("p", "t", "x" * 2001), "at most 2,000"),
        (PublishedItem("p", "t", "", tuple(f"g{i}" for i in range(21))), "at most 20"),
        (PublishedItem("p", "t", "", ("a|b",)), "must not contain"),
    ],
)
def test_bad_items_are_refused_naming_the_field(
    store: Store, item: PublishedItem, message: str
) -> None:
    with pytest.raises(InvalidPublicationError, match=message):
        store.published.publish([item], "platform")


def test_a_call_is_bounded(store: Store) -> None:
    many = [PublishedItem(f"p{i}", "t") for i in range(MAX_PUBLISHED_PER_CALL + 1)]
    with pytest.raises(InvalidPublicationError, match="at most 100"):
        store.published.publish(many, "platform")
    with pytest.raises(InvalidPublicationError, match="empty"):
        store.published.publish([], "platform")
