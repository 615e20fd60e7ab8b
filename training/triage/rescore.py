"""Re-score a triage champion on a candidate's test part, for the promotion gate.

`agora retrain triage` evaluates its candidate on the dataset's test part plus the agents'
held-out corrections. Once such a model is champion, a model trained later on the dataset alone
(`agora train triage`) was evaluated on other data, and the gate refused it with no way but
`--force`. `agora models promote --rescore` scores the champion on the candidate's test part,
read again from the candidate's dataset: only when that gives exactly the data the candidate
recorded (its evaluation fingerprint). A candidate evaluated on corrections, or on a part cut by
`--limit`, cannot be re-read, and is refused with a sentence saying so.
"""

from __future__ import annotations

import logging

from features.text_splits import load_split
from models.classifiers import load_classifier
from training.promotion import TAG_EVAL_FINGERPRINT, TAG_PRIMARY
from training.rescore import Candidate, Rescored, RescoreError
from training.retrain.common import champion_artifact
from training.triage.config import TriageConfig
from training.triage.pipeline import evaluate
from training.triage.tracking import evaluation_scores, test_fingerprint

logger = logging.getLogger(__name__)

METRIC = "macro_f1"  # what triage runs record as their primary metric


def rescore_triage(candidate: Candidate) -> Rescored:
    """The current champion's macro-F1 on the test part `candidate` was evaluated on."""
    name, version, tags = candidate.name, candidate.version, candidate.tags
    dataset, task = tags.get("agora.dataset"), tags.get("agora.task")
    if not dataset or not task:
        raise RescoreError(f"{name} v{version}'s run names no dataset and task to re-read")
    if tags.get(TAG_PRIMARY, METRIC) != METRIC:
        raise RescoreError(f"{name} v{version} was scored on {tags[TAG_PRIMARY]}, not {METRIC}")
    split = load_split(dataset, task)
    if test_fingerprint(split) != tags.get(TAG_EVAL_FINGERPRINT):
        raise RescoreError(
            f"{name} v{version} was evaluated on other texts than {dataset}'s {task} test part "
            "(a retrain's held-out corrections, or a part cut by --limit), which cannot be read "
            "again to score the champion on; `agora retrain triage` scores the champion on its "
            "own candidate's data, or promote with --force and a reason"
        )
    text = TriageConfig().for_split(split.task, split.language).text
    with champion_artifact(name) as found:
        if found is None:
            raise RescoreError(f"{name} has no champion any more")
        champion_version, folder = found
        # The champion reads its inputs as it was trained to (its artifact's text handling).
        scored = evaluate("champion", load_classifier(folder), split, text=text)
    value = float(scored.report.macro_f1)
    logger.info(
        "champion %s v%s re-scored on %s: %s %.4f", name, champion_version, dataset, METRIC, value
    )
    return Rescored(champion_version, METRIC, value, dataset, evaluation_scores(scored.report))
