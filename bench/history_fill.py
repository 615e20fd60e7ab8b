"""Fill a store with a year of support-desk history, as a desk that used Agora for a year has.

Two steps, so that every stored row is one the service wrote or an exact copy of one:

1. `templates`: sends `--en` airline tweets (item = the airline) and `--zh` waimai-10k reviews
   (item = one of 50 shops) through a running service's `POST /triage` with a customer id, so
   the service stores them as it stores any client's message.
2. `fill`: copies those stored rows into a new store, each copy with a new `triage_id`,
   customer, arrival time and (for the reviews) shop, spread over `--days` days ending now with
   a diurnal and weekly pattern (Poisson counts per hour around `--per-day` messages a day,
   a trough at 04:00 and a peak at 14:00 in the desk's zone, weekends at 60 %). Resolutions
   are written as `ResolutionLog.add` writes them (ordinal 1, redacted text, an agent's name)
   for `--resolutions` complaints, a note in the message's language per reason; corrections
   for 1 % of the complaints. Only ids and times differ from what the API stored.

    python bench/history_fill.py templates --url http://127.0.0.1:3202 --key TRIAGE_KEY \
        --en 2000 --zh 1000
    python bench/history_fill.py fill --templates sqlite:////tmp/seed.db \
        --store-url sqlite:////tmp/year.db --per-day 1500 --resolutions 100000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from data import schemas as S
from data.environment import apply_stack_environment
from data.loaders import load_labelled_texts
from data.store import Store
from data.store.tables import corrections, resolutions, triage_records

DAY_S = 86400
CHUNK = 5000
EN_NOTES = (
    "Apologised, rebooked on the next departure and sent a meal voucher.",
    "Traced the bag; delivered to the customer's address the next day.",
    "Refunded the unused segment and confirmed by email.",
    "Escalated to the duty manager, who called the customer back.",
)
ZH_NOTES = (
    "已联系商家重新配送，并补偿了一张五元优惠券。",
    "核实配送超时，已退还配送费。",
    "已为顾客办理全额退款，退款三个工作日内到账。",
    "已提醒商家注意餐品包装，顾客表示满意。",
)


def templates(url: str, key: str, en: int, zh: int, seed: int) -> int:
    """Store `en` + `zh` real messages through the service's /triage; returns how many."""
    rng = np.random.default_rng(seed)
    tweets = load_labelled_texts("airline-sentiment").drop_duplicates(S.TEXT)
    picked = tweets.sample(n=min(en, len(tweets)), random_state=seed)
    bodies = [
        {"text": row[S.TEXT], "customer_id": f"seed-en-{i}", "item_id": row["airline"]}
        for i, (_, row) in enumerate(picked.iterrows())
    ]
    waimai = load_labelled_texts("waimai-10k").drop_duplicates(S.TEXT)
    chosen = waimai.sample(n=min(zh, len(waimai)), random_state=seed)
    bodies += [
        {"text": text, "customer_id": f"seed-zh-{i}", "item_id": f"shop-{rng.integers(50)}"}
        for i, text in enumerate(chosen[S.TEXT])
    ]

    def send(body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url.rstrip("/") + "/triage",
            json.dumps(body).encode(),
            {"content-type": "application/json", "x-api-key": key},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, bodies))
    return len(bodies)


def arrival_times(days: int, per_day: float, now: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times over `days` days before `now`: Poisson counts per hour whose mean follows
    the clock (trough 04:00, peak 14:00 UTC+8) and the week (weekends at 60 %)."""
    start = math.floor((now - days * DAY_S) / 3600) * 3600
    hours = np.arange(start, now, 3600.0)
    local = (hours / 3600 + 8) % 24
    diurnal = 1 + 0.8 * np.cos((local - 14) / 24 * 2 * np.pi)
    weekday = ((hours + 8 * 3600) // DAY_S + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    weekly = np.where(weekday >= 5, 0.6, 1.0)
    mean = per_day / 24 * diurnal * weekly / np.mean(diurnal * weekly)
    counts = rng.poisson(mean)
    times = np.repeat(hours, counts) + rng.uniform(0, 3600, counts.sum())
    return np.sort(times[times < now])


def fill(
    template_url: str, store_url: str, days: int, per_day: float, resolved: int, seed: int
) -> int:
    """Copy the template records over `days` days and resolve `resolved` complaints."""
    rng = np.random.default_rng(seed)
    source = Store(template_url, must_exist=True)
    with source.engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(select(triage_records)).mappings()]
    if not rows:
        raise SystemExit("the template store holds no triage record: run `templates` first")
    store = Store(store_url)
    now = time.time()
    times = arrival_times(days, per_day, now, rng)
    picks = rng.integers(len(rows), size=len(times))
    customers = rng.integers(200_000, size=len(times))
    started = time.monotonic()
    complaints: list[tuple[str, float, str]] = []
    with store.engine.begin() as connection:
        for lo in range(0, len(times), CHUNK):
            batch = []
            for t, pick, customer in zip(
                times[lo : lo + CHUNK],
                picks[lo : lo + CHUNK],
                customers[lo : lo + CHUNK],
                strict=True,
            ):
                row = dict(rows[pick])
                row["triage_id"] = uuid.uuid4().hex
                row["customer_id"] = f"c-{customer}"
                row["created_at"] = float(t)
                row["idempotency_key"] = None
                row["occurred_at"] = None
                if row["language"] == "zh":
                    row["item_id"] = f"shop-{rng.integers(50)}"
                if row["is_complaint"]:
                    complaints.append((row["triage_id"], float(t), row["language"]))
                batch.append(row)
            connection.execute(insert(triage_records), batch)
    print(f"{len(times):,} triage records in {time.monotonic() - started:.0f} s", flush=True)
    chosen = rng.choice(len(complaints), size=min(resolved, len(complaints)), replace=False)
    chosen.sort()
    outcomes = rng.choice(
        ["resolved", "workaround", "not_resolved"], size=len(chosen), p=[0.75, 0.17, 0.08]
    )
    batch, fixes = [], []
    for n, (index, outcome) in enumerate(zip(chosen, outcomes, strict=True)):
        triage_id, t, language = complaints[index]
        notes = ZH_NOTES if language == "zh" else EN_NOTES
        batch.append(
            {
                "resolution_id": uuid.uuid4().hex,
                "triage_id": triage_id,
                "redacted_resolution": f"{notes[n % len(notes)]} (#{n})",
                "outcome": str(outcome),
                "agent": f"agent-{n % 40}",
                "created_at": t + float(rng.exponential(6 * 3600)),
                "ordinal": 1,
            }
        )
    for index in rng.choice(len(complaints), size=len(complaints) // 100, replace=False):
        triage_id, t, _ = complaints[index]
        fixes.append(
            {
                "correction_id": uuid.uuid4().hex,
                "triage_id": triage_id,
                "field": "urgency" if index % 2 else "is_complaint",
                "correct_label": "critical" if index % 2 else "false",
                "agent": "agent-0",
                "created_at": t + 600.0,
            }
        )
    # Resolutions in the order agents wrote them: their seq is the knowledge base's order.
    batch.sort(key=lambda r: r["created_at"])
    with store.engine.begin() as connection:
        for lo in range(0, len(batch), CHUNK):
            connection.execute(insert(resolutions), batch[lo : lo + CHUNK])
        for lo in range(0, len(fixes), CHUNK):
            connection.execute(insert(corrections), fixes[lo : lo + CHUNK])
    print(f"{len(batch):,} resolutions, {len(fixes):,} corrections", flush=True)
    return len(times)


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    seed = steps.add_parser("templates")
    seed.add_argument("--url", required=True)
    seed.add_argument("--key", required=True)
    seed.add_argument("--en", type=int, default=2000)
    seed.add_argument("--zh", type=int, default=1000)
    year = steps.add_parser("fill")
    year.add_argument("--templates", required=True, help="store URL the templates step wrote")
    year.add_argument("--store-url", required=True)
    year.add_argument("--days", type=int, default=365)
    year.add_argument("--per-day", type=float, default=1500)
    year.add_argument("--resolutions", type=int, default=100_000)
    for sub in (seed, year):
        sub.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.step == "templates":
        print(templates(args.url, args.key, args.en, args.zh, args.seed), "messages triaged")
    else:
        fill(args.templates, args.store_url, args.days, args.per_day, args.resolutions, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
