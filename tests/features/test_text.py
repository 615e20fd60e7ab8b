"""Text input handling: cleaning, validation, truncation and model-input normalisation."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from features.text import (
    TextConfig,
    TextInputError,
    decode_text,
    normalise_for_model,
    prepare_text,
)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t \r\n", "\x00\x00", "\u200b\ufeff"])
def test_empty_and_whitespace_only_texts_are_empty_not_errors(raw: str) -> None:
    prepared = prepare_text(raw)
    assert prepared.text == ""
    assert prepared.is_empty
    assert not prepared.truncated


@pytest.mark.parametrize("raw", ["12345", "!!! ???", "😡😡😡"])
def test_texts_without_letters_are_empty(raw: str) -> None:
    assert prepare_text(raw).is_empty


@pytest.mark.parametrize("raw", [None, 42, 3.5, ["text"], {"text": "x"}])
def test_non_text_input_raises_typed_error_naming_the_type(raw: object) -> None:
    with pytest.raises(TextInputError, match=type(raw).__name__):
        prepare_text(raw)  # type: ignore[arg-type]


def test_nul_bytes_and_control_characters_are_removed_and_reported() -> None:
    prepared = prepare_text("bag\x00 lost\x07 again\x1b")
    assert prepared.text == "bag lost again"
    assert prepared.removed_control_chars == 3
    assert any("3 control" in warning for warning in prepared.warnings)


def test_invalid_utf8_bytes_are_dropped_and_counted_once() -> None:
    prepared = prepare_text(b"late \xff\xfe flight")
    assert prepared.text == "late flight"
    assert prepared.invalid_bytes_replaced == 2
    assert any("2 invalid byte" in warning for warning in prepared.warnings)


def test_valid_utf8_bytes_decode_like_the_string() -> None:
    assert prepare_text("送餐太慢了".encode()).text == "送餐太慢了"
    assert decode_text(bytearray(b"ok")) == "ok"


def test_binary_garbage_gives_json_encodable_text() -> None:
    garbage = bytes(range(256)) * 4
    prepared = prepare_text(garbage)
    json.dumps(prepared.text)  # no lone surrogates or controls left to break serialisation
    prepared.text.encode("utf-8")
    assert "\x00" not in prepared.text


def test_lone_surrogates_are_removed() -> None:
    prepared = prepare_text("bad\ud800 text\udfff")
    assert prepared.text == "bad text"
    prepared.text.encode("utf-8")


def test_long_text_is_truncated_and_flagged() -> None:
    raw = "word " * 20_480  # 100 KB
    prepared = prepare_text(raw, TextConfig(max_chars=1000))
    assert prepared.truncated
    assert 980 <= len(prepared.text) <= 1000
    assert prepared.original_chars == len(raw)
    assert not prepared.text.endswith(" ")
    assert prepared.text.split() == ["word"] * len(prepared.text.split())  # whole words only
    assert any(f"of {len(raw)} characters" in warning for warning in prepared.warnings)


def test_text_at_the_limit_is_not_truncated() -> None:
    prepared = prepare_text("x" * 50, TextConfig(max_chars=50))
    assert not prepared.truncated
    assert prepared.text == "x" * 50
    assert prepare_text("x" * 51, TextConfig(max_chars=50)).text == "x" * 50


def test_full_width_characters_fold_to_plain_ones() -> None:
    assert prepare_text("ＵＳ　Ａｉｒｗａｙｓ １２３").text == "US Airways 123"


def test_whitespace_runs_collapse() -> None:
    assert prepare_text("  my \n\n bag\t\tis  lost ").text == "my bag is lost"


def test_normalise_masks_handles_urls_and_names() -> None:
    config = TextConfig(masked_names=("United", "Jet Blue", "Virgin America"))
    text = "@united flew United, JetBlue and jet  blue #VirginAmerica https://t.co/Ab1 mail a@b.com"
    assert normalise_for_model(text, config) == (
        "@user flew brand, brand and brand #brand http mail a@b.com"
    )


def test_normalise_does_not_mask_names_inside_words() -> None:
    config = TextConfig(masked_names=("United", "Delta"))
    assert normalise_for_model("reunited at Deltaville", config) == "reunited at Deltaville"


def test_normalise_makes_handle_and_name_swaps_identical() -> None:
    config = TextConfig(masked_names=("United", "Delta"))
    one = normalise_for_model("@united lost my bag, never flying United again", config)
    other = normalise_for_model("@delta lost my bag, never flying Delta again", config)
    assert one == other


def test_normalise_respects_switches() -> None:
    config = TextConfig(mask_handles=False, mask_urls=False)
    text = "@united see http://x.y"
    assert normalise_for_model(text, config) == text


def test_text_config_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="max_char"):
        TextConfig.model_validate({"max_char": 10})
    with pytest.raises(ValidationError, match="max_chars"):
        TextConfig(max_chars=0)
    with pytest.raises(ValidationError, match="blank"):
        TextConfig(masked_names=("United", "  "))


def test_folding_traditional_chinese_is_decided_by_the_training_language() -> None:
    text = TextConfig()
    assert text.fold_traditional_chinese is None
    assert normalise_for_model("帳號被盜", text) == "帳號被盜"  # open: not folded when served
    chinese = text.for_language("zh")
    assert chinese.fold_traditional_chinese is True
    assert normalise_for_model("帳號被盜 @bob", chinese) == "帐号被盗 @user"
    assert text.for_language("en") is text and text.for_language(None) is text
    chosen = TextConfig(fold_traditional_chinese=False)
    assert chosen.for_language("zh") is chosen  # a config's own choice stands
