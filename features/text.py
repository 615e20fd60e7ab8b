"""Feedback text input handling: validation, cleaning, truncation and model-input normalisation.

Every text a triage model sees goes through `prepare_text` first, so bad input (None, bytes that are
not UTF-8, NUL bytes, control characters, a 100 KB paste, whitespace only) gets one well-defined
treatment: a typed `TextInputError` for input that is not text at all, otherwise a `PreparedText`
that says what was removed or cut. Truncation is never silent: the result carries a flag and a
warning. All cleaning uses C-level string operations (regex, `str.translate`-like substitutions,
NFKC), so a very long input costs milliseconds, not a Python loop per character.

`normalise_for_model` is the second, model-facing step: it masks user handles, URLs and configured
brand names (e.g. airline names) with fixed placeholder tokens. A classifier trained and served
on normalised text cannot change its answer when only a handle or an airline name changes, which
is the invariance the behavioural tests check. Training pipelines must apply the same function
with the same `TextConfig`, otherwise training and serving inputs differ.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.han_variants import fold_traditional

logger = logging.getLogger(__name__)

# NUL and other C0/C1 controls (tab, newline and carriage return are kept as whitespace),
# zero-width and bidirectional format characters, the BOM, and lone surrogates: a lone
# surrogate cannot be encoded as UTF-8, so leaving one in would crash JSON output later.
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
    "\ud800-\udfff]"
)
_REPLACEMENT = "\ufffd"  # what invalid UTF-8 byte sequences decode to
_LETTER = re.compile(r"[^\W\d_]")  # any Unicode letter, in any script
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")  # @united, @商家; not the middle of an e-mail address
# Characters of scripts written without spaces between words, as a regex character-class body:
# Han (with radicals, the iteration marks 々〆 and extension planes), kana, bopomofo. Their text
# is read by characters and character pairs, not by space-separated words. (Hangul is not among
# them: Korean puts spaces between words.)
CJK_CHARACTERS = (
    r"\u2e80-\u2fdf\u3005\u3006\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff"
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)


class TextInputError(ValueError):
    """The input is not text at all (wrong type); the message names the value's type."""


class TextConfig(BaseModel):
    """How raw texts are cleaned, truncated and normalised before a model sees them.

    A plain frozen pydantic model (features sits below models, so it cannot use
    `models.config.FrozenConfig`); unknown keys are rejected all the same.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_chars: int = Field(
        5000, ge=1, description="texts longer than this (after cleaning) are truncated, flagged"
    )
    mask_handles: bool = True
    mask_urls: bool = True
    masked_names: tuple[str, ...] = Field(
        (), description="brand or product names replaced by name_token (case-insensitive)"
    )
    handle_token: str = "@user"
    url_token: str = "http"
    name_token: str = "brand"
    # A desk's labelled tickets are mostly Simplified, and a model reading characters learns
    # 账号 but not 帳號: its Hong Kong and Taiwan users' tickets then fell to 其他. Folded, the
    # two scripts are one input. None: decided when a model is trained (`for_language`: on for
    # a Chinese set) and off when served, so a model saved before the field keeps its inputs.
    fold_traditional_chinese: bool | None = Field(
        None, description="Traditional Chinese read as Simplified (features/han_variants.py)"
    )

    def for_language(self, language: str | None) -> TextConfig:
        """This text handling for a model trained on `language` texts: folding Traditional
        Chinese, when the config leaves it open, is on for Chinese and left open otherwise (so
        the inputs of other languages' models stay the engine's own, prepared once)."""
        if self.fold_traditional_chinese is not None or language != "zh":
            return self
        return self.model_copy(update={"fold_traditional_chinese": True})

    @field_validator("masked_names")
    @classmethod
    def _names_not_blank(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not name.strip():
                raise ValueError("masked_names must not contain blank names")
        return names


@dataclass(frozen=True)
class PreparedText:
    """A cleaned, possibly truncated text and what was done to it on the way."""

    text: str
    original_chars: int
    truncated: bool
    removed_control_chars: int
    invalid_bytes_replaced: int
    warnings: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """True when no letter (of any script) is left: nothing a language model can read."""
        return _LETTER.search(self.text) is None


def decode_text(raw: str | bytes | bytearray) -> str:
    """`raw` as str; bytes are decoded as UTF-8, invalid sequences becoming U+FFFD.

    Never an exception for bad bytes: feedback arrives from forms and log files in any state,
    and a partly garbled text is still triaged (`prepare_text` counts and drops the U+FFFDs).
    """
    if isinstance(raw, bytes | bytearray):
        return bytes(raw).decode("utf-8", errors="replace")
    if isinstance(raw, str):
        return raw
    # The type only, never the value: the message may be logged, and the value may be personal.
    raise TextInputError(f"text must be str or bytes, got {type(raw).__name__}")


def prepare_text(raw: str | bytes | bytearray, config: TextConfig | None = None) -> PreparedText:
    """Clean `raw` (controls, invalid bytes, NFKC, whitespace) and truncate it to `max_chars`.

    Raises TextInputError only when `raw` is not text at all; empty or garbage input gives a
    PreparedText whose `is_empty` is True, so a caller can answer it with an explicit result.
    """
    config = config or TextConfig()
    text = decode_text(raw)
    original_chars = len(text)
    warnings: list[str] = []

    text, removed = _CONTROL.subn("", text)
    replaced = text.count(_REPLACEMENT)
    text = text.replace(_REPLACEMENT, "")
    # NFKC folds full-width Latin letters and digits (common in Chinese input) and ligatures
    # into their plain forms: "ＵＳ　Ａｉｒ" and "US Air" become the same text to a model.
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    if removed:
        warnings.append(f"removed {removed} control or invisible characters")
    if replaced:
        warnings.append(f"dropped {replaced} invalid byte sequences (not valid UTF-8)")

    truncated = len(text) > config.max_chars
    if truncated:
        text = _truncate(text, config.max_chars)
        warnings.append(
            f"text truncated to {len(text)} of {original_chars} characters (max_chars="
            f"{config.max_chars})"
        )
        logger.debug("truncated a %d-character text to %d", original_chars, len(text))
    return PreparedText(
        text=text,
        original_chars=original_chars,
        truncated=truncated,
        removed_control_chars=removed,
        invalid_bytes_replaced=replaced,
        warnings=tuple(warnings),
    )


def _truncate(text: str, max_chars: int) -> str:
    """Cut at `max_chars`, backing off to a space within the last 20 characters (whole words)."""
    cut = text[:max_chars]
    space = cut.rfind(" ", max(0, max_chars - 20))
    return cut[:space] if space > 0 else cut


def normalise_for_model(text: str, config: TextConfig | None = None) -> str:
    """Mask handles, URLs and configured names with fixed tokens (see module docstring).

    Expects a text from `prepare_text`. Case is kept: TF-IDF lowercases by itself and
    transformer models may use case.
    """
    config = config or TextConfig()
    if config.fold_traditional_chinese:
        text = fold_traditional(text)
    if config.mask_urls:
        text = _URL.sub(config.url_token, text)
    if config.mask_handles:
        text = _HANDLE.sub(config.handle_token, text)
    if config.masked_names:
        text = _names_pattern(config.masked_names).sub(config.name_token, text)
    return text


def model_input(raw: str | bytes | bytearray, config: TextConfig | None = None) -> str:
    """What a model reads for `raw`: `prepare_text`, then `normalise_for_model`.

    The triage engine runs the two steps apart (it reports what cleaning did); training and the
    MLflow wrapper, which need only the text, call this so all three give models the same input.
    """
    config = config or TextConfig()
    return normalise_for_model(prepare_text(raw, config).text, config)


@lru_cache(maxsize=16)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive alternation; longest first so "Virgin America" beats "Virgin".

    A space inside a name matches any whitespace or none, so "jet blue" also masks "JetBlue".
    """
    alternatives = [
        r"\s*".join(re.escape(part) for part in name.split())
        for name in sorted(set(names), key=len, reverse=True)
    ]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
