"""Language detection: script profile first, the lingua detector for multi-language scripts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from features.language import (
    LanguageConfig,
    detect_language,
    detect_languages,
    script_of,
    script_profile,
)


@pytest.mark.parametrize(
    ("character", "script"),
    [
        ("a", "Latin"),
        ("é", "Latin"),
        ("送", "Han"),
        ("の", "Kana"),
        ("한", "Hangul"),
        ("ж", "Cyrillic"),
        ("ب", "Arabic"),
        ("1", None),
        ("!", None),
        ("😡", None),
    ],
)
def test_script_of_single_characters(character: str, script: str | None) -> None:
    assert script_of(character) == script


def test_han_counts_per_character_latin_per_word() -> None:
    profile = script_profile("我的bag丢了")
    assert profile.shares == {"Han": 0.8, "Latin": 0.2}
    assert profile.dominant == "Han"
    assert profile.mixed


def test_handles_urls_and_hashtags_do_not_count_as_language() -> None:
    profile = script_profile("@united #fail 送餐太慢了 https://t.co/abc")
    assert profile.shares == {"Han": 1.0}
    assert not profile.mixed


@pytest.mark.parametrize(
    "text", ["Flight 1234 delayed, AGAIN!!", "don't @united #fail", "x", "42 - 7", "a_b-c d"]
)
def test_ascii_fast_path_counts_as_the_general_path(text: str) -> None:
    # "\u2026" is not a letter and not ASCII: the same text then takes the per-letter path.
    assert script_profile(text) == script_profile(text + " \u2026")


def test_japanese_is_kana_even_with_many_han_characters() -> None:
    assert script_profile("日本語のテキストです").dominant == "Kana"


def test_no_letters_means_no_dominant_script() -> None:
    profile = script_profile("😡 123 !!!")
    assert profile.dominant is None
    assert profile.shares == {}


@pytest.mark.parametrize(
    ("text", "language", "method"),
    [
        ("送餐太慢了，饭都凉了", "zh", "script"),
        ("배송이 너무 늦어요", "ko", "script"),
        ("my bag was lost and nobody at the airport helps", "en", "detector"),
        ("Мой багаж потерян и никто не помогает", "ru", "detector"),
        ("حقيبتي ضاعت ولا أحد يساعدني في المطار", "ar", "detector"),
        ("Mi maleta se perdió y nadie me ayuda en el aeropuerto", "es", "detector"),
    ],
)
def test_detects_clear_texts(text: str, language: str, method: str) -> None:
    detection = detect_language(text)
    assert (detection.language, detection.method) == (language, method)
    assert detection.confidence >= 0.5


def test_mixed_chinese_english_is_decided_by_dominant_script_and_flagged() -> None:
    detection = detect_language("送餐太慢了 the food was cold")  # Han 5 units, Latin 4
    assert detection.language == "zh"
    assert detection.scripts.mixed
    assert detection.scripts.dominant == "Han"
    english = detect_language("the food was cold and the driver was very rude 太慢了")
    assert english.scripts.dominant == "Latin"
    assert english.scripts.mixed
    assert english.language == "en"


def test_a_few_latin_words_in_chinese_are_not_mixed() -> None:
    profile = script_profile("这家店送餐太慢了，饭都凉了，差评 so slow")  # Latin 2 of 16 units
    assert profile.dominant == "Han"
    assert not profile.mixed


def test_too_short_latin_text_is_undetermined_not_guessed() -> None:
    detection = detect_language("ok")
    assert detection.language is None
    assert detection.method == "detector"
    assert detection.confidence < 0.5
    assert detection.alternatives  # the detector's guesses are kept for the record


def test_text_without_letters_is_undetermined_without_detector() -> None:
    detection = detect_language("12345 !!!")
    assert (detection.language, detection.method, detection.confidence) == (None, "none", 0.0)


def test_batch_matches_single_detection() -> None:
    texts = ["送餐太慢了", "my flight was delayed for five hours", "ok", "", "Мой багаж потерян"]
    assert detect_languages(texts) == [detect_language(text) for text in texts]


def test_min_confidence_is_applied() -> None:
    text = "my bag was lost and nobody at the airport helps"
    strict = detect_language(text, LanguageConfig(min_confidence=1.0))
    assert strict.language is None
    assert strict.alternatives[0][0] == "en"


def test_language_config_validation_names_the_field() -> None:
    with pytest.raises(ValidationError, match="unknown ISO 639-1 codes"):
        LanguageConfig(candidates=("en", "xx"))
    with pytest.raises(ValidationError, match="candidates"):
        LanguageConfig(candidates=("en",))
    with pytest.raises(ValidationError, match="min_confidence"):
        LanguageConfig(min_confidence=1.5)
    with pytest.raises(ValidationError, match="candidate"):
        LanguageConfig.model_validate({"candidate": ["en", "zh"]})
