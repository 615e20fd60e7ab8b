"""`agora benchmark triage`: every triage model on the fixed splits, one comparable table.

Each model is trained on the split's train part and scored on its test part (features.text_splits).
The ensemble reuses the members trained for the same split rather than training them twice; its
fit time is the sum of its members'. Acceptance bars from the triage issue are checked per row.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from features.text_splits import Task, TextSplit, load_split
from models.classifiers.base import TextClassifier
from models.classifiers.ensemble import EnsembleClassifier
from training.triage.config import TriageConfig, build_finetune, classifier_type
from training.triage.pipeline import TrainedTriageModel, evaluate, fit_and_evaluate, model_inputs

logger = logging.getLogger(__name__)

BENCHMARK_SPLITS: tuple[tuple[str, Task], ...] = (
    ("airline-sentiment", Task.SENTIMENT),
    ("airline-sentiment", Task.REASON),
    ("waimai-10k", Task.SENTIMENT),
    ("bitext-intents", Task.CATEGORY),
)
# Minimum figures the triage issue accepts (its stretch targets are in the docs).
ACCEPTANCE: dict[tuple[str, Task], dict[str, float]] = {
    ("airline-sentiment", Task.SENTIMENT): {"accuracy": 0.85, "macro_f1": 0.80},
    ("airline-sentiment", Task.REASON): {"macro_f1": 0.55},
    ("waimai-10k", Task.SENTIMENT): {"accuracy": 0.90},
}


@dataclass(frozen=True)
class BenchmarkRow:
    """One model on one split."""

    split: str
    model: str
    accuracy: float
    macro_f1: float
    ece: float
    fit_seconds: float
    test_texts_per_second: float
    n_test: int
    meets_bar: bool | None  # None when the split has no acceptance bar
    per_class_f1: dict[str, float] = field(default_factory=dict)  # F1 of each test class


def parse_split_name(name: str) -> tuple[str, Task]:
    """'airline-sentiment/reason' -> ('airline-sentiment', Task.REASON)."""
    dataset, _, task = name.rpartition("/")
    if not dataset:
        raise ValueError(f"split '{name}' must look like DATASET/TASK, e.g. waimai-10k/sentiment")
    return dataset, Task(task)


def meets_bar(dataset: str, task: Task, accuracy: float, macro_f1: float) -> bool | None:
    bar = ACCEPTANCE.get((dataset, task))
    if bar is None:
        return None
    achieved = {"accuracy": accuracy, "macro_f1": macro_f1}
    return all(achieved[name] >= minimum for name, minimum in bar.items())


def benchmark_row(trained: TrainedTriageModel) -> BenchmarkRow:
    """The table row of one trained model: its figures on the split and the bar it meets."""
    split, report = trained.split, trained.report
    return BenchmarkRow(
        split=f"{split.dataset}/{split.task}",
        model=trained.model,
        accuracy=report.accuracy,
        macro_f1=report.macro_f1,
        ece=report.ece,
        fit_seconds=trained.fit_seconds,
        test_texts_per_second=len(split.test_texts) / max(trained.predict_seconds, 1e-9),
        n_test=report.n,
        meets_bar=meets_bar(split.dataset, split.task, report.accuracy, report.macro_f1),
        per_class_f1=dict(report.per_class_f1),
    )


def benchmark_split(
    split: TextSplit,
    models: Sequence[str],
    config: TriageConfig,
    save_dir: Path | None = None,
) -> list[TrainedTriageModel]:
    """Train and score `models` on one split; an ensemble reuses members trained here."""
    config = config.for_split(split.task, split.language)
    fitted: dict[str, TrainedTriageModel] = {}
    results: list[TrainedTriageModel] = []
    wanted = list(models)
    if "ensemble" in wanted:  # members first, whether or not they were asked for as rows
        wanted = [m for m in wanted if m != "ensemble"]
        wanted += [m for m in config.ensemble.members if m not in wanted] + ["ensemble"]
    for model in wanted:
        if model == "ensemble":
            members, seconds = _ensemble_members(split, config, fitted)
            kinds = [kind for kind, _ in config.ensemble.member_plan()]
            early_exit = config.ensemble.early_exit_for(kinds)
            ensemble = EnsembleClassifier(members, config.ensemble.weights, early_exit)
            ensemble.set_text_config(config.text)
            trained = evaluate("ensemble", ensemble, split, seconds)
        else:
            trained = fit_and_evaluate(model, split, config)
        fitted[model] = trained
        if model in models:
            results.append(trained)
            if save_dir is not None:
                trained.classifier.save(save_dir / f"{split.dataset}-{split.task}" / model)
    return results


def _ensemble_members(
    split: TextSplit, config: TriageConfig, fitted: dict[str, TrainedTriageModel]
) -> tuple[list[TextClassifier], float]:
    """The ensemble's members and their summed fit time, reusing models fitted for the split.

    A fine-tuned member whose seed differs from the finetune row's is trained here.
    """
    members: list[TextClassifier] = []
    seconds = 0.0
    for kind, seed in config.ensemble.member_plan():
        if seed is None or seed == config.finetune.seed:
            members.append(fitted[kind].classifier)
            seconds += fitted[kind].fit_seconds
            continue
        logger.info(
            "training ensemble member finetune (seed %d) on %s/%s", seed, split.dataset, split.task
        )
        member = build_finetune(config, seed)
        started = time.perf_counter()
        member.fit(model_inputs(split.train_texts, config.text), split.train_labels)
        seconds += time.perf_counter() - started
        members.append(member)
    return members, seconds


def run_benchmark(
    models: Sequence[str],
    splits: Sequence[tuple[str, Task]] = BENCHMARK_SPLITS,
    config: TriageConfig | None = None,
    save_dir: Path | None = None,
    on_row: Callable[[BenchmarkRow], None] | None = None,
) -> list[BenchmarkRow]:
    """Benchmark `models` on `splits`; `on_row` sees each row as soon as it is measured."""
    for model in models:
        classifier_type(model)  # an unknown model fails before any split is loaded
    config = config or TriageConfig()
    rows: list[BenchmarkRow] = []
    for dataset, task in splits:
        split = load_split(dataset, task)
        for trained in benchmark_split(split, models, config, save_dir):
            row = benchmark_row(trained)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def format_table(rows: Sequence[BenchmarkRow]) -> str:
    """A fixed-width text table of the rows, one line per (split, model)."""
    header = (
        f"{'split':<28}{'model':<11}{'accuracy':>9}{'macro-F1':>9}{'ECE':>8}"
        f"{'fit s':>9}{'texts/s':>9}{'n':>6}  bar"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        bar = "-" if r.meets_bar is None else ("yes" if r.meets_bar else "NO")
        lines.append(
            f"{r.split:<28}{r.model:<11}{r.accuracy:>9.4f}{r.macro_f1:>9.4f}{r.ece:>8.4f}"
            f"{r.fit_seconds:>9.1f}{r.test_texts_per_second:>9.0f}{r.n_test:>6}  {bar}"
        )
    return "\n".join(lines)


def format_per_class(rows: Sequence[BenchmarkRow]) -> str:
    """Per split, one line per class: its F1 under each model, classes in the models' order.

    Macro-F1 hides which classes a model never gets right (a routing table sends each class to
    a queue, so a class at F1 0 is a queue that never receives its texts); this shows them.
    """
    blocks: list[str] = []
    by_split: dict[str, list[BenchmarkRow]] = {}
    for row in rows:
        by_split.setdefault(row.split, []).append(row)
    for split, split_rows in by_split.items():
        classes = list(dict.fromkeys(c for r in split_rows for c in r.per_class_f1))
        width = max([len(c) for c in classes] + [len("class")]) + 2
        header = f"{'class':<{width}}" + "".join(f"{r.model:>11}" for r in split_rows)
        lines = [f"{split}: F1 per class", header, "-" * len(header)]
        for name in classes:
            scores = "".join(
                f"{r.per_class_f1[name]:>11.4f}" if name in r.per_class_f1 else f"{'-':>11}"
                for r in split_rows
            )
            lines.append(f"{name:<{width}}{scores}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def write_json(rows: Sequence[BenchmarkRow], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2))
