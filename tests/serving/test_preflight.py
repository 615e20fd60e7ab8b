"""serving.preflight: a setting the service cannot start with stops it with one sentence.

Regression: a malformed limit, an unreachable store URL or a read-only cache folder failed in
each worker with a traceback, BentoML restarted the worker for ever, and `agora serve` waited
without a word; a misspelt AGORA_STORE_URL left a replica on a local SQLite store.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from cli.launcher import ServiceStartError
from serving.preflight import (
    KNOWN_AGORA_ENV,
    START_REFUSED_EXIT,
    StartRefusedError,
    check_start,
    unknown_agora_names,
)
from serving.settings import env_number, max_in_flight, reload_interval
from tests.serving.conftest import API_KEYS, ServiceProcess, service_env

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_numbers_are_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="AGORA_MAX_IN_FLIGHT must be a whole number, not 'lots'"):
        max_in_flight({"AGORA_MAX_IN_FLIGHT": "lots"})
    with pytest.raises(ValueError, match="AGORA_RELOAD_INTERVAL must be a number, not 'fast'"):
        reload_interval("http://registry:5000", {"AGORA_RELOAD_INTERVAL": "fast"})
    with pytest.raises(ValueError, match="AGORA_RELOAD_INTERVAL"):
        reload_interval("http://registry:5000", {"AGORA_RELOAD_INTERVAL": "inf"})
    assert env_number("X", "2.5", float) == 2.5


def test_a_misspelt_name_is_a_typo_and_an_unrelated_one_is_not() -> None:
    typos, others = unknown_agora_names(
        {"AGORA_STORE_URI": "x", "AGORA_WORKERS": "1", "AGORA_MY_OWN_THING": "1", "PATH": "/"}
    )
    assert typos == {"AGORA_STORE_URI": "AGORA_STORE_URL"}
    assert others == ["AGORA_MY_OWN_THING"]


def test_every_agora_name_the_code_reads_is_known() -> None:
    # A name added to the code but not to KNOWN_AGORA_ENV would be refused as a typo of another.
    sources = [*ROOT.glob("[!.]*/**/*.py"), ROOT / "Makefile", *ROOT.glob(".ci/*")]
    used = {
        name
        for path in sources
        if path.is_file() and ".venv" not in path.parts and path.name != Path(__file__).name
        for name in re.findall(r"\bAGORA_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(errors="ignore"))
    }
    assert used - KNOWN_AGORA_ENV == set()


@pytest.fixture
def start_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid service environment over `tmp_path`, for check_start to find one fault in."""
    for name in [n for n in os.environ if n.startswith("AGORA_")]:
        monkeypatch.delenv(name)
    keys = ",".join(f"{role}:{role}-test:{key}" for role, key in API_KEYS.items())
    monkeypatch.setenv("AGORA_API_KEYS", keys)
    monkeypatch.setenv("AGORA_HOME", str(tmp_path))
    monkeypatch.setenv("AGORA_STORE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    return tmp_path


def test_a_valid_environment_passes_and_migrates_the_store(start_env: Path) -> None:
    check_start()
    assert (start_env / "store.db").is_file() and (start_env / "serving-cache").is_dir()


@pytest.mark.parametrize(
    ("name", "value", "sentence"),
    [
        ("AGORA_MAX_IN_FLIGHT", "lots", "AGORA_MAX_IN_FLIGHT must be a whole number"),
        ("AGORA_WORKERS", "two", "AGORA_WORKERS must be a whole number"),
        ("AGORA_ANALYSIS_INTERVAL", "soon", "AGORA_ANALYSIS_INTERVAL must be a number"),
        ("AGORA_KB_REFRESH_S", "0", "AGORA_KB_REFRESH_S must be a positive number"),
        ("AGORA_STORE_URI", "postgresql://db/agora", "did you mean AGORA_STORE_URL"),
        ("AGORA_STORE_URL", "mysql://db/agora", "names 'mysql': use sqlite:///PATH"),
        ("AGORA_STORE_URL", "not a url", "the store URL is not a URL"),
        ("AGORA_API_KEYS", "read:r:short", "shorter than 16 characters"),
        ("AGORA_ANALYTICS_TZ", "Beijing", "AGORA_ANALYTICS_TZ: tz='Beijing' is not a time zone"),
        ("AGORA_TRIAGE_CONFIG", "/no/such/triage.yaml", "AGORA_TRIAGE_CONFIG: cannot read triage"),
        ("AGORA_PARTS", "desk", "AGORA_PARTS names 'desk': give feeds, triage or feeds,triage"),
    ],
)
def test_a_bad_setting_is_refused_with_a_sentence(
    start_env: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, sentence: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(sentence)):
        check_start()


def test_a_triage_config_with_a_mistake_is_refused_naming_the_field(
    start_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = start_env / "triage.yaml"
    rule = (
        "routing:\n  default_queue: general\n  rules:\n    - {name: d, queue: d, when: {%s: [x]}}\n"
    )
    config.write_text(rule % "reasn")
    monkeypatch.setenv("AGORA_TRIAGE_CONFIG", str(config))
    with pytest.raises(ValueError, match=r"AGORA_TRIAGE_CONFIG: .*reasn"):
        check_start()
    config.write_text(rule % "reason")
    check_start()


def test_an_unreachable_store_is_refused_without_its_password(
    start_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://agora:hunter2@127.0.0.1:{_closed_port()}/agora"
    monkeypatch.setenv("AGORA_STORE_URL", url)
    with pytest.raises(ValueError, match="cannot reach the store") as refused:
        check_start()
    assert "hunter2" not in str(refused.value)


def test_a_cache_folder_that_cannot_be_written_is_refused(
    start_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = start_env / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AGORA_SERVING_CACHE", str(blocker / "cache"))
    with pytest.raises(StartRefusedError, match=r"the champion cache .* is not writable"):
        check_start()


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "sentence"),
    [
        ({"AGORA_MAX_IN_FLIGHT": "lots"}, "AGORA_MAX_IN_FLIGHT must be a whole number"),
        (
            {"AGORA_STORE_URL": "postgresql+psycopg://agora@127.0.0.1:{port}/agora"},
            "cannot reach the store",
        ),
    ],
)
def test_the_service_stops_at_once_with_the_sentence_and_no_traceback(
    tmp_path: Path, setting: dict[str, str], sentence: str
) -> None:
    setting = {k: v.format(port=_closed_port()) for k, v in setting.items()}
    server = ServiceProcess(service_env(tmp_path, **setting), log_path=tmp_path / "service.log")
    with pytest.raises(ServiceStartError, match="exited with code") as refused:
        server.start(timeout=90)  # before: never ready, the workers failing in a loop
    assert f"error: the service cannot start: {sentence}" in str(refused.value)
    assert f"exited with code {START_REFUSED_EXIT}" in str(refused.value)
    assert "Traceback" not in server.log_tail(200_000)
