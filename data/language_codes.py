"""ISO 639-1 language codes: the one vocabulary of the `language` column of labelled texts.

The full two-letter list is written out (not taken from the language detector) because a user's
data may be in a language the detector does not know, and its code is still a valid tag to import
and train with. Tags such as "en-US" or "zh_Hans" are reduced to their primary subtag, since
models are trained and served per language, not per region or script variant.

A spreadsheet's language column is often written in words ("English", "中文", "简体中文") or
with an ISO 639-2/3 code ("eng", "zho"): those of the languages people most often label with are
read as their code, so such a file is not refused row by row. Other names stay an error.
"""

from __future__ import annotations

import re

_CODES = """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
    la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
    oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
"""
ISO_639_1: frozenset[str] = frozenset(_CODES.split())
# "und" is ISO 639-2's "undetermined": the canonical frame writes it as the empty string.
UNDETERMINED = frozenset({"", "und"})
_SUBTAG_SEPARATOR = re.compile(r"[-_]")

# Names and ISO 639-2/3 codes, compared case-folded and without outer spaces. Chinese varieties
# (Mandarin, Cantonese, simplified, traditional) are one code: triage serves written Chinese.
_NAMED: dict[str, tuple[str, ...]] = {
    "zh": (
        "chinese",
        "mandarin",
        "cantonese",
        "simplified chinese",
        "traditional chinese",
        "中文",
        "汉语",
        "漢語",
        "华语",
        "華語",
        "普通话",
        "普通話",
        "国语",
        "國語",
        "粤语",
        "粵語",
        "简体中文",
        "簡體中文",
        "繁体中文",
        "繁體中文",
        "中文（简体）",
        "中文（繁體）",
        "zho",
        "chi",
        "cmn",
        "yue",
    ),
    "en": ("english", "英文", "英语", "英語", "eng"),
    "ja": ("japanese", "日语", "日語", "日文", "日本語", "jpn"),
    "ko": ("korean", "韩语", "韓語", "韩文", "한국어", "kor"),
    "es": ("spanish", "español", "espanol", "西班牙语", "spa"),
    "fr": ("french", "français", "francais", "法语", "fra", "fre"),
    "de": ("german", "deutsch", "德语", "deu", "ger"),
    "pt": ("portuguese", "português", "portugues", "葡萄牙语", "por"),
    "ru": ("russian", "русский", "俄语", "rus"),
    "ar": ("arabic", "العربية", "阿拉伯语", "ara"),
    "vi": ("vietnamese", "tiếng việt", "越南语", "vie"),
    "th": ("thai", "ไทย", "泰语", "tha"),
    "id": ("indonesian", "bahasa indonesia", "印尼语", "ind"),
    "ms": ("malay", "bahasa melayu", "马来语", "msa", "may"),
}
_CODE_OF_NAME: dict[str, str] = {
    name.casefold(): code for code, names in _NAMED.items() for name in names
}


class LanguageCodeError(ValueError):
    """A language tag is not an ISO 639-1 code; the message names it."""


def normalise_language_code(value: str) -> str:
    """The ISO 639-1 code of `value` ("EN", "en-US", "zh_Hans" -> "en", "en", "zh"; the names
    and three-letter codes of `_NAMED`, "English", "中文", "eng" -> "en", "zh", "en").

    Empty and "und" give "" (language not known). Raises LanguageCodeError for anything else.
    """
    named = _CODE_OF_NAME.get(value.strip().casefold())
    if named is not None:
        return named
    primary = _SUBTAG_SEPARATOR.split(value.strip().lower(), maxsplit=1)[0]
    if primary in UNDETERMINED:
        return ""
    if primary not in ISO_639_1:
        raise LanguageCodeError(
            f"'{value}' is not an ISO 639-1 language code (two letters, e.g. en, zh, es) "
            "nor a language name it knows (English, Chinese, 中文, ...)"
        )
    return primary


def iso_639_1_pattern() -> str:
    """A regular expression matching exactly the ISO 639-1 codes, in any letter case.

    For published schemas: JSON Schema's regular expressions have no case-insensitive flag, so
    each code's letters are spelled as `[Zz][Hh]`, the codes grouped by their first letter to
    keep it short (`[Zz][AaHhUu]`).
    """
    by_first: dict[str, set[str]] = {}
    for code in ISO_639_1:
        by_first.setdefault(code[0], set()).add(code[1])
    groups = (
        f"[{first.upper()}{first}][{''.join(sorted(s.upper() + s for s in seconds))}]"
        for first, seconds in sorted(by_first.items())
    )
    return "(" + "|".join(groups) + ")"
