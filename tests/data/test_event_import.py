"""Importing a platform's event log: each row valued by its event type, negative pairs kept out."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from data import schemas as S
from data.event_import import EventMapError, parse_event_map
from data.imported import DataImportError, import_file, list_imported, parse_mapping
from data.loaders import load_interactions
from data.schemas import Kind

_MAPPING = "user_id=uid,item_id=post,timestamp=ts,type=event"
_EVENT_MAP = "impression=ignore,hide=dislike,report=complaint,comment=like"


def _log(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "events.csv"
    path.write_text("uid,post,event,ts\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _ratings(name: str) -> dict[tuple[str, str], list[float]]:
    frame = load_interactions(name)
    grouped = frame.groupby([S.USER_ID, S.ITEM_ID])[S.RATING]
    return {pair: sorted(values) for pair, values in grouped}


def test_an_event_logs_hides_and_reports_are_not_imported_as_positive_interactions(
    tmp_path: Path,
) -> None:
    """Regression: an event log imported every row (an impression, a hide, a report) as rating 1."""
    path = _log(
        tmp_path,
        [
            "u1,a,impression,2026-10-01T08:00:00+08:00",
            "u1,a,click,2026-10-01T08:01:00+08:00",
            "u1,b,like,2026-10-01T08:02:00+08:00",
            "u1,c,Hide,2026-10-01T08:03:00+08:00",  # type names matched folded
            "u1,d,click,2026-10-01T08:04:00+08:00",
            "u1,d,report,2026-10-01T08:05:00+08:00",
            "u1,e, comment ,2026-10-01T08:06:00+08:00",
        ],
    )
    report = import_file(
        path,
        Kind.INTERACTIONS,
        parse_mapping(_MAPPING),
        "log",
        event_map=parse_event_map(_EVENT_MAP),
    )
    assert (report.rows_read, report.rows_kept) == (7, 6)
    assert report.rejected == {"type 'impression' (--event-map impression=ignore)": 1}
    # Values as a posted event's (click 3, like 4); the disliked and the reported pairs at 0,
    # the click before the report included: the user's last word on d was a report.
    assert _ratings("log") == {
        ("u1", "a"): [3.0],
        ("u1", "b"): [4.0],
        ("u1", "c"): [0.0],
        ("u1", "d"): [0.0, 0.0],
        ("u1", "e"): [4.0],
    }
    assert any("hide 1 -> dislike" in note for note in report.notes), report.notes
    assert any(
        "1 (user, item) pairs with a complaint and 1 with a dislike" in n for n in report.notes
    )
    manifest = list_imported()["log"]["sources"]["interactions"]
    assert manifest["event_types"]["report"] == "complaint"
    assert manifest["negative_pairs"] == {"complained": 1, "disliked": 1}


def test_a_dislike_is_lifted_only_by_a_later_event_worth_a_like(tmp_path: Path) -> None:
    path = _log(
        tmp_path,
        [
            # x: liked later in time, though listed first in the file: the dislike is lifted.
            "u1,x,like,1700000500",
            "u1,x,dislike,1700000100",
            # y: a later click is not a like: the dislike stands and the click is not learned.
            "u1,y,dislike,1700000100",
            "u1,y,click,1700000500",
            # z: liked, then disliked: the dislike is the latest word.
            "u1,z,like,1700000100",
            "u1,z,dislike,1700000500",
            # w: a later like does not lift a complaint.
            "u1,w,complaint,1700000100",
            "u1,w,like,1700000500",
        ],
    )
    import_file(path, Kind.INTERACTIONS, parse_mapping(_MAPPING), "lift")
    assert _ratings("lift") == {
        ("u1", "w"): [0.0, 0.0],
        ("u1", "x"): [0.0, 4.0],  # the lifted dislike's own row carries no value
        ("u1", "y"): [0.0, 0.0],
        ("u1", "z"): [0.0, 0.0],
    }


def test_rating_column_is_the_events_weight(tmp_path: Path) -> None:
    path = tmp_path / "weighted.csv"
    path.write_text(
        "uid,post,event,w\nu1,a,click,2\nu1,b,rating,4.5\nu1,c,view,-1\n", encoding="utf-8"
    )
    report = import_file(
        path, Kind.INTERACTIONS, parse_mapping("user_id=uid,item_id=post,type=event,rating=w"), "w"
    )
    assert report.rejected == {"rating (the event's weight) is below 0": 1}
    assert _ratings("w") == {("u1", "a"): [6.0], ("u1", "b"): [4.5]}


def test_unknown_event_types_refuse_the_import_naming_them_and_the_option(tmp_path: Path) -> None:
    path = _log(tmp_path, ["u1,a,click,1", "u1,b,hide,2", "u2,b,hide,3", "u2,c,impression,4"])
    with pytest.raises(DataImportError) as refused:
        import_file(path, Kind.INTERACTIONS, parse_mapping(_MAPPING), "unknown")
    message = str(refused.value)
    assert "'hide' (2 rows), 'impression' (1 rows)" in message
    assert "--event-map" in message
    assert "unknown" not in list_imported()  # nothing stored


def test_event_map_is_checked(tmp_path: Path) -> None:
    assert parse_event_map(" Hide = DISLIKE ,report=complaint") == {
        "hide": "dislike",
        "report": "complaint",
    }
    for text, says in (
        ("hide", "NAME=TYPE"),
        ("hide=hidden", "not an Agora event type"),
        ("hide=dislike,HIDE=ignore", "twice"),
    ):
        with pytest.raises(EventMapError, match=says):
            parse_event_map(text)
    plain = tmp_path / "plain.csv"
    plain.write_text("user_id,item_id\nu1,a\n", encoding="utf-8")
    with pytest.raises(DataImportError, match="--map type=COLUMN"):
        import_file(plain, Kind.INTERACTIONS, {}, "plain", event_map={"hide": "dislike"})


def test_an_unmapped_column_is_named_in_a_note(tmp_path: Path) -> None:
    """Regression: an event log's type column, left unmapped, was dropped without a word."""
    path = _log(tmp_path, ["u1,a,click,1"])
    report = import_file(path, Kind.INTERACTIONS, parse_mapping("user_id=uid,item_id=post"), "n")
    (note,) = [n for n in report.notes if n.startswith("not imported")]
    assert "'event', 'ts'" in note and "type" in note


def test_cli_refuses_unknown_types_with_exit_code_2(tmp_path: Path) -> None:
    path = _log(tmp_path, ["u1,a,hide,1"])
    args = ["data", "import", str(path), "--kind", "interactions", "--map", _MAPPING]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "'hide' (1 rows)" in result.output
    mapped = CliRunner().invoke(app, [*args, "--event-map", "hide=dislike"])
    assert mapped.exit_code == 0, mapped.output
    assert "hide 1 -> dislike" in mapped.output
    refused = CliRunner().invoke(app, [*args, "--event-map", "hide=hidden"])
    assert refused.exit_code == 2 and "not an Agora event type" in refused.output
