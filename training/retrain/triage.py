"""`agora retrain triage`: the fixed split plus agents' corrections, gated, swapped in.

Corrected triage records (their redacted texts with the agent's label) are split by a stable
hash of the text, so copies of one text stay on one side: most join the training data, a share
is held out and added to the test data. The candidate and the re-scored champion are then
compared on that same evaluation data, so a champion that keeps making the error the agents
corrected loses to one that learned it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from data import schemas as S
from data.store import Store
from data.store.triage_log import CORRECTION_DISPUTED, CORRECTION_SEQ
from features.text_splits import TextSplit, load_split
from models.classifiers import load_classifier
from models.classifiers.catalog import ClassifierType
from models.served_models import default_triage_dataset
from training.promotion import VersionSummary
from training.promotion import champion as champion_of
from training.retrain.common import (
    MODEL_TAG,
    RetrainOutcome,
    champion_artifact,
    conclude,
    refuse_a_copy,
)
from training.tracking import configure_tracking
from training.triage.config import load_config
from training.triage.metrics import classification_report
from training.triage.pipeline import (
    Task,
    TrainedTriageModel,
    evaluate,
    registered_name,
    train_triage,
)
from training.triage.tracking import evaluation_scores, test_fingerprint

logger = logging.getLogger(__name__)


# The classifier kind a retrain trains when neither the command nor the champion names one.
DEFAULT_KIND = ClassifierType.TFIDF.value


# The version tag that names the classifier kind a version is (`training.tracking.run_tags`).
@dataclass(frozen=True)
class TriageRetrainOutcome(RetrainOutcome):
    model: str  # the classifier kind the candidate is
    corrections_train: int
    corrections_holdout: int
    corrections_skipped: int  # of another language, or labels the model's classes lack
    corrections_other_language: int  # of those skipped
    corrections_disputed: int  # used with the latest of the labels agents gave them
    holdout_share: float  # as asked, or the champion's when that is smaller
    candidate_holdout_accuracy: float | None  # on the held-out corrections alone
    champion_holdout_accuracy: float | None


def holdout_mask(texts: pd.Series, share: float) -> pd.Series:
    """Stable per-text assignment: the same text is held out in every retrain, and every copy
    of it with it (a message triaged twice, or sent by many customers), never one copy in
    training and another scored as held out."""
    buckets = texts.map(lambda t: int(hashlib.sha256(str(t).encode()).hexdigest()[:8], 16))
    # An empty column keeps its text dtype through `map`, which has no `%`: say int.
    return (buckets.astype("int64") % 1000) < round(share * 1000)


def candidate_kind(requested: str | None, current: VersionSummary | None) -> str:
    """The classifier kind to train: the one asked for, else the champion's own, else TF-IDF.

    A retrain retrains the champion: a TF-IDF challenger to an ensemble, chosen for how it reads
    other domains and scored here on in-domain figures only, would replace it by a model of
    another kind with no one having asked for that.
    """
    if requested is not None:
        return requested
    kind = current.tags.get(MODEL_TAG) if current is not None else None
    return kind or DEFAULT_KIND


def holdout_share_for(requested: float, champion_share: float | None) -> float:
    """The share of corrections to hold out: `requested`, but never more than the champion's
    (None: the champion learned no corrections, or its run predates the record).

    A record is held out when its hash bucket is below the share, so a larger share than the
    champion's would hold out records the champion was trained on, and score it on answers it
    learned: the comparison the promotion rests on would favour it.
    """
    return requested if champion_share is None else min(requested, champion_share)


def champion_holdout_share(run_id: str | None) -> float | None:
    """The holdout share the champion's training run used, if it recorded one."""
    if run_id is None:
        return None
    params = MlflowClient().get_run(run_id).data.params
    if int(params.get("split.corrections_train", "0") or 0) == 0:
        return None  # trained on no corrections: none of them can be the champion's own
    recorded = params.get("split.corrections_holdout_share")
    if recorded is None:
        logger.warning(
            "the champion's run does not record the share of corrections it held out: if it was "
            "smaller than this retrain's, the champion is scored on some it learned"
        )
        return None
    return float(recorded)


def learned_already(
    current: VersionSummary, champion_params: dict[str, str], augmented: TextSplit
) -> bool:
    """Whether `current` was trained on what `augmented` holds: the same corrections (by the
    hash its lineage records; a run that records none learned none) and the same evaluation
    data (its fingerprint).

    Retraining then fits the champion again: a nightly retrain with no new correction
    registered a copy and moved `@champion` to it, on a tie, every night.
    """
    corrections_now = augmented.lineage["corrections_sha256"]
    learned = champion_params.get("split.corrections_sha256")
    if learned is None:  # a plain training run, or a retrain before the hash was recorded
        used = int(augmented.lineage["corrections_train"]) + int(
            augmented.lineage["corrections_holdout"]
        )
        same_corrections = used == 0 and "split.corrections_train" not in champion_params
    else:
        same_corrections = learned == corrections_now
    return same_corrections and current.eval_fingerprint == test_fingerprint(augmented)


def with_corrections(
    split: TextSplit, corrections: pd.DataFrame, holdout_share: float
) -> tuple[TextSplit, pd.DataFrame, int]:
    """`split` with corrections added to train and test; the held-out corrections; skipped
    (texts of another language than the split's, then labels the split's classes lack: the
    lineage counts each)."""
    same_language = (
        corrections[S.LANGUAGE].isin([split.language, ""])
        if split.language
        else pd.Series(True, index=corrections.index)
    )
    usable = corrections[same_language & corrections[S.LABEL].isin(split.classes)]
    skipped = len(corrections) - len(usable)
    other_language = int((~same_language).sum())
    # A corrected text the fixed test part holds is held out whatever its hash: trained on, it
    # would be scored by the gate as an answer the candidate learned and the champion did not.
    in_test = usable[S.TEXT].isin(set(split.test_texts))
    held = holdout_mask(usable[S.TEXT], holdout_share) | in_test
    train, holdout = usable[~held], usable[held]
    augmented = dataclasses.replace(
        split,
        train_texts=[*split.train_texts, *train[S.TEXT]],
        train_labels=[*split.train_labels, *train[S.LABEL]],
        test_texts=[*split.test_texts, *holdout[S.TEXT]],
        test_labels=[*split.test_labels, *holdout[S.LABEL]],
        lineage={
            **split.lineage,
            # The rows trained and scored, as a limited split records them: corrections included.
            "train_rows": len(split.train_texts) + len(train),
            "test_rows": len(split.test_texts) + len(holdout),
            "corrections_train": len(train),
            "corrections_holdout": len(holdout),
            "corrections_holdout_share": holdout_share,
            "corrections_other_language": other_language,
            "corrections_unknown_label": skipped - other_language,
            "corrections_in_test": int(in_test.sum()),  # held out as texts of the test part
            # Records agents corrected to different labels: the latest one was used.
            "corrections_disputed": int(usable[CORRECTION_DISPUTED].sum())
            if CORRECTION_DISPUTED in usable
            else 0,
            # The last correction read: the retrain used the latest correction of each record
            # up to this position of the corrections log (0: none).
            "corrections_through": int(corrections[CORRECTION_SEQ].max())
            if len(corrections)
            else 0,
            "corrections_sha256": hashlib.sha256(
                usable[["triage_id", S.LABEL]].to_csv(index=False).encode()
            ).hexdigest(),
        },
    )
    return augmented, holdout, skipped


def retrain_triage(
    task: Task | str = Task.SENTIMENT,
    dataset: str | None = None,
    model: str | None = None,
    config_path: Path | None = None,
    store_url: str | None = None,
    tracking_uri: str | None = None,
    service_url: str | None = None,
    api_key: str | None = None,
    holdout_share: float = 0.25,
    tolerance: float = 0.0,
) -> TriageRetrainOutcome:
    """Retrain one triage model with stored corrections; promote only if not worse.

    `model` is the classifier kind of the candidate; None trains the champion's kind."""
    if not 0.0 <= holdout_share < 1.0:
        raise ValueError(f"holdout_share must be in [0, 1), got {holdout_share}")
    started = time.perf_counter()
    task = Task(task)
    configure_tracking(tracking_uri)  # the corrections and champion lookups below need it
    config = load_config(config_path)
    split = load_split(dataset or default_triage_dataset(task), task)
    # A correction names the triage result's field, which is the task's name.
    corrections = Store(store_url).triage.corrected_texts(str(task))
    name = registered_name(split)
    current = champion_of(MlflowClient(), name)
    model = candidate_kind(model, current)
    if current is not None:
        champion_kind = current.tags.get(MODEL_TAG, "of an unrecorded kind")
        logger.info(
            "candidate kind: %s (champion v%s is %s)", model, current.version, champion_kind
        )
    requested = holdout_share
    holdout_share = holdout_share_for(
        requested, champion_holdout_share(current.run_id if current else None)
    )
    if holdout_share < requested:
        logger.warning(
            "holding out %.2f of the corrections, not %.2f: the champion trained on the rest",
            holdout_share,
            requested,
        )
    augmented, holdout, skipped = with_corrections(split, corrections, holdout_share)
    if config_path is None:  # another config is something new to train
        used = len(corrections) - skipped
        refuse_a_copy(
            name,
            model,
            current,
            lambda version, params: learned_already(version, params, augmented),
            f"these same {used} corrections (through position "
            f"{augmented.lineage['corrections_through']}) and data",
        )
    logger.info(
        "retraining %s with %d corrections (%d held out, %d skipped)",
        task,
        len(corrections) - skipped - len(holdout),
        len(holdout),
        skipped,
    )
    champion_version = champion_score = champion_holdout = champion_metrics = None
    with champion_artifact(name) as champion:  # before registering: the candidate is not it
        if champion is not None:
            champion_version = champion[0]
            # The champion reads its inputs as it was trained to (its own text handling).
            scored = evaluate(model, load_classifier(champion[1]), augmented, text=config.text)
            champion_score = scored.report.macro_f1
            champion_metrics = evaluation_scores(scored.report)
            champion_holdout = _holdout_accuracy(scored, holdout)
    result = train_triage(task, None, model, config, tracking_uri, name=name, split=augmented)
    trained, version = result.trained, result.version
    outcome = conclude(
        name,
        (version, trained.report.macro_f1),
        (champion_version, champion_score),
        "macro_f1",
        f"retrain with {len(corrections) - skipped} corrections",
        tolerance,
        service_url,
        api_key,
        started,
        champion_metrics,
    )
    return TriageRetrainOutcome(
        **dataclasses.asdict(outcome),
        model=model,
        corrections_train=len(corrections) - skipped - len(holdout),
        corrections_holdout=len(holdout),
        corrections_skipped=skipped,
        corrections_other_language=int(augmented.lineage["corrections_other_language"]),
        corrections_disputed=int(augmented.lineage["corrections_disputed"]),
        holdout_share=holdout_share,
        candidate_holdout_accuracy=_holdout_accuracy(trained, holdout),
        champion_holdout_accuracy=champion_holdout,
    )


def _holdout_accuracy(scored: TrainedTriageModel, holdout: pd.DataFrame) -> float | None:
    """Accuracy on the held-out corrections, which `with_corrections` put last in the test part."""
    if holdout.empty:
        return None
    report = classification_report(
        list(holdout[S.LABEL]),
        scored.probabilities[-len(holdout) :],
        scored.classifier.classes_,
    )
    return report.accuracy
