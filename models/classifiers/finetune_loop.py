"""The training loop of the fine-tuned transformer classifier (plain torch, CPU-friendly).

AdamW with linear warm-up and decay, dynamic padding, class-weighted cross-entropy, periodic
evaluation on a validation split carved from the training data, early stopping on validation
macro-F1 (or loss), and a wall-clock budget: when the budget runs out training stops and the best
weights seen so far are kept. The best weights are held in memory, never written to disk.

Optionally the loop keeps an exponential moving average of the weights (torch's AveragedModel)
and evaluates and keeps that instead: on ~10k noisy labels, validation scores of the raw weights
swing by a point or two between evaluations, and the average smooths those swings out.

Optionally it keeps every evaluated checkpoint and returns a greedy weight soup instead of the
best one (Wortsman et al., 2022): checkpoints in order of validation score, each averaged in only
if the average's validation score does not drop. Checkpoints of one run share a basin, so their
average is a working network, and it costs nothing at inference.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from transformers import get_linear_schedule_with_warmup

logger = logging.getLogger(__name__)

_PROGRESS_EVERY = 50  # steps between progress lines
_BUCKET_POOL_BATCHES = 50  # batches per length-sorted pool (see epoch_batches)


@dataclass(frozen=True)
class LoopSettings:
    """What the loop needs from the classifier's config (kept separate to stay testable)."""

    batch_size: int
    eval_batch_size: int
    learning_rate: float
    new_token_learning_rate: float | None  # None = learning_rate
    weight_decay: float
    epochs: int
    warmup_ratio: float
    evaluations_per_epoch: int
    patience: int
    early_stopping_metric: str  # "macro_f1" or "loss"
    ema_decay: float | None  # None = evaluate and keep the raw weights
    weight_soup: bool  # keep a greedy soup of the evaluated checkpoints instead of the best
    time_budget_seconds: float | None
    max_steps: int | None
    seed: int


@dataclass
class LoopHistory:
    """What happened during training, for logs and MLflow."""

    steps: int = 0
    best_step: int = 0
    best_score: float = -math.inf
    soup_steps: list[int] = field(default_factory=list)  # checkpoints averaged (weight_soup)
    stopped_because: str = "completed all epochs"
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # process CPU time: comparable across busy and idle machines
    evaluations: list[dict[str, float]] = field(default_factory=list)


Batch = dict[str, torch.Tensor]
Batcher = Callable[[list[int]], Batch]


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """'Balanced' weights n / (k * count_c), as scikit-learn computes them."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = len(labels) / (n_classes * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32)


def predict_logits(
    network: nn.Module, rows: list[int], batcher: Batcher, batch_size: int
) -> np.ndarray:
    """Logits for example `rows`, in `rows` order, without gradients."""
    network.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            batch = batcher(rows[start : start + batch_size])
            outputs.append(network(batch["input_ids"], batch["attention_mask"]).float().numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0, 0), dtype=np.float32)


def train_loop(
    network: nn.Module,
    batcher: Batcher,
    train_rows: list[int],
    train_labels: np.ndarray,
    valid_rows: list[int],
    valid_labels: np.ndarray,
    loss_weights: torch.Tensor | None,
    settings: LoopSettings,
    lengths: list[int] | None = None,
) -> LoopHistory:
    """Train `network` in place; on return it holds the best weights seen on validation.

    `lengths` (tokens per training row, in `train_rows` order) turns on length bucketing.
    """
    started, cpu_started = time.monotonic(), time.process_time()
    generator = torch.Generator().manual_seed(settings.seed)
    steps_per_epoch = math.ceil(len(train_rows) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    if settings.max_steps is not None:
        total_steps = min(total_steps, settings.max_steps)
    eval_every = max(1, steps_per_epoch // max(1, settings.evaluations_per_epoch))
    optimizer = torch.optim.AdamW(_parameter_groups(network, settings), lr=settings.learning_rate)
    schedule = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup_ratio * total_steps), total_steps
    )
    loss_function = nn.CrossEntropyLoss(weight=loss_weights)
    labels_tensor = torch.as_tensor(train_labels, dtype=torch.long)
    history = LoopHistory()
    averaged = _moving_average(network, settings.ema_decay)
    evaluated = network if averaged is None else averaged.module
    best_state = copy.deepcopy(evaluated.state_dict())
    checkpoints: list[tuple[float, int, dict[str, torch.Tensor]]] = []  # weight_soup only
    stale_evaluations = 0
    logger.info(
        "fine-tuning: %d train / %d validation examples, %d steps max (%d per epoch)",
        len(train_rows),
        len(valid_rows),
        total_steps,
        steps_per_epoch,
    )
    while True:
        for positions in epoch_batches(len(train_rows), settings.batch_size, generator, lengths):
            network.train()
            batch = batcher([train_rows[p] for p in positions])
            logits = network(batch["input_ids"], batch["attention_mask"])
            loss = loss_function(logits, labels_tensor[positions])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            if averaged is not None:
                averaged.update_parameters(network)
            history.steps += 1
            if history.steps % _PROGRESS_EVERY == 0:
                elapsed = time.monotonic() - started
                logger.info(
                    "step %d/%d: train loss %.4f, %.2f s/step",
                    history.steps,
                    total_steps,
                    float(loss.item()),
                    elapsed / history.steps,
                )
            finished = history.steps >= total_steps
            budget = settings.time_budget_seconds
            out_of_time = budget is not None and time.monotonic() - started > budget
            if history.steps % eval_every == 0 or finished or out_of_time:
                score = _evaluate(
                    evaluated,
                    batcher,
                    valid_rows,
                    valid_labels,
                    settings,
                    history,
                    float(loss.item()),
                    started,
                )
                improved = score > history.best_score
                if improved or settings.weight_soup:
                    state = copy.deepcopy(evaluated.state_dict())
                    if settings.weight_soup:
                        checkpoints.append((score, history.steps, state))
                    if improved:
                        history.best_score, history.best_step = score, history.steps
                        best_state = state
                if improved:
                    stale_evaluations = 0
                else:
                    stale_evaluations += 1
            if out_of_time and not finished:
                history.stopped_because = f"time budget of {budget:.0f} s reached"
            elif stale_evaluations >= settings.patience and not finished:
                history.stopped_because = (
                    f"early stop: validation {settings.early_stopping_metric} did not improve "
                    f"in {settings.patience} evaluations"
                )
            elif not finished:
                continue
            if settings.weight_soup:
                best_state = greedy_soup(
                    evaluated, checkpoints, batcher, valid_rows, valid_labels, settings, history
                )
            network.load_state_dict(best_state)
            history.seconds = time.monotonic() - started
            history.cpu_seconds = time.process_time() - cpu_started
            logger.info(
                "fine-tuning stopped (%s) after %d steps in %.0f s (%.0f CPU s); best at step %d",
                history.stopped_because,
                history.steps,
                history.seconds,
                history.cpu_seconds,
                history.best_step,
            )
            return history


def average_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The uniform average of state dicts of one architecture (integer buffers: the first's)."""
    averaged = {}
    for name, first in states[0].items():
        if first.is_floating_point():
            averaged[name] = torch.stack([state[name] for state in states]).mean(dim=0)
        else:
            averaged[name] = first
    return averaged


def greedy_soup(
    network: nn.Module,
    checkpoints: list[tuple[float, int, dict[str, torch.Tensor]]],
    batcher: Batcher,
    valid_rows: list[int],
    valid_labels: np.ndarray,
    settings: LoopSettings,
    history: LoopHistory,
) -> dict[str, torch.Tensor]:
    """Wortsman et al.'s greedy soup of (score, step, state) checkpoints, chosen on validation.

    The best checkpoint starts the soup; the others, best first, join it when the average's
    validation score is at least the soup's so far. With one checkpoint it is that checkpoint.
    """
    ranked = sorted(checkpoints, key=lambda c: -c[0])
    score, step, state = ranked[0]
    members, soup = [state], state
    history.soup_steps = [step]
    for candidate_score, candidate_step, candidate in ranked[1:]:
        trial = average_states([*members, candidate])
        network.load_state_dict(trial)
        trial_score = validation_score(network, batcher, valid_rows, valid_labels, settings)
        joined = trial_score >= score
        logger.info(
            "weight soup: step %d (alone %.4f) %s, soup of %d scores %.4f against %.4f",
            candidate_step,
            candidate_score,
            "joins" if joined else "left out",
            len(members) + 1,
            trial_score,
            score,
        )
        if joined:
            members.append(candidate)
            soup, score = trial, trial_score
            history.soup_steps.append(candidate_step)
    history.best_score = score
    return soup


def _moving_average(network: nn.Module, decay: float | None) -> AveragedModel | None:
    if decay is None:
        return None
    return AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(decay))


def epoch_batches(
    n_rows: int, batch_size: int, generator: torch.Generator, lengths: list[int] | None
) -> list[list[int]]:
    """One epoch of batches of row positions, in random order.

    With `lengths`, rows are shuffled, cut into pools of 50 batches, sorted by length within each
    pool and batched, and the batches shuffled: batches hold similar lengths, so dynamic padding
    wastes little compute (about a quarter of each step on tweets), while the randomness across
    pools keeps the gradient noise of plain shuffling.
    """
    order = torch.randperm(n_rows, generator=generator).tolist()
    if lengths is None:
        return [order[i : i + batch_size] for i in range(0, n_rows, batch_size)]
    pool = batch_size * _BUCKET_POOL_BATCHES
    batches = []
    for start in range(0, n_rows, pool):
        chunk = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def _evaluate(
    network: nn.Module,
    batcher: Batcher,
    valid_rows: list[int],
    valid_labels: np.ndarray,
    settings: LoopSettings,
    history: LoopHistory,
    train_loss: float,
    started: float,
) -> float:
    """Score the network on validation, record it, and return the early-stopping score."""
    valid_loss, accuracy, macro_f1 = _validation_metrics(
        network, batcher, valid_rows, valid_labels, settings
    )
    record = {
        "step": float(history.steps),
        "train_loss": train_loss,
        "valid_loss": valid_loss,
        "valid_accuracy": accuracy,
        "valid_macro_f1": macro_f1,
        "elapsed_seconds": time.monotonic() - started,
    }
    history.evaluations.append(record)
    logger.info(
        "step %d: train loss %.4f, valid loss %.4f, acc %.4f, macro-F1 %.4f (%.0f s)",
        history.steps,
        train_loss,
        valid_loss,
        accuracy,
        macro_f1,
        record["elapsed_seconds"],
    )
    return _early_stopping_score(settings, valid_loss, macro_f1)


def validation_score(
    network: nn.Module,
    batcher: Batcher,
    valid_rows: list[int],
    valid_labels: np.ndarray,
    settings: LoopSettings,
) -> float:
    """The early-stopping score (macro-F1, or minus the loss) of `network` on validation."""
    valid_loss, _, macro_f1 = _validation_metrics(
        network, batcher, valid_rows, valid_labels, settings
    )
    return _early_stopping_score(settings, valid_loss, macro_f1)


def _early_stopping_score(settings: LoopSettings, valid_loss: float, macro_f1: float) -> float:
    """Higher is better: macro-F1, or minus the validation loss."""
    return macro_f1 if settings.early_stopping_metric == "macro_f1" else -valid_loss


def _validation_metrics(
    network: nn.Module,
    batcher: Batcher,
    valid_rows: list[int],
    valid_labels: np.ndarray,
    settings: LoopSettings,
) -> tuple[float, float, float]:
    """(loss, accuracy, macro-F1) on the validation rows."""
    logits = predict_logits(network, valid_rows, batcher, settings.eval_batch_size)
    valid_loss = float(
        nn.functional.cross_entropy(torch.as_tensor(logits), torch.as_tensor(valid_labels)).item()
    )
    predicted = logits.argmax(axis=1)
    macro_f1 = float(f1_score(valid_labels, predicted, average="macro"))
    return valid_loss, float(np.mean(predicted == valid_labels)), macro_f1


def _parameter_groups(network: nn.Module, settings: LoopSettings) -> list[dict[str, object]]:
    """No weight decay on biases and LayerNorm weights (standard BERT fine-tuning practice).

    Embeddings of tokens added for this task (`new_tokens`) start from the table's mean and have
    everything to learn, so they may get their own, larger learning rate.
    """
    decay, no_decay, new = [], [], []
    for name, parameter in network.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("new_tokens."):
            new.append(parameter)
        elif name.endswith("bias") or "LayerNorm" in name:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups: list[dict[str, object]] = [
        {"params": decay, "weight_decay": settings.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if new:
        rate = settings.new_token_learning_rate or settings.learning_rate
        groups.append({"params": new, "weight_decay": 0.0, "lr": rate})
    return groups
