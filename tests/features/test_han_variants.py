"""Traditional Chinese folded to Simplified one character for one, other text untouched."""

from __future__ import annotations

from features.han_variants import _HAN, _table, fold_traditional


def test_traditional_characters_fold_and_everything_else_stays() -> None:
    assert fold_traditional("帳號被盜，請幫我凍結") == "帐号被盗，请帮我冻结"
    mixed = "我的VIP會員 refund 了嗎？😡 12315"
    assert fold_traditional(mixed) == "我的VIP会员 refund 了吗？😡 12315"
    assert fold_traditional("充值了金币没有到账") == "充值了金币没有到账"
    assert fold_traditional("my bag was lost") == "my bag was lost"


def test_folding_keeps_every_position() -> None:
    text = "有人威脅要殺我，我要報警 call 999"
    folded = fold_traditional(text)
    assert len(folded) == len(text)
    start = folded.index("报警")
    assert text[start : start + 2] == "報警"


def test_the_shortcut_for_texts_without_han_never_skips_a_folded_character() -> None:
    """A text with no Han character is returned unscanned: every key of the table must be Han."""
    assert len(_table()) > 3000
    assert all(_HAN.fullmatch(chr(point)) for point in _table())
