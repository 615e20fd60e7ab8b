"""The run configuration of a recommender pipeline: model, its parameters, split, cut-off, tuning.

A YAML file under configs/recommender/ is one `RecommenderRunConfig`:

    model: ease                  # optional when --model is given (they must then agree)
    k: 10                        # evaluation cut-off
    split: {train_ratio: 0.75, seed: 42}
    tuning: {train_ratio: 0.75, seed: 7, metric: ndcg}
    evaluation: {max_users: 30000, seed: 11}   # past max_users test users, a seeded sample
    params: {l2: 500.0}          # the model's own config fields (validated by its config class)
    provenance: {...}            # free-form record of how the params were found

Everything, the model's parameters included, is validated before any data is loaded, and each
error names the field (`params.factors: Input should be greater than 0`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, PositiveInt

from models.config import ConfigError, FrozenConfig
from models.recommenders import RECOMMENDER_TYPES

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "recommender"
# `agora train recommender` tunes for this long when no committed config fits the dataset: enough
# for a few EASE and ALS fits and a fusion search on a 100k-rating catalog on 2 cores.
DEFAULT_BUDGET_MINUTES = 3.0

# The models' own type table is the one list of names (a model added there is accepted here).
MODEL_NAMES: tuple[str, ...] = RECOMMENDER_TYPES
ModelName = Literal[MODEL_NAMES]  # type: ignore[valid-type]


class SplitConfig(FrozenConfig):
    """Per-user stratified random split: each user keeps `train_ratio` of their rows in train."""

    train_ratio: float = Field(0.75, gt=0.0, lt=1.0)
    seed: int = 42


class TuningConfig(FrozenConfig):
    """How `--tune` carves a validation split out of the training split, and what it maximises.

    Each user keeps `train_ratio` of their training rows for fitting; the rest validate.
    """

    train_ratio: float = Field(0.75, gt=0.0, lt=1.0)
    seed: int = 7  # different from the test split's seed: a different carving of the train data
    metric: Literal["ndcg", "map", "precision", "recall", "mrr", "hit_rate"] = "ndcg"
    timeout_seconds: float | None = Field(None, gt=0.0)
    # Past this many validation users every trial scores the same seeded sample of them.
    max_users: PositiveInt | None = 20_000


class EvaluationConfig(FrozenConfig):
    """How the test split is scored: past `max_users` test users, a seeded sample of that many.

    On 2 cores, ALS over a 50,000-item catalog ranked 50,000 users in 59 s with a 95 % interval
    of NDCG@10 of +-0.0019 (20M synthetic interactions); 30,000 take about 35 s for about
    +-0.0025. null scores every user.
    """

    max_users: PositiveInt | None = 30_000
    seed: int = 11


class RecommenderRunConfig(FrozenConfig):
    """One training or benchmark run of one recommender."""

    model: ModelName | None = None
    k: PositiveInt = 10
    split: SplitConfig = SplitConfig()
    tuning: TuningConfig = TuningConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    params: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Any] = Field(default_factory=dict)

    def for_model(self, model: str | None) -> RecommenderRunConfig:
        """This config bound to `model` (the CLI's --model); a conflicting file value errs."""
        if model is not None and model not in MODEL_NAMES:
            raise ConfigError(
                f"model: unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}"
            )
        if model is not None and self.model is not None and model != self.model:
            raise ConfigError(
                f"model: the config file is for {self.model!r} but --model is {model!r}"
            )
        chosen = model or self.model
        if chosen is None:
            raise ConfigError("model: no model given; pass --model or set `model:` in the config")
        return self.model_copy(update={"model": chosen})


def save_run_config(config: RecommenderRunConfig, path: str | Path, header: str = "") -> Path:
    """Write `config` as YAML (atomically), `header` as leading comment lines."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(comment + body, encoding="utf-8")
    staging.replace(path)
    return path


def load_run_config(path: str | Path | None, model: str | None) -> RecommenderRunConfig:
    """Read (or default) a run config and bind it to `model`; ConfigError names the field."""
    config = RecommenderRunConfig() if path is None else RecommenderRunConfig.from_yaml(path)
    return config.for_model(model)


def committed_tuned_config(model: str, dataset: str, config_dir: Path = CONFIG_DIR) -> Path | None:
    """The committed `<model>.tuned.yaml` when it was tuned on `dataset` (its provenance says
    so), else None: a config tuned on one catalog is no default for another."""
    path = config_dir / f"{model}.tuned.yaml"
    if not path.exists():
        return None
    provenance = RecommenderRunConfig.from_yaml(path).provenance
    return path if provenance.get("dataset") == dataset else None
