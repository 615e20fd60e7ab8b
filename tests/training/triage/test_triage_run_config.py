"""The triage run config (configs/triage/*.yaml, per-task overrides) and the benchmark's split
names and acceptance bars."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.text_splits import Task
from models.classifiers.ensemble import EarlyExit
from models.config import ConfigError
from training.triage.benchmark import BenchmarkRow, format_table, meets_bar, parse_split_name
from training.triage.config import TriageConfig, build_classifier, load_config


def test_shipped_configs_are_valid() -> None:
    folder = Path(__file__).resolve().parents[3] / "configs" / "triage"
    files = sorted(folder.glob("*.yaml"))
    assert files
    for file in files:
        load_config(file)


def test_ensemble_config_checks_its_weights() -> None:
    with pytest.raises(ConfigError, match="ensemble"):
        TriageConfig.from_mapping({"ensemble": {"members": ["tfidf"], "weights": [1, 2]}})
    with pytest.raises(ConfigError, match=r"3 members \(finetune@1, finetune@2, tfidf\)"):
        TriageConfig.from_mapping({"ensemble": {"finetune_seeds": [1, 2], "weights": [1, 1]}})
    ensemble = build_classifier("ensemble", TriageConfig())
    members = ensemble.members  # type: ignore[attr-defined]
    assert [m.model_type for m in members] == ["finetune", "finetune", "tfidf"]
    assert [m.config.seed for m in members[:2]] == [42, 43]


def test_the_default_ensemble_lets_tfidf_answer_alone_when_sure() -> None:
    ensemble = build_classifier("ensemble", TriageConfig())
    assert ensemble.early_exit == EarlyExit(2, 0.9)  # type: ignore[attr-defined]
    # The default exit applies only where TF-IDF is a member; elsewhere nothing exits.
    config = TriageConfig.from_mapping({"ensemble": {"members": ["finetune", "embedding"]}})
    assert build_classifier("ensemble", config).early_exit is None  # type: ignore[attr-defined]
    off = TriageConfig.from_mapping({"ensemble": {"early_exit": None}})
    assert build_classifier("ensemble", off).early_exit is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ensemble", "message"),
    [
        ({"members": ["finetune", "embedding"], "early_exit": {"member": "tfidf"}}, "members"),
        ({"early_exit": {"member": "finetune"}}, "other than finetune"),
        ({"early_exit": {"min_confidence": 0.5}}, "greater than 0.5"),
        ({"weights": [1, 1, 0]}, "positive weight"),
    ],
)
def test_an_impossible_early_exit_is_refused_with_its_field(
    ensemble: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        TriageConfig.from_mapping({"ensemble": ensemble})


def test_split_names_and_acceptance_bars() -> None:
    assert parse_split_name("airline-sentiment/reason") == ("airline-sentiment", Task.REASON)
    assert meets_bar("airline-sentiment", Task.SENTIMENT, 0.86, 0.81) is True
    assert meets_bar("airline-sentiment", Task.SENTIMENT, 0.86, 0.79) is False
    assert meets_bar("bitext-intents", Task.CATEGORY, 0.5, 0.5) is None
    row = BenchmarkRow("waimai-10k/sentiment", "tfidf", 0.9, 0.89, 0.01, 3.0, 900.0, 2396, True)
    table = format_table([row])
    assert "waimai-10k/sentiment" in table and "0.9000" in table and "yes" in table


def test_default_yaml_spells_out_the_code_defaults() -> None:
    """Guards against the documented defaults drifting from the code's."""
    folder = Path(__file__).resolve().parents[3] / "configs" / "triage"
    assert load_config(folder / "default.yaml") == TriageConfig()


def test_a_task_entry_changes_only_that_tasks_sections() -> None:
    config = TriageConfig.from_mapping(
        {"tfidf": {"c": 2.0}, "tasks": {"reason": {"tfidf": {"min_df": 3}}}}
    )
    reason = config.for_task(Task.REASON)
    assert (reason.tfidf.min_df, reason.tfidf.c) == (3, 2.0)  # the rest of the section stays
    assert config.for_task("sentiment").tfidf == config.tfidf  # a file's tasks replace the default
    default = TriageConfig()
    assert default.for_task("sentiment").tfidf.nb_weighting is True
    assert default.for_task("reason").tfidf.nb_weighting is False


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({"mood": {"tfidf": {"c": 1.0}}}, "tasks.mood"),
        ({"reason": {"text": {"mask_urls": False}}}, "unknown section text"),
        (
            {"reason": {"tfidf": {"c": -1}}},
            r"tasks.reason.tfidf section: c: Input should be greater",
        ),
        ({"reason": {"tfidf": {"colour": "blue"}}}, "colour: unknown field"),
    ],
)
def test_bad_task_entries_fail_when_the_config_loads(tasks: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TriageConfig.from_mapping({"tasks": tasks})
