"""serving.store_followers: a follower outlives its failures, says an outage once, and reads
its interval from the environment with a sentence for a bad value."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from data.store import StoreUnavailableError
from serving.store_followers import follow_forever, refresh_seconds


def test_a_follower_keeps_reading_through_failures_and_logs_an_outage_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[Exception | None] = [
        StoreUnavailableError("down"),
        StoreUnavailableError("still down"),
        StoreUnavailableError("still down"),
        None,
        ValueError("a bug"),
        None,
    ]
    calls, failures, successes = [], [], []
    done = threading.Event()

    def catch_up() -> None:
        calls.append(time.monotonic())
        if len(calls) == len(outcomes):
            done.set()
        if len(calls) <= len(outcomes) and (error := outcomes[len(calls) - 1]) is not None:
            raise error

    def follow() -> None:
        follow_forever(
            catch_up,
            0.01,
            "the test log",
            read_first=True,
            on_failure=lambda: failures.append(1),
            on_success=lambda: successes.append(1),
        )

    with caplog.at_level(logging.WARNING, logger="serving.store_followers"):
        threading.Thread(target=follow, daemon=True).start()
        assert done.wait(10)
        time.sleep(0.05)
    assert len(failures) == 4 and len(successes) >= 2
    paused = [r for r in caplog.records if "paused" in r.getMessage()]
    assert [r.getMessage() for r in paused] == [
        "following the test log paused: the store is unavailable"
    ]
    assert any(r.getMessage() == "following the test log failed" for r in caplog.records)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "3601", "soon"])
def test_a_bad_interval_is_refused_naming_its_variable(value: str) -> None:
    with pytest.raises(ValueError, match="AGORA_KB_REFRESH_S must be"):
        refresh_seconds({"AGORA_KB_REFRESH_S": value}, "AGORA_KB_REFRESH_S", 2.0)


def test_an_unset_interval_is_the_default() -> None:
    assert refresh_seconds({}, "AGORA_KB_REFRESH_S", 2.0) == 2.0
    assert refresh_seconds({"AGORA_KB_REFRESH_S": " 0.5 "}, "AGORA_KB_REFRESH_S", 2.0) == 0.5
