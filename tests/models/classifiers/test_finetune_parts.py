"""Pieces of the fine-tuned classifier, tested on a tiny random BERT (no pretrained weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

from features.embeddings import DEFAULT_ENCODER, resolve_encoder_path
from models.classifiers.finetune import MeanPoolingClassifier
from models.classifiers.finetune_loop import LoopSettings, class_weights, epoch_batches, train_loop
from models.classifiers.vocabulary import unknown_characters


def _tiny_network(n_classes: int = 2) -> MeanPoolingClassifier:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    return MeanPoolingClassifier(BertModel(config), n_classes, dropout=0.0)


def _batcher(rows: list[int], new_token: int = 5) -> dict[str, torch.Tensor]:
    """Even rows and odd rows use different token ids: a separable two-class task."""
    ids = torch.tensor([[1 + (r % 2), 3 + (r % 2), new_token if r % 2 else 5] for r in rows])
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def test_new_token_embeddings_merge_without_changing_outputs() -> None:
    network = _tiny_network()
    network.add_tokens(10, seed=0)  # ids 40..49
    network.eval()
    batch = _batcher([0, 1, 2, 3], new_token=45)
    before = network(**batch)
    network.merge_new_tokens()
    assert network.new_tokens is None
    assert network.encoder.get_input_embeddings().weight.shape[0] == 50
    torch.testing.assert_close(network(**batch), before)


def test_unknown_characters_are_the_frequent_unk_ones() -> None:
    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder_path(DEFAULT_ENCODER))
    # 这 and 店 are not in bert-base-uncased's vocabulary, 家 is; 😡 appears only twice.
    found = unknown_characters(tokenizer, ["这家店 这家店 这家店 😡😡"], min_count=3)
    assert found == ["店", "这"]
    assert unknown_characters(tokenizer, ["这家店 这家店 这家店 😡😡"], min_count=2)[-1] == "😡"


def test_balanced_class_weights_by_hand() -> None:
    # n = 4, k = 2: class 0 (3 rows) -> 4 / (2 * 3), class 1 (1 row) -> 4 / (2 * 1)
    torch.testing.assert_close(class_weights(np.array([0, 0, 0, 1]), 2), torch.tensor([2 / 3, 2.0]))


def _settings(**changes: object) -> LoopSettings:
    values: dict[str, object] = dict(
        batch_size=4,
        eval_batch_size=8,
        learning_rate=1e-2,
        new_token_learning_rate=None,
        weight_decay=0.0,
        epochs=10,
        warmup_ratio=0.0,
        evaluations_per_epoch=1,
        patience=100,
        early_stopping_metric="loss",
        ema_decay=None,
        weight_soup=False,
        time_budget_seconds=None,
        max_steps=None,
        seed=0,
    )
    values.update(changes)
    return LoopSettings(**values)  # type: ignore[arg-type]


def test_loop_learns_a_separable_task_and_keeps_the_best_weights() -> None:
    network = _tiny_network()
    rows = list(range(16))
    labels = np.array([r % 2 for r in rows])
    history = train_loop(network, _batcher, rows, labels, rows, labels, None, _settings())
    assert history.evaluations[-1]["valid_accuracy"] == 1.0
    best = max(history.evaluations, key=lambda e: -e["valid_loss"])
    assert history.best_step == int(best["step"])


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"time_budget_seconds": 0.0}, "time budget"),
        ({"patience": 1, "learning_rate": 0.0}, "early stop"),
        ({"max_steps": 3}, "completed"),
    ],
)
def test_loop_stops_for_the_right_reason(changes: dict[str, object], reason: str) -> None:
    rows = list(range(16))
    labels = np.array([r % 2 for r in rows])
    history = train_loop(
        _tiny_network(), _batcher, rows, labels, rows, labels, None, _settings(**changes)
    )
    assert reason in history.stopped_because
    if reason == "time budget":
        assert history.steps == 1


@pytest.mark.parametrize("with_lengths", [False, True])
def test_epoch_batches_cover_every_row_once(with_lengths: bool) -> None:
    lengths = [(i * 37) % 61 for i in range(1000)]
    batches = epoch_batches(
        1000, 16, torch.Generator().manual_seed(0), lengths if with_lengths else None
    )
    rows = [row for batch in batches for row in batch]
    assert sorted(rows) == list(range(1000))
    assert all(1 <= len(batch) <= 16 for batch in batches)
    spread = np.mean([max(lengths[r] for r in b) - min(lengths[r] for r in b) for b in batches])
    if with_lengths:  # bucketing keeps similar lengths together; random batches span ~55
        assert spread < 10


def test_added_token_embeddings_get_their_own_learning_rate() -> None:
    from models.classifiers.finetune_loop import _parameter_groups

    network = _tiny_network()
    network.add_tokens(4, seed=0)
    assert network.new_tokens is not None
    groups = _parameter_groups(network, _settings(new_token_learning_rate=0.5))
    new_group = [g for g in groups if any(p is network.new_tokens.weight for p in g["params"])]
    assert len(new_group) == 1 and new_group[0]["lr"] == 0.5
    assert sum(len(g["params"]) for g in groups) == sum(
        1 for p in network.parameters() if p.requires_grad
    )
    # without the option the added embeddings train at the shared rate
    default = _parameter_groups(network, _settings())
    assert [g.get("lr") for g in default][-1] == 1e-2


def test_loop_with_a_moving_average_keeps_the_averaged_weights() -> None:
    from models.classifiers.finetune_loop import predict_logits

    rows = list(range(16))
    labels = np.array([r % 2 for r in rows])
    raw, averaged = _tiny_network(), _tiny_network()
    train_loop(raw, _batcher, rows, labels, rows, labels, None, _settings(max_steps=30))
    history = train_loop(
        averaged, _batcher, rows, labels, rows, labels, None, _settings(max_steps=30, ema_decay=0.8)
    )
    assert history.evaluations[-1]["valid_accuracy"] == 1.0
    # the kept weights are the average, not the last raw step (same seed, same batches)
    head_raw, head_averaged = raw.head.weight.detach(), averaged.head.weight.detach()
    assert not torch.allclose(head_raw, head_averaged)
    logits = predict_logits(averaged, rows, _batcher, 8)
    assert np.mean(logits.argmax(axis=1) == labels) == 1.0


def test_average_states_by_hand() -> None:
    from models.classifiers.finetune_loop import average_states

    first = {"w": torch.tensor([1.0, 3.0]), "ids": torch.tensor([0, 1])}
    second = {"w": torch.tensor([3.0, 5.0]), "ids": torch.tensor([7, 7])}
    averaged = average_states([first, second])
    torch.testing.assert_close(averaged["w"], torch.tensor([2.0, 4.0]))
    assert averaged["ids"].tolist() == [0, 1]  # integer buffers are not averaged


def test_loop_with_a_weight_soup_keeps_a_soup_no_worse_than_the_best_checkpoint() -> None:
    from models.classifiers.finetune_loop import validation_score

    rows = list(range(16))
    labels = np.array([r % 2 for r in rows])
    network = _tiny_network()
    settings = _settings(max_steps=24, weight_soup=True, early_stopping_metric="macro_f1")
    history = train_loop(network, _batcher, rows, labels, rows, labels, None, settings)
    evaluated = {int(e["step"]): e["valid_macro_f1"] for e in history.evaluations}
    assert history.soup_steps[0] == history.best_step  # the soup starts from the best
    assert set(history.soup_steps) <= set(evaluated)
    assert len(set(history.soup_steps)) == len(history.soup_steps) > 1  # all tie at 1.0: all join
    # greedy: the kept soup scores at least the best single checkpoint, and is what is loaded
    kept = validation_score(network, _batcher, rows, labels, settings)
    assert kept == history.best_score >= max(evaluated.values())


def test_greedy_soup_leaves_out_a_checkpoint_that_lowers_validation() -> None:
    from models.classifiers.finetune_loop import LoopHistory, greedy_soup

    rows = list(range(16))
    labels = np.array([r % 2 for r in rows])
    network = _tiny_network()
    settings = _settings(max_steps=24, early_stopping_metric="macro_f1")
    train_loop(network, _batcher, rows, labels, rows, labels, None, settings)
    good = {k: v.clone() for k, v in network.state_dict().items()}
    # the head negated: averaged with the good one it cancels to zero and predicts one class
    bad = {k: (-v if k.startswith("head.") else v.clone()) for k, v in good.items()}
    history = LoopHistory()
    soup = greedy_soup(
        network, [(0.0, 2, bad), (1.0, 1, good)], _batcher, rows, labels, settings, history
    )
    assert history.soup_steps == [1]
    assert all(torch.equal(soup[k], good[k]) for k in good)
