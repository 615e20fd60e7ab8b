"""Batch recommendations and batch triage give the same answers on a real Ray cluster as in one
process.

The cluster is real and multi-process: `ray start --head --block` in a subprocess (its own GCS,
raylet and object store, two worker processes), joined by address the way `--address` joins a
remote one, and stopped in teardown. The models are tiny and fitted here, so the module stays
within seconds of the cluster's start-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.splits import stratified_split
from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.recommenders import create_recommender, load_recommender
from training.batch import (
    EngineSettings,
    ShippedFolder,
    TriageChampion,
    embed_all,
    evaluate_on_engine,
    recommend_all,
    triage_all,
)
from training.batch.engine import ClusterLostError, check_reachable, run_batches, split_batches
from training.batch.triage import build_engine, triage_rows

ROOT = Path(__file__).resolve().parents[3]
RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE_BYTES = 200 * 1024 * 1024
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ray_address(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    """A Ray head with two CPUs on 127.0.0.1, token-authenticated as Ray 2.5x clusters are."""
    token = secrets.token_hex(32)
    for key, value in {
        "RAY_DISABLE_USAGE_STATS": "1",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
    }.items():
        monkeypatch_module.setenv(key, value)
    # Ray's socket paths must stay short (a Unix socket path is at most 107 bytes).
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    port = _free_port()
    log = open(Path(temp) / "head.log", "w")  # noqa: SIM115 - closed in teardown
    command = [
        str(RAY), "start", "--head", "--block",
        "--node-ip-address", "127.0.0.1", "--port", str(port),
        "--num-cpus", "2", "--object-store-memory", str(OBJECT_STORE_BYTES),
        "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", temp,
    ]  # fmt: skip
    head = subprocess.Popen(
        command, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_started(head, Path(temp) / "head.log")
        yield f"127.0.0.1:{port}"
    finally:
        _stop(head)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _wait_started(head: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited with {head.returncode}:\n{log.read_text()}")
        if "Ray runtime started" in log.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"ray start did not start in {START_TIMEOUT_S} s:\n{log.read_text()}")


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM to `ray start --block` stops every process it started; its process group (ours,
    from start_new_session) is killed if anything is left after that."""
    if head.poll() is None:
        head.terminate()
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(head.pid, signal.SIGKILL)


# ----- tiny models ---------------------------------------------------------------------------


def _interactions(users: int = 300, items: int = 80, seed: int = 7) -> pd.DataFrame:
    """Users with a taste for one of four item groups, plus noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        group = user % 4
        liked = [i for i in range(items) if i % 4 == group]
        picks = set(rng.choice(liked, size=8, replace=False)) | set(rng.integers(0, items, 3))
        for n, item in enumerate(sorted(picks)):
            rows.append((f"u{user:03d}", f"i{item:02d}", 1.0, user * 100 + n))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])


@pytest.fixture(scope="module")
def recommender_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ALS that keeps each user's two best items as seen beyond its history (as held-out
    pairs are kept): a batch feed must leave them out on every engine."""
    model = create_recommender("als", {"factors": 8, "iterations": 5, "use_gpu": False})
    model.fit(_interactions())
    users = list(model.catalog.users)
    best = model.recommend_batch(users, k=2)
    pairs = [(user, rec.item_id) for user in users for rec in best[user]]
    model.catalog.add_also_seen(pd.DataFrame(pairs, columns=["user_id", "item_id"]))
    return model.save(tmp_path_factory.mktemp("recommender") / "model")


@pytest.fixture(scope="module")
def split_model(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """An ALS fitted on the train part of a seeded split: (its folder, train, test)."""
    train, test = stratified_split(_interactions(), ratio=0.75, seed=42)
    model = create_recommender("als", {"factors": 8, "iterations": 5, "use_gpu": False})
    model.fit(train)
    model.catalog.add_also_seen(test)  # kept as seen, as the training pipeline registers it
    return model.save(tmp_path_factory.mktemp("split-model") / "model"), train, test


_TINY = TfidfConfig(min_df=1, calibration_folds=0, c=20.0)
EN_SENTIMENT = [
    ("my bag was lost and nobody helps", "negative"),
    ("terrible service, flight delayed again", "negative"),
    ("worst airline ever, rude staff", "negative"),
    ("great crew, thank you so much", "positive"),
    ("love this airline, best flight ever", "positive"),
    ("thanks for the smooth flight", "positive"),
    ("what time does the flight board", "neutral"),
    ("is there wifi on this plane", "neutral"),
    ("how do I change my seat", "neutral"),
]
ZH_SENTIMENT = [
    ("送餐太慢了，饭都凉了", "negative"),
    ("太难吃了，再也不点了", "negative"),
    ("非常好吃，送餐很快", "positive"),
    ("味道不错，下次还点", "positive"),
]
EN_REASON = [
    ("my bag was lost", "Lost Luggage"),
    ("where is my suitcase", "Lost Luggage"),
    ("flight delayed three hours", "Late Flight"),
    ("late again, missed my connection", "Late Flight"),
    ("the agent was rude on the phone", "Customer Service Issue"),
    ("nobody answers customer service", "Customer Service Issue"),
]


def _saved(rows: list[tuple[str, str]], folder: Path) -> Path:
    texts, labels = zip(*rows, strict=True)
    return TfidfClassifier(_TINY).fit(list(texts), list(labels)).save(folder)


@pytest.fixture(scope="module")
def champions(tmp_path_factory: pytest.TempPathFactory) -> list[TriageChampion]:
    root = tmp_path_factory.mktemp("triage")
    return [
        TriageChampion("sentiment-en", _saved(EN_SENTIMENT, root / "en"), "tiny-en", "1"),
        TriageChampion("sentiment-zh", _saved(ZH_SENTIMENT, root / "zh"), "tiny-zh", "1"),
        TriageChampion("reason", _saved(EN_REASON, root / "reason"), "tiny-reason", "1"),
    ]


def _texts(count: int) -> list[str]:
    """Every training text and some new ones, English and Chinese, cycled to `count`."""
    pool = [text for rows in (EN_SENTIMENT, ZH_SENTIMENT, EN_REASON) for text, _ in rows]
    pool += ["my flight was cancelled and my bag is lost", "饭菜很好", "", "ok", "🙂🙂"]
    return [f"{pool[i % len(pool)]} {i // len(pool)}".strip() for i in range(count)]


# ----- unit: the engine's pieces ---------------------------------------------------------------


def test_split_batches_keeps_order_and_the_short_tail() -> None:
    assert split_batches(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="at least 1"):
        split_batches([1], 0)


def test_settings_refuse_an_address_without_ray() -> None:
    with pytest.raises(ValueError, match="--engine ray"):
        EngineSettings(engine="local", address="127.0.0.1:6379")
    with pytest.raises(ValueError, match="unknown engine"):
        EngineSettings(engine="spark")  # type: ignore[arg-type]


@pytest.mark.parametrize("address", ["nonsense", "127.0.0.1", "127.0.0.1:port", "10.0.0.1:70000"])
def test_an_address_that_is_no_host_and_port_is_refused_before_the_work(address: str) -> None:
    """Regression: `--address nonsense` ended in Ray's 'Invalid address format' traceback."""
    with pytest.raises(ValueError, match="HOST:PORT"):
        EngineSettings(engine="ray", address=address)


@pytest.mark.parametrize("address", ["ray://127.0.0.1:10001", "http://127.0.0.1:8265"])
def test_a_url_is_refused_as_an_address(address: str) -> None:
    """Regression: a ray:// or http:// address was looked up as a host name ('no Ray cluster')."""
    with pytest.raises(ValueError, match="not a URL"):
        EngineSettings(engine="ray", address=address)


def test_auto_and_host_port_are_addresses() -> None:
    for address in ("auto", "127.0.0.1:6379", "head.example.com:6379"):
        assert EngineSettings(engine="ray", address=address).address == address


def test_an_address_nobody_listens_at_fails_at_once() -> None:
    """Regression: `--address` at a port with no Ray head hung for over ten minutes."""
    with pytest.raises(ConnectionError, match="no Ray cluster at"):
        check_reachable(f"127.0.0.1:{_free_port()}", timeout_s=2)


def test_an_address_where_something_else_listens_fails_at_once() -> None:
    """Regression: `--address` at a port where a web service listens (the dashboard's, Agora's
    own) retried for about 14 minutes before Ray's 'Failed to connect'."""
    import http.server
    import threading

    web = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ConnectionError, match="answers but is no Ray head"):
            check_reachable(f"127.0.0.1:{web.server_port}", timeout_s=2)
    finally:
        web.shutdown()
        web.server_close()


def test_a_shipped_folder_unpacks_to_the_same_files(recommender_folder: Path) -> None:
    names = sorted(p.relative_to(recommender_folder) for p in recommender_folder.rglob("*"))
    with ShippedFolder.pack(recommender_folder).opened() as unpacked:
        assert sorted(p.relative_to(unpacked) for p in unpacked.rglob("*")) == names
        for name in names:
            if (recommender_folder / name).is_file():
                assert (unpacked / name).read_bytes() == (recommender_folder / name).read_bytes()
    assert not unpacked.exists()  # removed once the model is loaded


# ----- integration: the real cluster -----------------------------------------------------------


@pytest.mark.integration
def test_recommend_on_ray_gives_the_single_process_lists(
    ray_address: str, recommender_folder: Path
) -> None:
    users = [*(f"u{u:03d}" for u in range(300)), "nobody"]
    local = recommend_all(recommender_folder, users, k=5, users_per_batch=40)
    remote = recommend_all(
        recommender_folder,
        users,
        k=5,
        settings=EngineSettings("ray", address=ray_address, workers=2),
        users_per_batch=40,
    )
    assert remote.processes == 2  # two worker processes, each with its own model
    assert (local.users, local.unknown_users) == (remote.users, remote.unknown_users) == (300, 1)
    assert len(local.recommendations) == 300 * 5
    pd.testing.assert_frame_equal(local.recommendations, remote.recommendations)
    catalog = load_recommender(recommender_folder).catalog
    for user, items in remote.recommendations.groupby("user_id")["item_id"]:
        assert not catalog.also_seen_items(str(user)) & set(items), user


@pytest.mark.integration
def test_triage_on_ray_equals_the_engines_triage_batch(
    ray_address: str, champions: list[TriageChampion]
) -> None:
    texts = _texts(600)
    remote = triage_all(
        champions,
        texts,
        settings=EngineSettings("ray", address=ray_address, workers=2),
        texts_per_batch=100,
    )
    # What /triage_batch runs: the engine's triage_batch, here over all texts in one call.
    direct = triage_rows(build_engine(champions).triage_batch(texts))
    assert remote.processes == 2
    assert len(remote.results) == len(texts)
    _assert_same_answers(remote.results, direct)
    assert set(remote.results["status"]) >= {"ok", "empty"}
    assert set(remote.results["language"].dropna()) >= {"en", "zh"}


def _assert_same_answers(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    labels = [c for c in expected.columns if not c.endswith(("probability", "probabilities"))]
    labels.remove("language_confidence")
    pd.testing.assert_frame_equal(got[labels], expected[labels])
    numbers = [c for c in expected.columns if c.endswith("probability")]
    numbers.append("language_confidence")
    np.testing.assert_allclose(
        got[numbers].to_numpy(dtype=float), expected[numbers].to_numpy(dtype=float), atol=1e-6
    )
    for mine, theirs in zip(
        got["sentiment_probabilities"], expected["sentiment_probabilities"], strict=True
    ):
        if pd.isna(theirs):
            assert pd.isna(mine)
            continue
        mine, theirs = json.loads(mine), json.loads(theirs)
        assert mine.keys() == theirs.keys()
        assert all(abs(mine[key] - theirs[key]) <= 1e-6 for key in theirs)


@pytest.mark.integration
def test_the_cli_triages_a_table_on_the_cluster(
    ray_address: str,
    champions: list[TriageChampion],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cli import batch as batch_cli
    from cli.main import app

    # The champions come from the registry in real use; here from the tiny folders.
    monkeypatch.setattr(batch_cli, "served_triage_champions", lambda _uri=None: champions)
    table = pd.DataFrame({"ticket": range(250), "body": _texts(250)})
    table.to_csv(tmp_path / "tickets.csv", index=False)
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.parquet"
        extra = ["--address", ray_address, "--workers", "2"] if engine == "ray" else []
        result = CliRunner().invoke(
            app,
            [
                "batch", "triage", str(tmp_path / "tickets.csv"), "--out", str(out),
                "--text-column", "body", "--keep-column", "ticket", "--engine", engine,
                "--texts-per-batch", "50", *extra,
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        processes = 2 if engine == "ray" else 1
        assert f"on {processes} worker process(es) ({engine})" in result.output
        assert "rows/s" in result.output
        outputs[engine] = pd.read_parquet(out)
    # Kept columns come back as the CSV wrote them (text: an id "00123" keeps its zeros).
    assert outputs["ray"]["ticket"].tolist() == [str(number) for number in range(250)]
    _assert_same_answers(outputs["ray"], outputs["local"])


def test_a_worker_lost_mid_job_is_one_sentence_not_a_traceback(ray_address: str) -> None:
    """Regression: a worker process killed mid-job (its node lost, the OOM killer) ended the
    command in Ray's ActorDiedError traceback."""

    class DiesOnBatch:  # defined here, so Ray ships it by value to the workers
        def __call__(self, batch: int) -> int:
            if batch == 3:
                os._exit(1)  # the worker process dies as a killed one does
            return batch

    settings = EngineSettings(engine="ray", address=ray_address, workers=2)
    with pytest.raises(ClusterLostError, match=r"lost a worker mid-job .*nothing was written"):
        run_batches(DiesOnBatch, (), list(range(6)), settings)


def test_evaluation_on_ray_equals_the_training_evaluation(
    ray_address: str, split_model: tuple[Path, pd.DataFrame, pd.DataFrame]
) -> None:
    from training.recommender.evaluate import evaluate_recommender

    folder, train, test = split_model
    # Two unknown users in the test split: both paths give them an empty list, scored zero.
    test = pd.concat([test, test.head(2).assign(user_id=["new-1", "new-2"])], ignore_index=True)
    expected = evaluate_recommender(load_recommender(folder), train, test, k=5)
    for settings in (None, EngineSettings("ray", address=ray_address, workers=2)):
        outcome = evaluate_on_engine(
            folder, train, test, k=5, settings=settings, users_per_batch=32
        )
        got = outcome.evaluation
        assert got.recommendations == expected.recommendations
        assert got.metrics == expected.metrics and got.metrics_by_k == expected.metrics_by_k
        assert got.ndcg_ci95 == expected.ndcg_ci95 and got.users_total == 302
    assert outcome.processes == 2
    sampled = evaluate_on_engine(folder, train, test, k=5, max_users=50, seed=3).evaluation
    assert len(sampled.recommendations) == 50 and sampled.sampled
    assert (
        sampled.metrics
        == evaluate_recommender(
            load_recommender(folder), train, test, k=5, max_users=50, seed=3
        ).metrics
    )


@pytest.mark.integration
def test_the_cli_evaluates_the_champion_on_its_own_split(
    ray_address: str,
    split_model: tuple[Path, pd.DataFrame, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cli import batch as batch_cli
    from cli.champions import ChampionRun
    from cli.main import app
    from training.recommender import steps

    folder, _, _ = split_model
    monkeypatch.setattr(steps, "load_dataset", lambda _name, **_: (_interactions(), None))
    monkeypatch.setattr(
        batch_cli, "recommender_champion", lambda _name, _uri=None: ("4", "registry", folder)
    )
    facts = ChampionRun(0.75, 42, {"ndcg_at_5": 0.5})
    monkeypatch.setattr(batch_cli, "champion_run", lambda _n, _v, _uri=None: facts)
    reports = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.json"
        extra = ["--address", ray_address] if engine == "ray" else []
        result = CliRunner().invoke(
            app,
            [
                "batch", "evaluate", "--dataset", "tiny", "--k", "5", "--engine", engine,
                *extra, "--json", str(out),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "users scored: 300 of 300" in result.output and "users/s" in result.output
        assert "ndcg@5 registered with v4 at training: 0.5000" in result.output
        reports[engine] = json.loads(out.read_text())
    assert reports["ray"] == reports["local"]
    assert 0 < reports["local"]["metrics"]["ndcg@5"] <= 1

    # A model whose run recorded no split cannot be scored on "its" test split.
    def no_split(_n: str, _v: str, _uri: object = None) -> ChampionRun:
        raise ValueError("m v4's run records no split")

    monkeypatch.setattr(batch_cli, "champion_run", no_split)
    refused = CliRunner().invoke(app, ["batch", "evaluate", "--dataset", "tiny"])
    assert refused.exit_code != 0 and "records no split" in refused.output


ITEM_TEXTS = [
    f"{title} ({genre})"
    for title in ("Night Train", "The Long Summer", "Robots of Mars", "A Quiet Kitchen", "Zero")
    for genre in ("drama", "comedy", "science fiction", "documentary", "thriller", "romance")
]


def test_item_embeddings_on_ray_equal_the_single_process_ones(
    ray_address: str, tmp_path: Path
) -> None:
    from features.embeddings import DEFAULT_ENCODER, EmbeddingCache, TextEncoder

    local = embed_all(ITEM_TEXTS, DEFAULT_ENCODER, texts_per_batch=8)
    remote = embed_all(
        ITEM_TEXTS,
        DEFAULT_ENCODER,
        EngineSettings("ray", address=ray_address, workers=2),
        texts_per_batch=8,
    )
    assert remote.processes == 2 and local.vectors.shape == (len(ITEM_TEXTS), 384)
    # One BLAS/torch thread per Ray worker against the local default: rounding may differ.
    np.testing.assert_allclose(remote.vectors, local.vectors, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(local.vectors, axis=1), 1.0, atol=1e-5)
    # Stored in the cache, the vectors are what the recommenders then read, unchanged.
    cache = EmbeddingCache(TextEncoder(DEFAULT_ENCODER), folder=tmp_path)
    assert cache.missing(ITEM_TEXTS + ITEM_TEXTS[:3]) == ITEM_TEXTS
    assert cache.add(ITEM_TEXTS, remote.vectors) == len(ITEM_TEXTS)
    assert cache.add(ITEM_TEXTS[:5], local.vectors[:5]) == 0  # already held: kept
    reread = EmbeddingCache(TextEncoder(DEFAULT_ENCODER), folder=tmp_path)
    assert len(reread) == len(ITEM_TEXTS) and reread.missing(ITEM_TEXTS) == []
    np.testing.assert_array_equal(reread.encode(ITEM_TEXTS[::-1]), remote.vectors[::-1])


@pytest.mark.integration
def test_the_cli_embeds_a_catalog_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.main import app
    from data import loaders
    from data.schemas import Kind

    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(len(ITEM_TEXTS))] + ["no-text"],
            "title": [*ITEM_TEXTS, ""],
        }
    )
    monkeypatch.setattr(loaders, "available_kinds", lambda _name: {Kind.INTERACTIONS, Kind.ITEMS})
    monkeypatch.setattr(loaders, "load_items", lambda _name: items)
    monkeypatch.setenv("AGORA_EMBEDDING_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "vectors.parquet"
    command = ["batch", "embed", "--dataset", "tiny", "--texts-per-batch", "16", "--out", str(out)]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    assert f"{len(ITEM_TEXTS)} texts not yet in the cache" in first.output
    assert f"embedded {len(ITEM_TEXTS)} texts" in first.output and "texts/s" in first.output
    written = pd.read_parquet(out)
    assert written["item_id"].tolist() == [f"i{i}" for i in range(len(ITEM_TEXTS))]
    again = CliRunner().invoke(app, command)  # everything is cached now: nothing to embed
    assert again.exit_code == 0 and "0 texts not yet in the cache" in again.output
    assert "embedded" not in again.output
    monkeypatch.setattr(loaders, "available_kinds", lambda _name: {Kind.INTERACTIONS})
    refused = CliRunner().invoke(app, ["batch", "embed", "--dataset", "tiny"])
    assert refused.exit_code != 0 and "no items table" in refused.output


@pytest.mark.integration
def test_the_cli_recommends_for_every_user_on_the_cluster(
    ray_address: str, recommender_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli import batch as batch_cli
    from cli.main import app
    from training.recommender import steps

    # The dataset and its champion come from the mirror and the registry in real use.
    monkeypatch.setattr(steps, "load_dataset", lambda _name, **_: (_interactions(), None))
    monkeypatch.setattr(
        batch_cli,
        "recommender_champion",
        lambda _name, _uri=None: ("1", "registry", recommender_folder),
    )
    frames = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.parquet"
        extra = ["--address", ray_address] if engine == "ray" else []
        result = CliRunner().invoke(
            app,
            [
                "batch", "recommend", "--dataset", "tiny", "--out", str(out), "--k", "3",
                "--users-per-batch", "64", "--engine", engine, *extra,
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "300 users, 900 rows" in result.output
        assert "users/s" in result.output and "rows/s" in result.output
        frames[engine] = pd.read_parquet(out)
    # Without --workers the job takes one worker per CPU of the cluster: two here.
    assert "on 2 worker process(es) (ray)" in result.output
    pd.testing.assert_frame_equal(frames["ray"], frames["local"])
