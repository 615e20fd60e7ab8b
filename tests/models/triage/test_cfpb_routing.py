"""The shipped routing table sends CFPB complaint products to their queues, and the earlier
Bitext and airline routes are unchanged; a CFPB category model in the engine answers a product
and its queue."""

from __future__ import annotations

import pytest

from models.classifiers.tfidf import TfidfClassifier, TfidfConfig
from models.triage import TriageEngine, load_triage_config
from models.triage.routing import RoutingFacts, route

ROUTING = load_triage_config().routing

CREDIT_REPORTING = "Credit reporting, credit repair services, or other personal consumer reports"


def facts(**values: object) -> RoutingFacts:
    base: dict[str, object] = {
        "status": "ok",
        "language": "en",
        "urgency": "normal",
        "sentiment": "negative",
        "is_complaint": True,
    }
    return RoutingFacts(**{**base, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("product", "queue"),
    [
        (CREDIT_REPORTING, "credit_bureau_disputes"),
        ("Credit reporting or other personal consumer reports", "credit_bureau_disputes"),
        ("Credit reporting", "credit_bureau_disputes"),
        ("Debt collection", "collections"),
        ("Debt or credit management", "collections"),
        ("Mortgage", "mortgages"),
        ("Credit card or prepaid card", "cards_and_accounts"),
        ("Credit card", "cards_and_accounts"),
        ("Prepaid card", "cards_and_accounts"),
        ("Checking or savings account", "cards_and_accounts"),
        ("Bank account or service", "cards_and_accounts"),
        ("Money transfer, virtual currency, or money service", "payments"),
        ("Money transfers", "payments"),
        ("Virtual currency", "payments"),
        ("Student loan", "consumer_lending"),
        ("Vehicle loan or lease", "consumer_lending"),
        ("Payday loan, title loan, or personal loan", "consumer_lending"),
        ("Payday loan", "consumer_lending"),
        ("Consumer Loan", "consumer_lending"),
        # No desk of its own: an ordinary complaint.
        ("Other financial service", "complaints"),
    ],
)
def test_cfpb_products_route_to_their_queues(product: str, queue: str) -> None:
    assert route(facts(category=product), ROUTING).queue == queue


def test_a_product_route_even_when_urgent_but_escalations_come_first() -> None:
    urgent = facts(category="Mortgage", urgency="high")
    assert route(urgent, ROUTING).queue == "mortgages"
    legal = facts(category="Mortgage", urgency="high", fired_rules=frozenset({"legal"}))
    assert route(legal, ROUTING).queue == "legal_escalation"


@pytest.mark.parametrize(
    ("given", "queue"),
    [
        ({"category": "ORDER"}, "orders"),
        ({"category": "REFUNDS"}, "billing"),
        ({"category": "ACCOUNT"}, "accounts"),
        ({"reason": "Lost Luggage"}, "baggage"),
        ({"reason": "Late Flight"}, "flight_operations"),
        ({"sentiment": "positive", "is_complaint": False, "category": "Mortgage"}, "feedback"),
        ({"language": "zh", "category": "Mortgage"}, "zh_support"),
        ({"category": "unsure"}, "complaints"),
    ],
)
def test_bitext_and_airline_routes_are_unchanged(given: dict, queue: str) -> None:
    assert route(facts(**given), ROUTING).queue == queue


def test_engine_with_a_cfpb_category_model_answers_a_product_and_its_queue() -> None:
    tiny = TfidfConfig(min_df=1, calibration_folds=0, c=20.0)
    sentiment = TfidfClassifier(tiny).fit(
        [
            "they reported a debt that is not mine and refuse to fix it",
            "the servicer lost my payment and charged a late fee",
            "thank you for the quick help, great service",
            "very happy with how this was handled",
        ],
        ["negative", "negative", "positive", "positive"],
    )
    rows = [
        ("my credit report shows an account that is not mine", CREDIT_REPORTING),
        ("equifax will not remove the wrong late payment from my report", CREDIT_REPORTING),
        ("a collector keeps calling about a debt I do not owe", "Debt collection"),
        ("the collection agency threatened me over an old debt", "Debt collection"),
        ("my mortgage servicer misapplied my escrow payment", "Mortgage"),
        ("the lender refused my loan modification on the house", "Mortgage"),
    ]
    category = TfidfClassifier(tiny).fit([t for t, _ in rows], [p for _, p in rows])
    engine = TriageEngine({"sentiment": sentiment, "category": category}, load_triage_config())
    results = engine.triage_batch(
        [
            "the credit report from the bureau lists an account that is not mine",
            "a debt collector keeps calling me about a debt",
            "my mortgage servicer lost my escrow payment",
        ],
        languages=["en", "en", "en"],
    )
    answered = [(r.category.label if r.category else None, r.routing.queue) for r in results]
    assert answered == [
        (CREDIT_REPORTING, "credit_bureau_disputes"),
        ("Debt collection", "collections"),
        ("Mortgage", "mortgages"),
    ]
