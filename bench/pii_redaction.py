"""Benchmark: `data.pii.redact` on 100 KB texts of adversarial shapes, against a 50 ms budget.

A triage text may be up to 100 KB and is redacted before it is stored, inside a request; a
pattern whose cost grows faster than the text (the old email pattern took seconds on one letter
repeated) lets one request stall a worker. Each shape below is built to defeat a naive pattern:
long runs of one character class, digits with every separator a phone or card number may use,
many candidates that fail their checksum, and real personal data densely packed.

Prints one row per shape (its best time over a few runs, milliseconds, and how many items were
redacted) with PASS/FAIL against the budget; exits 1 if any shape fails.

Usage:
    python bench/pii_redaction.py [--budget-ms 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time

from data.pii import redact
from serving.settings import MAX_TEXT_BYTES

SIZE = MAX_TEXT_BYTES  # the largest triage text the service accepts


def _fill(unit: str) -> str:
    """`unit` repeated to SIZE characters."""
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


SHAPES: dict[str, str] = {
    "one letter": _fill("a"),
    "one digit": _fill("1"),
    "a@ repeated": _fill("a@"),
    "a. repeated": _fill("a."),
    "dots": _fill("."),
    "a@b. repeated": _fill("a@b."),
    "digits and spaces": _fill("1 "),
    "digits and dashes": _fill("1-"),
    "digits and dots": _fill("1."),
    "digit groups": _fill("1234 "),
    "parentheses": _fill("(1) "),
    "plus signs": _fill("+1 "),
    "letters then digits": _fill("AB12"),
    "Luhn-failing cards": _fill("4111 1111 1111 1112 "),
    "cards with CVV": _fill("4111 1111 1111 1111 123 exp 12/27 "),
    "emails": _fill("jo@example.com "),
    "phone words and digits": _fill("call me at 1234567 "),
    "CJK with digits": _fill("订单号2015022412345，电话13812345678，身份证11010519491231002X。"),
    "full-width digits": _fill("手机１３８１２３４５６７８ "),
    "distinct phones": _fill(
        " ".join(f"+1 415 555 {i:04d}, (212) 555-{i:04d}" for i in range(9999))
    ),
    "prose": _fill(
        "My flight UA 1234 on 2015-02-24 was 45 minutes late; order 1234567890123 cost "
        "$1,299.99. Call me at +1 (415) 555-2671 or mail jane.doe@example.com. "
    ),
}


def best_ms(text: str, repeat: int) -> tuple[float, int]:
    """Best wall-clock milliseconds of `redact(text)` over `repeat` runs, and the items redacted."""
    best = float("inf")
    found = 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = redact(text)
        best = min(best, (time.perf_counter() - started) * 1000)
        found = sum(result.counts.values())
    return best, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    redact("warm-up: jo@example.com +1 (415) 555-2671")  # phonenumbers loads metadata lazily
    failed = []
    header = f"{'shape':<24} {'chars':>7} {'ms':>8} {'redacted':>9}"
    print(f"{header}  verdict (budget {args.budget_ms} ms)")
    for name, text in SHAPES.items():
        ms, found = best_ms(text, args.repeat)
        verdict = "PASS" if ms < args.budget_ms else "FAIL"
        if verdict == "FAIL":
            failed.append(name)
        print(f"{name:<24} {len(text):>7} {ms:>8.1f} {found:>9}  {verdict}")
    if failed:
        print(f"FAIL: {', '.join(failed)} over {args.budget_ms} ms")
        return 1
    print("PASS: every shape within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
