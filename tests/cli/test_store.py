"""`agora store erase-user` and `prune` against a store the test fills: one summary line and
exit 0, an audit row naming the operator, zeros the second time, a dry run that deletes nothing;
a bad id, a missing period or a missing store exits 2."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from data.events import Event
from data.store import Store
from data.store.tables import erasures


def _filled(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    store.events.add([Event("e1", "c/1", "i1", "view", 1), Event("e2", "c2", "i1", "view", 1)])
    triage_id = store.triage.record("my refund never arrived", {}, {}, "en", True, "c/1")
    store.resolutions.add(triage_id, "reissued", "resolved", "ana")
    store.engine.dispose()
    return url


def test_erase_user_prints_one_line_of_counts_and_audits_the_operator(tmp_path: Path) -> None:
    url = _filled(tmp_path)
    runner = CliRunner()
    args = ["store", "erase-user", "c/1", "--store-url", url, "--requested-by", "dpo-ticket-7"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "erased user 'c/1': events 1, triage_records 1, corrections 0, resolutions 1, "
        "user_segments 0"
    ]
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "events 0, triage_records 0" in again.output
    store = Store(url)
    assert [r.requested_by for r in store.erasures.erasures_of("c/1")] == ["dpo-ticket-7"] * 2
    assert store.events.count() == 1  # c2's event stays
    store.engine.dispose()


def test_erase_user_names_the_os_user_when_no_requester_is_given(tmp_path: Path) -> None:
    url = _filled(tmp_path)
    assert CliRunner().invoke(app, ["store", "erase-user", "c2", "--store-url", url]).exit_code == 0
    store = Store(url)
    [record] = store.erasures.erasures_of("c2")
    assert record.requested_by.startswith("cli:") and record.counts["events"] == 1
    store.engine.dispose()


def test_a_malformed_id_or_a_missing_store_exits_2_with_a_sentence(tmp_path: Path) -> None:
    url = _filled(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["store", "erase-user", " c2", "--store-url", url])
    assert result.exit_code == 2 and "error: user_id" in result.output, result.output
    missing = f"sqlite:///{tmp_path / 'nowhere' / 'store.db'}"
    result = runner.invoke(app, ["store", "erase-user", "c2", "--store-url", missing])
    assert result.exit_code == 2 and "no store at" in result.output, result.output
    assert not (tmp_path / "nowhere").exists()


def _aged(tmp_path: Path) -> str:
    """A store holding one message and one event from 400 days ago, and one of each today."""
    url = f"sqlite:///{tmp_path / 'aged.db'}"
    store = Store(url)
    now = time.time()
    old = now - 400 * 86_400
    store.events.add(
        [Event("old", "u", "i", "view", int(old)), Event("new", "u", "i", "view", int(now))]
    )
    store.triage.record("old message", {}, {}, "en", True, "c", occurred_at=old)
    store.triage.record("new message", {}, {}, "en", True, "c")
    store.engine.dispose()
    return url


def test_prune_dry_run_counts_and_a_run_deletes_and_audits(tmp_path: Path) -> None:
    url = _aged(tmp_path)
    runner = CliRunner()
    args = ["store", "prune", "--messages-older-than", "365", "--events-older-than", "365"]
    dry = runner.invoke(app, [*args, "--dry-run", "--store-url", url])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would delete (messages before 20") and "events 1" in dry.output
    assert "triage_records 1" in dry.output
    ran = runner.invoke(app, [*args, "--store-url", url, "--requested-by", "cron"])
    assert ran.exit_code == 0 and ran.output.startswith("deleted ("), ran.output
    assert "triage_records 1, corrections 0, resolutions 0, events 1" in ran.output
    store = Store(url)
    assert [e.event_id for e in store.events.read()] == ["new"]
    with store.engine.connect() as connection:
        kinds = connection.execute(select(erasures.c.kind, erasures.c.requested_by)).all()
    assert [tuple(k) for k in kinds] == [("retention", "cron")]  # the dry run wrote nothing
    store.engine.dispose()


def test_prune_without_a_period_or_with_zero_days_exits_2(tmp_path: Path) -> None:
    url = _aged(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["store", "prune", "--store-url", url])
    assert result.exit_code == 2 and "messages, events or both" in result.output, result.output
    result = runner.invoke(app, ["store", "prune", "--events-older-than", "0", "--store-url", url])
    assert result.exit_code == 2, result.output
