"""The triage engine: from raw feedback texts to `TriageResult`s, in batches.

Pipeline per batch: clean and truncate (`features.text`), decide the language (given, or detected
by `features.language`), then for each language run every task's model once over all texts of
that language (batch `score`, not a loop of singles), then evidence for each task over the batch
its model scored (its features are reused, not recomputed per text), urgency rules and routing.

Tasks and their models:
- sentiment (required, one model per supported language): a language is *supported* exactly when
  it has a sentiment model. Its classes must include "negative".
- reason (optional): why a complaint was made; airline negative reasons are the first taxonomy.
  Reason data is labelled on complaints only, so the reason model runs on complaints only.
- category (optional): routing category (bitext categories).

Each model reads its texts prepared with its own text handling (`TaskModel.text`: the settings
its training texts were cleaned and masked with, saved in its artifact), so a model trained with
other settings than the engine's is never served inputs unlike its training inputs. The engine's
own `config.text` cleans the text for language detection, urgency rules and the result.

Definition of a complaint: `is_complaint` is true exactly when the sentiment model's probability
of "negative" is at least `thresholds.complaint_min_negative` (default 0.5). The reason model
cannot define it: it was never shown a non-complaint.

A task model given as a bare classifier (not a per-language mapping) serves `default_language`
only: an English reason model must not read Chinese (see `task_models`). A missing model leaves
its field null with a note in `warnings`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from data.label_maps import quote_labels
from features.language import (
    LANGUAGE_SCRIPT,
    SCRIPT_LANGUAGE,
    LanguageDetection,
    detect_languages,
    warm_up_detector,
)
from features.text import (
    PreparedText,
    TextConfig,
    TextInputError,
    model_input,
    normalise_for_model,
    prepare_text,
)
from models.classifiers import ScoredTexts
from models.config import ConfigError
from models.triage.arguments import (
    TriageInputError,
    aligned,
    as_list,
    check_customer,
    language_code,
)
from models.triage.config import TriageConfig, load_triage_config
from models.triage.evidence import explain_task
from models.triage.reason_keywords import ReasonKeywordMatcher
from models.triage.routing import RoutingFacts, route
from models.triage.routing_check import routing_problems
from models.triage.schema import (
    TASKS,
    UNSURE,
    URGENCY_LEVELS,
    ComplaintResult,
    Evidence,
    LabelResult,
    LabelScore,
    LanguageInfo,
    ModelUsed,
    SentimentResult,
    Status,
    TriageResult,
)
from models.triage.task_models import ModelSpec, TaskModel, build_task_models
from models.triage.urgency import ModelSignals, UrgencyAssessor

logger = logging.getLogger(__name__)

_TOP_CANDIDATES = 3
WARM_UP_TEXT = "warm up: the flight was late"  # any text: only the models' loading matters


@dataclass
class _Draft:
    """One text's result while the batch is being worked on."""

    raw: str | bytes
    prepared: PreparedText
    customer_id: str | None
    prior_contacts: int
    warnings: list[str]
    status: Status = "ok"
    language: LanguageInfo | None = None
    inputs: dict[TextConfig, str] = field(default_factory=dict)  # model input by text handling
    sentiment: SentimentResult | None = None
    complaint: ComplaintResult | None = None
    reason: LabelResult | None = None
    category: LabelResult | None = None
    evidence: list[Evidence] = field(default_factory=list)
    models: list[ModelUsed] = field(default_factory=list)


class TriageEngine:
    """Triage texts with per-language task models and a TriageConfig."""

    def __init__(
        self,
        models: Mapping[str, ModelSpec],
        config: TriageConfig | None = None,
        default_language: str = "en",
    ) -> None:
        self.config = config or load_triage_config()
        self.models = build_task_models(models, self.config.text, default_language)
        self.supported_languages = frozenset(self.models["sentiment"])
        fallback = self.config.fallback_language
        if fallback is not None and fallback not in LANGUAGE_SCRIPT:
            raise ConfigError(f"fallback_language: the script of '{fallback}' is not known")
        if fallback is not None and fallback not in self.supported_languages:
            # Which languages are served follows the slots bound (a Chinese-only desk serves no
            # English model), so the shipped fallback may name none of them: it is then unused
            # rather than a reason to serve nothing.
            logger.warning(
                "fallback_language '%s' has no sentiment model (served: %s): texts the detector "
                "is unsure of stay undetermined",
                fallback,
                ", ".join(sorted(self.supported_languages)),
            )
            fallback = None
        self.fallback_language = fallback
        self._urgency = UrgencyAssessor(self.config.urgency)
        self._reason_keywords = {
            language: ReasonKeywordMatcher(rules)
            for language, rules in self.config.reason_keywords.items()
        }
        self._warn_undetectable()
        # Rules of the desk's own table that can never match these models' answers: logged
        # here (so `agora batch triage` says so too) and listed by the service under problems.
        self.routing_problems = tuple(
            routing_problems(self.config, self.models, self._keyword_reason_labels())
        )
        for problem in self.routing_problems:
            logger.warning("routing table: %s", problem)
        logger.info(
            "triage engine: languages %s, tasks %s",
            sorted(self.supported_languages),
            {task: sorted(by_language) for task, by_language in self.models.items()},
        )

    def _warn_undetectable(self) -> None:
        """A language served (e.g. a model bound to slot sentiment-sw) that detection never
        gives is reached only by texts sent with that language: say so once, at load."""
        detectable = {*self.config.language.candidates, *SCRIPT_LANGUAGE.values()}
        for language in sorted(self.supported_languages - detectable):
            logger.warning(
                "language '%s' has a sentiment model, but detection never answers it (not in "
                "the triage config's language.candidates): only texts sent with language '%s' "
                "reach its models",
                language,
                language,
            )

    def _keyword_reason_labels(self) -> dict[str, frozenset[str]]:
        """Per served language without a reason model, the reasons its keyword rules give."""
        served_reasons = self.models.get("reason", {})
        return {
            language: frozenset(matcher.labels)
            for language, matcher in self._reason_keywords.items()
            if language in self.supported_languages and language not in served_reasons
        }

    def label_choices(self) -> dict[str, list[str]]:
        """The labels an agent may correct each field to: the served models' classes (across
        languages), the urgency levels and the routing table's queues."""
        choices = {
            task: sorted({label for m in by_language.values() for label in m.classifier.classes_})
            for task, by_language in self.models.items()
            if task != "complaint"  # corrected as the field is_complaint, true or false
        }
        # The keyword reasons of languages no reason model serves are labels triage gives too.
        keyword_labels = {
            label for labels in self._keyword_reason_labels().values() for label in labels
        }
        if keyword_labels:
            choices["reason"] = sorted({*choices.get("reason", []), *keyword_labels})
        routing = self.config.routing
        choices["queue"] = sorted({routing.default_queue, *(r.queue for r in routing.rules)})
        choices["urgency"] = list(URGENCY_LEVELS)
        choices["is_complaint"] = ["true", "false"]
        return choices

    def correction_label(self, field: str, label: str) -> str:
        """`label` as the served models spell it for `field` (case and outer spaces ignored);
        TriageInputError naming the allowed labels when it is none of them.

        A field no served model answers (e.g. `reason` without a reason model) takes any label:
        its taxonomy is the corrections' own until a model is trained on them.
        """
        allowed = self.label_choices().get(field)
        if not allowed:
            return label
        by_key = {choice.strip().casefold(): choice for choice in allowed}
        found = by_key.get(label.strip().casefold())
        if found is None:
            raise TriageInputError(
                f"correct_label is none of the labels the service knows for {field}: "
                f"{quote_labels(allowed)} (GET /desk/queue lists them all as choices)"
            )
        return found

    def warm_up(self) -> None:
        """Load now, rather than on the first text, what triage loads on first use: the language
        detector's models, and what a task model loads on its first prediction (a sentence
        encoder of an embedding classifier, an ONNX session's first run)."""
        warm_up_detector(self.config.language)
        for by_language in self.models.values():
            for model in by_language.values():
                model.classifier.predict_proba([WARM_UP_TEXT])

    def triage(
        self,
        text: str | bytes,
        language: str | None = None,
        customer_id: str | None = None,
        prior_contacts: int = 0,
    ) -> TriageResult:
        """Triage one text; `language` (ISO 639-1) skips detection when given."""
        return self.triage_batch([text], [language], [customer_id], [prior_contacts])[0]

    def triage_batch(
        self,
        texts: Sequence[str | bytes],
        languages: Sequence[str | None] | None = None,
        customer_ids: Sequence[str | None] | None = None,
        prior_contacts: Sequence[int] | None = None,
    ) -> list[TriageResult]:
        """Triage many texts; the optional sequences are per text, aligned with `texts`.

        Any iterable of texts works (a list, a pandas Series, a numpy array), but not a single
        str or bytes, which would otherwise be triaged character by character.
        """
        texts = as_list("texts", texts)
        count = len(texts)
        languages = aligned("languages", languages, count, None)
        customer_ids = aligned("customer_ids", customer_ids, count, None)
        contacts = aligned("prior_contacts", prior_contacts, count, 0)
        drafts = [
            self._draft(i, text, customer_ids[i], contacts[i]) for i, text in enumerate(texts)
        ]
        self._resolve_languages(drafts, [language_code(i, x) for i, x in enumerate(languages)])
        by_language: dict[str, list[_Draft]] = {}
        for draft in drafts:
            if draft.status == "ok" and draft.language is not None and draft.language.code:
                by_language.setdefault(draft.language.code, []).append(draft)
        for language, group in by_language.items():
            self._run_models(language, group)
        return [self._finish(draft) for draft in drafts]

    def _draft(self, index: int, text: object, customer_id: object, contacts: object) -> _Draft:
        try:
            prepared = prepare_text(text, self.config.text)  # type: ignore[arg-type]
        except TextInputError as error:
            raise TriageInputError(f"texts[{index}]: {error}") from None
        customer, count = check_customer(index, customer_id, contacts)
        return _Draft(text, prepared, customer, count, list(prepared.warnings))  # type: ignore[arg-type]

    def _resolve_languages(self, drafts: list[_Draft], given: list[str | None]) -> None:
        """Set each draft's language and status; detection runs once for all undecided texts."""
        to_detect = [
            i for i, d in enumerate(drafts) if given[i] is None and not d.prepared.is_empty
        ]
        detections = detect_languages(
            [drafts[i].prepared.text for i in to_detect], self.config.language
        )
        detected = dict(zip(to_detect, detections, strict=True))
        for index, draft in enumerate(drafts):
            if draft.prepared.is_empty:
                draft.status = "empty"
                draft.language = LanguageInfo(
                    code=None, confidence=0.0, method="none", supported=False
                )
                draft.warnings.append("no letters left after cleaning: nothing to classify")
            elif given[index] is not None:
                code = given[index]
                supported = code in self.supported_languages
                draft.language = LanguageInfo(
                    code=code, confidence=1.0, method="given", supported=supported
                )
                if not supported:
                    self._unsupported(draft, code)
            else:
                self._apply_detection(draft, detected[index])

    def _apply_detection(self, draft: _Draft, detection: LanguageDetection) -> None:
        scripts = detection.scripts
        alternatives = [LabelScore(label=c, probability=p) for c, p in detection.alternatives]
        code, method, confidence = detection.language, detection.method, detection.confidence
        if scripts.mixed:
            shares = ", ".join(f"{s} {v:.2f}" for s, v in scripts.shares.items())
            draft.warnings.append(
                f"mixed scripts ({shares}): language decided by the dominant script "
                f"{scripts.dominant}"
            )
        fallback = self.fallback_language
        if code is None and fallback and LANGUAGE_SCRIPT.get(fallback) == scripts.dominant:
            guesses = ", ".join(f"{c} {p:.2f}" for c, p in detection.alternatives) or "none"
            draft.warnings.append(
                f"language undetermined (detector's guesses: {guesses}); using fallback "
                f"'{fallback}'"
            )
            code, method = fallback, "fallback"
            confidence = dict(detection.alternatives).get(fallback, 0.0)
        draft.language = LanguageInfo(
            code=code,
            confidence=confidence,
            method=method,
            supported=code in self.supported_languages,
            dominant_script=scripts.dominant,
            mixed_scripts=scripts.mixed,
            alternatives=alternatives,
        )
        if code is None:
            draft.status = "undetermined_language"
            draft.warnings.append(
                f"language undetermined ({scripts.dominant} script, best confidence "
                f"{confidence:.2f} < {self.config.language.min_confidence}); no model applied"
            )
        elif code not in self.supported_languages:
            self._unsupported(draft, code)

    def _unsupported(self, draft: _Draft, code: str) -> None:
        draft.status = "unsupported_language"
        draft.warnings.append(
            f"unsupported language '{code}': no sentiment model for it "
            f"(supported: {', '.join(sorted(self.supported_languages))}); no model applied"
        )

    def _run_models(self, language: str, group: list[_Draft]) -> None:
        """Every task's model for `language`, once over the whole group."""
        thresholds = self.config.thresholds
        sentiment = self.models["sentiment"][language]
        scored = {"sentiment": (group, sentiment.classifier.score(self._inputs(group, sentiment)))}
        probabilities = scored["sentiment"][1].probabilities
        classes = sentiment.classifier.classes_
        negative = classes.index("negative")
        for draft, row in zip(group, probabilities, strict=True):
            best = int(row.argmax())
            p_negative = float(row[negative])
            draft.sentiment = SentimentResult(
                label=classes[best],
                probability=float(row[best]),
                band=thresholds.bands.band(float(row[best])),
                probabilities={c: float(p) for c, p in zip(classes, row, strict=True)},
            )
            draft.complaint = ComplaintResult(
                is_complaint=p_negative >= thresholds.complaint_min_negative,
                probability=p_negative,
                threshold=thresholds.complaint_min_negative,
            )
            draft.models.append(_used("sentiment", language, sentiment))
        complaints = [d for d in group if d.complaint is not None and d.complaint.is_complaint]
        for task, drafts, minimum in (
            ("reason", complaints, thresholds.reason_min_probability),
            ("category", group, thresholds.category_min_probability),
        ):
            task_scored = self._run_labels(task, language, drafts, minimum)
            if task_scored is not None:
                scored[task] = (drafts, task_scored)
        if self.config.evidence_terms:
            self._add_evidence(scored)
            for draft in group:  # keyword reasons' evidence came first: back into task order
                draft.evidence.sort(key=lambda evidence: TASKS.index(evidence.task))

    def _add_evidence(self, scored: dict[str, tuple[list[_Draft], ScoredTexts]]) -> None:
        """Each task's evidence over the batch its model scored, in task order per draft."""
        for task in TASKS:
            if task not in scored:
                continue
            drafts, batch = scored[task]
            labels = [_label(getattr(draft, task)) for draft in drafts]
            found = explain_task(task, labels, batch, self.config.evidence_terms)
            for draft, evidence in zip(drafts, found, strict=True):
                if evidence is not None:
                    draft.evidence.append(evidence)

    def _inputs(self, group: list[_Draft], model: TaskModel) -> list[str]:
        return [self._input(draft, model) for draft in group]

    def _input(self, draft: _Draft, model: TaskModel) -> str:
        """The draft's text as `model` reads it: prepared with the model's own text handling.

        Computed once per text handling: with the engine's (the usual case) from the text already
        cleaned, otherwise from the raw text, exactly as training prepared the model's inputs.
        """
        text = model.text
        assert text is not None  # resolved by build_task_models
        if text not in draft.inputs:
            if text == self.config.text:
                draft.inputs[text] = normalise_for_model(draft.prepared.text, text)
            else:
                draft.inputs[text] = model_input(draft.raw, text)
        return draft.inputs[text]

    def _run_labels(
        self, task: str, language: str, group: list[_Draft], min_probability: float
    ) -> ScoredTexts | None:
        """Reason/category for `group` (a null with a note without a model); the scored batch."""
        if not group:
            return None
        model = self.models.get(task, {}).get(language)
        if model is None:
            keywords = self._reason_keywords.get(language) if task == "reason" else None
            if keywords is not None:
                self._keyword_reasons(language, group, keywords)
                return None
            for draft in group:
                draft.warnings.append(f"no {task} model for language '{language}': {task} is null")
            return None
        unsure_labels = set(self.config.thresholds.unsure_reasons) if task == "reason" else set()
        scored = model.classifier.score(self._inputs(group, model))
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
                band=self.config.thresholds.bands.band(best.probability),
                top=top,
            )
            setattr(draft, task, result)
            draft.models.append(_used(task, language, model))
        return scored

    def _keyword_reasons(
        self, language: str, group: list[_Draft], matcher: ReasonKeywordMatcher
    ) -> None:
        """Reasons from the config's keyword rules, for complaints no reason model reads."""
        for draft in group:
            found = matcher.reason(draft.prepared.text)
            draft.reason = found.result()
            draft.warnings.append(found.warning(language))
            if found.matched and self.config.evidence_terms:
                draft.evidence.append(found.evidence())

    def _finish(self, draft: _Draft) -> TriageResult:
        """Urgency, routing and the final result for one draft."""
        complaint = draft.complaint
        signals = ModelSignals(
            is_complaint=complaint.is_complaint if complaint else None,
            negative_probability=complaint.probability if complaint else None,
            complaint_threshold=self.config.thresholds.complaint_min_negative,
        )
        urgency = self._urgency.assess(
            draft.prepared.text, signals, draft.prior_contacts, empty=draft.status == "empty"
        )
        assert draft.language is not None
        facts = RoutingFacts(
            status=draft.status,
            language=draft.language.code,
            urgency=urgency.level,
            sentiment=_label(draft.sentiment),
            is_complaint=signals.is_complaint,
            reason=_label(draft.reason),
            category=_label(draft.category),
            fired_rules=frozenset(f.rule for f in urgency.fired),
        )
        return TriageResult(
            status=draft.status,
            language=draft.language,
            sentiment=draft.sentiment,
            complaint=complaint,
            reason=draft.reason,
            category=draft.category,
            urgency=urgency,
            routing=route(facts, self.config.routing),
            evidence=draft.evidence,
            truncated=draft.prepared.truncated,
            original_chars=draft.prepared.original_chars,
            models=draft.models,
            warnings=draft.warnings,
            customer_id=draft.customer_id,
            prior_contacts=draft.prior_contacts,
        )


def _label(result: object) -> str | None:
    return getattr(result, "label", None)


def _used(task: str, language: str, model: TaskModel) -> ModelUsed:
    return ModelUsed(task=task, language=language, name=model.name, version=model.version)
