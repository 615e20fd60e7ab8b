"""Which language each text of a batch is triaged in, and why a text gets no model.

A language is given by the caller or detected (`features.language`); detection runs once for all
the batch's texts without a given language. A text whose language is undetermined may take the
engine's `fallback_language` when the detector's dominant script is that language's script. A
text in a language without a sentiment model (the definition of *supported*) or of no language
at all gets a status saying so, a warning, and no model.
"""

from __future__ import annotations

from collections.abc import Collection

from features.language import LANGUAGE_SCRIPT, LanguageConfig, LanguageDetection, detect_languages
from models.triage.draft import Draft
from models.triage.schema import LabelScore, LanguageInfo


def resolve_languages(
    drafts: list[Draft],
    given: list[str | None],
    config: LanguageConfig,
    supported: Collection[str],
    fallback: str | None,
) -> None:
    """Set each draft's language and status; detection runs once for all undecided texts."""
    to_detect = [i for i, d in enumerate(drafts) if given[i] is None and not d.prepared.is_empty]
    detections = detect_languages([drafts[i].prepared.text for i in to_detect], config)
    detected = dict(zip(to_detect, detections, strict=True))
    for index, draft in enumerate(drafts):
        if draft.prepared.is_empty:
            draft.status = "empty"
            draft.language = LanguageInfo(code=None, confidence=0.0, method="none", supported=False)
            draft.warnings.append("no letters left after cleaning: nothing to classify")
        elif given[index] is not None:
            code = given[index]
            is_supported = code in supported
            draft.language = LanguageInfo(
                code=code, confidence=1.0, method="given", supported=is_supported
            )
            if not is_supported:
                mark_unsupported(draft, code, supported)
        else:
            apply_detection(draft, detected[index], config, supported, fallback)


def apply_detection(
    draft: Draft,
    detection: LanguageDetection,
    config: LanguageConfig,
    supported: Collection[str],
    fallback: str | None,
) -> None:
    """The draft's language from the detector's answer, or `fallback` when the detector is
    unsure and the text's dominant script is the fallback's."""
    scripts = detection.scripts
    alternatives = [LabelScore(label=c, probability=p) for c, p in detection.alternatives]
    code, method, confidence = detection.language, detection.method, detection.confidence
    if scripts.mixed:
        shares = ", ".join(f"{s} {v:.2f}" for s, v in scripts.shares.items())
        draft.warnings.append(
            f"mixed scripts ({shares}): language decided by the dominant script {scripts.dominant}"
        )
    if code is None and fallback and LANGUAGE_SCRIPT.get(fallback) == scripts.dominant:
        guesses = ", ".join(f"{c} {p:.2f}" for c, p in detection.alternatives) or "none"
        draft.warnings.append(
            f"language undetermined (detector's guesses: {guesses}); using fallback '{fallback}'"
        )
        code, method = fallback, "fallback"
        confidence = dict(detection.alternatives).get(fallback, 0.0)
    draft.language = LanguageInfo(
        code=code,
        confidence=confidence,
        method=method,
        supported=code in supported,
        dominant_script=scripts.dominant,
        mixed_scripts=scripts.mixed,
        alternatives=alternatives,
    )
    if code is None:
        draft.status = "undetermined_language"
        draft.warnings.append(
            f"language undetermined ({scripts.dominant} script, best confidence "
            f"{confidence:.2f} < {config.min_confidence}); no model applied"
        )
    elif code not in supported:
        mark_unsupported(draft, code, supported)


def mark_unsupported(draft: Draft, code: str, supported: Collection[str]) -> None:
    """No model for the draft: its language `code` has no sentiment model."""
    draft.status = "unsupported_language"
    draft.warnings.append(
        f"unsupported language '{code}': no sentiment model for it "
        f"(supported: {', '.join(sorted(supported))}); no model applied"
    )
