"""read_texts: a batch's input table read as `agora data import` reads one."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.batch import read_texts


def test_ids_and_texts_come_back_as_written(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("ticket_id;text\n00123;The app crashes\nNA;NA\n7;\n", encoding="utf-8")
    table = read_texts(path)
    assert table["ticket_id"].tolist() == ["00123", "NA", "7"]
    assert table["text"].tolist() == ["The app crashes", "NA", ""]


def test_a_tsv_and_a_header_only_file(tmp_path: Path) -> None:
    tsv = tmp_path / "t.tsv"
    tsv.write_text("id\ttext\n1\thello\n", encoding="utf-8")
    assert read_texts(tsv)["text"].tolist() == ["hello"]
    empty = tmp_path / "e.csv"
    empty.write_text("id,text\n", encoding="utf-8")
    assert read_texts(empty).empty
    with pytest.raises(ValueError, match="no column 'body'"):
        read_texts(empty, "body")


def test_a_chinese_excel_export_is_read_with_its_encoding(tmp_path: Path) -> None:
    """Regression: a GB18030 CSV could not be batch-triaged without re-saving it."""
    path = tmp_path / "工单.csv"
    path.write_bytes("编号,内容\r\n1,退款还没到账\r\n".encode("gb18030"))
    with pytest.raises(ValueError, match="add --encoding gb18030"):
        read_texts(path, "内容")
    assert read_texts(path, "内容", "gb18030")["内容"].tolist() == ["退款还没到账"]
