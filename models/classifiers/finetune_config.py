"""Hyper-parameters of the fine-tuned transformer (torch-free, so configs validate fast)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from features.embeddings import DEFAULT_ENCODER
from models.classifiers.calibration import CalibrationConfig
from models.classifiers.linear import ClassWeight


class FineTuneConfig(CalibrationConfig):
    """Hyper-parameters of the fine-tuned transformer; defaults suit tweets on 2 CPU cores."""

    encoder: str = DEFAULT_ENCODER
    max_length: int = Field(64, ge=8, le=512, description="tokens; tweets rarely exceed 64")
    inference_max_length: int = Field(
        256,
        ge=8,
        le=512,
        description="tokens read at prediction: longer than in training, so a review or a "
        "complaint narrative is read past its opening (MiniLM was trained on up to 256); texts "
        "shorter than max_length are unaffected",
    )
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(128, ge=1)
    learning_rate: float = Field(1e-4, gt=0)
    new_token_learning_rate: float | None = Field(
        None,
        gt=0,
        description="learning rate of the added characters' embeddings (they start from the "
        "table's mean); None = learning_rate",
    )
    weight_decay: float = Field(0.01, ge=0)
    epochs: int = Field(
        2,
        ge=1,
        description="the learning rate decays to 0 over these; early stopping may end sooner",
    )
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    freeze_word_embeddings: bool = Field(
        True,
        description="keep the 30k x 384 token-embedding table fixed: half the parameters, a "
        "faster optimiser step, and little to learn from ~10k short texts",
    )
    add_unknown_characters: bool = Field(
        True,
        description="add characters the tokenizer maps to [UNK] (Chinese characters, emoji) "
        "as new tokens learned during fine-tuning",
    )
    new_token_min_count: int = Field(3, ge=1, description="occurrences needed to add a character")
    dropout: float = Field(0.1, ge=0, lt=1)
    class_weight: ClassWeight = "balanced"
    validation_fraction: float = Field(0.1, gt=0, lt=0.5)
    validation_seed: int | None = Field(
        None,
        description="the seed of the validation carve; None = `seed`. Fine-tunes of different "
        "seeds that are to be averaged into one (a weight soup) share one carve",
    )
    evaluations_per_epoch: int = Field(2, ge=1)
    patience: int = Field(2, ge=1, description="evaluations without improvement before stopping")
    early_stopping_metric: Literal["macro_f1", "loss"] = "macro_f1"
    ema_decay: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="evaluate and keep an exponential moving average of the weights with this "
        "decay per step (e.g. 0.99); None = the raw weights",
    )
    weight_soup: bool = Field(
        False,
        description="keep a greedy soup of the evaluated checkpoints (each averaged in when "
        "validation does not drop) instead of the single best one",
    )
    runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="what serves predictions after training: onnx = the network exported to "
        "ONNX Runtime (several times faster on CPU, no torch at load); torch = the eager network",
    )
    int8_max_accuracy_loss: float | None = Field(
        0.005,
        ge=0,
        lt=1,
        description="serve the int8-quantised ONNX graph when its validation accuracy is at most "
        "this below the full-precision network's; None = never quantise (onnx runtime only)",
    )
    time_budget_minutes: float | None = Field(30.0, gt=0)
    max_steps: int | None = Field(None, ge=1)
    threads: int | None = Field(
        None,
        ge=1,
        description="torch CPU threads for training; None = torch default (all cores). On a "
        "shared, busy machine 1 is faster than 2 (no thread oversubscription)",
    )
    seed: int = 42

    @property
    def carve_seed(self) -> int:
        """The seed the validation rows are carved with: `validation_seed`, else `seed`."""
        return self.seed if self.validation_seed is None else self.validation_seed
