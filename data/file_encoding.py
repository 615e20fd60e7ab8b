"""Which text encoding a user's CSV or TSV is read in, and what to say when it is not that one.

UTF-8 (with or without the byte-order mark spreadsheets write) is the default. A Chinese team's
export is often not UTF-8: Excel on Chinese Windows saves "CSV (逗号分隔)" in the system code
page, GBK (cp936), of which GB18030 is the superset that also holds emoji and rare characters.
Such a file is read with `--encoding gb18030`; it is never decoded by a guess, because nearly any
byte string decodes as *some* legacy encoding (a Latin-1 file "decodes" as GB18030 into Chinese
mojibake), so guessing would turn a refusal into silently wrong text. What is guessed is only the
advice: a file that fails as UTF-8 but reads as GB18030 with Chinese characters in it is refused
with the `--encoding gb18030` to add, and one that opens with a UTF-16 byte-order mark (Excel's
'Unicode Text') with `--encoding utf-16`.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Final

DEFAULT_ENCODING: Final = "utf-8-sig"
CHINESE_EXCEL_ENCODING: Final = "gb18030"
# How much of the file the advice reads: enough for many rows of Chinese text.
_SNIFF_BYTES: Final = 1 << 16
_HAN: Final = re.compile(r"[\u4e00-\u9fff]")


class EncodingNameError(ValueError):
    """The encoding named is not one Python knows; the message says which names work."""


def checked_encoding(name: str | None) -> str:
    """The codec to read a text file with: `name` when Python knows it, else the default.

    UTF-8 given by name is read as `utf-8-sig`, so a byte-order mark never becomes part of the
    first column's name.
    """
    if name is None or not name.strip():
        return DEFAULT_ENCODING
    try:
        codec = codecs.lookup(name.strip()).name
    except LookupError:
        raise EncodingNameError(
            f"unknown encoding '{name}': use a Python codec name such as utf-8, gb18030 "
            "(Chinese Excel's 'CSV'), big5, shift_jis or cp1252"
        ) from None
    return DEFAULT_ENCODING if codec in {"utf-8", "utf-8-sig"} else codec


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in {"utf-8", "utf-8-sig"}


def undecodable_message(path: Path, encoding: str, where: str, detail: str) -> str:
    """One sentence for a file that does not decode as `encoding`, naming the fix.

    `where` places the failure ("", or " after row 120"); `detail` is the codec's own words.
    """
    if not is_utf8(encoding):
        return (
            f"{path.name} is not {encoding} text{where} ({detail}): give the file's own "
            "encoding with --encoding, or save it as UTF-8 (a spreadsheet's 'CSV UTF-8' "
            "format) and try again"
        )
    if _starts_with_utf16_mark(path):
        return (
            f"{path.name} is not UTF-8 text{where} ({detail}); it starts with a UTF-16 "
            "byte-order mark, as Excel's 'Unicode Text' saves: add --encoding utf-16, or save "
            "it as 'CSV UTF-8' and try again"
        )
    if _reads_as_chinese(path):
        return (
            f"{path.name} is not UTF-8 text{where} ({detail}); it reads as GB18030/GBK, what "
            "Excel on Chinese Windows saves as 'CSV': add --encoding gb18030, or save it as "
            "'CSV UTF-8' and try again"
        )
    return (
        f"{path.name} is not UTF-8 text{where} ({detail}): save it as UTF-8 (a spreadsheet's "
        "'CSV UTF-8' format) and try again, or give its encoding with --encoding "
        "(e.g. --encoding cp1252)"
    )


def _starts_with_utf16_mark(path: Path) -> bool:
    """Whether the file opens with a UTF-16 byte-order mark: not a guess, the mark says it."""
    with path.open("rb") as handle:
        return handle.read(2) in {codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE}


def _reads_as_chinese(path: Path) -> bool:
    """Whether the file's opening decodes as GB18030 and holds Chinese characters (advice only)."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    # Not final: the read may have cut the last character in two.
    decoder = codecs.getincrementaldecoder(CHINESE_EXCEL_ENCODING)()
    try:
        text = decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return bool(_HAN.search(text))
