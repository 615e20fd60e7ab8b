"""Fonts for the figures Agora draws: Chinese and Japanese text in charts, not boxes.

matplotlib's default font (DejaVu Sans) has no CJK glyphs, so a class label, a complaint group
or an emerging term in Chinese ("退款") was drawn as boxes in the MLflow plots and the complaint
report. Figures made inside `cjk_fallback` draw each glyph with the default font when it has
it, else with a CJK font found on the machine (Debian: fonts-wqy-microhei or fonts-noto-cjk).
Without one, the boxes remain; nothing fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Final

DEFAULT_FAMILY: Final = "DejaVu Sans"  # matplotlib's own default
# File-name hints of CJK fonts; each candidate is then checked for the glyph 中.
_CJK_FONT_HINTS: Final = (
    "wqy",
    "cjk",
    "droid",
    "uming",
    "ukai",
    "msyh",
    "pingfang",
    "hei",
)


@lru_cache(maxsize=1)
def cjk_font_families() -> tuple[str, ...]:
    """Families of the system fonts that draw 中, registered with matplotlib (may be empty).

    Found by file, since matplotlib's font cache may predate the font's installation."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    families: list[str] = []
    for path in sorted(font_manager.findSystemFonts()):
        if not any(hint in Path(path).name.lower() for hint in _CJK_FONT_HINTS):
            continue
        try:
            font = FT2Font(path)
            if not font.get_char_index(ord("中")):
                continue
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue  # unreadable or unsupported file: not a fallback
        if font.family_name not in families:
            families.append(font.family_name)
    return tuple(families)


@contextmanager
def cjk_fallback() -> Iterator[None]:
    """Within: text in new figures falls back glyph by glyph to a CJK font (see the module)."""
    import matplotlib

    # A list of families: matplotlib draws each glyph with the first family that has it.
    with matplotlib.rc_context({"font.family": [DEFAULT_FAMILY, *cjk_font_families()]}):
        yield
