"""The triage engine: from raw feedback texts to `TriageResult`s, in batches.

Pipeline per batch: clean and truncate (`features.text`), decide the language (given, or detected
by `features.language`), then for each language run every task's model once over all texts of
that language (batch `score`, not a loop of singles), then evidence for each task over the batch
its model scored (its features are reused, not recomputed per text), urgency rules and routing.
This module is the entry point and reads a batch top-down; the steps with rules of their own
live beside it: `language_resolution` (given, detected, fallback, unsupported) and `model_runs`
(the task models and reason keyword rules over one language's texts), both filling a `Draft`.

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
of "negative" is at least `thresholds.complaint_min_negative` (default 0.5; a language's own
in `complaint_min_negative_by_language`). The reason model
cannot define it: it was never shown a non-complaint. A language with inquiry rules
(`inquiry.py`) keeps a question or request with no negative evidence out of the complaints.

A task model given as a bare classifier (not a per-language mapping) serves `default_language`
only: an English reason model must not read Chinese (see `task_models`). A missing model leaves
its field null with a note in `warnings`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from data.label_maps import quote_labels
from features.language import LANGUAGE_SCRIPT, SCRIPT_LANGUAGE, warm_up_detector
from features.text import TextInputError, prepare_text
from models.config import ConfigError
from models.triage.arguments import (
    TriageInputError,
    aligned,
    as_list,
    check_customer,
    language_code,
)
from models.triage.config import TriageConfig, load_triage_config
from models.triage.draft import Draft, label_of
from models.triage.inquiry import InquiryGate
from models.triage.language_resolution import resolve_languages
from models.triage.model_runs import run_models
from models.triage.reason_keywords import ReasonKeywordMatcher
from models.triage.routing import RoutingFacts, route
from models.triage.routing_check import routing_problems
from models.triage.schema import URGENCY_LEVELS, TriageResult
from models.triage.task_models import ModelSpec, build_task_models
from models.triage.urgency import ModelSignals, UrgencyAssessor

logger = logging.getLogger(__name__)

WARM_UP_TEXT = "warm up: the flight was late"  # any text: only the models' loading matters


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
        # A threat or a legal word phrased as a question is negative evidence too.
        urgency_keywords = tuple(
            keyword for rule in self.config.urgency.keyword_rules for keyword in rule.keywords
        )
        self._inquiry_gates = {
            language: InquiryGate(rule, urgency_keywords)
            for language, rule in self.config.inquiry.items()
        }
        self._warn_undetectable()
        keyword_reasons = self._keyword_reason_labels()
        # Fixed for the engine's life (its models and config never change): built once, not at
        # every correction and desk page that asks.
        self._choices = self._build_label_choices(keyword_reasons)
        self._language_choices = self._build_language_choices()
        # Rules of the desk's own table that can never match these models' answers: logged
        # here (so `agora batch triage` says so too) and listed by the service under problems.
        self.routing_problems = tuple(routing_problems(self.config, self.models, keyword_reasons))
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
        languages), the keyword reasons, the urgency levels and the routing table's queues."""
        return {field: list(labels) for field, labels in self._choices.items()}

    def _build_label_choices(
        self, keyword_reasons: Mapping[str, frozenset[str]]
    ) -> dict[str, list[str]]:
        choices = {
            task: sorted({label for m in by_language.values() for label in m.classifier.classes_})
            for task, by_language in self.models.items()
            if task != "complaint"  # corrected as the field is_complaint, true or false
        }
        # The keyword reasons of languages no reason model serves are labels triage gives too.
        keyword_labels = {label for labels in keyword_reasons.values() for label in labels}
        if keyword_labels:
            choices["reason"] = sorted({*choices.get("reason", []), *keyword_labels})
        routing = self.config.routing
        choices["queue"] = sorted({routing.default_queue, *(r.queue for r in routing.rules)})
        choices["urgency"] = list(URGENCY_LEVELS)
        choices["is_complaint"] = ["true", "false"]
        return choices

    def language_choices(self) -> dict[str, dict[str, list[str]]]:
        """Per language, the fields whose labels that language's own model sets, and its labels:
        what `correction_label` takes for a record of that language (the desk offers these on
        such a record, not every language's, so a Chinese case is never offered `neutral`)."""
        return {
            language: {field: list(labels) for field, labels in fields.items()}
            for language, fields in self._language_choices.items()
        }

    def _build_language_choices(self) -> dict[str, dict[str, list[str]]]:
        by_language: dict[str, dict[str, list[str]]] = {}
        for field, models in self.models.items():
            if field not in self._choices:  # `complaint` is corrected as is_complaint
                continue
            for language, model in models.items():
                labels = sorted(model.classifier.classes_)
                by_language.setdefault(language, {})[field] = labels
        return by_language

    def correction_label(self, field: str, label: str, language: str | None = None) -> str:
        """`label` as the served models spell it for `field` (case and outer spaces ignored);
        TriageInputError naming the allowed labels when it is none of them.

        With the record's `language`, a field a model of that language answers takes that
        model's labels only: `neutral` on a Chinese text (a two-class model) was stored, then
        skipped by every retrain. A field no served model answers (e.g. `reason` without a
        reason model) takes any label: its taxonomy is the corrections' own until a model is
        trained on them.
        """
        allowed = self._choices.get(field)
        if not allowed:
            return label
        own = self._language_choices.get(language or "", {}).get(field)
        if own is not None:
            allowed = own
        by_key = {choice.strip().casefold(): choice for choice in allowed}
        found = by_key.get(label.strip().casefold())
        if found is None:
            of = f"{field} of a '{language}' text" if own is not None else field
            raise TriageInputError(
                f"correct_label is none of the labels the service knows for {of}: "
                f"{quote_labels(allowed)} (GET /desk/queue lists each language's as "
                "language_choices)"
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
        resolve_languages(
            drafts,
            [language_code(i, x) for i, x in enumerate(languages)],
            self.config.language,
            self.supported_languages,
            self.fallback_language,
        )
        by_language: dict[str, list[Draft]] = {}
        for draft in drafts:
            if draft.status == "ok" and draft.language is not None and draft.language.code:
                by_language.setdefault(draft.language.code, []).append(draft)
        for language, group in by_language.items():
            run_models(
                language,
                group,
                self.models,
                self.config,
                self._reason_keywords,
                self._inquiry_gates,
            )
        return [self._finish(draft) for draft in drafts]

    def _draft(self, index: int, text: object, customer_id: object, contacts: object) -> Draft:
        try:
            prepared = prepare_text(text, self.config.text)  # type: ignore[arg-type]
        except TextInputError as error:
            raise TriageInputError(f"texts[{index}]: {error}") from None
        customer, count = check_customer(index, customer_id, contacts)
        return Draft(text, prepared, customer, count, list(prepared.warnings))  # type: ignore[arg-type]

    def _finish(self, draft: Draft) -> TriageResult:
        """Urgency, routing and the final result for one draft."""
        complaint = draft.complaint
        signals = ModelSignals(
            is_complaint=complaint.is_complaint if complaint else None,
            negative_probability=complaint.probability if complaint else None,
            complaint_threshold=(
                complaint.threshold if complaint else self.config.thresholds.complaint_min_negative
            ),
            inquiry_markers=tuple(complaint.matched) if complaint else (),
            language=draft.language.code if draft.language else None,
        )
        urgency = self._urgency.assess(
            draft.prepared.text, signals, draft.prior_contacts, empty=draft.status == "empty"
        )
        assert draft.language is not None
        facts = RoutingFacts(
            status=draft.status,
            language=draft.language.code,
            urgency=urgency.level,
            sentiment=label_of(draft.sentiment),
            is_complaint=signals.is_complaint,
            reason=label_of(draft.reason),
            category=label_of(draft.category),
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
