"""Budgeted tuning: validation carved from train only, the budget honoured, and the rule that a
hybrid losing to one of its components on validation is never shipped."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from features.splits import stratified_split
from models.recommenders import recommender_config
from training.recommender import budgeted
from training.recommender.config import TuningConfig


def _two_taste_groups(users: int = 60, items_per_group: int = 20) -> pd.DataFrame:
    """Two user groups, each rating 10 items of its own half of the catalog."""
    rng = np.random.default_rng(1)
    rows = []
    for user in range(users):
        offset = 0 if user < users // 2 else items_per_group
        for item in rng.choice(items_per_group, size=10, replace=False):
            rows.append((f"u{user}", f"i{offset + item}", 1.0))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])


def _hybrid(*types: str) -> dict:
    components = [{"type": kind, "weight": 1.0, "config": {}} for kind in types]
    return recommender_config("hybrid", {"components": components}).model_dump(mode="json")


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"], frame["item_id"], strict=True))


def test_a_hybrid_worse_than_its_component_ships_the_component(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both groups are equally popular, so popularity recommends the wrong group half the time;
    # EASE separates the groups. With room for the given fusion only (equal weights), the
    # hybrid is clearly worse than EASE alone.
    monkeypatch.setattr(budgeted, "MAX_FUSION_TRIALS", 1)
    result = budgeted.tune_within_budget(
        "hybrid", _hybrid("popularity", "ease"), _two_taste_groups(), None, TuningConfig(), 5, 20
    )
    assert result.validation["hybrid"] < result.validation["ease"]
    assert result.model == "ease"
    assert result.requested_model == "hybrid"
    assert "ease alone" in (result.fallback_reason or "")
    recommender_config("ease", result.params)  # the component's own, refit-ready config
    assert any("serving ease instead of hybrid" in line for line in result.summary())


def test_the_hybrid_ships_exactly_when_it_is_at_least_its_best_component() -> None:
    result = budgeted.tune_within_budget(
        "hybrid", _hybrid("ease", "itemknn"), _two_taste_groups(), None, TuningConfig(), 5, 20
    )
    components = {name: value for name, value in result.validation.items() if name != "hybrid"}
    ships_hybrid = result.validation["hybrid"] >= max(components.values())
    assert (result.model == "hybrid") == ships_hybrid
    assert (result.fallback_reason is None) == ships_hybrid
    assert [stage.name for stage in result.stages] == ["ease", "itemknn", "fusion"]


def test_every_fit_and_score_uses_the_training_split_only(monkeypatch: pytest.MonkeyPatch) -> None:
    train, test = stratified_split(_two_taste_groups(), ratio=0.75, seed=42)
    fitted_on: list[pd.DataFrame] = []
    real_fit = budgeted.fit_recommender

    def recording_fit(name, params, frame, items):
        fitted_on.append(frame)
        return real_fit(name, params, frame, items)

    monkeypatch.setattr(budgeted, "fit_recommender", recording_fit)
    scored_on: list[pd.DataFrame] = []
    real_evaluate = budgeted.evaluate_recommender

    def recording_evaluate(model, inner_train, validation, **kwargs):
        scored_on.append(validation)
        return real_evaluate(model, inner_train, validation, **kwargs)

    monkeypatch.setattr(budgeted, "evaluate_recommender", recording_evaluate)
    budgeted.tune_within_budget(
        "hybrid", _hybrid("ease", "popularity"), train, None, TuningConfig(), 5, 5
    )
    assert fitted_on and scored_on
    train_pairs, test_pairs = _pairs(train), _pairs(test)
    for frame in [*fitted_on, *scored_on]:
        assert _pairs(frame) <= train_pairs
        assert not _pairs(frame) & test_pairs


def test_a_tiny_budget_ends_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fit = budgeted.fit_recommender

    def slow_fit(name, params, frame, items):
        time.sleep(0.1)  # every fit costs a tenth of a second, so 40 trials would take 4 s
        return real_fit(name, params, frame, items)

    monkeypatch.setattr(budgeted, "fit_recommender", slow_fit)
    started = time.perf_counter()
    result = budgeted.tune_within_budget(
        "hybrid", _hybrid("ease", "itemknn"), _two_taste_groups(), None, TuningConfig(), 5, 1.0
    )
    elapsed = time.perf_counter() - started
    # optuna checks the timeout between trials: at most one trial past the budget per stage
    assert elapsed < 3.0, elapsed
    assert result.seconds <= elapsed
    for stage in result.stages[:2]:
        assert 1 <= stage.trials < budgeted.MAX_TRIALS


def test_a_single_model_is_tuned_within_the_budget_without_fallback() -> None:
    result = budgeted.tune_within_budget(
        "ease",
        recommender_config("ease", {}).model_dump(mode="json"),
        _two_taste_groups(),
        None,
        TuningConfig(),
        5,
        2.0,
    )
    assert result.model == "ease" and result.fallback_reason is None
    assert result.stages[0].trials >= 1
    assert result.best_value == pytest.approx(result.trials["value"].max())


@pytest.mark.parametrize("budget", [0.0, -1.0])
def test_a_non_positive_budget_is_refused(budget: float) -> None:
    with pytest.raises(ValueError, match="budget must be positive"):
        budgeted.tune_within_budget(
            "ease", {}, _two_taste_groups(), None, TuningConfig(), 5, budget
        )


def test_the_adaptive_hybrid_adds_the_content_model_only_when_items_have_text() -> None:
    assert [c["type"] for c in budgeted.adaptive_hybrid_components(None)] == ["ease", "als"]
    blank = pd.DataFrame({"item_id": ["i1"], "title": [""], "text": [""], "genres": [""]})
    assert [c["type"] for c in budgeted.adaptive_hybrid_components(blank)] == ["ease", "als"]
    titled = blank.assign(title=["Galaxy Raiders"])
    kinds = [c["type"] for c in budgeted.adaptive_hybrid_components(titled)]
    assert kinds == ["ease", "als", "embedding"]


def test_the_adaptive_hybrid_leaves_ease_out_above_its_catalog_limit() -> None:
    # Regression (issue 13): EASE refuses catalogs above max_items, and the hybrid crashed.
    assert [c["type"] for c in budgeted.adaptive_hybrid_components(None, 20_000)] == [
        "ease",
        "als",
    ]
    assert [c["type"] for c in budgeted.adaptive_hybrid_components(None, 20_001)] == ["als"]


def test_the_fusion_search_can_recover_the_best_component() -> None:
    # The best component anchors the fusion, so given trials the search finds a fusion at
    # least as good as EASE alone on the same data where the equal-weight fusion loses.
    result = budgeted.tune_within_budget(
        "hybrid", _hybrid("popularity", "ease"), _two_taste_groups(), None, TuningConfig(), 5, 20
    )
    assert result.validation["hybrid"] >= result.validation["ease"]
    assert result.model == "hybrid"
    assert result.params["components"][0]["type"] == "ease"


def test_a_budget_exceeded_by_a_fit_never_cut_short_is_said_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: a 0.5-minute budget that took 144 s (the content model's one encoding, 110 s)
    printed 'tuned within 0.5 min' and no time for that fit."""
    real_fit = budgeted.fit_recommender

    def slow_popularity(name, params, frame, items):
        if name == "popularity":  # fitted once, like the content model: never cut short
            time.sleep(1.2)
        return real_fit(name, params, frame, items)

    monkeypatch.setattr(budgeted, "fit_recommender", slow_popularity)
    monkeypatch.setattr(budgeted, "MAX_FUSION_TRIALS", 1)
    result = budgeted.tune_within_budget(
        "hybrid", _hybrid("ease", "popularity"), _two_taste_groups(), None, TuningConfig(), 5, 0.5
    )
    summary = result.summary()
    assert summary[0].startswith("tuned with a budget of 0.0 min"), summary
    assert "never cut short" in summary[0]
    assert any(
        line.strip().startswith("popularity: fitted once (not tuned, 1 s)") for line in summary
    )


def test_a_fallback_without_the_content_model_says_what_it_costs() -> None:
    """Regression: a hybrid that fell back to ALS silently stopped serving fresh items and text
    queries by content, and printed 'validation 0.0081, below als alone (0.0081)'."""
    specs = [{"type": kind, "weight": 1.0, "config": {}} for kind in ("ease", "als", "embedding")]
    reason = budgeted.fallback_reason("ndcg@10", 0.00811, "als", 0.00814, specs)
    assert "0.008110, below als alone (0.008140)" in reason
    assert "POST /items" in reason and "--budget-minutes 0" in reason
    plain = budgeted.fallback_reason("ndcg@10", 0.2, "ease", 0.3, specs[:2])
    assert plain == "the best hybrid scored validation ndcg@10 0.2000, below ease alone (0.3000)"
    assert "POST /items" not in budgeted.fallback_reason("ndcg@10", 0.2, "embedding", 0.3, specs)


def test_the_components_fitted_once_go_first_and_leave_the_fusion_its_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: the content model was fitted after the tuned components, so its encoding
    (204 s of a 180 s budget on a 9,742-item catalog) left the fusion a single trial."""
    real_fit, real_study = budgeted.fit_recommender, budgeted._run_study
    fits: list[str] = []
    timeouts: list[float] = []

    def slow_popularity(name, params, frame, items):
        fits.append(name)
        if name == "popularity":  # fitted once, like the content model
            time.sleep(1.2)
        return real_fit(name, params, frame, items)

    def one_trial(objective, seed, timeout, n_trials=budgeted.MAX_TRIALS):
        timeouts.append(timeout)
        return real_study(objective, seed, timeout, 1)

    monkeypatch.setattr(budgeted, "fit_recommender", slow_popularity)
    monkeypatch.setattr(budgeted, "_run_study", one_trial)
    budget = 1.0
    result = budgeted.tune_within_budget(
        "hybrid",
        _hybrid("ease", "popularity"),
        _two_taste_groups(),
        None,
        TuningConfig(),
        5,
        budget,
    )
    assert fits[0] == "popularity" and "ease" in fits
    ease, fusion = timeouts
    left = budget * budgeted.MIN_SHARE_LEFT  # the one fit used the whole budget
    assert ease <= left * budgeted.COMPONENT_SHARE + 0.01
    assert fusion >= left * (1 - budgeted.COMPONENT_SHARE) - 0.01
    assert [stage.name for stage in result.stages] == ["ease", "fusion"]
