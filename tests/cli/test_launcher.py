"""The service launcher, with a stand-in server: readiness, a failed start, stopping workers.

The stand-in is a few lines of Python that behave like `bentoml serve` where it matters here:
it answers /readyz once listening, and it starts a worker in a session of its own.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from cli.launcher import ServiceProcess, ServiceStartError, free_port
from data.environment import STACK_ENVIRONMENT

STAND_IN = """
import http.server, os, subprocess, sys
port, pid_file = int(sys.argv[1]), sys.argv[2]
if pid_file != "None":
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                              start_new_session=True)
    with open(pid_file, "w") as f:
        f.write(str(worker.pid))

class Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()
        self.wfile.write(os.environ.get("OPENBLAS_NUM_THREADS", "unset").encode())

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Ready).serve_forever()
"""


@dataclass
class StandIn(ServiceProcess):
    """A ServiceProcess whose command is the stand-in server (or any command given)."""

    script: str = STAND_IN
    pid_file: Path | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.script, str(self.port), str(self.pid_file)]

    def worker(self) -> psutil.Process:
        assert self.pid_file is not None
        return psutil.Process(int(self.pid_file.read_text()))


def _gone(process: psutil.Process, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_start_waits_for_readyz_and_gives_the_child_the_stack_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    env = {k: v for k, v in os.environ.items() if k not in STACK_ENVIRONMENT}
    with StandIn(env=env) as service:
        assert service.is_ready()
        with urllib.request.urlopen(service.url + "/readyz") as response:
            assert response.read().decode() == STACK_ENVIRONMENT["OPENBLAS_NUM_THREADS"]
    assert not service.running


def test_a_child_that_exits_while_starting_raises_with_its_log(tmp_path: Path) -> None:
    failing = StandIn(
        script="import sys; print('no champion for agora-recommender'); sys.exit(3)",
        log_path=tmp_path / "service.log",
    )
    with pytest.raises(ServiceStartError, match="code 3") as raised:
        failing.start(timeout=30)
    assert "no champion for agora-recommender" in str(raised.value)


def test_sigkill_also_kills_workers_in_their_own_sessions(tmp_path: Path) -> None:
    """Regression: killing only the server's process group left BentoML's workers serving."""
    service = StandIn(pid_file=tmp_path / "worker.pid").start(timeout=30)
    worker = service.worker()
    assert worker.is_running()
    service.stop(signal.SIGKILL)
    assert not service.running
    assert _gone(worker)


def test_a_second_server_can_take_the_port_after_a_kill() -> None:
    port = free_port()
    StandIn(port=port).start(timeout=30).stop(signal.SIGKILL)
    second = StandIn(port=port).start(timeout=30)
    try:
        assert second.is_ready()
    finally:
        second.stop(signal.SIGKILL)


def test_url_and_command() -> None:
    service = ServiceProcess(host="0.0.0.0", port=3000)
    assert service.url == "http://127.0.0.1:3000"
    assert service.command()[-5:] == [
        "serving.service:Agora",
        "--host",
        "0.0.0.0",
        "--port",
        "3000",
    ]
    service.stop()  # never started: nothing to do
