"""Guardrail metrics of the promotion gate: what a candidate may not lose while it wins.

The gate (`training.promotion.gate`) promotes a candidate whose primary metric is at least the
champion's. A primary metric alone lets a model through that wins it by a hair while something
users feel collapses: a recommender whose NDCG@10 rises by 0.001 while its lists shrink to the
blockbusters, a triage model whose macro-F1 rises while it routes many more tickets wrongly. A
guard names another metric the version carries (tag `agora.metric.<name>`) and how far it may
move the wrong way; the gate refuses a candidate that breaks one.

Only metrics the pipelines record on every version are guarded by default (see `DEFAULT_GUARDS`).
A guard whose metric one of the two versions lacks is skipped, and the promotion's reason says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from training.tracking import metric_key

# Metrics whose wrong way is up. ECE: calibration error. arp/pop_percentile: the popularity of
# what is recommended, where a rise is a slide towards the blockbusters. Every other metric the
# pipelines record (NDCG, recall, coverage, accuracy, macro-F1, ...) is better higher.
_LOWER_IS_BETTER = re.compile(r"^(ece|arp_at_\d+|pop_percentile_at_\d+)$")
TAG_GUARD_PREFIX = "agora.guard."  # per guard a promotion checked: both values, the allowance
TAG_GUARDS = "agora.guards"  # what a promotion did about guards: checked, skipped, or off
_EPSILON = 1e-12  # values round-trip through repr(float); this only absorbs subtraction's rounding


@dataclass(frozen=True)
class Guard:
    """`metric` may move the wrong way by at most `allowed_drop`: in metric units, or, when
    `relative`, as a fraction of the champion's value."""

    metric: str
    allowed_drop: float
    relative: bool = False

    def __post_init__(self) -> None:
        if not self.metric:
            raise ValueError("a guard needs a metric name")
        if not math.isfinite(self.allowed_drop) or self.allowed_drop < 0:
            raise ValueError(f"a guard's allowed drop must be >= 0, got {self.allowed_drop}")

    @property
    def lower_is_better(self) -> bool:
        return bool(_LOWER_IS_BETTER.match(self.metric))

    def allowance(self, champion_value: float) -> float:
        """How far (in metric units) the candidate may be on the wrong side of `champion_value`."""
        return self.allowed_drop * abs(champion_value) if self.relative else self.allowed_drop

    def describe(self) -> str:
        """'may drop 20%', 'may rise 0.02': the allowance as the user would state it."""
        way = "rise" if self.lower_is_better else "drop"
        amount = f"{self.allowed_drop * 100:g}%" if self.relative else f"{self.allowed_drop:g}"
        return f"may {way} {amount}"


# Per model family (the `agora.family` tag). "{k}" is the cut-off of the recommender's primary
# metric (ndcg_at_10 -> 10): its other metrics at k are recorded under the same cut-off.
DEFAULT_GUARDS: Mapping[str, tuple[Guard, ...]] = {
    "recommender": (
        # Catalog coverage: the share of the catalog some user is shown. It is what collapses
        # when a model ranks the blockbusters first for everyone (the feed, and the creators
        # outside the head, lose). Relative, since its scale differs by catalog; 20% lets
        # one strong model kind replace another and refuses a slide towards popularity (the
        # README has the figures it was chosen by).
        Guard("coverage_at_{k}", 0.20, relative=True),
        # Recall: how many of the held-out items a list finds. NDCG can rise by re-ordering the
        # hits while fewer are found; the two move together, so 5% relative is a real loss.
        Guard("recall_at_{k}", 0.05, relative=True),
    ),
    "triage": (
        # The triage primary is macro-F1, which can rise by trading the majority classes' right
        # answers for a minority class's: 2 points of accuracy is the price accepted for that,
        # more is many tickets routed wrongly. (Should the primary be accuracy, the macro-F1
        # guard covers the reverse trade; the guard on the primary itself is dropped.)
        Guard("accuracy", 0.02),
        Guard("macro_f1", 0.02),
        # Expected calibration error: an answer's confidence band and the "unsure" reason and
        # category are read from the probabilities; 0.02 worse moves answers across them.
        Guard("ece", 0.02),
    ),
}


def default_guards(family: str | None, primary_metric: str | None) -> tuple[Guard, ...]:
    """The family's default guards, at the primary metric's cut-off, without the primary."""
    cutoff = re.search(r"_at_(\d+)$", primary_metric or "")
    guards = []
    for guard in DEFAULT_GUARDS.get(family or "", ()):
        if "{k}" in guard.metric:
            if cutoff is None:
                continue  # no cut-off to read the metric at: the primary is not a metric@k
            guard = Guard(
                guard.metric.format(k=cutoff.group(1)), guard.allowed_drop, guard.relative
            )
        if guard.metric != primary_metric:
            guards.append(guard)
    return tuple(guards)


def with_overrides(defaults: Iterable[Guard], overrides: Iterable[Guard]) -> tuple[Guard, ...]:
    """`defaults` with each override replacing the default on its metric, or added."""
    merged = {guard.metric: guard for guard in defaults}
    merged.update({guard.metric: guard for guard in overrides})
    return tuple(merged.values())


def parse_guard(spec: str) -> Guard:
    """'coverage@10=20%' (relative) or 'ece=0.02' (metric units) -> a Guard; ValueError with a
    sentence otherwise. '@' is read as MLflow's '_at_', as the tags spell it."""
    metric, sep, drop = spec.partition("=")
    metric = metric_key(metric.strip())
    drop = drop.strip()
    relative = drop.endswith("%")
    try:
        value = float(drop.removesuffix("%"))
    except ValueError:
        value = math.nan
    if not sep or not metric or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"--guard '{spec}' is not METRIC=DROP with DROP a number >= 0, in metric units "
            "(accuracy=0.02) or in percent of the champion's value (coverage_at_10=20%)"
        )
    return Guard(metric, value / 100 if relative else value, relative)


@dataclass(frozen=True)
class GuardResult:
    """One guard applied to the two versions' values."""

    guard: Guard
    candidate: float
    champion: float

    @property
    def limit(self) -> float:
        """The worst value the candidate may have."""
        allowance = self.guard.allowance(self.champion)
        return self.champion + (allowance if self.guard.lower_is_better else -allowance)

    @property
    def held(self) -> bool:
        if self.guard.lower_is_better:
            return self.candidate <= self.limit + _EPSILON
        return self.candidate >= self.limit - _EPSILON


@dataclass(frozen=True)
class GuardCheck:
    """The guards applied to candidate and champion (`results`) and those skipped, with why
    (`skipped`: metric -> why)."""

    candidate_version: str
    champion_version: str
    results: tuple[GuardResult, ...]
    skipped: tuple[tuple[str, str], ...]

    @property
    def broken(self) -> tuple[GuardResult, ...]:
        return tuple(result for result in self.results if not result.held)

    def _compared(self, result: GuardResult) -> str:
        return (
            f"{result.guard.metric} {result.candidate:.4f} (v{self.candidate_version}) vs "
            f"{result.champion:.4f} (champion v{self.champion_version}), {result.guard.describe()}"
        )

    def refusal(self) -> str:
        """What the broken guards are: metric, both values, the allowance and the limit."""
        return "; ".join(
            f"the {r.guard.metric} guard: {self._compared(r)} "
            f"(allowed {r.guard.allowance(r.champion):.4f}, to {r.limit:.4f})"
            for r in self.broken
        )

    def account(self) -> str:
        """For the promotion's reason: which guards held (both values), which were skipped, why."""
        if not self.results and not self.skipped:
            return "no guards"
        parts = []
        if self.results:
            parts.append("guards held: " + ", ".join(map(self._compared, self.results)))
        if self.skipped:
            parts.append("guards skipped: " + ", ".join(f"{m} ({why})" for m, why in self.skipped))
        return "; ".join(parts)

    def tags(self, off: str | None = None) -> dict[str, str]:
        """One tag per guard checked (both values, the allowance) and a summary of them all;
        `off` names the flag that turned the guards off (`--no-guards`, `--force`)."""
        tags = {
            TAG_GUARD_PREFIX + r.guard.metric: (
                f"{r.candidate!r} vs champion {r.champion!r}, {r.guard.describe()}: held"
            )
            for r in self.results
        }
        names = ", ".join(r.guard.metric for r in self.results) or "none"
        summary = f"off ({off})" if off else f"checked: {names}"
        if self.skipped:
            summary += "; skipped: " + ", ".join(f"{m} ({why})" for m, why in self.skipped)
        return {**tags, TAG_GUARDS: summary}


def check_guards(
    guards: Sequence[Guard],
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    candidate_version: str,
    champion_version: str,
) -> GuardCheck:
    """Each guard on the two versions' metrics, evaluated on the same data; a metric one of
    them lacks is skipped with the reason. `champion` None: the champion was re-scored without
    its guard metrics, and every guard is skipped."""
    results, skipped = [], []
    for guard in guards:
        if champion is None:
            skipped.append((guard.metric, "the re-scored champion has no figure for it"))
            continue
        missing = [
            who
            for who, metrics in (
                (f"the candidate v{candidate_version}", candidate),
                (f"champion v{champion_version}", champion),
            )
            if guard.metric not in metrics
        ]
        if missing:
            skipped.append((guard.metric, f"not recorded for {' nor '.join(missing)}"))
            continue
        results.append(GuardResult(guard, candidate[guard.metric], champion[guard.metric]))
    return GuardCheck(candidate_version, champion_version, tuple(results), tuple(skipped))
