"""AGORA_TRIAGE_CONFIG: the service's own routing table, urgency rules and thresholds, read at
start-up and on every reload; a file broken after start-up keeps the settings served."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from models.config import ConfigError
from serving.served_models import _triage_config, service_triage_config

ROUTING = """
routing:
  default_queue: general
  rules:
    - {name: delivery, queue: delivery_team, when: {reason: [配送, Late Flight]}}
"""


def test_the_file_replaces_the_shipped_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGORA_TRIAGE_CONFIG", raising=False)
    shipped = service_triage_config()
    assert shipped.routing.default_queue == "general" and len(shipped.routing.rules) > 1
    path = tmp_path / "triage.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    monkeypatch.setenv("AGORA_TRIAGE_CONFIG", str(path))
    config = service_triage_config()
    assert [(r.name, r.queue) for r in config.routing.rules] == [("delivery", "delivery_team")]
    assert config.urgency == shipped.urgency  # sections the file leaves out keep the defaults


def test_a_file_broken_after_start_up_keeps_the_served_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "triage.yaml"
    path.write_text(ROUTING, encoding="utf-8")
    monkeypatch.setenv("AGORA_TRIAGE_CONFIG", str(path))
    served_config = service_triage_config()
    serving: Any = SimpleNamespace(triage=SimpleNamespace(config=served_config))
    path.write_text(ROUTING.replace("reason:", "reasn:"), encoding="utf-8")  # an edit's typo
    problems: dict[str, str] = {}
    assert _triage_config(serving, problems) is served_config
    assert "AGORA_TRIAGE_CONFIG" in problems["triage_config"]
    assert "reasn" in problems["triage_config"]
    assert "still using the previous one" in problems["triage_config"]
    with pytest.raises(ConfigError, match="AGORA_TRIAGE_CONFIG"):  # at start-up: refused
        _triage_config(None, {})
