"""The retrain's held-out corrections never include ones the champion was trained on, and
its candidate is of the champion's kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from data import schemas as S
from data.store.triage_log import CORRECTION_DISPUTED, CORRECTION_SEQ
from features.text_splits import Task, TextSplit
from training.promotion import VersionSummary
from training.retrain.common import NothingNewToLearnError, refuse_a_copy
from training.retrain.triage import (
    candidate_kind,
    champion_holdout_share,
    holdout_share_for,
    learned_already,
    with_corrections,
)
from training.tracking import configure_tracking
from training.triage.tracking import test_fingerprint as fingerprint_of


def _split() -> TextSplit:
    return TextSplit(
        dataset="tiny",
        task=Task.SENTIMENT,
        language="en",
        train_texts=["good", "bad"],
        train_labels=["positive", "negative"],
        test_texts=["fine"],
        test_labels=["positive"],
    )


def _corrections(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "triage_id": [f"t{i}" for i in range(n)],
            S.TEXT: [f"text {i}" for i in range(n)],
            S.LABEL: ["positive" if i % 2 else "negative" for i in range(n)],
            S.LANGUAGE: ["en"] * n,
            CORRECTION_SEQ: list(range(1, n + 1)),
        }
    )


def test_a_share_past_the_champions_is_lowered_to_it() -> None:
    assert holdout_share_for(0.5, 0.25) == 0.25
    assert holdout_share_for(0.1, 0.25) == 0.1
    assert holdout_share_for(0.5, None) == 0.5


def test_a_smaller_share_holds_out_only_records_a_larger_one_held_out() -> None:
    # What makes lowering the share to the champion's enough: its holdout is inside the
    # champion's, so every record held out now was held out from the champion too.
    corrections = _corrections(400)
    _, small, _ = with_corrections(_split(), corrections, 0.1)
    augmented, large, _ = with_corrections(_split(), corrections, 0.25)
    assert 0 < len(small) < len(large)
    assert set(small["triage_id"]) <= set(large["triage_id"])
    assert augmented.lineage["corrections_holdout_share"] == 0.25


def test_the_champions_share_is_read_from_its_run(isolated_home: Path) -> None:
    configure_tracking()
    runs = {}
    for name, params in {
        "learned": {"split.corrections_train": 30, "split.corrections_holdout_share": 0.2},
        "none learned": {"split.corrections_train": 0, "split.corrections_holdout_share": 0.5},
        "before the record": {"split.corrections_train": 30},
    }.items():
        with mlflow.start_run() as run:
            mlflow.log_params(params)
        runs[name] = run.info.run_id
    assert champion_holdout_share(runs["learned"]) == pytest.approx(0.2)
    assert champion_holdout_share(runs["none learned"]) is None
    assert champion_holdout_share(runs["before the record"]) is None
    assert champion_holdout_share(None) is None


def test_copies_of_one_text_are_held_out_together() -> None:
    """Regression: two records of one text (a triage retried without its idempotency key, or
    the same message from many customers) went one to training and one to the held-out
    corrections, scoring the candidate on a text it was trained on."""
    corrections = _corrections(200)
    copies = corrections.assign(triage_id=[f"copy-{i}" for i in range(200)])
    augmented, holdout, _ = with_corrections(_split(), pd.concat([corrections, copies]), 0.25)
    assert 0 < len(holdout) < 400
    assert not set(holdout[S.TEXT]) & set(augmented.train_texts)


def test_a_corrected_text_of_the_test_part_is_held_out_not_trained() -> None:
    """Regression: a correction of a text the fixed test part holds joined the training data,
    and the gate scored the candidate on an answer it had learned (5 of 5 in a trial)."""
    corrections = _corrections(40)
    # Every record gets the test part's text, whatever its hash bucket says.
    in_test = corrections.assign(**{S.TEXT: "fine"}, triage_id=[f"in-test-{i}" for i in range(40)])
    augmented, holdout, _ = with_corrections(_split(), pd.concat([corrections, in_test]), 0.25)
    assert "fine" not in augmented.train_texts
    assert set(in_test["triage_id"]) <= set(holdout["triage_id"])
    assert augmented.lineage["corrections_in_test"] == 40


def _version(kind: str | None) -> VersionSummary:
    tags = {} if kind is None else {"agora.model": kind}
    return VersionSummary("m", "3", ("champion",), "macro_f1", 0.8, "f", 0.0, "run", tags)


def test_a_retrain_trains_the_champions_kind_unless_told_otherwise() -> None:
    """Regression: `agora retrain triage` trained TF-IDF whatever the champion was, and
    replaced the demo's ensemble (chosen for how it reads other domains) by a TF-IDF."""
    assert candidate_kind(None, _version("ensemble")) == "ensemble"
    assert candidate_kind("tfidf", _version("ensemble")) == "tfidf"
    assert candidate_kind(None, _version(None)) == "tfidf"  # a version from outside Agora
    assert candidate_kind(None, None) == "tfidf"


def test_corrections_of_another_language_only_are_skipped_not_a_crash() -> None:
    """Regression: with English corrections only, retraining the Chinese model ended in a
    TypeError from pandas (no usable correction left an empty text column to hash)."""
    chinese = dataclasses.replace(_split(), language="zh")
    augmented, holdout, skipped = with_corrections(chinese, _corrections(10), 0.25)
    assert (len(holdout), skipped) == (0, 10)
    assert augmented.train_texts == chinese.train_texts


def test_the_lineage_says_why_corrections_were_skipped() -> None:
    """Regression: corrections of another language were reported as 'label unknown to the
    model', and the run's lineage did not count the skipped ones at all."""
    corrections = pd.concat(
        [
            _corrections(4),
            _corrections(3).assign(**{S.LANGUAGE: "zh"}),
            _corrections(2).assign(**{S.LABEL: "furious"}),
        ]
    )
    augmented, _, skipped = with_corrections(_split(), corrections, 0.25)
    assert skipped == 5
    assert augmented.lineage["corrections_other_language"] == 3
    assert augmented.lineage["corrections_unknown_label"] == 2


def test_the_lineage_counts_the_rows_trained_and_scored() -> None:
    """Regression: a retrain's run recorded the fixed split's 11,541 training rows when it
    trained on 11,699 (158 corrections), and its 2,886 test rows when it scored 2,928."""
    augmented, holdout, _ = with_corrections(_split(), _corrections(40), 0.25)
    assert augmented.lineage["train_rows"] == len(augmented.train_texts) == 2 + 40 - len(holdout)
    assert augmented.lineage["test_rows"] == len(augmented.test_texts) == 1 + len(holdout)


def test_the_lineage_names_the_last_correction_read() -> None:
    """Regression: a retrain's run recorded how many corrections it used and a hash of them,
    not which: the position of the last one read says it (every record's latest up to it)."""
    augmented, _, _ = with_corrections(_split(), _corrections(12), 0.25)
    assert augmented.lineage["corrections_through"] == 12
    empty = _corrections(0)
    assert with_corrections(_split(), empty, 0.25)[0].lineage["corrections_through"] == 0


def _champion_of(augmented: TextSplit, fingerprint: str | None = None) -> VersionSummary:
    return dataclasses.replace(
        _version("tfidf"), eval_fingerprint=fingerprint or fingerprint_of(augmented)
    )


def test_a_retrain_with_no_new_correction_has_nothing_new_to_learn() -> None:
    """Regression: a retrain with no correction since the champion's registered a copy of it
    and promoted it on the tie, every time it ran."""
    augmented, _, _ = with_corrections(_split(), _corrections(12), 0.25)
    params = {
        "split.corrections_train": str(augmented.lineage["corrections_train"]),
        "split.corrections_sha256": str(augmented.lineage["corrections_sha256"]),
    }
    assert learned_already(_champion_of(augmented), params, augmented)
    # One correction more, or other evaluation data, is something new.
    more, _, _ = with_corrections(_split(), _corrections(13), 0.25)
    assert not learned_already(_champion_of(augmented), params, more)
    assert not learned_already(_champion_of(augmented, "other"), params, augmented)


def test_a_plain_champion_learned_no_corrections() -> None:
    # A champion of `agora train triage` records no corrections: a retrain with none is a copy.
    plain, _, _ = with_corrections(_split(), _corrections(0), 0.25)
    assert learned_already(_champion_of(plain), {}, plain)
    corrected, _, _ = with_corrections(_split(), _corrections(4), 0.25)
    assert not learned_already(_champion_of(corrected), {}, corrected)


def test_a_candidate_the_gate_refused_is_not_trained_again_on_the_same_data(
    isolated_home: Path,
) -> None:
    """Regression: after the gate refused a candidate, each retrain with no new correction
    registered another copy of it (v4, then v5 in a trial), refused again."""
    configure_tracking()
    augmented, _, _ = with_corrections(_split(), _corrections(12), 0.25)
    with mlflow.start_run() as run:
        mlflow.log_params({f"split.{k}": v for k, v in augmented.lineage.items()})
    client = MlflowClient()
    client.create_registered_model("m")
    tags = {"agora.model": "tfidf", "agora.eval_fingerprint": fingerprint_of(augmented)}
    client.create_model_version("m", "runs:/x/model", run.info.run_id, tags=tags)

    def on(split: TextSplit) -> Callable[[VersionSummary, dict[str, str]], bool]:
        return lambda version, params: learned_already(version, params, split)

    with pytest.raises(NothingNewToLearnError, match="v1 \\(refused by the gate\\)"):
        refuse_a_copy("m", "tfidf", None, on(augmented), "12 corrections")
    refuse_a_copy("m", "ensemble", None, on(augmented), "")  # another kind is something new
    more, _, _ = with_corrections(_split(), _corrections(13), 0.25)
    refuse_a_copy("m", "tfidf", None, on(more), "")


def test_the_lineage_counts_the_records_agents_disagreed_on() -> None:
    corrections = _corrections(6).assign(**{CORRECTION_DISPUTED: [True, False] * 3})
    augmented, _, _ = with_corrections(_split(), corrections, 0.25)
    assert augmented.lineage["corrections_disputed"] == 3
    assert with_corrections(_split(), _corrections(6), 0.25)[0].lineage["corrections_disputed"] == 0
