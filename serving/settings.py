"""Service settings, read from the environment once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from data.paths import agora_home, tracking_uri
from data.store import default_store_url
from models.served_models import RECOMMENDER_MODEL, TRIAGE_SLOTS

API_KEY_ENV = "AGORA_API_KEY"
MAX_TEXT_BYTES = 100 * 1024  # a triage text over 100 KB is refused with a 413-style 4xx
MAX_BATCH = 1000


def _parse_pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in text.split(","):
        if part.strip():
            key, _, value = part.partition("=")
            if not value:
                raise ValueError(f"AGORA_TRIAGE_MODELS entry '{part}' is not slot=registered-name")
            pairs[key.strip()] = value.strip()
    return pairs


def default_triage_models() -> dict[str, str]:
    """Serving slot -> registered name, from the served-models table (models.served_models)."""
    return {entry.slot: entry.registered_name for entry in TRIAGE_SLOTS}


@dataclass(frozen=True)
class Settings:
    """Where the registry and the stores are, and which registered model each slot serves.

    `AGORA_TRIAGE_MODELS=slot=name,...` replaces the triage slots' models (e.g. to serve another
    dataset's model in the category slot); slots are those of `models.served_models`.
    """

    tracking_uri: str
    cache_dir: Path
    store_url: str
    recommender_model: str
    triage_models: dict[str, str] = field(default_factory=dict)
    reload_interval_s: float = 0.0  # > 0: watch the @champion aliases and reload on a change

    @classmethod
    def from_env(cls) -> Settings:
        triage = os.environ.get("AGORA_TRIAGE_MODELS")
        return cls(
            tracking_uri=tracking_uri(),
            cache_dir=Path(
                os.environ.get("AGORA_SERVING_CACHE") or agora_home() / "serving-cache"
            ).expanduser(),
            store_url=default_store_url(),
            recommender_model=os.environ.get("AGORA_RECOMMENDER_MODEL", RECOMMENDER_MODEL),
            triage_models=_parse_pairs(triage) if triage else default_triage_models(),
            reload_interval_s=float(os.environ.get("AGORA_RELOAD_INTERVAL", "0") or 0),
        )
