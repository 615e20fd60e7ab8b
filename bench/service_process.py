"""Start and stop `bentoml serve serving.service:Agora` for a benchmark run.

Used by bench/load_service.py (`--home`): the server gets its own API key, Prometheus folder
and port, and is stopped with its workers afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from training.demo import BENTOML, SERVICE_PATH, free_port, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
# The offline, single-BLAS-thread environment the stack needs (see the Makefile).
STACK_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "TOKENIZERS_PARALLELISM": "false",
}


@contextmanager
def local_service(
    home: Path, extra_env: dict[str, str], timeout_s: float = 120.0
) -> Iterator[tuple[str, str]]:
    """`bentoml serve` over `home` on a free port; yields (url, api_key); stops it afterwards."""
    if not home.is_dir():
        raise SystemExit(f"--home {home} is not a directory (an AGORA_HOME with champions)")
    port, api_key = free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="agora-load-") as tmp:
        env = {
            **STACK_ENV,
            **os.environ,
            "AGORA_HOME": str(home),
            "AGORA_API_KEY": api_key,
            "PROMETHEUS_MULTIPROC_DIR": tmp,
            **extra_env,
        }
        log_path = Path(tmp) / "service.log"
        command = [str(BENTOML), "serve", SERVICE_PATH, "--host", "127.0.0.1"]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*command, "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_ready(url, process, log_path, timeout_s)
            print(f"service pid {process.pid} ready at {url}", file=sys.stderr)
            yield url, api_key
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the server stops its workers); else SIGKILL the server and each worker, which
    BentoML starts in sessions of their own."""
    if process.poll() is not None:
        return
    workers = psutil.Process(process.pid).children(recursive=True)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for worker in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    try:
        wait_until_ready(url, process, timeout_s)
    except RuntimeError as error:
        raise SystemExit(f"{error}; log:\n{log.read_text()[-3000:]}") from None
