"""One network from several fine-tunes of different seeds: their weights averaged (a seed soup).

Fine-tunes of one pretrained encoder on the same data stay in one basin of the loss, so the
uniform average of their weights (heads included) is itself a working network (Wortsman et al.,
2022, "model soups"). It keeps much of what averaging the fine-tunes' predictions gains, at one
network's inference cost. Measured on the airline split (seeds 42 and 43, one validation carve,
torch fp32): the soup scored validation macro-F1 0.819 against 0.820 for the ensemble of the two
fine-tunes with TF-IDF, at half its encoder passes, and transferred better (README, "Tried on
this split").

The members must have been trained on the same texts with the same validation carve
(`validation_seed`), so that they added the same characters to the tokenizer and the soup can be
calibrated on rows none of them trained on.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence

from models.classifiers.base import check_training_data
from models.classifiers.finetune import FineTunedClassifier, torch_threads
from models.classifiers.finetune_loop import LoopHistory, average_states

logger = logging.getLogger(__name__)


class SoupMismatchError(ValueError):
    """The fine-tunes cannot be averaged into one network (the sentence says why)."""


def seed_soup(
    members: Sequence[FineTunedClassifier], texts: Sequence[str], labels: Sequence[str]
) -> FineTunedClassifier:
    """The uniform weight average of `members`, exported and calibrated as a fit would be, on
    the validation rows of their shared carve of `texts` / `labels` (their training data)."""
    first = _check_members(members)
    checked, y, classes = check_training_data(texts, labels)
    if classes != first.classes_:
        raise SoupMismatchError(f"the members know {first.classes_}, the texts hold {classes}")
    config = first.config.model_copy(update={"validation_seed": first.config.carve_seed})
    soup = FineTunedClassifier(config)
    assert first._network is not None and first._tokenizer is not None
    network = copy.deepcopy(first._network)
    network.load_state_dict(average_states([m._network.state_dict() for m in members]))  # type: ignore[union-attr]
    network.eval()
    tokenizer = first._tokenizer
    _, valid_rows = soup._validation_split(y)
    encoded = tokenizer(checked, truncation=True, max_length=config.max_length)["input_ids"]
    seeds = [m.config.seed for m in members]
    soup.history_ = LoopHistory(
        steps=sum(m.history_.steps for m in members if m.history_ is not None),
        stopped_because=f"weight soup of the fine-tunes of seeds {', '.join(map(str, seeds))}",
        seconds=sum(m.history_.seconds for m in members if m.history_ is not None),
        cpu_seconds=sum(m.history_.cpu_seconds for m in members if m.history_ is not None),
    )
    with torch_threads(config.threads):
        soup._finish(network, tokenizer, encoded, y, valid_rows, classes)
    logger.info("weight soup of seeds %s: temperature %.3f", seeds, soup.temperature_)
    return soup


def _check_members(members: Sequence[FineTunedClassifier]) -> FineTunedClassifier:
    """The first member, once every member is known to average with it."""
    if len(members) < 2:
        raise SoupMismatchError(f"a soup needs two fine-tunes or more, got {len(members)}")
    first = members[0]
    for member in members:
        if member._network is None or member._tokenizer is None:
            raise SoupMismatchError(
                "a member was loaded from its served graph, without its network: only fine-tunes "
                "fitted in this process can be averaged"
            )
        if member.config.carve_seed != first.config.carve_seed:
            raise SoupMismatchError(
                "the members carved their validation rows differently (seeds "
                f"{first.config.carve_seed} and {member.config.carve_seed}): set one "
                "validation_seed for all"
            )
        if member.classes_ != first.classes_ or member.config.encoder != first.config.encoder:
            raise SoupMismatchError("the members differ in classes or encoder")
        if member._tokenizer.get_added_vocab() != first._tokenizer.get_added_vocab():  # type: ignore[union-attr]
            raise SoupMismatchError("the members added different characters to the tokenizer")
        shapes = {k: tuple(v.shape) for k, v in member._network.state_dict().items()}
        if shapes != {k: tuple(v.shape) for k, v in first._network.state_dict().items()}:  # type: ignore[union-attr]
            raise SoupMismatchError("the members' networks differ in shape")
    return first
