"""The correction loop: agents fix a systematic error, retrain learns it, the service swaps.

The champion calls messages about a product it never saw ("the Zephyr pass") neutral or
negative; agents correct 200 of them to positive through the API. `retrain_triage` must learn
the fix, beat the re-scored champion on held-out data, be promoted, and the running service
must swap to it under steady load without a failed request.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from pathlib import Path

import pytest

from tests.serving.conftest import API_KEYS, ServiceProcess, service_env
from training.retrain.triage import retrain_triage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAME = "agora-triage-sentiment-en"
CONFIG = Path(__file__).resolve().parents[2] / "configs" / "triage" / "demo.yaml"


def zephyr_messages(seed: int = 7) -> list[str]:
    openers = [
        "just used",
        "first time trying",
        "finally got",
        "my wife tried",
        "booked",
        "tested",
        "picked up",
        "we used",
        "my team used",
        "grabbed",
    ]
    things = [
        "the Zephyr pass",
        "a Zephyr upgrade",
        "the Zephyr lounge pass",
        "Zephyr priority boarding",
        "the Zephyr bundle",
    ]
    ends = [
        "on the flight to Denver",
        "for our trip to Boston",
        "at JFK today",
        "this morning",
        "for the red-eye",
        "on my Chicago leg",
        "for the holidays",
        "on the way home",
    ]
    messages = [f"{o} {t} {e}" for o, t, e in itertools.product(openers, things, ends)]
    random.Random(seed).shuffle(messages)
    return messages


def _positive_share(service: ServiceProcess, texts: list[str]) -> tuple[float, set[str]]:
    status, answer = service.post("/triage_batch", {"texts": texts})
    assert status == 200, answer
    labels = [r["sentiment"]["label"] for r in answer["results"]]
    versions = {m["version"] for r in answer["results"] for m in r["models"] if m["name"] == NAME}
    return labels.count("positive") / len(labels), versions


def test_corrections_fix_the_error_and_the_service_swaps_under_load(
    champions_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url = f"sqlite:///{tmp_path / 'loop-store.db'}"
    monkeypatch.setenv("AGORA_HOME", str(champions_home))
    service = ServiceProcess(service_env(champions_home, AGORA_STORE_URL=store_url)).start()
    try:
        messages = zephyr_messages()
        corrected, unseen = messages[:200], messages[200:]
        before, old_versions = _positive_share(service, unseen)
        assert before < 0.5, "precondition: the champion gets this family wrong"

        for i, text in enumerate(corrected):
            status, answer = service.post("/triage", {"text": text, "customer_id": f"loop-{i}"})
            assert status == 200, answer
            status, stored = service.post(
                "/corrections",
                {
                    "triage_id": answer["triage_id"],
                    "field": "sentiment",
                    "correct_label": "positive",
                },
            )
            assert status == 200 and stored["stored"], stored

        failures: list[object] = []
        seen_versions: list[str] = []
        stop = threading.Event()

        def steady_load() -> None:
            texts = itertools.cycle(unseen)
            while not stop.is_set():
                status, answer = service.post("/triage", {"text": next(texts)})
                if status != 200:
                    failures.append((status, answer))
                    continue
                used = [m["version"] for m in answer["result"]["models"] if m["name"] == NAME]
                seen_versions.extend(used)
                time.sleep(0.02)

        load = threading.Thread(target=steady_load)
        load.start()
        try:
            outcome = retrain_triage(
                "sentiment",
                config_path=CONFIG,
                store_url=store_url,
                service_url=service.url,
                api_key=API_KEYS["admin"],
            )
            time.sleep(1.0)  # some requests on the new champion
        finally:
            stop.set()
            load.join(timeout=30)

        assert outcome.corrections_train + outcome.corrections_holdout == 200
        assert outcome.candidate_holdout_accuracy > outcome.champion_holdout_accuracy
        assert outcome.promoted, outcome.decision
        assert outcome.service_reloaded is True
        after, new_versions = _positive_share(service, unseen)
        assert after >= 0.9 and after > before
        assert new_versions == {outcome.candidate_version} != old_versions
        assert failures == []
        # Every request was served by one champion; the switch happened once, old -> new.
        switches = sum(1 for a, b in itertools.pairwise(seen_versions) if a != b)
        assert switches <= 1 and seen_versions[-1] == outcome.candidate_version
    finally:
        service.stop()
