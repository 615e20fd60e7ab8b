"""Chinese cases in the knowledge base: found by their character pairs, in a base of their own.

Regression: a Chinese message or case was neither embedded nor answered (`similar_cases: []`
always), so a Chinese support desk never saw its resolved cases again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data.store.resolutions import ResolvedCase
from models.knowledge import (
    HAN_MIN_SIMILARITY,
    HanBigrams,
    ScriptRoutedKnowledgeBase,
    han_reads,
    knowledge_reads,
)
from models.knowledge.han_bigrams import han_terms


class CountingEncoder:
    """An English encoder stand-in that records what it was asked to embed."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.tile(np.eye(1, 8, dtype=np.float32), (len(texts), 1))


def _case(seq: int, text: str, reason: str | None = None) -> ResolvedCase:
    return ResolvedCase(
        seq=seq,
        triage_id=f"tr{seq}",
        text=text,
        reason=reason,
        category=None,
        queue="zh_support",
        resolution=f"resolution {seq}",
        outcome="resolved",
    )


CASES = [
    _case(1, "充值了会员但是没有到账，要求退款！"),
    _case(2, "App总是闪退，更新后更严重了"),
    _case(3, "直播间有人恶意刷屏骂人，举报了没人管"),
    _case(4, "The app keeps crashing after the update"),
]


def test_han_terms_are_character_pairs_and_latin_words() -> None:
    assert han_terms("App闪退了") == ["闪退", "退了", "app"]
    assert han_terms("卡 a 死") == ["卡", "死"]  # a lone character counts as itself
    assert han_reads("更新之后app一直闪退") and not han_reads("the app crashes")
    assert not han_reads("アプリが落ちる")  # Japanese: kana, not read as Chinese
    assert knowledge_reads("退款") and knowledge_reads("refund")
    assert not knowledge_reads("Мой возврат")


def test_a_chinese_rewording_finds_its_case_and_an_unrelated_one_does_not() -> None:
    english = CountingEncoder()
    base = ScriptRoutedKnowledgeBase(english)
    assert base.add(CASES) == 4
    assert len(base) == 4 and len(base.han) == 3
    assert english.encoded == ["The app keeps crashing after the update"]  # Chinese not in it

    found = base.similar(
        ["充值会员没有到账，钱扣了，要求退款", "客服态度很好，谢谢", "更新之后app一直闪退"],
        3,
        min_similarity=0.99,
    )
    assert [c.triage_id for c in found[0]] == ["tr1"]
    assert found[0][0].similarity >= HAN_MIN_SIMILARITY
    assert found[1] == []
    assert [c.triage_id for c in found[2]] == ["tr2"]
    assert len(english.encoded) == 1  # Chinese queries never reach the English encoder


def test_a_traditional_chinese_query_finds_its_simplified_case() -> None:
    """Regression: a Hong Kong customer's 充值了會員但是沒有到賬 shared few character pairs with
    the desk's Simplified case 充值了会员但是没有到账, and found no similar case."""
    base = ScriptRoutedKnowledgeBase(CountingEncoder())
    base.add(CASES)
    found = base.similar(["充值了會員但是沒有到賬，要求退款！"], 3, min_similarity=0.99)
    assert [c.triage_id for c in found[0]] == ["tr1"]
    assert found[0][0].similarity > 0.99  # the same complaint, letter for letter


def test_chinese_cases_follow_corrections_and_newer_resolutions() -> None:
    base = ScriptRoutedKnowledgeBase(CountingEncoder())
    base.add(CASES[:2])
    assert base.refile({"tr1": {"reason": "billing"}}) == 1
    # Resolved again (the log reads it with its corrections): not embedded twice.
    again = ResolvedCase(
        **{**vars(CASES[0]), "seq": 7, "resolution": "refunded", "reason": "billing"}
    )
    assert base.add([again]) == 0
    (hit,) = base.similar(["会员没有到账"], 1, min_similarity=0.99)[0]
    assert hit.triage_id == "tr1" and hit.reason == "billing"
    assert hit.resolution == "refunded"


def test_han_vectors_are_unit_length_and_stable() -> None:
    encoder = HanBigrams()
    vectors = encoder.encode(["退款没有到账", "", "退款没有到账"])
    assert np.allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0)
    assert not vectors[1].any()  # no term: a zero vector, similar to nothing
    assert np.array_equal(vectors[0], vectors[2])
