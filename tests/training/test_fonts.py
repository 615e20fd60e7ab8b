"""training.fonts: figures with Chinese text draw it with a CJK font when the machine has one
(CI installs fonts-wqy-microhei), instead of boxes."""

from __future__ import annotations

import io
import warnings

import numpy as np

from training.fonts import cjk_font_families
from training.triage.plots import confusion_matrix_figure


def _glyphs_missing_when_drawn() -> list[str]:
    matrix = np.array([[5, 1], [2, 7]])
    figure = confusion_matrix_figure(matrix, ["差评", "好评"], "外卖 情感")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_chinese_class_labels_are_drawn_with_a_cjk_font_when_there_is_one() -> None:
    families = cjk_font_families()
    assert all(isinstance(name, str) and name for name in families)
    missing = _glyphs_missing_when_drawn()
    if families:
        assert missing == []
    else:  # a bare machine: the boxes this fallback exists to avoid, and nothing fails
        assert missing
