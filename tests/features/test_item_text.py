"""Item text assembly for the content recommender."""

from __future__ import annotations

import pandas as pd

from features.item_text import assemble_item_texts, item_text


def test_item_text_reads_as_prose_and_glosses_tags() -> None:
    text = item_text("Star Wars (1977)", "Action|Sci-Fi", "A farm boy joins a rebellion.")
    assert text == (
        "Star Wars (1977). Genres: Action, Sci-Fi (science fiction). A farm boy joins a rebellion."
    )


def test_empty_item_gives_empty_text() -> None:
    assert item_text() == ""
    assert item_text(title="  ") == ""


def test_assemble_follows_requested_order_and_fills_missing() -> None:
    items = pd.DataFrame(
        {"item_id": ["1", "2"], "title": ["Alien", "Heat"], "genres": ["Horror|Sci-Fi", ""]}
    )
    texts = assemble_item_texts(items, ["2", "missing", "1"])
    assert texts[0] == "Heat."
    assert texts[1] == ""
    assert texts[2].startswith("Alien. Genres: Horror, Sci-Fi")
    assert assemble_item_texts(None, ["1"]) == [""]


def test_max_chars_truncates() -> None:
    assert len(item_text("x" * 50, max_chars=10)) == 10
