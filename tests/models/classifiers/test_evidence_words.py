"""Evidence a support agent reads: character n-grams are shown as the words they came from."""

from __future__ import annotations

import pytest

from models.classifiers.evidence_words import EvidenceWords
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig


@pytest.mark.parametrize(
    ("gram", "word"),
    [
        (" dela", "Delayed"),  # a word's start, padded as char_wb pads it
        ("ayed!", "Delayed"),  # the end, with the punctuation the word carries dropped
        ("ed! ", "Delayed"),
        ("ncel", "CANCELLED"),
        ("rude ", "rude"),
        ("@us", "@user"),  # a masked handle keeps its mark inside the word
        ("zzz", "zzz"),  # not in the text: shown as itself
        (" ", ""),  # padding alone says nothing
        (" l", ""),  # nor do a letter or two, found in too many words
    ],
)
def test_a_gram_is_shown_as_the_word_holding_it(gram: str, word: str) -> None:
    words = EvidenceWords("@user Delayed! again, CANCELLED... and the crew was rude")
    assert words.word_of(gram) == word


def test_cjk_grams_stay_as_they_are() -> None:
    """Chinese has no spaces: its "word" would be the whole clause."""
    assert EvidenceWords("送餐太慢了，菜也凉了").word_of("太慢") == "太慢"


def test_a_word_lowercased_to_another_length_still_maps_to_its_own_word() -> None:
    words = EvidenceWords("İstanbul flight late")  # "İ".lower() is two characters
    assert words.word_of("late") == "late"
    assert words.word_of("flig") == "flight"


def test_tfidf_evidence_names_words_of_the_text_not_fragments() -> None:
    texts = ["flight delayed again", "bags delayed", "great friendly crew", "lovely crew"] * 6
    labels = ["negative", "negative", "positive", "positive"] * 6
    model = TfidfClassifier(TfidfConfig(calibration_folds=0)).fit(texts, labels)
    text = "Delayed for hours, the worst"
    terms = [t.term for t in model.explain(text, top_n=5, label="negative")]
    assert terms[0].casefold() == "delayed"
    assert all(term.casefold() in text.casefold() for term in terms)
    # Each word once, however many of its grams weigh in (a vocabulary term is lowercased).
    assert len(terms) == len({term.casefold() for term in terms})
