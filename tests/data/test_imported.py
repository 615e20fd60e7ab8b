"""Importing a user's own files: mapping, validation, rejection counts, loading by name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data import schemas as S
from data.imported import (
    DataImportError,
    import_file,
    imported_frame_path,
    list_imported,
    parse_mapping,
)
from data.loaders import load_interactions
from data.schemas import Kind


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_mapping() -> None:
    assert parse_mapping("user_id=userId, item_id=movieId") == {
        S.USER_ID: "userId",
        S.ITEM_ID: "movieId",
    }
    with pytest.raises(DataImportError, match="canonical=source"):
        parse_mapping("user_id")


def test_import_counts_every_rejected_row_with_its_reason(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "ratings.csv",
        "userId,movieId,score,when\n"
        "1,10,4,100\n"
        "1,,3,200\n"  # empty item id
        "2,11,abc,300\n"  # rating not a number
        "3,12,5,2024-01-01\n"  # a date, converted to epoch seconds
        "4,13,2,not-a-date\n",  # bad timestamp
    )
    mapping = parse_mapping("user_id=userId,item_id=movieId,rating=score,timestamp=when")
    report = import_file(path, Kind.INTERACTIONS, mapping, "my-ratings")
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (5, 2, 3)
    assert report.rejected == {
        "empty item_id": 1,
        "rating is not a number": 1,
        "timestamp is neither epoch seconds nor a date (e.g. 'not-a-date')": 1,
    }
    frame = load_interactions("my-ratings")
    assert frame[S.ITEM_ID].tolist() == ["10", "12"]
    assert frame[S.TIMESTAMP].tolist() == [100, 1_704_067_200]
    assert list_imported()["my-ratings"]["kinds"] == ["interactions"]


def test_missing_mapped_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(DataImportError, match="'userId'"):
        import_file(path, Kind.INTERACTIONS, {S.USER_ID: "userId", S.ITEM_ID: "b"}, "x")


def test_unmapped_required_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.tsv", "user_id\tother\n1\t2\n")
    with pytest.raises(DataImportError, match="'item_id'"):
        import_file(path, Kind.INTERACTIONS, {}, "x")


def test_an_unmapped_text_column_names_the_file_s_columns(tmp_path: Path) -> None:
    """Regression: a helpdesk export with Chinese headers was told to map text=SOURCE without
    being told which columns the file has (as read in its encoding)."""
    path = tmp_path / "工单.csv"
    path.write_bytes("工单编号,内容,情绪\nTK1,账号被盗,差评\n".encode("gb18030"))
    with pytest.raises(DataImportError) as refused:
        import_file(path, Kind.LABELLED_TEXT, {}, "x", encoding="gb18030")
    assert str(refused.value) == (
        "required column 'text' is missing; map it with --map text=SOURCE, SOURCE being one "
        "of the file's columns: 工单编号, 内容, 情绪"
    )


def test_parquet_and_labelled_text(tmp_path: Path) -> None:
    path = tmp_path / "texts.parquet"
    pd.DataFrame(
        {"body": ["great app", "  ", "slow delivery"], "y": ["positive", "positive", "negative"]}
    ).to_parquet(path)
    report = import_file(path, Kind.LABELLED_TEXT, {S.TEXT: "body", S.LABEL: "y"}, "texts")
    assert report.rows_kept == 2 and report.rejected == {"empty text": 1}


def test_the_unread_columns_note_names_the_kind_with_its_article(tmp_path: Path) -> None:
    """Regression: the note said "an labelled-text import"."""
    texts = "body,y,agent\nslow delivery,negative,bo\ngreat app,positive,al\n"
    path = _write(tmp_path, "t.csv", texts)
    report = import_file(path, Kind.LABELLED_TEXT, {S.TEXT: "body", S.LABEL: "y"}, "t")
    (note,) = [n for n in report.notes if n.startswith("not imported")]
    assert "(a labelled-text import reads" in note
    path = _write(tmp_path, "i.csv", "item_id,title,shelf\na,A film,3\n")
    (note,) = [n for n in import_file(path, Kind.ITEMS, {}, "i").notes if "not imported" in n]
    assert "(an items import reads" in note


def test_catalog_names_and_bad_names_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "user_id,item_id\n1,2\n")
    with pytest.raises(DataImportError, match="catalog"):
        import_file(path, Kind.INTERACTIONS, {}, "movielens-100k")
    with pytest.raises(DataImportError, match="name"):
        import_file(path, Kind.INTERACTIONS, {}, "Bad Name!")


def test_a_map_naming_a_column_twice_is_refused() -> None:
    with pytest.raises(DataImportError, match="label twice"):
        parse_mapping("text=message,label=happy,label=id")


def _stamps(tmp_path: Path, name: str, values: list[object], suffix: str = ".csv") -> list[int]:
    users = [f"u{i}" for i in range(len(values))]
    frame = pd.DataFrame({"user_id": users, "item_id": "i", "timestamp": values})
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    report = import_file(path, Kind.INTERACTIONS, {}, name)
    assert report.rows_kept == len(values), report.rejected
    return load_interactions(name)[S.TIMESTAMP].tolist()


JULY_4 = 1_656_892_800  # 2022-07-04T00:00:00Z


def test_timestamps_are_read_in_the_column_s_own_spelling(tmp_path: Path) -> None:
    as_datetimes = pd.to_datetime(["2022-07-04", "2022-07-05"]).astype("datetime64[us]")
    assert _stamps(tmp_path, "dt", list(as_datetimes), ".parquet") == [JULY_4, JULY_4 + 86_400]
    assert _stamps(tmp_path, "ms", [JULY_4 * 1000, JULY_4 * 1000 + 1500]) == [JULY_4, JULY_4 + 1]
    assert _stamps(tmp_path, "us", [JULY_4 * 10**6]) == [JULY_4]
    # Day-first, settled by the 13th; the ISO and textual rows are read as what they say.
    day_first = ["04/07/2022", "13/07/2022", "2022-07-04", "Jul 4, 2022", "04/07/22 01:00"]
    assert _stamps(tmp_path, "dmy", day_first) == [
        JULY_4,
        JULY_4 + 9 * 86_400,
        JULY_4,
        JULY_4,
        JULY_4 + 3600,
    ]
    assert _stamps(tmp_path, "mdy", ["07/04/2022", "07/13/2022"]) == [JULY_4, JULY_4 + 9 * 86_400]


def test_dates_no_value_settles_are_refused_and_reported_decisions_are_notes(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path, "amb.csv", "user_id,item_id,timestamp\nu,i,04/07/2022\nv,i,05/06/2022\n"
    )
    with pytest.raises(DataImportError, match="day-first and month-first"):
        import_file(path, Kind.INTERACTIONS, {}, "amb")
    path = _write(tmp_path, "ms.csv", f"user_id,item_id,timestamp\nu,i,{JULY_4 * 1000}\nv,i,\n")
    report = import_file(path, Kind.INTERACTIONS, {}, "ms")
    assert report.rejected == {"empty timestamp": 1}
    assert any("milliseconds" in note for note in report.notes), report.notes
    assert list_imported()["ms"]["sources"]["interactions"]["notes"] == report.notes


def test_ids_written_as_whole_floats_or_with_spaces_match_the_items_file(tmp_path: Path) -> None:
    ratings = _write(tmp_path, "r.csv", "user_id,item_id\n1, 115.0\n2,7.0\n3,115.0\n")
    items = _write(tmp_path, "i.csv", "item_id,title\n115,Heat\n7,Alien\n")
    report = import_file(ratings, Kind.INTERACTIONS, {}, "fl")
    assert any("'115.0'" in note for note in report.notes), report.notes
    assert import_file(items, Kind.ITEMS, {}, "fl").notes == []  # every item matches
    assert sorted(load_interactions("fl")[S.ITEM_ID]) == ["115", "115", "7"]
    # Text ids that merely contain a dot are left as written; a mismatch is reported.
    odd = _write(tmp_path, "o.csv", "user_id,item_id\n1,v1.0\n2,v2.0\n")
    import_file(odd, Kind.INTERACTIONS, {}, "odd")
    (note,) = import_file(items, Kind.ITEMS, {}, "odd").notes
    assert note.startswith("none of the 2 items with interactions is in the items file")


def test_semicolon_csv_and_non_utf8_files(tmp_path: Path) -> None:
    path = _write(tmp_path, "eu.csv", "user_id;item_id;rating\nu;i;4,5\nv;j;3\n")
    report = import_file(path, Kind.INTERACTIONS, {}, "eu")
    assert report.rows_kept == 2
    assert load_interactions("eu")[S.RATING].tolist() == [4.5, 3.0]
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("text,label\n航班延误,negative\n".encode("gbk"))
    with pytest.raises(DataImportError, match=r"not UTF-8 text.*CSV UTF-8"):
        import_file(gbk, Kind.LABELLED_TEXT, {}, "gbk")


def test_parquet_integer_ids_import_as_the_same_csv_does(tmp_path: Path) -> None:
    """Regression: integer id columns in Parquet crashed the import (TypeError assigning id
    text into an int64 column); they now give the frame the same data as CSV gives."""
    ratings = pd.DataFrame({"u": ["a", "a", "b", "b"], "i": [1, 2, 1, 3], "r": [4, 5, 3, 2]})
    mapping = parse_mapping("user_id=u,item_id=i,rating=r")
    ratings.to_parquet(tmp_path / "intid.parquet")
    ratings.to_csv(tmp_path / "intid.csv", index=False)
    import_file(tmp_path / "intid.parquet", Kind.INTERACTIONS, mapping, "from-parquet")
    import_file(tmp_path / "intid.csv", Kind.INTERACTIONS, mapping, "from-csv")
    from_parquet = load_interactions("from-parquet")
    assert from_parquet[S.ITEM_ID].astype(str).tolist() == ["1", "2", "1", "3"]
    pd.testing.assert_frame_equal(from_parquet, load_interactions("from-csv"))
    # An integer column with a gap is floats in pandas: whole floats, read as in a CSV.
    gappy = pd.DataFrame({"user_id": ["a", "b", "c"], "item_id": [7, None, 115]})
    gappy.to_parquet(tmp_path / "gappy.parquet")
    report = import_file(tmp_path / "gappy.parquet", Kind.INTERACTIONS, {}, "gappy")
    assert report.rejected == {"empty item_id": 1}
    assert any("'7.0'" in note for note in report.notes), report.notes
    assert load_interactions("gappy")[S.ITEM_ID].astype(str).tolist() == ["7", "115"]


def test_parquet_items_with_integer_ids_import(tmp_path: Path) -> None:
    """Regression: `--kind items` with an integer item_id in Parquet crashed the import."""
    path = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": [1, 2, 3], "title": ["A", "B", "C"]}).to_parquet(path)
    report = import_file(path, Kind.ITEMS, {}, "int-items")
    assert report.rows_kept == 3
    stored = pd.read_parquet(imported_frame_path("int-items", Kind.ITEMS))
    assert stored[S.ITEM_ID].tolist() == ["1", "2", "3"]


def test_repeated_item_ids_keep_the_last_row_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: an items file listing an item twice kept both rows silently (one item with
    two titles); the last row is kept, the earlier ones counted and noted."""
    monkeypatch.setattr("data.table_reader.CHUNK_ROWS", 2)  # the repeat spans two chunks
    path = _write(tmp_path, "items.csv", "item_id,title\n1,Heat\n2,Alien\n1.0,Heat (1995)\n3,Up\n")
    report = import_file(path, Kind.ITEMS, {}, "repeated-items")
    assert (report.rows_read, report.rows_kept) == (4, 3)
    assert report.rejected == {"repeated item_id: an earlier row of an item listed again": 1}
    assert report.notes == [
        "item_id values written as whole floats (e.g. '1.0') read as integers",
        "1 item appears on more than one row (e.g. '1'): the last row of each was kept, "
        "1 earlier row dropped",
    ]
    stored = pd.read_parquet(imported_frame_path("repeated-items", Kind.ITEMS))
    assert dict(zip(stored[S.ITEM_ID], stored[S.TITLE], strict=True)) == {
        "1": "Heat (1995)",
        "2": "Alien",
        "3": "Up",
    }


def test_semicolon_separator_and_decimal_comma_are_printed_as_notes(tmp_path: Path) -> None:
    """Regression: a ';'-separated CSV with '4,5' ratings was read without the `note:` lines
    the README promises for every reading decision."""
    path = _write(tmp_path, "semi.csv", "u;i;r\na;1;4,5\nb;2;3\n")
    report = import_file(
        path, Kind.INTERACTIONS, parse_mapping("user_id=u,item_id=i,rating=r"), "semi"
    )
    assert report.notes == [
        "semi.csv read as ';'-separated: its header line has ';' and no ','",
        "rating values with a decimal comma (e.g. '4,5') read with ',' as the decimal mark",
    ]
    assert list_imported()["semi"]["sources"]["interactions"]["notes"] == report.notes
    plain = _write(tmp_path, "plain.csv", "user_id,item_id,rating\na,1,4.5\n")
    assert import_file(plain, Kind.INTERACTIONS, {}, "plain").notes == []
    tabs = _write(tmp_path, "tabs.csv", "user_id\titem_id\na\t1\n")
    assert import_file(tabs, Kind.INTERACTIONS, {}, "tabs").notes == [
        "tabs.csv read as tab-separated: its header line has tabs and no ','"
    ]


def test_reimporting_a_name_notes_the_import_it_replaces(tmp_path: Path) -> None:
    """Regression: importing under an existing dataset name replaced its data without a note."""
    first = _write(tmp_path, "first.csv", "user_id,item_id\na,1\nb,2\n")
    second = _write(tmp_path, "second.csv", "user_id,item_id\nc,3\n")
    assert import_file(first, Kind.INTERACTIONS, {}, "again").notes == []
    items = _write(tmp_path, "items.csv", "item_id,title\n1,A\n2,B\n")
    assert import_file(items, Kind.ITEMS, {}, "again").notes == []  # another kind: added
    report = import_file(second, Kind.INTERACTIONS, {}, "again")
    assert "replaced the previous interactions import of 'again' (2 rows from first.csv)" in (
        report.notes
    )
    assert load_interactions("again")[S.USER_ID].tolist() == ["c"]


def test_an_items_publication_time_is_imported_not_dropped(tmp_path: Path) -> None:
    """Regression: an items file's published_at column was dropped with a 'not imported' note."""
    path = _write(
        tmp_path,
        "posts.csv",
        "post_id,headline,published_at\n"
        "p1,First,2026-09-28T00:37:30Z\n"
        "p2,Second,\n"
        "p3,Third,not a date\n"
        "p4,Fourth,2026-11-26 10:00:00\n",
    )
    report = import_file(path, Kind.ITEMS, {"item_id": "post_id", "title": "headline"}, "posts")
    assert report.rejected == {
        "published_at is neither epoch seconds nor a date (e.g. 'not a date')": 1
    }
    assert not any("not imported" in note for note in report.notes), report.notes
    stored = pd.read_parquet(imported_frame_path("posts", Kind.ITEMS))
    assert stored[S.PUBLISHED_AT].tolist() == [1790555850, 0, 1795687200]


def test_ids_the_service_refuses_are_rejected_and_counted(tmp_path: Path) -> None:
    """Regression: an id longer than 256 characters or holding a control character was imported
    and trained on, then refused by /recommend, /similar_items and /events (HTTP 400)."""
    long_id = "x" * 257
    path = _write(
        tmp_path,
        "ratings.csv",
        f'user_id,item_id\nu1,{long_id}\n{long_id},i1\n"u\tb",i1\nu1,"i\x01"\nu1,{"y" * 256}\n',
    )
    report = import_file(path, Kind.INTERACTIONS, {}, "odd-ids")
    assert (report.rows_read, report.rows_kept) == (5, 1)
    assert report.rejected == {
        "item_id longer than 256 characters, the most the service takes": 1,
        "user_id longer than 256 characters, the most the service takes": 1,
        "user_id holds a control character (a tab or line break), "
        "which the service refuses in ids": 1,
        "item_id holds a control character (a tab or line break), "
        "which the service refuses in ids": 1,
    }
    assert load_interactions("odd-ids")[S.ITEM_ID].tolist() == ["y" * 256]


def test_a_utf16_file_is_told_to_add_encoding_utf16(tmp_path: Path) -> None:
    """Regression: Excel's 'Unicode Text' export (UTF-16 with a byte-order mark) was advised
    --encoding cp1252, which reads it as mojibake; it imports with --encoding utf-16."""
    path = tmp_path / "tickets.tsv"
    path.write_bytes("text\tlabel\nI love it\tpositive\nit broke\tnegative\n".encode("utf-16"))
    with pytest.raises(DataImportError, match=r"UTF-16 byte-order mark.*--encoding utf-16"):
        import_file(path, Kind.LABELLED_TEXT, {}, "unicode-text")
    report = import_file(path, Kind.LABELLED_TEXT, {}, "unicode-text", encoding="utf-16")
    assert report.rows_kept == 2


def test_header_names_with_stray_spaces_are_mapped_by_the_names_a_user_sees(
    tmp_path: Path,
) -> None:
    """Regression: a header written 'Message , Sentiment ' refused --map text=Message, listing
    the columns back as 'Message ,  Sentiment ' with the spaces unseen; ' text' was not 'text'."""
    path = _write(tmp_path, "typed.csv", "Message , Sentiment \nI love it,positive\nbad,negative\n")
    report = import_file(
        path, Kind.LABELLED_TEXT, parse_mapping("text=Message,label=Sentiment"), "typed-header"
    )
    assert report.rows_kept == 2 and report.notes == []
    unmapped = _write(tmp_path, "plain.csv", " user_id,item_id , extra\nu1,i1,x\n")
    report = import_file(unmapped, Kind.INTERACTIONS, {}, "spaced-header")
    assert report.rows_kept == 1
    assert any("not imported: column 'extra'" in note for note in report.notes)
