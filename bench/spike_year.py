"""Benchmark: spike alerts over a year of stored triage (false alarms) and an injected incident.

Reads the store's counts per window for each watched dimension over the last 364 days (in
chunks of at most 1,900 windows, the top 50 groups of each chunk), tests every window as the
service's analysis would (`models.analytics.spikes.score_window`; a group's episode alerts in
its first flagged window), and counts the alerts. Then, for the largest and the tenth largest
group of each dimension, it triples the group for one day (day 200 from 08:00 UTC for hourly
windows, the whole day for daily ones; the extra messages are added to the volume too) and says
in which window of that day the group first alerted, if it did.

    python bench/spike_year.py --store-url sqlite:////tmp/year.db [--window 3600 --baseline 24]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from data.environment import apply_stack_environment
from data.store import Store
from models.analytics.spikes import SpikeConfig, score_window

DAY_S = 86400.0
DIMENSIONS = ("reason", "item", "item_reason")  # serving.complaint_analysis.WATCHED
CHUNK_WINDOWS = 1900  # under data.store.complaint_counts.MAX_BUCKETS


def year_counts(
    store: Store, dimension: str, start: float, end: float, window: float
) -> tuple[dict[str, list[int]], list[int]]:
    """Counts per window of each group and the volume per window over [start, end)."""
    groups: dict[str, list[int]] = {}
    totals: list[int] = []
    t = start
    while t < end:
        until = min(end, t + CHUNK_WINDOWS * window)
        counts = store.complaints.counts(dimension, t, until, width=window)
        for group, series in counts.groups.items():
            groups.setdefault(group, [0] * len(totals)).extend(series)
        totals.extend(counts.totals)
        for series in groups.values():
            series.extend([0] * (len(totals) - len(series)))
        t = until
    return groups, totals


def alerts(
    groups: dict[str, list[int]], totals: list[int], config: SpikeConfig, first: int, last: int
) -> list[tuple[int, str]]:
    """(window, group) of each episode's first flagged window in [first, last)."""
    found, before = [], set[str]()
    for window in range(first, last):
        flagged = {t.group for t in score_window(groups, totals, window, config) if t.flagged}
        found += [(window, group) for group in sorted(flagged - before)]
        before = flagged
    return found


def injected(
    groups: dict[str, list[int]], totals: list[int], group: str, day: range, config: SpikeConfig
) -> list[int]:
    """The windows of `day` (offsets) in which `group`, tripled over `day`, first alerted."""
    tripled = {g: list(series) for g, series in groups.items()}
    volume = list(totals)
    for window in day:
        extra = 2 * tripled[group][window]
        tripled[group][window] += extra
        volume[window] += extra
    found = alerts(tripled, volume, config, day.start - 3, day.stop)
    return [window - day.start for window, g in found if g == group and window in day]


def main() -> int:
    apply_stack_environment()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store-url", required=True)
    parser.add_argument("--window", type=float, default=3600.0, help="seconds")
    parser.add_argument("--baseline", type=int, default=24, help="windows")
    args = parser.parse_args()
    config = SpikeConfig(
        window_s=args.window, baseline_windows=args.baseline, lookback_windows=args.baseline
    )
    store = Store(args.store_url, must_exist=True)
    end = (time.time() // args.window) * args.window
    start = end - 364 * DAY_S
    per_day = round(DAY_S / args.window)
    offset = 8 if per_day == 24 else 0
    day = range(200 * per_day + offset, 201 * per_day + offset)
    for dimension in DIMENSIONS:
        groups, totals = year_counts(store, dimension, start, end, args.window)
        clean = alerts(groups, totals, config, args.baseline, len(totals))
        ranked = sorted(groups, key=lambda g: -sum(groups[g]))
        report = {
            "windows": len(totals),
            "alerts": len(clean),
            "days_with_alerts": len({int(w * args.window // DAY_S) for w, _ in clean}),
            "first_alerts": [
                (time.strftime("%Y-%m-%d %H:00", time.gmtime(start + w * args.window)), g)
                for w, g in clean[:5]
            ],
        }
        for rank in (0, 9):
            group = ranked[min(rank, len(ranked) - 1)]
            report[f"tripled #{rank + 1}"] = {
                "group": group,
                "per_day": sum(groups[group][w] for w in day),
                "alerted_in_window": injected(groups, totals, group, day, config)[:1],
            }
        print(dimension, json.dumps(report, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
