"""Choosing an English sentiment champion for transfer and speed, within a time budget.

Candidates are trained cheapest first on the same split, each evaluated in domain (the split's
test part), out of domain (`transfer`), and for speed (texts per second on one core: a service
runs one worker per core). The champion is the candidate that transfers best among those meeting
the in-domain bar and the speed floor. If none meets the bar, the fast enough candidates whose
in-domain macro-F1 is within one standard error of the best one's are treated as tied (on the
airline test part that is 0.7 point, as far as two fine-tuning seeds land apart), and the one of
them that transfers best is chosen; the reason says which case it was. Every candidate is logged
and registered with those figures, so the choice can be checked in MLflow.

The ensemble candidate reuses the fitted fine-tune and TF-IDF members rather than training them
again. The seeded ensemble candidate adds a fine-tune for each other seed of the config's
ensemble (`finetune_seeds`) that the budget leaves time for: on airline the same in domain, far
better out of it (transfer 0.858 -> 0.940: TF-IDF then has a third of the weight), but slower to
serve (README, "A second seed"), so a CPU too slow for it still has the one-seed ensemble.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from features.text_splits import Task, TextSplit, load_split
from models.classifiers.base import TextClassifier
from models.classifiers.ensemble import EnsembleClassifier
from models.classifiers.finetune import FineTunedClassifier
from models.classifiers.finetune_soup import SoupMismatchError, seed_soup
from models.classifiers.onnx_runner import inference_threads, set_inference_threads
from training.triage.config import TriageConfig
from training.triage.pipeline import (
    TrainedTriageModel,
    TriageRunResult,
    evaluate,
    fit_and_evaluate,
    model_inputs,
    register_trained,
)
from training.triage.transfer import TransferCheck, TransferReport, score_transfer

logger = logging.getLogger(__name__)

# The fine-tune and TF-IDF averaged, and the same with the fine-tunes of the config ensemble's
# other seeds (`finetune_seeds`) as the budget leaves time for: it transfers better, but each
# seed costs another fine-tune's time to train and, for the texts the early exit leaves, to serve.
SEEDED_ENSEMBLE = "ensemble-seeds"
# The same fine-tunes' weights averaged into one network (`models.classifiers.finetune_soup`):
# one fine-tune's serving cost, and on airline the seeded ensemble's validation score.
SEED_SOUP = "finetune-soup"
CANDIDATES = ("tfidf", "finetune", "ensemble", SEEDED_ENSEMBLE, SEED_SOUP)
THROUGHPUT_TEXTS = 1024
_BATCH = 64
# A fine-tune needs a few minutes to beat TF-IDF; below this much budget it is not started.
MIN_FINETUNE_MINUTES = 4.0
# Exporting, quantising and scoring a fine-tune after its loop: kept out of its loop's budget.
FINETUNE_OVERHEAD_MINUTES = 1.0


@dataclass(frozen=True)
class SelectionPolicy:
    """What a champion must reach: the in-domain bar and texts per second on one core."""

    min_accuracy: float = 0.84
    min_macro_f1: float = 0.80
    min_texts_per_second: float = 250.0  # per core: 500 on a 2-core service
    budget_minutes: float = 20.0

    def describe(self) -> str:
        return (
            f"accuracy >= {self.min_accuracy:.2f}, macro-F1 >= {self.min_macro_f1:.2f}, "
            f">= {self.min_texts_per_second:.0f} texts/s per core"
        )


@dataclass(frozen=True)
class Candidate:
    """One trained, evaluated and registered candidate."""

    kind: str
    run: TriageRunResult
    texts_per_second: float
    transfer: TransferReport

    @property
    def accuracy(self) -> float:
        return self.run.trained.report.accuracy

    @property
    def macro_f1(self) -> float:
        return self.run.trained.report.macro_f1

    @property
    def standard_error(self) -> float:
        """One standard error of the test accuracy: how far apart two models can land by chance."""
        report = self.run.trained.report
        return float(np.sqrt(report.accuracy * (1 - report.accuracy) / max(report.n, 1)))

    def meets_bar(self, policy: SelectionPolicy) -> bool:
        return self.accuracy >= policy.min_accuracy and self.macro_f1 >= policy.min_macro_f1

    def fast_enough(self, policy: SelectionPolicy) -> bool:
        return self.texts_per_second >= policy.min_texts_per_second

    def describe(self) -> str:
        exits = self.run.extra_metrics.get("ensemble_exit_share")
        return (
            f"{self.kind:<14} v{self.run.version}: accuracy {self.accuracy:.4f}, macro-F1 "
            f"{self.macro_f1:.4f}, {self.texts_per_second:,.0f} texts/s per core, "
            f"{self.transfer.describe()}"
            + (
                ""
                if exits is None
                else f"; early exit on {exits:.0%} of the test texts, changing "
                f"{self.run.extra_metrics['ensemble_exit_changed']:.0f} answers"
            )
        )


@dataclass(frozen=True)
class Selection:
    chosen: Candidate
    reason: str
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # kinds not trained, with why


def choose(candidates: Sequence[Candidate], policy: SelectionPolicy) -> tuple[Candidate, str]:
    """The champion among `candidates` and one sentence saying why."""
    if not candidates:
        raise ValueError("no candidates to choose from")
    fast = [c for c in candidates if c.fast_enough(policy)]
    good = [c for c in fast if c.meets_bar(policy)]
    if good:
        best = max(good, key=lambda c: (c.transfer.score, c.macro_f1))
        others = [c.kind for c in good if c is not best]
        return best, (
            f"{best.kind} transfers best ({best.transfer.score:.3f}) among the candidates "
            f"meeting {policy.describe()}"
            + (f" (also meeting it: {', '.join(others)})" if others else " (the only one)")
        )
    if fast:
        # In-domain differences within the test's noise are ties; transfer decides between them.
        leader = max(fast, key=lambda c: c.macro_f1)
        margin = leader.standard_error
        tied = [c for c in fast if c.macro_f1 >= leader.macro_f1 - margin]
        best = max(tied, key=lambda c: (c.transfer.score, c.macro_f1))
        if len(tied) == 1:
            return best, (
                f"no candidate met {policy.describe()}; {best.kind} has the best in-domain "
                f"macro-F1 ({best.macro_f1:.4f}) among those fast enough, and no other is within "
                f"one standard error ({margin * 100:.1f} points) of it"
            )
        return best, (
            f"no candidate met {policy.describe()}; among those fast enough, "
            f"{', '.join(c.kind for c in tied)} are within one standard error "
            f"({margin * 100:.1f} points) of the best in-domain macro-F1 "
            f"({leader.macro_f1:.4f}, {leader.kind}), and {best.kind} transfers best of them "
            f"({best.transfer.score:.3f})"
        )
    best = max(candidates, key=lambda c: c.texts_per_second)
    return best, (
        f"no candidate reached {policy.min_texts_per_second:.0f} texts/s per core; "
        f"{best.kind} is the fastest ({best.texts_per_second:,.0f})"
    )


def texts_per_second(classifier: TextClassifier, texts: Sequence[str]) -> float:
    """Texts per second on one core (one inference thread), batches of 64, after a warm-up."""
    sample = list(texts[:THROUGHPUT_TEXTS])
    previous = inference_threads()
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    set_inference_threads(1)
    if torch is not None:
        torch.set_num_threads(1)
    try:
        classifier.predict_proba(sample[:_BATCH])
        started = time.perf_counter()
        for start in range(0, len(sample), _BATCH):
            classifier.predict_proba(sample[start : start + _BATCH])
        return len(sample) / (time.perf_counter() - started)
    finally:
        set_inference_threads(previous)
        if torch is not None and torch_threads is not None:
            torch.set_num_threads(torch_threads)


def select_sentiment_champion(
    dataset: str,
    config: TriageConfig,
    checks: Sequence[TransferCheck],
    name: str,
    policy: SelectionPolicy,
    say: Callable[[str], None] = logger.info,
    kinds: Sequence[str] = CANDIDATES,
    split: TextSplit | None = None,
) -> Selection:
    """Train, evaluate and register each of `kinds` under `name`; choose the champion.

    Tracking must be configured. Nothing is promoted here: the caller promotes `chosen`.
    """
    started = time.monotonic()
    split = split or load_split(dataset, Task.SENTIMENT)
    config = config.for_task(Task.SENTIMENT)
    fitted: dict[str, TrainedTriageModel] = {}
    candidates: list[Candidate] = []
    skipped: list[str] = []

    def minutes_left() -> float:
        return policy.budget_minutes - (time.monotonic() - started) / 60

    def add(trained: TrainedTriageModel, kind: str | None = None) -> None:
        candidate = _register(trained, config, name, checks, kind)
        fitted[candidate.kind] = trained
        candidates.append(candidate)
        say(f"   candidate {candidate.describe()}")

    other_seeds: list[TrainedTriageModel] | None = None

    def other_seed_tunes() -> list[TrainedTriageModel]:
        """The fine-tunes of the config ensemble's other seeds, trained once on first need (as
        the budget allows). Members only, not candidates: a second seed alone is the first
        one's equal by design. Each needs as long as the first took: a seed cut short by the
        budget would be a weaker member than the one it is averaged with."""
        nonlocal other_seeds
        if other_seeds is None:
            other_seeds = []
            first_minutes = fitted["finetune"].fit_seconds / 60
            for seed in config.ensemble.finetune_seeds:
                if seed != config.finetune.seed:
                    other = _fine_tune(split, config, seed, minutes_left(), skipped, first_minutes)
                    if other is not None:
                        say(f"   ensemble member: {_describe_member(other, seed)}")
                        other_seeds.append(other)
        return other_seeds

    for kind in kinds:
        if kind == "tfidf":
            add(fit_and_evaluate("tfidf", split, config))
        elif kind == "finetune":
            tuned = _fine_tune(split, config, config.finetune.seed, minutes_left(), skipped)
            if tuned is not None:
                add(tuned)
        elif kind in ("ensemble", SEEDED_ENSEMBLE):
            if "finetune" not in fitted or "tfidf" not in fitted:
                skipped.append(f"{kind}: needs the fine-tune and TF-IDF candidates")
                continue
            tunes = [fitted["finetune"].classifier]
            if kind == SEEDED_ENSEMBLE:
                tunes += [other.classifier for other in other_seed_tunes()]
                if len(tunes) == 1:
                    skipped.append(f"{kind}: no fine-tune of another seed (see above)")
                    continue
            members = [*tunes, fitted["tfidf"].classifier]
            early_exit = config.ensemble.early_exit_for([m.model_type for m in members])
            # Equal weights, as the default ensemble.
            ensemble = EnsembleClassifier(members, early_exit=early_exit)
            ensemble.set_text_config(config.text)
            add(evaluate("ensemble", ensemble, split), kind)
        elif kind == SEED_SOUP:
            if "finetune" not in fitted:
                skipped.append(f"{kind}: needs the fine-tune candidate")
                continue
            others = other_seed_tunes()
            if not others:
                skipped.append(f"{kind}: no fine-tune of another seed (see above)")
                continue
            soup = _seed_soup(fitted["finetune"], others, split, skipped)
            if soup is not None:
                add(soup, kind)
        else:
            raise ValueError(f"unknown candidate kind {kind!r}; known: {', '.join(CANDIDATES)}")
    chosen, reason = choose(candidates, policy)
    return Selection(chosen, reason, candidates, skipped)


def _fine_tune(
    split: TextSplit,
    config: TriageConfig,
    seed: int,
    left: float,
    skipped: list[str],
    needs_minutes: float = MIN_FINETUNE_MINUTES,
) -> TrainedTriageModel | None:
    """A fine-tune with `seed` within the `left` minutes, or None (and why, in `skipped`) when
    they leave less than `needs_minutes` (at least MIN_FINETUNE_MINUTES) for its loop."""
    loop_budget = left - FINETUNE_OVERHEAD_MINUTES
    needs = max(needs_minutes, MIN_FINETUNE_MINUTES)
    if loop_budget < needs:
        skipped.append(
            f"finetune (seed {seed}): {max(left, 0.0):.1f} of the budget's minutes left, it "
            f"needs {needs + FINETUNE_OVERHEAD_MINUTES:.3g}"
        )
        return None
    own = config.finetune.time_budget_minutes or loop_budget
    # every seed carves the same validation rows, so that their fine-tunes can be averaged
    section = config.finetune.model_copy(
        update={
            "time_budget_minutes": min(own, loop_budget),
            "seed": seed,
            "validation_seed": config.finetune.carve_seed,
        }
    )
    return fit_and_evaluate("finetune", split, config.model_copy(update={"finetune": section}))


def _seed_soup(
    first: TrainedTriageModel,
    others: Sequence[TrainedTriageModel],
    split: TextSplit,
    skipped: list[str],
) -> TrainedTriageModel | None:
    """The fine-tunes' weights averaged, evaluated on the test part; None (and why) when they
    cannot be averaged."""
    text = first.classifier.text_config
    tunes = [first.classifier, *(other.classifier for other in others)]
    networks = [tune for tune in tunes if isinstance(tune, FineTunedClassifier)]
    if len(networks) != len(tunes):
        skipped.append(f"{SEED_SOUP}: the fine-tunes are not fine-tuned networks")
        return None
    started = time.perf_counter()
    try:
        soup = seed_soup(networks, model_inputs(split.train_texts, text), split.train_labels)
    except SoupMismatchError as error:
        skipped.append(f"{SEED_SOUP}: {error}")
        return None
    if text is not None:
        soup.set_text_config(text)
    return evaluate("finetune", soup, split, time.perf_counter() - started)


def _describe_member(trained: TrainedTriageModel, seed: int) -> str:
    report = trained.report
    return (
        f"finetune seed {seed}: accuracy {report.accuracy:.4f}, macro-F1 {report.macro_f1:.4f} "
        f"(fit {trained.fit_seconds / 60:.1f} min)"
    )


def _register(
    trained: TrainedTriageModel,
    config: TriageConfig,
    name: str,
    checks: Sequence[TransferCheck],
    kind: str | None = None,
) -> Candidate:
    classifier, text = trained.classifier, trained.classifier.text_config
    speed = texts_per_second(classifier, model_inputs(trained.split.test_texts, text))
    transfer = score_transfer(classifier, checks, lambda texts: model_inputs(texts, text))
    metrics = {
        "texts_per_second_one_core": speed,
        **{f"transfer_{check}": value for check, value in transfer.scores.items()},
    }
    if transfer.scores:  # no checks available: nothing measured, nothing logged
        metrics["transfer_score"] = transfer.score
    run = register_trained(trained, config, name, metrics)
    return Candidate(kind or trained.model, run, speed, transfer)
