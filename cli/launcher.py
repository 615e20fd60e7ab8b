"""The one way Agora starts its HTTP service: `bentoml serve serving.service:Agora` in a child
process, on a host and port, with an environment. `agora serve`, the demo, the integration tests
and the load benchmark all use it.

The service runs in a child process, not in the CLI's: BentoML runs its own server and workers,
and the CLI should not pay for the service's imports. The child gets the stack's environment
(`data.environment`) under whatever the caller passes.

Stopping: SIGTERM to the server's process group lets BentoML stop its workers itself. BentoML
starts each worker in a session of its own, so killing the server's group alone would leave them
running and answering on the port: a SIGKILL (a simulated crash, or the fallback after the grace
period) also kills each worker by pid.

Security defaults: the service binds 127.0.0.1 unless a host is given, and it refuses to start
without API keys (`AGORA_API_KEYS`) unless `AGORA_INSECURE_DEV=1`; `generate_api_keys` makes a
key per role for a local run (the demo, the tests, the load benchmark).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self

import psutil

from data.environment import stack_environment
from data.paths import HOME_ENV, agora_home
from serving.settings import API_KEYS_ENV, BIND_HOST_ENV, DEFAULT_HOST, ROLES

logger = logging.getLogger(__name__)

SERVICE = "serving.service:Agora"  # BentoML imports it in the child; the CLI never does
PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_PATH = "/readyz"
POLL_S = 0.3
STOP_GRACE_S = 20.0
LOG_TAIL_CHARS = 4000


class ServiceStartError(RuntimeError):
    """The service exited while starting or was not ready in time; the message has its log.

    `exit_code` is the child's when it exited (None when it timed out), so a caller can pass a
    refused configuration's code on rather than report every failed start alike.
    """

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# BentoML's own state; its workers' metrics folder (prometheus_client's multiprocess mode) is in it.
BENTOML_HOME_ENV = "BENTOML_HOME"


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on (`host`, `port`): a service started there would
    fail to bind, after its readiness check had been answered by the other one."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            sock.bind((host.strip("[]"), port))
        except OSError:
            return True
    return False


def generate_api_keys() -> dict[str, str]:
    """A fresh random key for every role (role -> key), for a local service."""
    return {role: secrets.token_hex(16) for role in sorted(ROLES)}


def api_keys_setting(keys: Mapping[str, str]) -> str:
    """The `AGORA_API_KEYS` value giving each role its key (role -> key), named `<role>-local`."""
    return ",".join(f"{role}:{role}-local:{key}" for role, key in keys.items())


def home_environment(
    home: Path, api_keys: Mapping[str, str] | None = None, **overrides: str
) -> dict[str, str]:
    """This process's environment for a service over AGORA_HOME `home`.

    The champions come from `home`'s MLflow store (an inherited MLFLOW_TRACKING_URI is dropped:
    it would win over `home`), BentoML's state (its metrics folder) goes inside it (see
    `ServiceProcess.child_environment`), and `api_keys` (role -> key) become the service's
    `AGORA_API_KEYS`. `overrides` come last.
    """
    env = {**os.environ, HOME_ENV: str(home)}
    env.pop("MLFLOW_TRACKING_URI", None)
    if api_keys is not None:
        env[API_KEYS_ENV] = api_keys_setting(api_keys)
    env.update(overrides)
    return env


@dataclass
class ServiceProcess:
    """The service in a child process.

    `env` is the child's environment before the stack's defaults are filled in (default: this
    process's). `log_path`: where the child's output goes (appended); None leaves it on this
    process's terminal.
    """

    env: Mapping[str, str] | None = None
    port: int = field(default_factory=free_port)
    host: str = DEFAULT_HOST
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """Where a client on this machine reaches the service."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bentoml",
            "serve",
            SERVICE,
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]

    def child_environment(self) -> dict[str, str]:
        """The child's environment: `env` with the stack's defaults, the bound host (the
        service's Host check allows it) and, unless set, a BentoML home of its own.

        BentoML's workers share their Prometheus counters through a folder under BentoML's
        home, which it empties when a service starts; its default home is one per machine
        (`~/bentoml`), so a second service started there wiped the first one's `/metrics` (it
        ignores PROMETHEUS_MULTIPROC_DIR). Unless BENTOML_HOME is set, each service gets
        `<AGORA_HOME>/bentoml/port-<port>` (one service per port at a time); the service keeps
        nothing else there (models come from the registry).
        """
        env = stack_environment(self.env)
        env[BIND_HOST_ENV] = self.host
        if not env.get(BENTOML_HOME_ENV):
            home = Path(env[HOME_ENV]) if env.get(HOME_ENV) else agora_home()
            env[BENTOML_HOME_ENV] = str(home / "bentoml" / f"port-{self.port}")
        Path(env[BENTOML_HOME_ENV]).mkdir(parents=True, exist_ok=True)
        return env

    def spawn(self) -> Self:
        """Start the child without waiting for it to be ready."""
        if self.running:
            raise RuntimeError(f"the service on port {self.port} is already running")
        log = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.command(),
                cwd=PROJECT_ROOT,
                env=self.child_environment(),
                stdout=log,
                stderr=subprocess.STDOUT if log is not None else None,
                start_new_session=True,  # signals to the CLI (Ctrl-C) reach it only through stop()
            )
        finally:
            if log is not None:
                log.close()  # the child holds its own descriptor
        logger.info("service pid %s starting on %s", self.process.pid, self.url)
        return self

    def start(self, timeout: float | None = 120.0) -> Self:
        """Start the child and wait until /readyz answers; stop it and raise if it does not."""
        self.spawn()
        try:
            self.wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + READY_PATH, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_until_ready(self, timeout: float | None = 120.0) -> None:
        """Poll /readyz until it answers 200; ServiceStartError if the child exits or times out.

        `timeout=None` waits as long as the child lives (the foreground `agora serve`).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise ServiceStartError(
                    self._with_log(f"the service exited with code {code}"), exit_code=code
                )
            if self.is_ready():
                return
            time.sleep(POLL_S)
        raise ServiceStartError(self._with_log(f"the service was not ready after {timeout:.0f} s"))

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        """The end of the child's log ('' when its output went to the terminal)."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def _with_log(self, message: str) -> str:
        tail = self.log_tail()
        return f"{message}; log {self.log_path}:\n{tail}" if tail else message

    def wait(self) -> int:
        """Block until the child exits; its exit code."""
        if self.process is None:
            raise RuntimeError("the service was never started")
        return self.process.wait()

    def stop(self, sig: int = signal.SIGTERM, grace_s: float = STOP_GRACE_S) -> None:
        """Signal the server's group; SIGKILL (also the fallback after `grace_s`) hits its
        workers too."""
        if not self.running:
            return
        assert self.process is not None
        workers = _children(self.process.pid)
        if sig == signal.SIGKILL:
            _kill(workers)  # a crash: the workers die with the server, not after it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)  # SIGTERM: the server stops its workers itself
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            logger.warning("service pid %s ignored %s; killing it", self.process.pid, sig)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            _kill(workers)

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_foreground(service: ServiceProcess, on_ready: Callable[[str], None]) -> int:
    """Start `service`, call `on_ready(url)` once it answers, block until it exits.

    Ctrl-C or a SIGTERM to this process stops the service and its workers; returns the child's
    exit code (0 after such a stop).
    """

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        service.spawn()
        service.wait_until_ready(timeout=None)
        on_ready(service.url)
        return service.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        service.stop()
        signal.signal(signal.SIGTERM, previous)


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill(processes: list[psutil.Process]) -> None:
    # No wait: a killed process closes its sockets at once; its parent reaps it later.
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
