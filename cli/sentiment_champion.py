"""Choose and promote the English sentiment champion (shared by `make demo` and
`agora train sentiment-champion`): candidates trained within a budget, the one that transfers
best among those meeting the bar promoted, and why said in the output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from features.text_splits import Task, load_split
from models.served_models import triage_registered_name

Say = Callable[[str], None]


def select_and_promote(
    dataset: str,
    config: Any,
    policy: Any,
    say: Say,
    promote_champion: bool = True,
    name: str | None = None,
) -> Any:
    """Run the selection on `dataset`; promote its choice through the gate unless told not to.

    Returns the `training.triage.selection.Selection`.
    """
    from mlflow.tracking import MlflowClient

    from data.loaders import load_labelled_texts
    from training.promotion import PromotionRefusedError, promote
    from training.tracking import configure_tracking
    from training.triage.selection import select_sentiment_champion
    from training.triage.transfer import load_checks

    split = load_split(dataset, Task.SENTIMENT)  # a bad dataset fails before any other work
    configure_tracking()
    target = name or triage_registered_name(Task.SENTIMENT, "en", dataset)
    say(f"   {target}: candidates trained within {policy.budget_minutes:g} minutes")
    say(
        "   out of domain: Bitext utterances stating (dis)satisfaction (balanced accuracy) and "
        "CFPB complaint narratives (share read as negative); see training/triage/transfer.py"
    )
    checks, missing = load_checks(load_labelled_texts)
    for reason in missing:
        say(f"   out-of-domain check left out (its dataset could not be read): {reason}")
    selection = select_sentiment_champion(dataset, config, checks, target, policy, say, split=split)
    for skipped in selection.skipped:
        say(f"   not trained: {skipped}")
    chosen = selection.chosen
    say(f"   chosen: {chosen.kind} v{chosen.run.version}, because {selection.reason}")
    if promote_champion:
        try:
            promote(
                MlflowClient(),
                target,
                version=chosen.run.version,
                reason=f"sentiment selection: {selection.reason}",
            )
            say(f"      -> @champion is v{chosen.run.version}")
        except PromotionRefusedError as refused:
            say(f"      -> kept the current champion: {refused}")
    return selection
