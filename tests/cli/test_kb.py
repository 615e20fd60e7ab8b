"""`agora kb search` against a store the test fills (a bag-of-words encoder stands in for MiniLM:
the command's wiring is under test here; the real encoder is exercised by the service test)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cli.kb
from cli.main import app
from data.store import Store


class WordsEncoder:
    """Each word adds a fixed pseudo-random direction; texts sharing words are similar."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            v = np.zeros(64, np.float32)
            for word in text.lower().split():
                v += np.random.default_rng(zlib.crc32(word.encode())).normal(size=64)
            rows.append(v / (np.linalg.norm(v) or 1.0))
        return np.stack(rows).astype(np.float32)


def test_kb_search_prints_the_closest_resolved_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    outputs = {"reason": {"label": "refund"}, "category": {"label": "billing"}}
    refund = store.triage.record("my refund never arrived", outputs, {}, "en", True, "c1")
    bags = store.triage.record("lost my bags at the airport", {}, {}, "en", True, "c2")
    open_case = store.triage.record("my refund is missing", {}, {}, "en", True, "c3")
    store.resolutions.add(refund, "reissued the refund to the card", "resolved", "ana")
    store.resolutions.add(bags, "bags delivered home", "resolved", "ana")
    store.resolutions.add(open_case, "still open", "not_resolved", "ana")
    store.engine.dispose()
    monkeypatch.setattr(cli.kb, "search_encoder", lambda kind: WordsEncoder())

    result = CliRunner().invoke(
        app,
        [
            "kb",
            "search",
            "where is my refund",
            "--k",
            "1",
            "--min-similarity",
            "0.2",
            "--store-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "1 of 2 resolved cases at similarity >= 0.2" in result.output
    )  # the not_resolved case is not knowledge
    assert refund in result.output and "reissued the refund to the card" in result.output
    assert "reason=refund category=billing" in result.output
    assert bags not in result.output
    russian = CliRunner().invoke(app, ["kb", "search", "Мой возврат не пришёл", "--store-url", url])
    assert russian.exit_code == 0 and "mostly in another script" in russian.output

    missing = tmp_path / "typo" / "store.db"
    absent = CliRunner().invoke(app, ["kb", "search", "x", "--store-url", f"sqlite:///{missing}"])
    assert absent.exit_code == 2 and "no store at" in absent.output, absent.output
    assert not missing.parent.exists()  # a read never creates a store (or its folder)
    empty_url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(empty_url).engine.dispose()  # a store with nothing resolved yet
    empty = CliRunner().invoke(app, ["kb", "search", "x", "--store-url", empty_url])
    assert empty.exit_code == 0 and "empty" in empty.output
    bad = CliRunner().invoke(app, ["kb", "search", "x", "--k", "0", "--store-url", url])
    assert bad.exit_code == 2
    # Regressions: a blank text was answered as "mostly in another script", exit 0; nan was
    # refused as "should be less than or equal to 1".
    blank = CliRunner().invoke(app, ["kb", "search", "  ", "--store-url", url])
    assert blank.exit_code == 2 and "blank" in blank.output, blank.output
    nan = CliRunner().invoke(
        app, ["kb", "search", "x", "--min-similarity", "nan", "--store-url", url]
    )
    assert nan.exit_code == 2 and "not nan" in nan.output, nan.output


def test_kb_search_finds_chinese_cases_without_the_english_encoder(tmp_path: Path) -> None:
    """Regression: every Chinese message was answered 'mostly in another script', so a Chinese
    desk's resolved cases were never found again."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    topup = store.triage.record("充值了会员但是没有到账，要求退款！", {}, {}, "zh", True, "c1")
    crash = store.triage.record("App总是闪退，更新后更严重了", {}, {}, "zh", True, "c2")
    store.resolutions.add(topup, "已核实充值记录，会员已补发到账。", "resolved", "xiaoli")
    store.resolutions.add(crash, "升级到3.2.1版本后闪退已修复。", "resolved", "xiaoli")
    store.engine.dispose()

    # No monkeypatched encoder: building the English one here would fail the test offline.
    result = CliRunner().invoke(
        app, ["kb", "search", "充值会员没有到账，钱扣了，要求退款", "--store-url", url]
    )
    assert result.exit_code == 0, result.output
    assert "1 of 2 resolved cases at similarity >= 0.3" in result.output
    assert topup in result.output and "会员已补发到账" in result.output
    assert crash not in result.output
