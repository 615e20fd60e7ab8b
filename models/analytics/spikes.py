"""Spikes in per-group complaint counts: the current window against a trailing baseline.

The test, per group: is the group's share of all triaged messages higher in the current window
than over the previous `baseline_windows` windows? Counts are modelled with the total message
volume as exposure and compared by an exact test conditional on the group's two counts' sum,
one-sided ("larger").

Why volume as exposure and not time: message volume follows the clock (night windows hold a
tenth of the morning's) and the news; against time, every morning would look like a spike of
every group. Against volume, a spike is a group taking a larger share, which is what a problem
with one reason or one item looks like. The cost: a surge of every group at once (a site-wide
outage) is not a spike of any group; the volume itself is watched by other means (metrics).

Why not plain Poisson: complaint streams are over-dispersed. Messages come in clusters (a
thread, retweets, one flight's passengers, the news of one delay), so a window's count varies
more than a Poisson count with the same mean, and a Poisson test calls ordinary burstiness a
spike. The model here is quasi-Poisson: a group's count in a window has mean share x volume and
variance `dispersion` x mean, the dispersion being the group's own, estimated from its baseline
windows under the constant-share model:
- the Pearson estimate X2 / (k - 1) over the k baseline windows with volume (what a quasi-Poisson
  GLM uses: statsmodels `GLM(..., family=Poisson(), exposure=volume).fit(scale="X2").scale`),
  with Fletcher's correction for sparse counts (Fletcher 2012, Biometrika 99:230), divided by
  1 + mean((y - mu) / mu): Pearson's terms (y - mu)^2 / mu explode when mu is tiny (one message in
  a quiet night window would read as a dispersion of 8), and most item x reason groups are sparse;
- floored at 1: a baseline that looks under-dispersed is noise, and the test is never made more
  liberal than the Poisson one.
The test with that dispersion: a negative binomial with variance dispersion x mean (NB1, what a
count of Poisson-many clusters gives) for each window, the same dispersion in the current window
and the baseline; conditional on the sum n of the two counts, the current count is then
beta-binomial (scipy `betabinom`) with mean n x p0, p0 = volume / (volume + baseline volume),
and parameters n p0 / (dispersion - 1), n (1 - p0) / (dispersion - 1) (the share estimated
under the null). Its variance is about `dispersion` times the binomial one, and at dispersion 1
it is the binomial of the Poisson exact conditional test, statsmodels' `test_poisson_2indep`
(method "exact-cond"), which is what a group without excess dispersion is tested with.
The cost of a dispersion taken from the baseline: a spike is in the next windows' baseline, where
it reads as burstiness, so a spike held at one level is flagged in its first window (where it
alerts) and usually not after, and the same group needs a larger rise to spike again until it
leaves the baseline. Down-weighting the baseline's outlying windows (as Farrington's outbreak
detection does) would shorten that; it is not done here.

Multiple testing: the groups of one dimension tested in one window are one family, controlled by
Benjamini-Hochberg (`multipletests(method="fdr_bh")`). A spike also needs `min_count` messages
(a group going from 0 to 2 is noise however small its p-value) and an observed rate ratio of at
least `min_ratio` (a 20 % rise on a large group can be significant and still be nobody's
incident).

A spike is an *episode*: consecutive flagged windows of one group. `episodes` names each one by
its first window, so an alert keyed by it is raised once, and again only after the group went
back to normal (a window not flagged) and spiked anew.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import betabinom
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.rates import test_poisson_2indep

TEST_NAME: Final = (
    "quasi-Poisson, exposure = message volume, one-sided larger: statsmodels test_poisson_2indep "
    "(exact-cond) at dispersion 1, else its NB1 analogue (beta-binomial conditional test) with "
    "the group's dispersion from its baseline windows (Pearson, Fletcher-corrected, >= 1); "
    "Benjamini-Hochberg across the groups of a dimension per window"
)
# A dispersion this close to 1 is 1: rounding error of the estimate (one baseline message gives
# Pearson = Fletcher's divisor exactly), and the beta-binomial's parameters, n / (dispersion - 1),
# overflow its pmf below it, where it equals the binomial to 6 digits anyway.
POISSON_TOLERANCE: Final = 1e-6


class SpikeConfig(BaseModel):
    """How spikes are found (the defaults are what the service and the replay use)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: float = Field(3600.0, gt=0, description="One analysis window, in seconds.")
    baseline_windows: int = Field(24, ge=1, le=24 * 14, description="Windows in the baseline.")
    alpha: float = Field(0.01, gt=0, lt=1, description="False discovery rate per family.")
    min_count: int = Field(5, ge=1, description="Fewest messages in the window for a spike.")
    min_ratio: float = Field(2.0, ge=1, description="Smallest observed rate ratio for a spike.")
    lookback_windows: int = Field(
        24, ge=0, le=24 * 14, description="How far back an episode's start is looked for."
    )


@dataclass(frozen=True)
class SpikeTest:
    """One group's test in one window."""

    group: str
    count: int
    total: int
    baseline_count: int
    baseline_total: int
    expected: float  # the count the baseline share predicts for this window's volume
    ratio: float  # observed rate ratio (inf when the baseline had none)
    dispersion: float  # variance / mean of the group's baseline counts (>= 1; 1: Poisson)
    p_value: float
    p_adjusted: float
    flagged: bool


def baseline_dispersion(counts: Sequence[int], totals: Sequence[int]) -> float:
    """A group's dispersion over its baseline windows, under a constant share of the volume.

    Pearson's X2 / (k - 1) over the k windows with volume, divided by Fletcher's
    1 + sum((y - mu) / mu) / (k - 1) = (sum(y / mu) - 1) / (k - 1), always positive: sum(mu) =
    sum(y), so sum(y / mu) >= sum(mu) / max(mu) > 1 when two windows have volume. Floored at 1;
    1 when it cannot be estimated: fewer than two windows with volume, or no count at all.
    """
    y, volume = np.asarray(counts, dtype=float), np.asarray(totals, dtype=float)
    with_volume = volume > 0
    y, volume = y[with_volume], volume[with_volume]
    df = len(y) - 1
    if df < 1 or y.sum() == 0:
        return 1.0
    mu = y.sum() / volume.sum() * volume
    pearson = float(np.sum((y - mu) ** 2 / mu)) / df
    fletcher = 1.0 + float(np.sum((y - mu) / mu)) / df
    dispersion = pearson / fletcher
    return dispersion if dispersion > 1.0 + POISSON_TOLERANCE else 1.0


def larger_p_value(
    count: int, total: int, baseline: int, baseline_total: int, dispersion: float
) -> float:
    """One-sided p-value of `count` in `total` against `baseline` in `baseline_total`.

    Conditional on n = count + baseline: binomial (statsmodels' exact-cond Poisson test) at
    dispersion 1, beta-binomial with the same mean and about `dispersion` times its variance
    above (the NB1 model of the module's docstring).
    """
    if dispersion <= 1.0 + POISSON_TOLERANCE:
        with np.errstate(divide="ignore"):  # a baseline of 0: statsmodels' ratio is inf
            result = test_poisson_2indep(
                count, total, baseline, baseline_total, method="exact-cond", alternative="larger"
            )
        return float(result.pvalue)
    n = count + baseline
    p0 = total / (total + baseline_total)
    scale = n / (dispersion - 1.0)
    # The upper tail summed term by term: betabinom.sf is 1 - cdf, which rounds to 0 below ~1e-16.
    tail = betabinom.pmf(np.arange(count, n + 1), n, scale * p0, scale * (1.0 - p0))
    return float(min(1.0, tail.sum()))


def score_window(
    counts: Mapping[str, Sequence[int]],
    totals: Sequence[int],
    index: int,
    config: SpikeConfig,
) -> list[SpikeTest]:
    """Test every group at window `index` against windows [index - baseline, index).

    `counts` maps group -> count per window and `totals` is the volume per window (same
    length). Each group's dispersion comes from its own baseline windows
    (`baseline_dispersion`). The family BH adjusts is every group seen in the window or its
    baseline; the
    `min_count` and `min_ratio` filters come after the adjustment (filtering the family by the
    window's own count first would leave only the groups that already look high, and BH over
    that smaller family would be too lax). A window without baseline volume tests nothing.
    """
    start = max(0, index - config.baseline_windows)
    total, baseline_total = int(totals[index]), int(sum(totals[start:index]))
    if total == 0 or baseline_total == 0:
        return []
    baseline_totals = totals[start:index]
    raw: list[tuple[str, int, int, float, float]] = []
    for group, series in counts.items():
        count, baseline = int(series[index]), int(sum(series[start:index]))
        if count == 0:  # p = 1 (cannot be larger); kept in the family
            raw.append((group, count, baseline, 1.0, 1.0))
            continue
        dispersion = baseline_dispersion(series[start:index], baseline_totals)
        p = larger_p_value(count, total, baseline, baseline_total, dispersion)
        raw.append((group, count, baseline, dispersion, p))
    if not raw:
        return []
    reject, adjusted, _, _ = multipletests(
        [p for *_, p in raw], alpha=config.alpha, method="fdr_bh"
    )
    tests = []
    for (group, count, baseline, dispersion, p), rejected, p_adj in zip(
        raw, reject, adjusted, strict=True
    ):
        expected = baseline * total / baseline_total
        ratio = (count / total) / (baseline / baseline_total) if baseline else math.inf
        tests.append(
            SpikeTest(
                group=group,
                count=count,
                total=total,
                baseline_count=baseline,
                baseline_total=baseline_total,
                expected=expected,
                ratio=ratio,
                dispersion=dispersion,
                p_value=p,
                p_adjusted=float(p_adj),
                flagged=bool(rejected) and count >= config.min_count and ratio >= config.min_ratio,
            )
        )
    return tests


@dataclass(frozen=True)
class Spike:
    """A group flagged at the analysed window, and the window its episode started in."""

    test: SpikeTest
    episode_start: int  # window index of the episode's first flagged window
    windows: int  # flagged windows so far in this episode
    capped: bool = False  # still flagged at the lookback's oldest window: it may be older


def episodes(
    counts: Mapping[str, Sequence[int]],
    totals: Sequence[int],
    index: int,
    config: SpikeConfig,
) -> list[Spike]:
    """The spikes at window `index`, each with the start of its episode.

    The windows before `index` are tested as they were when they were current (each against its
    own baseline), at most `lookback_windows` back: the cost is (lookback + 1) tests per group.
    An episode longer than the lookback is named by the oldest window looked at and marked
    `capped` (the caller checks whether it alerted already, see serving.complaint_analysis).
    """
    spikes = [t for t in score_window(counts, totals, index, config) if t.flagged]
    if not spikes:
        return []
    start = {t.group: index for t in spikes}
    following = set(start)
    oldest = max(0, index - config.lookback_windows)
    for earlier in range(index - 1, oldest - 1, -1):
        if not following:
            break
        # The family at that window was every group then (BH over fewer would be laxer).
        flagged = {t.group for t in score_window(counts, totals, earlier, config) if t.flagged}
        for group in list(following):
            if group in flagged:
                start[group] = earlier
            else:
                following.discard(group)
    return [
        Spike(t, start[t.group], index - start[t.group] + 1, capped=start[t.group] == oldest)
        for t in spikes
    ]
