"""A sentence transformer fine-tuned end to end for classification (MiniLM by default).

The network is the encoder, mean pooling over tokens (how all-MiniLM-L6-v2 was trained, so the
starting point is already a good sentence representation), dropout and a linear head. Training
carves a stratified validation split from the training data for early stopping and for the
calibration of the probabilities (temperature and class bias). The artifact is the encoder and
tokenizer in Hugging Face format (safetensors), the head in safetensors, the ONNX graph that serves
predictions (`finetune_runtime`: int8 where validation allows), and a JSON manifest with the label
map, hyper-parameters and runtime; loading needs no network and no pickle, and an ONNX-served model
loads without building the torch network.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sklearn.model_selection import train_test_split
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from features.embeddings import resolve_encoder_path
from models.classifiers.base import ClassifierInputError, TextClassifier, check_training_data
from models.classifiers.calibration import fit_calibration
from models.classifiers.finetune_config import FineTuneConfig
from models.classifiers.finetune_loop import (
    LoopHistory,
    LoopSettings,
    class_weights,
    predict_logits,
    train_loop,
)
from models.classifiers.finetune_runtime import (
    OnnxRuntimeChoice,
    choose_onnx_runtime,
    texts_per_call,
)
from models.classifiers.onnx_runner import OnnxLogits
from models.classifiers.vocabulary import unknown_characters
from models.errors import ModelFormatError

logger = logging.getLogger(__name__)

__all__ = ["FineTuneConfig", "FineTunedClassifier", "MeanPoolingClassifier"]

_ENCODER_DIR = "encoder"
_HEAD_FILE = "head.safetensors"


class MeanPoolingClassifier(nn.Module):
    """Encoder -> attention-masked mean of token states -> dropout -> linear head.

    Tokens added after pretraining get their own small embedding table while training
    (`add_tokens`), so the pretrained table can stay frozen; `merge_new_tokens` folds them into
    the encoder's table afterwards, leaving a plain Hugging Face model to save.
    """

    def __init__(self, encoder: nn.Module, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(int(encoder.config.hidden_size), n_classes)
        self.new_tokens: nn.Embedding | None = None
        self.base_vocabulary = int(encoder.get_input_embeddings().weight.shape[0])

    def add_tokens(self, count: int, seed: int) -> None:
        """Room for `count` new token ids after the pretrained ones, initialised near the mean."""
        table = self.encoder.get_input_embeddings().weight.detach()
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(count, table.shape[1], generator=generator) * table.std() * 0.1
        self.new_tokens = nn.Embedding(count, table.shape[1])
        with torch.no_grad():
            self.new_tokens.weight.copy_(table.mean(dim=0) + noise)

    def merge_new_tokens(self) -> None:
        if self.new_tokens is None:
            return
        learned = self.new_tokens.weight.detach().clone()
        self.encoder.resize_token_embeddings(self.base_vocabulary + learned.shape[0])
        with torch.no_grad():
            self.encoder.get_input_embeddings().weight[self.base_vocabulary :] = learned
        self.base_vocabulary += learned.shape[0]
        self.new_tokens = None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.new_tokens is None:
            outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        else:
            is_new = (input_ids >= self.base_vocabulary).unsqueeze(-1)
            table = self.encoder.get_input_embeddings()
            embeddings = torch.where(
                is_new,
                self.new_tokens((input_ids - self.base_vocabulary).clamp(min=0)),
                table(input_ids.clamp(max=self.base_vocabulary - 1)),
            )
            outputs = self.encoder(inputs_embeds=embeddings, attention_mask=attention_mask)
        states = outputs.last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to `threads` (None: left as they are), restored after."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class FineTunedClassifier(TextClassifier):
    """Transformer fine-tuned with a mean-pooling head, early-stopped and calibrated."""

    model_type = "finetune"

    def __init__(self, config: FineTuneConfig | None = None) -> None:
        super().__init__()
        self.config = config or FineTuneConfig()
        self._network: MeanPoolingClassifier | None = None
        self._tokenizer: PreTrainedTokenizerBase | None = None
        self.history_: LoopHistory | None = None
        # Serving from ONNX: the graph runner, and what to save (a fresh choice, or the folder
        # a saved model was read from). None: the eager network serves.
        self._runner: OnnxLogits | None = None
        self._onnx_choice: OnnxRuntimeChoice | None = None
        self._runtime: dict[str, Any] = {"engine": "torch"}
        self._source: Path | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Self:
        checked, y, classes = check_training_data(texts, labels)
        with torch_threads(self.config.threads):
            return self._fit(checked, y, classes)

    def _fit(self, checked: list[str], y: np.ndarray, classes: list[str]) -> Self:
        config = self.config
        torch.manual_seed(config.seed)
        train_rows, valid_rows = self._validation_split(y)
        location = resolve_encoder_path(config.encoder)
        logger.info("fine-tuning %s (from %s) on %d texts", config.encoder, location, len(checked))
        tokenizer = AutoTokenizer.from_pretrained(location)
        network = MeanPoolingClassifier(
            AutoModel.from_pretrained(location), len(classes), config.dropout
        )
        if config.freeze_word_embeddings:
            network.encoder.get_input_embeddings().weight.requires_grad_(False)
        if config.add_unknown_characters:
            # Only training rows: a token seen only in validation would stay untrained.
            train_texts = [checked[row] for row in train_rows]
            added = unknown_characters(tokenizer, train_texts, config.new_token_min_count)
            if added:
                tokenizer.add_tokens(added)
                network.add_tokens(len(added), config.seed)
                logger.info(
                    "added %d characters the tokenizer maps to [UNK]: %s",
                    len(added),
                    "".join(added[:30]),
                )
        encoded = tokenizer(checked, truncation=True, max_length=config.max_length)["input_ids"]
        batcher = _Batcher(encoded, int(tokenizer.pad_token_id or 0))
        weights = class_weights(y[train_rows], len(classes))
        self.history_ = train_loop(
            network,
            batcher,
            train_rows,
            y[train_rows],
            valid_rows,
            y[valid_rows],
            weights if config.class_weight == "balanced" else None,
            self._loop_settings(),
            lengths=[len(encoded[row]) for row in train_rows],
        )
        network.merge_new_tokens()
        return self._finish(network, tokenizer, encoded, y, valid_rows, classes)

    def _finish(
        self,
        network: MeanPoolingClassifier,
        tokenizer: PreTrainedTokenizerBase,
        encoded: list[list[int]],
        y: np.ndarray,
        valid_rows: list[int],
        classes: list[str],
    ) -> Self:
        """After training: the served graph (ONNX, int8 where validation allows) and the
        calibration, both on the validation rows."""
        config = self.config
        batcher = _Batcher(encoded, int(tokenizer.pad_token_id or 0))
        valid_logits = predict_logits(network, valid_rows, batcher, config.eval_batch_size)
        if config.runtime == "onnx":
            # Calibrated on the served graph's own logits (int8 shifts them a little).
            valid_ids = [encoded[row] for row in valid_rows]
            pad_id = int(tokenizer.pad_token_id or 0)
            choice = choose_onnx_runtime(
                network,
                valid_ids,
                y[valid_rows],
                valid_logits,
                pad_id,
                config.int8_max_accuracy_loss,
            )
            self._onnx_choice, self._runner = choice, choice.runner
            self._runtime = choice.manifest()
            valid_logits = choice.runner(valid_ids, pad_id)
        self.temperature_, self.class_bias_ = fit_calibration(
            valid_logits, y[valid_rows], config.class_bias
        )
        self._network, self._tokenizer, self.classes_ = network, tokenizer, classes
        return self

    def _validation_split(self, y: np.ndarray) -> tuple[list[int], list[int]]:
        """Stratified rows for training and for validation (early stopping, temperature)."""
        rows = np.arange(len(y))
        n_classes = int(y.max()) + 1
        valid_size = max(n_classes, round(self.config.validation_fraction * len(y)))
        if np.bincount(y).min() < 2 or valid_size >= len(y) - n_classes:
            raise ClassifierInputError(
                f"too little data to carve a validation split: {len(y)} texts, "
                f"class counts {np.bincount(y).tolist()} (need 2+ per class)"
            )
        train, valid = train_test_split(
            rows, test_size=valid_size, stratify=y, random_state=self.config.carve_seed
        )
        return train.tolist(), valid.tolist()

    def _loop_settings(self) -> LoopSettings:
        config = self.config
        budget = config.time_budget_minutes
        return LoopSettings(
            batch_size=config.batch_size,
            eval_batch_size=config.eval_batch_size,
            learning_rate=config.learning_rate,
            new_token_learning_rate=config.new_token_learning_rate,
            weight_decay=config.weight_decay,
            epochs=config.epochs,
            warmup_ratio=config.warmup_ratio,
            evaluations_per_epoch=config.evaluations_per_epoch,
            patience=config.patience,
            early_stopping_metric=config.early_stopping_metric,
            ema_decay=config.ema_decay,
            weight_soup=config.weight_soup,
            time_budget_seconds=None if budget is None else budget * 60.0,
            max_steps=config.max_steps,
            seed=config.seed,
        )

    @property
    def runtime(self) -> dict[str, Any]:
        """What serves predictions: {"engine": "torch"} or the ONNX graph's precision and why."""
        return dict(self._runtime)

    def _logits(self, texts: list[str]) -> np.ndarray:
        assert self._tokenizer is not None
        limit = max(self.config.max_length, self.config.inference_max_length)
        # Never past the positions the encoder has (the tokenizer records them).
        limit = min(limit, int(getattr(self._tokenizer, "model_max_length", limit) or limit))
        ids = self._tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
        if self._runner is not None:
            return self._runner(ids, int(self._tokenizer.pad_token_id or 0))
        assert self._network is not None
        # Batching texts of similar length wastes less compute on padding.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batcher = _Batcher(ids, int(self._tokenizer.pad_token_id or 0))
        logits = predict_logits(self._network, order, batcher, self.config.eval_batch_size)
        out = np.empty_like(logits, dtype=np.float64)
        out[order] = logits
        return out

    def _write_model(self, folder: Path) -> dict[str, Any]:
        assert self._tokenizer is not None
        if self._network is not None:
            self._network.encoder.save_pretrained(folder / _ENCODER_DIR)
            self._tokenizer.save_pretrained(folder / _ENCODER_DIR)
            head = {k: v.contiguous() for k, v in self._network.head.state_dict().items()}
            save_file(head, str(folder / _HEAD_FILE))
        else:  # read from an ONNX-served folder: the network's files are copied as they were
            assert self._source is not None
            shutil.copytree(self._source / _ENCODER_DIR, folder / _ENCODER_DIR)
            shutil.copyfile(self._source / _HEAD_FILE, folder / _HEAD_FILE)
        if self._onnx_choice is not None:
            self._onnx_choice.save(folder)
        elif self._runner is not None:
            shutil.copyfile(self._runner.path, folder / self._runtime["file"])
        history = self.history_
        training = None
        if history is not None:
            training = {
                "steps": history.steps,
                "best_step": history.best_step,
                "soup_steps": history.soup_steps,
                "stopped_because": history.stopped_because,
                "seconds": round(history.seconds, 1),
                "cpu_seconds": round(history.cpu_seconds, 1),
            }
        return {
            "config": self.config.model_dump(mode="json"),
            "training": training,
            "runtime": self._runtime,
        }

    @classmethod
    def _read_model(cls, folder: Path, manifest: dict[str, Any]) -> Self:
        model = cls(FineTuneConfig.from_mapping(manifest["config"]))
        model._tokenizer = AutoTokenizer.from_pretrained(folder / _ENCODER_DIR)
        # Models saved before ONNX serving have no runtime entry: their eager network serves.
        runtime = manifest.get("runtime") or {"engine": "torch"}
        if runtime.get("engine") == "onnx":
            name = str(runtime.get("file", ""))
            onnx_file = folder / name
            if not name or Path(name).name != name or not onnx_file.is_file():
                raise ModelFormatError(f"{folder}: the manifest names {onnx_file.name}, not found")
            model._runner = OnnxLogits(onnx_file, texts_per_call(runtime))
            model._runtime, model._source = dict(runtime), folder
            return model
        encoder = AutoModel.from_pretrained(folder / _ENCODER_DIR)
        network = MeanPoolingClassifier(encoder, len(manifest["classes"]), model.config.dropout)
        network.head.load_state_dict(load_file(str(folder / _HEAD_FILE)))
        network.eval()
        model._network = network
        return model


class _Batcher:
    """Turns example rows into a padded batch of token ids and attention mask."""

    def __init__(self, token_ids: list[list[int]], pad_id: int) -> None:
        self._token_ids = token_ids
        self._pad_id = pad_id

    def __call__(self, rows: list[int]) -> dict[str, torch.Tensor]:
        longest = max(len(self._token_ids[r]) for r in rows)
        ids = torch.full((len(rows), longest), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            tokens = self._token_ids[row]
            ids[i, : len(tokens)] = torch.as_tensor(tokens, dtype=torch.long)
            mask[i, : len(tokens)] = 1
        return {"input_ids": ids, "attention_mask": mask}
