"""The task models (and the reason keyword rules) over the texts of one language.

Each task's model for the language runs once over the whole group (batch `score`, not a loop of
singles), then each task's evidence is found over the batch its model scored, so its features are
reused rather than recomputed per text. Sentiment runs on every text and defines complaints; the
reason model runs on complaints only, since reason data is labelled on complaints only; category
runs on every text. A language without a reason model takes its reasons from the config's keyword
rules when it has some; any other missing model leaves its field null with a note in `warnings`.
A language with inquiry rules keeps its questions and requests with no negative evidence out of
the complaints before the reasons are found (`inquiry.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from features.text import TextConfig, model_input, normalise_for_model
from models.classifiers import ScoredTexts
from models.triage.config import TriageConfig
from models.triage.draft import Draft, label_of
from models.triage.evidence import explain_task
from models.triage.inquiry import InquiryGate
from models.triage.reason_keywords import ReasonKeywordMatcher
from models.triage.schema import (
    TASKS,
    UNSURE,
    ComplaintResult,
    Evidence,
    EvidenceTerm,
    LabelResult,
    LabelScore,
    ModelUsed,
    SentimentResult,
)
from models.triage.task_models import TaskModel

_TOP_CANDIDATES = 3
# Evidence order in an answer: the complaint's (inquiry markers) right after the sentiment's.
_EVIDENCE_ORDER = ("sentiment", "complaint", *TASKS[1:])

# task -> language -> model, as `build_task_models` checked them
TaskModels = Mapping[str, Mapping[str, TaskModel]]


def run_models(
    language: str,
    group: list[Draft],
    models: TaskModels,
    config: TriageConfig,
    reason_keywords: Mapping[str, ReasonKeywordMatcher],
    inquiry_gates: Mapping[str, InquiryGate] | None = None,
) -> None:
    """Every task's model for `language`, once over the whole group."""
    thresholds = config.thresholds
    sentiment = models["sentiment"][language]
    scored = {
        "sentiment": (group, sentiment.classifier.score(_inputs(group, sentiment, config.text)))
    }
    probabilities = scored["sentiment"][1].probabilities
    classes = sentiment.classifier.classes_
    negative = classes.index("negative")
    gate = (inquiry_gates or {}).get(language)
    if gate is not None and gate.applies_to == "without_neutral" and "neutral" in classes:
        gate = None
    threshold = thresholds.complaint_threshold(language)
    for draft, row in zip(group, probabilities, strict=True):
        best = int(row.argmax())
        p_negative = float(row[negative])
        draft.sentiment = SentimentResult(
            label=classes[best],
            probability=float(row[best]),
            band=thresholds.bands.band(float(row[best])),
            probabilities={c: float(p) for c, p in zip(classes, row, strict=True)},
        )
        draft.complaint = _complaint(draft, p_negative, threshold, gate)
        draft.models.append(_used("sentiment", language, sentiment))
    complaints = [d for d in group if d.complaint is not None and d.complaint.is_complaint]
    for task, drafts, minimum in (
        ("reason", complaints, thresholds.reason_min_probability),
        ("category", group, thresholds.category_min_probability),
    ):
        task_scored = _run_labels(task, language, drafts, minimum, models, config, reason_keywords)
        if task_scored is not None:
            scored[task] = (drafts, task_scored)
    if config.evidence_terms:
        _add_evidence(scored, config.evidence_terms)
        for draft in group:  # keyword reasons' evidence came first: back into task order
            draft.evidence.sort(key=lambda evidence: _EVIDENCE_ORDER.index(evidence.task))


def _complaint(
    draft: Draft, p_negative: float, threshold: float, gate: InquiryGate | None
) -> ComplaintResult:
    """The model's complaint decision, overruled for a question or request with no negative
    evidence (the model's probability is kept, so the answer shows what was overruled)."""
    is_complaint = p_negative >= threshold
    # Only a complaint can be overruled: the markers are looked for in no other text.
    found = gate.match(draft.prepared.text) if gate is not None and is_complaint else None
    if found is None:
        return ComplaintResult(
            is_complaint=is_complaint, probability=p_negative, threshold=threshold
        )
    draft.warnings.append(found.warning(p_negative))
    draft.evidence.append(
        Evidence(
            task="complaint",
            label="inquiry",
            terms=[EvidenceTerm(term=marker, weight=1.0) for marker in found.markers],
        )
    )
    return ComplaintResult(
        is_complaint=False,
        probability=p_negative,
        threshold=threshold,
        source="inquiry",
        matched=list(found.markers),
    )


def _add_evidence(scored: dict[str, tuple[list[Draft], ScoredTexts]], evidence_terms: int) -> None:
    """Each task's evidence over the batch its model scored, in task order per draft."""
    for task in TASKS:
        if task not in scored:
            continue
        drafts, batch = scored[task]
        labels = [label_of(getattr(draft, task)) for draft in drafts]
        found = explain_task(task, labels, batch, evidence_terms)
        for draft, evidence in zip(drafts, found, strict=True):
            if evidence is not None:
                draft.evidence.append(evidence)


def _inputs(group: list[Draft], model: TaskModel, engine_text: TextConfig) -> list[str]:
    return [_input(draft, model, engine_text) for draft in group]


def _input(draft: Draft, model: TaskModel, engine_text: TextConfig) -> str:
    """The draft's text as `model` reads it: prepared with the model's own text handling.

    Computed once per text handling: with the engine's (`engine_text`, the usual case) from the
    text already cleaned, otherwise from the raw text, exactly as training prepared the model's
    inputs.
    """
    text = model.text
    assert text is not None  # resolved by build_task_models
    if text not in draft.inputs:
        if text == engine_text:
            draft.inputs[text] = normalise_for_model(draft.prepared.text, text)
        else:
            draft.inputs[text] = model_input(draft.raw, text)
    return draft.inputs[text]


def _run_labels(
    task: str,
    language: str,
    group: list[Draft],
    min_probability: float,
    models: TaskModels,
    config: TriageConfig,
    reason_keywords: Mapping[str, ReasonKeywordMatcher],
) -> ScoredTexts | None:
    """Reason/category for `group` (a null with a note without a model); the scored batch."""
    if not group:
        return None
    model = models.get(task, {}).get(language)
    if model is None:
        keywords = reason_keywords.get(language) if task == "reason" else None
        if keywords is not None:
            _keyword_reasons(language, group, keywords, config.evidence_terms)
            return None
        for draft in group:
            draft.warnings.append(f"no {task} model for language '{language}': {task} is null")
        return None
    unsure_labels = set(config.thresholds.unsure_reasons) if task == "reason" else set()
    scored = model.classifier.score(_inputs(group, model, config.text))
    probabilities = scored.probabilities
    classes = model.classifier.classes_
    for draft, row in zip(group, probabilities, strict=True):
        order = np.argsort(-row)[:_TOP_CANDIDATES]
        top = [LabelScore(label=classes[i], probability=float(row[i])) for i in order]
        best = top[0]
        label = best.label
        if best.probability < min_probability or label in unsure_labels:
            label = UNSURE
        result = LabelResult(
            taxonomy=task,
            label=label,
            probability=best.probability,
            band=config.thresholds.bands.band(best.probability),
            top=top,
        )
        setattr(draft, task, result)
        draft.models.append(_used(task, language, model))
    return scored


def _keyword_reasons(
    language: str, group: list[Draft], matcher: ReasonKeywordMatcher, evidence_terms: int
) -> None:
    """Reasons from the config's keyword rules, for complaints no reason model reads."""
    for draft in group:
        found = matcher.reason(draft.prepared.text)
        draft.reason = found.result()
        draft.warnings.append(found.warning(language))
        if found.matched and evidence_terms:
            draft.evidence.append(found.evidence())


def _used(task: str, language: str, model: TaskModel) -> ModelUsed:
    return ModelUsed(task=task, language=language, name=model.name, version=model.version)
