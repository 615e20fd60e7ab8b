"""`agora benchmark recommender`: every model on one fixed protocol, one table.

Protocol P (the one Microsoft Recommenders' MovieLens benchmark publishes numbers for):
MovieLens-100K; per-user stratified random split, 75% train / 25% test, seed 42; every test
rating is relevant (no threshold); items the user rated in training are excluded; each list
ranks the whole catalog; k = 10. All models share the one split. Each model's parameters come
from configs/recommender/<model>.<variant>.yaml ("tuned": chosen by `--tune` on a validation
split carved from the training data; "fast": quick settings for smoke runs); a config's own
`split` and `k` are overridden by the protocol's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from models.config import ConfigError
from models.recommenders import recommender_config
from training.recommender.config import (
    CONFIG_DIR,
    MODEL_NAMES,
    RecommenderRunConfig,
    SplitConfig,
)
from training.recommender.evaluate import (
    Evaluation,
    evaluate_recommender,
    export_run,
    export_split,
)
from training.recommender.steps import fit_recommender, prepare_split

logger = logging.getLogger(__name__)

PROTOCOL_SPLIT = SplitConfig(train_ratio=0.75, seed=42)
PROTOCOL_K = 10
Variant = Literal["tuned", "fast"]
TABLE_COLUMNS = ("ndcg", "precision", "recall", "map", "mrr", "coverage")


@dataclass(frozen=True)
class BenchmarkRow:
    """One model's result on the protocol."""

    model: str
    config_path: Path | None
    metrics: dict[str, float]
    fit_seconds: float
    eval_seconds: float


def config_path(model: str, variant: Variant, config_dir: Path = CONFIG_DIR) -> Path:
    return config_dir / f"{model}.{variant}.yaml"


def load_benchmark_configs(
    models: list[str], variant: Variant, config_dir: Path = CONFIG_DIR
) -> dict[str, tuple[Path, RecommenderRunConfig]]:
    """Every model's config file, read and validated (params included) before any data is loaded."""
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise ConfigError(
            f"model: unknown model(s) {unknown}; choose from {', '.join(MODEL_NAMES)}"
        )
    configs = {}
    for model in models:
        path = config_path(model, variant, config_dir)
        if not path.exists():
            raise ConfigError(f"config: no {variant} config for {model} at {path}")
        config = RecommenderRunConfig.from_yaml(path).for_model(model)
        recommender_config(model, config.params)
        configs[model] = (path, config)
    return configs


def run_benchmark(
    dataset: str = "movielens-100k",
    models: list[str] | None = None,
    variant: Variant = "tuned",
    export_dir: Path | None = None,
    config_dir: Path = CONFIG_DIR,
    show_progress: bool = False,
) -> list[BenchmarkRow]:
    """Fit and evaluate each model on the protocol's split; export each model's lists if asked."""
    configs = load_benchmark_configs(list(models or MODEL_NAMES), variant, config_dir)
    data = prepare_split(dataset, PROTOCOL_SPLIT)
    if export_dir is not None:
        export_split(export_dir, data.train, data.test)
    rows = []
    for position, (model, (path, config)) in enumerate(configs.items(), start=1):
        logger.info("[%d/%d] %s with %s", position, len(configs), model, path.name)
        recommender, fit_seconds = fit_recommender(model, config.params, data.train, data.items)
        evaluation: Evaluation = evaluate_recommender(
            recommender, data.train, data.test, k=PROTOCOL_K, show_progress=show_progress
        )
        if export_dir is not None:
            export_run(export_dir, data, evaluation, suffix=f"_{model}", write_split=False)
        rows.append(BenchmarkRow(model, path, evaluation.metrics, fit_seconds, evaluation.seconds))
        logger.info("%s: ndcg@%d=%.4f", model, PROTOCOL_K, evaluation.metrics[f"ndcg@{PROTOCOL_K}"])
    return rows


def format_table(rows: list[BenchmarkRow], k: int = PROTOCOL_K) -> str:
    """A fixed-width table, one line per model, best NDCG@k first."""
    headers = [f"{name}@{k}" for name in TABLE_COLUMNS]
    lines = [f"{'model':<12}" + "".join(f"{h:>13}" for h in headers) + f"{'fit s':>9}{'eval s':>9}"]
    for row in sorted(rows, key=lambda r: r.metrics[f"ndcg@{k}"], reverse=True):
        values = "".join(f"{row.metrics[h]:>13.4f}" for h in headers)
        lines.append(f"{row.model:<12}{values}{row.fit_seconds:>9.1f}{row.eval_seconds:>9.1f}")
    return "\n".join(lines)
