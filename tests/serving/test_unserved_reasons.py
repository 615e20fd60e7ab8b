"""A 503 for a missing champion says why that champion is missing, in sentences.

Regression (a scale-out trial): a replica started while the registry was down answered
`/recommend` with "no recommender champion: {'recommender': \"no champion for ...\",
'sentiment-en': '...', ...}", every slot's problem as a Python dict (3 KB), triage's included.
"""

from __future__ import annotations

from serving.model_info import feeds_need, triage_needs, why_unserved
from serving.served_models import ServedModels

PROBLEMS = {
    "recommender": "no champion for 'agora-recommender': registry "
    "http://ops:s3cret@registry:5000 failed (ConnectionError: refused)",
    "sentiment-en": "no champion for 'agora-triage-sentiment-en'",
    "sentiment-zh": "no champion for 'agora-triage-sentiment-zh'",
    "category": "no champion for 'agora-triage-category'",
    "sentiment-es": "no champion for 'agora-triage-sentiment-es'",
    "triage": "no sentiment champion: triage needs at least one",
}


def test_a_feed_names_only_the_recommenders_problem_with_credentials_masked() -> None:
    served = ServedModels(None, None, None, {}, PROBLEMS)
    why = why_unserved(served, feeds_need)
    assert why.startswith("recommender: no champion for 'agora-recommender'")
    assert "s3cret" not in why and "sentiment" not in why and "{" not in why


def test_triage_names_its_sentiment_slots_language_slots_too_not_the_others() -> None:
    served = ServedModels(None, None, None, {}, PROBLEMS)
    why = why_unserved(served, triage_needs)
    assert why == (
        "sentiment-en: no champion for 'agora-triage-sentiment-en'; "
        "sentiment-zh: no champion for 'agora-triage-sentiment-zh'; "
        "sentiment-es: no champion for 'agora-triage-sentiment-es'; "
        "triage: no sentiment champion: triage needs at least one"
    )


def test_no_recorded_problem_reads_as_not_loaded_yet() -> None:
    assert why_unserved(ServedModels(None, None, None, {}), feeds_need) == "not loaded yet"
