"""Run one batch function over many batches, in this process or on a Ray cluster.

A batch job is a worker class built once per worker process from its arguments (a model folder to
load, settings) and then called on batch after batch. `run_batches` keeps that shape whatever
runs it, so the local engine and Ray compute the same batches with the same code and the results
come back in the order of the batches:

- `local`: one worker in this process.
- `ray`: one Ray actor per worker process (each loads the model once), fed batches by an
  `ActorPool`. With an address the job joins that cluster (`ray start --head` on one machine,
  `ray start --address HEAD:PORT` on the others); without one a local Ray runtime is started with
  `workers` CPUs and stopped at the end.

Models travel as their saved folder (`ShippedFolder`: the folder's files as one archive, put in
the object store once), never as a pickled object, so every node loads the artifact the way the
service does and needs only Agora installed, not the driver's disk.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from data.error_text import first_line

logger = logging.getLogger(__name__)

Engine = Literal["local", "ray"]
ENGINES: tuple[Engine, ...] = ("local", "ray")
# A local Ray runtime started for one job keeps its object store small: batches and model
# archives are megabytes, and the machine is shared with the service and the tests.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024

# Thread pools a worker process keeps to its one CPU (see _ActorShell).
WORKER_THREAD_ENV = ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

Batch = TypeVar("Batch")
Result = TypeVar("Result")


class BatchWorker(Protocol[Batch, Result]):
    """What `run_batches` calls: built once per worker process, then called per batch."""

    def __call__(self, batch: Batch) -> Result: ...


@dataclass(frozen=True)
class EngineSettings:
    """Where the batches run: `engine`, a Ray cluster's `address` (None: start a local one with
    `workers` CPUs), and how many worker processes (None with an address: one per cluster CPU)."""

    engine: Engine = "local"
    address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine '{self.engine}' (known: {', '.join(ENGINES)})")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.engine == "local" and self.address is not None:
            raise ValueError("--address needs --engine ray")
        if self.address is not None:
            check_address_form(self.address)


@dataclass(frozen=True)
class BatchRun:
    """The results in batch order, how many worker processes computed them, and the seconds the
    batches took (from the first batch sent to the last result; starting the workers and loading
    their models come before)."""

    results: list[Any]
    processes: int
    seconds: float
    worker_pids: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ShippedFolder:
    """A saved model folder, by path (same machine) or as a tar archive (any node of a cluster).

    `opened()` gives a folder to load from; an archive is unpacked into a temporary folder that
    is removed once the model is loaded (a loaded model keeps no file open).
    """

    path: str | None = None
    archive: bytes | None = None
    name: str = "model"

    @classmethod
    def pack(cls, folder: str | Path) -> ShippedFolder:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"model folder {folder} does not exist")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(folder, arcname=folder.name)
        return cls(archive=buffer.getvalue(), name=folder.name)

    @contextmanager
    def opened(self) -> Iterator[Path]:
        if self.path is not None:
            yield Path(self.path)
            return
        if self.archive is None:
            raise ValueError("a ShippedFolder needs a path or an archive")
        with tempfile.TemporaryDirectory(prefix="agora-batch-model-") as target:
            with tarfile.open(fileobj=io.BytesIO(self.archive), mode="r") as archive:
                archive.extractall(target, filter="data")
            yield Path(target) / self.name


def ship(folder: str | Path, settings: EngineSettings) -> ShippedFolder:
    """The folder as the engine needs it: its path locally, an archive for a Ray cluster (whose
    nodes may not share the driver's disk)."""
    if settings.engine == "local":
        return ShippedFolder(path=str(folder), name=Path(folder).name)
    return ShippedFolder.pack(folder)


def run_batches(
    worker_class: Callable[..., BatchWorker[Batch, Result]],
    worker_args: Sequence[Any],
    batches: Sequence[Batch],
    settings: EngineSettings,
) -> BatchRun:
    """`worker_class(*worker_args)` once per worker process, called on every batch; results in
    the order of `batches`."""
    if settings.engine == "local":
        worker = worker_class(*worker_args)
        started = time.perf_counter()
        results = list(_with_progress((worker(batch) for batch in batches), len(batches)))
        return BatchRun(results, 1, time.perf_counter() - started, (os.getpid(),))
    return _run_on_ray(worker_class, worker_args, batches, settings)


class _ActorShell:
    """The Ray actor around a batch worker: builds it once, answers batches and its pid."""

    def __init__(self, worker_class: Callable[..., Any], *worker_args: Any) -> None:
        from data.environment import apply_stack_environment

        apply_stack_environment()  # a Ray worker is a fresh process: offline hubs, one BLAS thread
        # Each actor holds one of the cluster's CPUs: thread pools sized to the whole machine
        # (lingua's rayon pool detects languages on every core) would make the workers of one
        # node fight over the same cores. Set before the worker's first use of them.
        for variable in WORKER_THREAD_ENV:
            os.environ.setdefault(variable, "1")
        self._worker = worker_class(*worker_args)

    def pid(self) -> int:
        return os.getpid()

    def run(self, batch: Any) -> Any:
        return self._worker(batch)


def _run_on_ray(
    worker_class: Callable[..., Any],
    worker_args: Sequence[Any],
    batches: Sequence[Any],
    settings: EngineSettings,
) -> BatchRun:
    import ray
    from ray.util import ActorPool

    with ray_runtime(settings) as cpus, _cluster_losses(settings):
        if settings.workers is not None and settings.workers > cpus:
            # An actor holds one CPU: more actors than CPUs would wait for one forever.
            logger.warning("%d workers asked, the cluster has %d CPUs", settings.workers, cpus)
        count = max(1, min(settings.workers or cpus, cpus, len(batches) or 1))
        # The arguments (model archives among them) go to the object store once, not once per
        # actor; Ray hands each actor the stored values.
        args = [ray.put(arg) for arg in worker_args]
        actor = ray.remote(num_cpus=1)(_ActorShell)
        actors = [actor.remote(worker_class, *args) for _ in range(count)]
        pids = tuple(ray.get([a.pid.remote() for a in actors]))  # every model loaded
        logger.info("%d Ray workers ready (pids %s)", count, list(pids))
        started = time.perf_counter()
        pool = ActorPool(actors)
        answers = pool.map(lambda a, batch: a.run.remote(batch), batches)
        results = list(_with_progress(answers, len(batches)))
        seconds = time.perf_counter() - started
        for each in actors:
            ray.kill(each)
    return BatchRun(results, len(set(pids)), seconds, pids)


class ClusterLostError(ConnectionError):
    """The cluster lost a worker process, a node or an object mid-job: no result is returned."""


@contextmanager
def _cluster_losses(settings: EngineSettings) -> Iterator[None]:
    """Ray's errors for a worker, node or object lost mid-job (killed, out of memory, its node
    gone) as one sentence (a ConnectionError, as an unreachable cluster): they surfaced as
    Ray's traceback. An error raised by the batch code itself, or by a worker failing to load
    its model, stays as it is, as in a local run."""
    from ray.exceptions import RayActorError, RayError, RayTaskError

    try:
        yield
    except RayTaskError:
        raise
    except RayError as error:
        if isinstance(error, RayActorError) and error.actor_init_failed:
            raise
        where = settings.address or "the local Ray runtime"
        cause = first_line(error).rstrip(".")
        raise ClusterLostError(
            f"the Ray cluster at {where} lost a worker mid-job ({cause}); nothing was "
            "written: check the cluster (`ray status`) and run the job again"
        ) from None


@contextmanager
def ray_runtime(settings: EngineSettings) -> Iterator[int]:
    """Connect to the cluster at `settings.address`, or start a local runtime with `workers`
    CPUs; yields the cluster's CPU count and disconnects (stops a local runtime) at the end."""
    import ray

    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if ray.is_initialized():
        raise RuntimeError("Ray is already initialised in this process: one batch job at a time")
    if settings.address is not None:
        check_reachable(settings.address)
        ray.init(address=settings.address, logging_level=logging.WARNING, log_to_driver=False)
    else:
        ray.init(
            num_cpus=settings.workers or os.cpu_count() or 1,
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    try:
        yield int(ray.cluster_resources().get("CPU", 1))
    finally:
        ray.shutdown()


def check_address_form(address: str) -> None:
    """ValueError unless `address` is 'auto' or HOST:PORT, the forms a driver joins a cluster
    by: Ray raised a bare traceback for any other (a word, a host without its port), and a URL
    (Ray Client's ray://, the dashboard's http://) was looked up as a host name."""
    if address == "auto":
        return
    if "://" in address:
        raise ValueError(
            f"--address {address}: give the head's HOST:PORT as `ray start --head` prints it, "
            "not a URL (Ray Client's ray:// and the dashboard's http:// are not supported)"
        )
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"--address {address}: give the head's HOST:PORT as `ray start --head` prints it "
            "(or 'auto' for a cluster started on this machine)"
        )


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """ConnectionError unless a Ray head answers at HOST:PORT: Ray itself retries an unreachable
    head, or a port where something else listens (the dashboard's, a web service's), for many
    minutes, warning every few seconds. ("auto" is left to Ray.)"""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as connection:
            speaks_grpc = _answers_http2(connection)
    except OSError as error:
        raise ConnectionError(
            f"no Ray cluster at {address} ({error}); start one with `ray start --head`"
        ) from None
    # A head with TLS (RAY_USE_TLS, as Ray reads it) answers no plain HTTP/2 preface.
    tls = os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true")
    if not speaks_grpc and not tls:
        raise ConnectionError(
            f"{address} answers but is no Ray head: give the port `ray start --head --port` "
            "was started with (6379 by default; not the dashboard's 8265)"
        )


# A Ray head's GCS speaks gRPC, so HTTP/2: sent the client preface and an empty SETTINGS frame,
# it answers with its own SETTINGS frame (frame type 4, the fourth byte of the 9-byte header).
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_HTTP2_SETTINGS = 4


def _answers_http2(connection: socket.socket) -> bool:
    connection.sendall(_HTTP2_PREFACE)
    header = b""
    while len(header) < 9:
        chunk = connection.recv(9 - len(header))
        if not chunk:
            return False
        header += chunk
    return header[3] == _HTTP2_SETTINGS


def _with_progress(results: Iterator[Any], total: int) -> Iterator[Any]:
    """`results` unchanged, logging every tenth of the batches done (a long job shows progress)."""
    step = max(1, total // 10)
    for done, result in enumerate(results, start=1):
        if done % step == 0 or done == total:
            logger.info("batches done: %d/%d", done, total)
        yield result


def per_second(count: int, seconds: float) -> float:
    """A batch job's throughput (infinite for a job too short to time)."""
    return count / seconds if seconds > 0 else float("inf")


def split_batches(values: Sequence[Batch], size: int) -> list[Sequence[Batch]]:
    """`values` cut into consecutive batches of `size` (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    return [values[start : start + size] for start in range(0, len(values), size)]
