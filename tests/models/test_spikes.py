"""Spike tests on synthetic series: a clear spike is flagged, flat Poisson noise is not, bursty
(over-dispersed) noise is not either where a Poisson test would flag it, the dispersion is the
quasi-Poisson one, the multiple-testing correction bites, and a continuing spike keeps its
episode."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.genmod.families import Poisson
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats import rates

from models.analytics import spikes
from models.analytics.spikes import (
    SpikeConfig,
    baseline_dispersion,
    episodes,
    larger_p_value,
    score_window,
)

CONFIG = SpikeConfig(baseline_windows=24, alpha=0.01, min_count=5, min_ratio=2.0)


def _flat(groups: int, windows: int, seed: int, rate: float = 4.0) -> dict[str, list[int]]:
    rng = np.random.default_rng(seed)
    return {f"g{i}": rng.poisson(rate, windows).tolist() for i in range(groups)}


def _totals(counts: dict[str, list[int]], extra: int = 100) -> list[int]:
    return [
        extra + sum(s[i] for s in counts.values()) for i in range(len(next(iter(counts.values()))))
    ]


def _clustered(groups: int, windows: int, seed: int) -> dict[str, list[int]]:
    """Bursty counts: Poisson(1) clusters a window (threads, retweets), each of a geometric
    number of messages (mean 4): mean 4, variance 28, a dispersion of 7."""
    rng = np.random.default_rng(seed)
    return {
        f"g{i}": [int(rng.geometric(0.25, c).sum()) for c in rng.poisson(1.0, windows)]
        for i in range(groups)
    }


@pytest.fixture
def poisson_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every group tested as if its baseline showed no excess dispersion (the Poisson test)."""
    monkeypatch.setattr(spikes, "baseline_dispersion", lambda counts, totals: 1.0)


def _flags(counts: dict[str, list[int]], windows: range) -> int:
    totals = _totals(counts)
    return sum(t.flagged for i in windows for t in score_window(counts, totals, i, CONFIG))


def test_the_dispersion_is_the_quasi_poisson_pearson_scale_and_sparse_counts_do_not_inflate_it():
    counts, volume = [3, 9, 0, 14, 2, 5, 1, 11, 4, 7, 0, 8], [100] * 12
    glm = GLM(counts, np.ones(12), family=Poisson(), exposure=np.array(volume, dtype=float))
    # Equal volumes: Fletcher's divisor is 1 and the estimate is statsmodels' X2 scale.
    assert baseline_dispersion(counts, volume) == pytest.approx(glm.fit(scale="X2").scale)
    # One message, in a quiet window: Pearson alone reads a dispersion of 8 from it.
    sparse, quiet = [0] * 23 + [1], [200] * 23 + [5]
    assert baseline_dispersion(sparse, quiet) == 1.0
    assert baseline_dispersion([4, 4, 4, 4], [50, 50, 50, 50]) == 1.0  # floored, not below 1
    assert baseline_dispersion([0, 0, 0], [50, 50, 50]) == 1.0  # nothing to estimate from


def test_the_p_value_is_the_exact_poisson_test_at_dispersion_one_and_grows_with_it() -> None:
    exact = rates.test_poisson_2indep(10, 72, 14, 1211, method="exact-cond", alternative="larger")
    assert larger_p_value(10, 72, 14, 1211, 1.0) == pytest.approx(float(exact.pvalue))
    # The beta-binomial tends to the binomial as the dispersion tends to 1.
    assert larger_p_value(10, 72, 14, 1211, 1.00001) == pytest.approx(exact.pvalue, rel=1e-3)
    p = [larger_p_value(10, 72, 14, 1211, d) for d in (1.0, 1.5, 2.0, 4.0)]
    assert p == sorted(p) and p[-1] > 100 * p[0]
    assert 0 < larger_p_value(70, 197, 2, 1889, 2.0) < 1e-20  # summed, not 1 - cdf


def test_bursty_noise_is_not_flagged_where_a_poisson_test_would_flag_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counts = _clustered(10, 124, seed=0)
    quasi = _flags(counts, range(24, 124))
    monkeypatch.setattr(spikes, "baseline_dispersion", lambda counts, totals: 1.0)
    poisson = _flags(counts, range(24, 124))
    # 100 windows x 10 groups of noise: the Poisson test calls 90 of them spikes.
    assert poisson >= 50
    assert quasi <= 3


def test_a_clear_spike_in_bursty_counts_is_still_flagged() -> None:
    counts = _clustered(10, 101, seed=0)
    counts["g3"][100] = 60  # the usual window holds 4, a burst 10 to 20
    tests = {t.group: t for t in score_window(counts, _totals(counts), 100, CONFIG)}
    assert tests["g3"].dispersion > 3
    assert tests["g3"].flagged and tests["g3"].p_adjusted < CONFIG.alpha
    assert [g for g, t in tests.items() if t.flagged] == ["g3"]


def test_a_clear_spike_is_flagged_with_its_numbers() -> None:
    counts = _flat(5, 30, seed=1)
    counts["g2"][29] = 30
    tests = {t.group: t for t in score_window(counts, _totals(counts), 29, CONFIG)}
    spike = tests["g2"]
    assert spike.flagged and spike.p_adjusted < 1e-6
    assert spike.count == 30 and spike.baseline_count == sum(counts["g2"][5:29])
    assert [g for g, t in tests.items() if t.flagged] == ["g2"]


def test_flat_poisson_series_raise_almost_nothing() -> None:
    counts = _flat(20, 400, seed=2)
    totals = _totals(counts)
    flagged = sum(
        t.flagged for i in range(24, 400) for t in score_window(counts, totals, i, CONFIG)
    )
    # 376 windows x 20 groups under the null: BH at 1% allows about 4 windows with a flag.
    assert flagged <= 4


def test_multiple_testing_control_removes_a_borderline_group() -> None:
    # g0 rises to 12 from a share that predicts ~5.2 (raw p below 0.01); among 40 other groups
    # (each with a small rise, p ~ 0.3) Benjamini-Hochberg still keeps it only if its p is small
    # enough for a family of 41.
    counts = {f"g{i}": [5] * 24 + [6] for i in range(1, 41)}
    counts["g0"] = [5] * 24 + [12]
    totals = [1000] * 24 + [1000]
    config = CONFIG.model_copy(update={"min_ratio": 1.0})
    tests = {t.group: t for t in score_window(counts, totals, 24, config)}
    assert tests["g0"].p_value < 0.01
    assert tests["g0"].p_adjusted > tests["g0"].p_value * 20
    assert not tests["g0"].flagged
    alone = score_window({"g0": counts["g0"]}, totals, 24, config)[0]
    assert alone.flagged  # the same counts, tested alone, are a spike


def test_small_counts_are_not_spikes_however_small_the_p() -> None:
    counts = {"g": [0] * 24 + [4]}
    (test,) = score_window(counts, [100] * 25, 24, CONFIG)
    assert test.p_adjusted < 1e-3 and not test.flagged


def test_a_spike_held_at_one_level_is_absorbed_by_the_dispersion_after_its_first_window() -> None:
    # The cost of estimating the dispersion from the baseline: the next windows' baseline holds
    # the spike, so it reads as burstiness (the alert was raised once at its first window).
    counts = _flat(3, 44, seed=3)
    for i in (40, 41, 42, 43):
        counts["g1"][i] = 40
    totals = _totals(counts)
    flagged = [
        [t.group for t in score_window(counts, totals, i, CONFIG) if t.flagged]
        for i in (40, 41, 42, 43)
    ]
    assert flagged[0] == ["g1"]
    assert flagged[2:] == [[], []]


@pytest.mark.usefixtures("poisson_test")  # the episode bookkeeping, with spikes that stay flagged
def test_a_continuing_spike_keeps_its_episode_and_a_new_one_starts_after_normal() -> None:
    counts = _flat(3, 60, seed=3)
    for i in (40, 41, 42, 50):
        counts["g1"][i] = 40
    totals = _totals(counts)
    starts = {
        i: [(s.test.group, s.episode_start) for s in episodes(counts, totals, i, CONFIG)]
        for i in (40, 41, 42, 50)
    }
    assert starts[40] == [("g1", 40)]
    assert starts[41] == [("g1", 40)]
    assert starts[42] == [("g1", 40)]
    assert starts[50] == [("g1", 50)]
