"""Questions and requests: kept out of `complaint` when nothing in them is negative.

The shipped Chinese sentiment model learnt two classes from food-delivery reviews (negative,
positive): it has never seen a neutral message, and a support inbox is mostly neutral ones. It
reads a plain question ("请问会员怎么续费？") as negative with P 0.93, so `is_complaint`
(P(negative) >= threshold) marked nearly every question a complaint, and no threshold or neutral
band on that probability separates them (questions and complaints of a Chinese inbox have the
same median P(negative); README, "Questions and requests"). What does separate them is in the
words: a question or a request says so (请问, 怎么, 吗, 希望, "how do I"), and a complaint
names what went wrong (失败, 还没到, 被盗, "delayed").

So, per language, a message the model calls a complaint is overruled when it holds a question
or request marker and no negative evidence: none of the rule's `negative` keywords and none of
the urgency keyword rules' (a threat phrased as a question stays a complaint). The answer says
so (`complaint.source: inquiry`, the markers matched, the model's own probability kept). The
rules are config: `inquiry.yaml` beside this module, replaced by the `inquiry` section of a
desk's triage config (`inquiry: {}` turns it off). Keywords match as the urgency rules' do
(Chinese anywhere, Latin words whole, Traditional as Simplified). A sentiment model with a
neutral class is left alone by default (`applies_to`): it already tells a question apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from features.han_variants import fold_traditional
from models.config import FrozenConfig
from models.triage.urgency import Keywords, keyword_pattern

_MAX_MATCHED = 5  # markers listed in the answer


class InquiryRule(FrozenConfig):
    """One language's question/request markers and the words that mean something went wrong."""

    markers: Keywords
    negative: Keywords
    # A model with a neutral class already answers a question "neutral" (the airline model:
    # this rule there lost 32 of its test split's complaints and kept out 5 non-complaints), so
    # by default the rule overrules only a model without one; `any` overrules every model.
    applies_to: Literal["without_neutral", "any"] = "without_neutral"


# language (ISO 639-1) -> its rule
InquiryRules = dict[str, InquiryRule]


def check_inquiry_rules(table: InquiryRules) -> InquiryRules:
    """The table, refused with a sentence when a language code is malformed."""
    for language in table:
        if not re.fullmatch(r"[a-z]{2}", language):
            raise ValueError(f"'{language}' is not an ISO 639-1 language code such as 'zh'")
    return table


@dataclass(frozen=True)
class InquiryMatch:
    """A message that asks or requests and shows no negative evidence: the markers found."""

    markers: tuple[str, ...]

    def warning(self, p_negative: float) -> str:
        return (
            f"not a complaint: a question or request ({', '.join(self.markers)}) with no "
            f"negative evidence, although the sentiment model gave P(negative)={p_negative:.3f}"
        )


class InquiryGate:
    """One language's rule, compiled once; `urgency_keywords` count as negative evidence too."""

    def __init__(self, rule: InquiryRule, urgency_keywords: tuple[str, ...] = ()) -> None:
        self.applies_to = rule.applies_to
        self._markers = keyword_pattern(rule.markers)
        self._negative = keyword_pattern((*rule.negative, *urgency_keywords))

    def match(self, text: str) -> InquiryMatch | None:
        """The markers when `text` (cleaned) asks or requests and holds no negative evidence.

        Negative evidence is looked for outside the markers, so that a negation may be negative
        evidence (没, 不, "not") while a marker holding one (能不能, 可不可以) still asks."""
        folded = fold_traditional(text)
        spans = list(self._markers.finditer(folded))
        if not spans:
            return None
        outside = self._markers.sub(lambda m: " " * len(m.group()), folded)
        if self._negative.search(outside):
            return None
        found = dict.fromkeys(text[m.start() : m.end()].lower() for m in spans)
        return InquiryMatch(tuple(found)[:_MAX_MATCHED])
