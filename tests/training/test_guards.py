"""The promotion gate's guardrail metrics, on hand-built versions (no registry)."""

from __future__ import annotations

import pytest

from training.guards import Guard, default_guards, parse_guard, with_overrides
from training.promotion import (
    PromotionRefusedError,
    VersionSummary,
    evaluation_tags,
    gate,
)


def _version(
    version: str,
    family: str,
    primary: str,
    metrics: dict[str, float],
    fingerprint: str = "split-a",
) -> VersionSummary:
    tags = {**evaluation_tags(primary, metrics, fingerprint), "agora.family": family}
    return VersionSummary(
        name="m",
        version=version,
        aliases=(),
        primary_metric=primary,
        primary_value=metrics[primary],
        eval_fingerprint=fingerprint,
        created_at=0.0,
        run_id=None,
        tags=tags,
    )


def _recommender(version: str, ndcg: float, coverage: float, recall: float) -> VersionSummary:
    metrics = {"ndcg_at_10": ndcg, "coverage_at_10": coverage, "recall_at_10": recall}
    return _version(version, "recommender", "ndcg_at_10", metrics)


def _triage(version: str, macro_f1: float, accuracy: float, ece: float) -> VersionSummary:
    metrics = {"macro_f1": macro_f1, "accuracy": accuracy, "ece": ece}
    return _version(version, "triage", "macro_f1", metrics)


def test_a_better_primary_with_collapsed_coverage_is_refused_naming_the_guard() -> None:
    champion = _recommender("1", ndcg=0.400, coverage=0.30, recall=0.20)
    candidate = _recommender("2", ndcg=0.401, coverage=0.05, recall=0.20)
    with pytest.raises(PromotionRefusedError) as refused:
        gate(candidate, champion)
    message = str(refused.value)
    assert "coverage_at_10 0.0500 (v2) vs 0.3000 (champion v1)" in message, message
    assert "may drop 20%" in message and "allowed 0.0600, to 0.2400" in message, message
    assert "recall_at_10" not in message  # the guard that held is not blamed


def test_guards_within_their_allowance_promote_and_the_reason_names_them() -> None:
    champion = _recommender("1", ndcg=0.400, coverage=0.30, recall=0.20)
    candidate = _recommender("2", ndcg=0.401, coverage=0.25, recall=0.195)
    decision = gate(candidate, champion)
    assert decision.guards is not None
    assert [r.guard.metric for r in decision.guards.results] == ["coverage_at_10", "recall_at_10"]
    assert "guards held: coverage_at_10 0.2500 (v2) vs 0.3000 (champion v1)" in decision.reason


def test_a_guard_exactly_at_its_limit_holds() -> None:
    champion = _triage("1", macro_f1=0.70, accuracy=0.80, ece=0.05)
    candidate = _triage("2", macro_f1=0.71, accuracy=0.78, ece=0.07)
    assert gate(candidate, champion).guards is not None  # both 0.02 apart: allowed


def test_a_metric_missing_on_one_version_is_skipped_and_said() -> None:
    champion = _version("1", "recommender", "ndcg_at_10", {"ndcg_at_10": 0.4, "recall_at_10": 0.2})
    candidate = _recommender("2", ndcg=0.41, coverage=0.01, recall=0.2)
    decision = gate(candidate, champion)
    assert decision.guards is not None
    assert decision.guards.skipped == (("coverage_at_10", "not recorded for champion v1"),)
    assert "guards skipped: coverage_at_10 (not recorded for champion v1)" in decision.reason
    assert "guards held: recall_at_10" in decision.reason


def test_ece_is_lower_is_better_a_rise_breaks_it_and_a_fall_never_does() -> None:
    champion = _triage("1", macro_f1=0.70, accuracy=0.80, ece=0.05)
    worse_calibrated = _triage("2", macro_f1=0.72, accuracy=0.80, ece=0.10)
    with pytest.raises(PromotionRefusedError, match=r"ece 0\.1000 \(v2\) vs 0\.0500.*may rise"):
        gate(worse_calibrated, champion)
    better_calibrated = _triage("3", macro_f1=0.72, accuracy=0.80, ece=0.0)
    assert "ece 0.0000 (v3)" in gate(better_calibrated, champion).reason


def test_triage_accuracy_guard_refuses_a_macro_f1_win_bought_with_many_wrong_routes() -> None:
    champion = _triage("1", macro_f1=0.70, accuracy=0.85, ece=0.05)
    candidate = _triage("2", macro_f1=0.72, accuracy=0.80, ece=0.05)
    with pytest.raises(PromotionRefusedError, match="the accuracy guard"):
        gate(candidate, champion)


def test_a_rescored_champion_is_guarded_on_its_rescored_metrics_only() -> None:
    # Its recorded coverage (0.30) is of other data; the re-scoring's (0.06) is what compares.
    champion = _version(
        "1",
        "recommender",
        "ndcg_at_10",
        {"ndcg_at_10": 0.5, "coverage_at_10": 0.30, "recall_at_10": 0.2},
        "split-old",
    )
    candidate = _recommender("2", ndcg=0.41, coverage=0.05, recall=0.2)
    rescored = {"ndcg_at_10": 0.40, "coverage_at_10": 0.06, "recall_at_10": 0.2}
    assert gate(candidate, champion, champion_score=0.40, champion_metrics=rescored).guards
    with pytest.raises(PromotionRefusedError, match="coverage_at_10"):
        gate(candidate, champion, champion_score=0.40, champion_metrics={"coverage_at_10": 0.3})


def test_a_rescored_champion_without_its_metrics_skips_every_guard_and_says_why() -> None:
    champion = _recommender("1", ndcg=0.5, coverage=0.30, recall=0.2)
    candidate = _recommender("2", ndcg=0.41, coverage=0.05, recall=0.2)
    decision = gate(candidate, champion, champion_score=0.40)
    assert decision.guards is not None and not decision.guards.results
    assert "coverage_at_10 (the re-scored champion has no figure for it)" in decision.reason


def test_no_guards_and_the_first_promotion_check_none() -> None:
    champion = _recommender("1", ndcg=0.400, coverage=0.30, recall=0.20)
    candidate = _recommender("2", ndcg=0.401, coverage=0.05, recall=0.20)
    assert gate(candidate, champion, guards=()).reason.endswith("; no guards")
    first = gate(candidate, None)
    assert first.reason == "no current champion" and first.guards is None


def test_a_worse_primary_is_refused_as_before_whatever_the_guards() -> None:
    champion = _recommender("1", ndcg=0.40, coverage=0.30, recall=0.20)
    with pytest.raises(PromotionRefusedError, match="candidate is worse"):
        gate(_recommender("2", ndcg=0.39, coverage=0.9, recall=0.9), champion)


def test_defaults_follow_the_cutoff_and_leave_out_the_primary() -> None:
    assert [g.metric for g in default_guards("recommender", "ndcg_at_20")] == [
        "coverage_at_20",
        "recall_at_20",
    ]
    assert [g.metric for g in default_guards("triage", "macro_f1")] == ["accuracy", "ece"]
    assert [g.metric for g in default_guards("triage", "accuracy")] == ["macro_f1", "ece"]
    assert default_guards(None, "ndcg_at_10") == ()


def test_parse_guard_reads_units_percent_and_at() -> None:
    assert parse_guard("ece=0.03") == Guard("ece", 0.03)
    assert parse_guard("coverage@10=50%") == Guard("coverage_at_10", 0.5, relative=True)
    for bad in ("ece", "ece=", "=0.1", "ece=-1", "ece=lots", "ece=nan"):
        with pytest.raises(ValueError, match="METRIC=DROP"):
            parse_guard(bad)


def test_an_override_replaces_the_default_on_its_metric_and_adds_others() -> None:
    merged = with_overrides(
        default_guards("recommender", "ndcg_at_10"),
        [Guard("coverage_at_10", 0.9, relative=True), Guard("mrr_at_10", 0.01)],
    )
    assert merged == (
        Guard("coverage_at_10", 0.9, relative=True),
        Guard("recall_at_10", 0.05, relative=True),
        Guard("mrr_at_10", 0.01),
    )
