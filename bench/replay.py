"""Benchmark: the airline tweets replayed through `/triage` in time order, spikes alerted or not.

The 14,640 tweets of `airline-sentiment` carry their time (`tweet_created`, 17-24 Feb 2015 UTC).
Each is POSTed to a running service's `/triage` with customer_id = the tweet's user, item_id =
the airline and occurred_at = the tweet's time, window by window of simulated time; after each
window the analysis is triggered for it (`POST /admin/analyse {"until": window end}`), as the
periodic analysis would at that moment. Simulated time runs as fast as the service answers
(`--speed N` paces it at N times real time instead).

Two runs, each into a fresh store:
- clean: the tweets as they were. Every alert it raises is listed with what the crowd labels of
  the dataset show for that group in that window against its baseline (the same windows): a
  rate ratio of at least the analysis's `min_ratio` on at least `min_count` labelled messages
  means the data shows the spike (justified); otherwise the alert is counted as a false alarm.
- injected: the same plus bursts (`--inject "AIRLINE|REASON|COUNT|WHEN"`, repeatable; by default
  the three of DEFAULT_BURSTS, on different days, airlines and reasons): COUNT real tweets of one
  negative reason about one airline (taken from the rest of the timeline), re-timed evenly into
  the window starting at WHEN (UTC). A burst's detection delay is the time from its start to the
  end of the first analysed window raising an alert that names it (its airline, its reason, or
  the pair) and that the clean run did not raise.

Usage (starts a service itself over an AGORA_HOME holding @champion models, e.g. after
`agora demo --sentiment-budget-minutes 0`):
    python bench/replay.py --home ~/.agora --out /tmp/replay [--json /tmp/replay/replay.json]
`--clean-from JSON` reuses a saved clean run; `--rejudge JSON` only judges a saved run again;
`--reanalyse DIR` re-runs only the analysis over the stores of an earlier replay in DIR (the
models' labels as stored; for a change of the spike test, not of the models), without a service.
The stores are written to OUT/clean.db and OUT/injected.db (`agora report complaints
--store-url sqlite:///OUT/injected.db ...` renders one).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from sqlalchemy import delete

from cli.launcher import ServiceProcess, generate_api_keys, home_environment
from data.environment import apply_stack_environment
from data.fetch import require
from data.store import Store
from data.store.tables import complaint_alerts
from models.analytics.spikes import SpikeConfig
from serving.complaint_analysis import AnalysisSettings, analyse

WINDOW_S = 3600.0
UNSURE, CANT_TELL = "unsure", "Can't Tell"
CONCURRENCY = 4


@dataclass(frozen=True)
class Tweet:
    at: float
    text: str
    user: str
    airline: str
    sentiment: str  # the crowd's label
    reason: str | None  # the crowd's negative reason


def load_tweets() -> list[Tweet]:
    raw = pd.read_csv(require("airline-sentiment") / "Tweets.csv", dtype={"tweet_id": str})
    times = pd.to_datetime(raw["tweet_created"], utc=True, format="%Y-%m-%d %H:%M:%S %z")
    tweets = [
        Tweet(
            at=float(t.timestamp()),
            text=str(row.text),
            user=str(row.name) if isinstance(row.name, str) and row.name.strip() else row.tweet_id,
            airline=str(row.airline),
            sentiment=str(row.airline_sentiment),
            reason=row.negativereason if isinstance(row.negativereason, str) else None,
        )
        for row, t in zip(raw.itertuples(index=False), times, strict=True)
    ]
    return sorted(tweets, key=lambda t: t.at)


def injected(tweets: list[Tweet], airline: str, reason: str, count: int, at: float) -> list[Tweet]:
    """`count` real tweets of `reason` about `airline` from outside the burst's window,
    re-timed evenly into [at, at + WINDOW_S)."""
    pool = [
        t
        for t in tweets
        if t.airline == airline and t.reason == reason and not at <= t.at < at + WINDOW_S
    ]
    if len(pool) < count:
        raise SystemExit(f"only {len(pool)} tweets of {reason!r} about {airline!r}")
    step = len(pool) / count
    chosen = [pool[int(i * step)] for i in range(count)]
    return [
        Tweet(at + (i + 0.5) * WINDOW_S / count, t.text, f"burst-{i}", airline, t.sentiment, reason)
        for i, t in enumerate(chosen)
    ]


def windows_of(tweets: list[Tweet]) -> Iterable[tuple[float, list[Tweet]]]:
    """(window end, the window's tweets) in time order, empty windows included."""
    first = math.floor(tweets[0].at / WINDOW_S) * WINDOW_S
    last = math.floor(tweets[-1].at / WINDOW_S) * WINDOW_S
    by_window: dict[float, list[Tweet]] = {}
    for tweet in tweets:
        by_window.setdefault(math.floor(tweet.at / WINDOW_S) * WINDOW_S, []).append(tweet)
    for start in range(int(first), int(last) + 1, int(WINDOW_S)):
        yield start + WINDOW_S, by_window.get(float(start), [])


def replay(
    url: str, keys: dict[str, str], tweets: list[Tweet], speed: float = 0.0
) -> dict[str, Any]:
    """POST every tweet, window by window, and trigger the analysis after each window."""
    triage_headers = {"x-api-key": keys["triage"]}
    admin_headers = {"x-api-key": keys["admin"]}
    alerts: list[dict[str, Any]] = []
    failures = 0
    started = time.monotonic()
    sim_start = tweets[0].at
    with (
        httpx.Client(base_url=url, timeout=60) as client,
        ThreadPoolExecutor(CONCURRENCY) as pool,
    ):

        def post(tweet: Tweet) -> int:
            body = {
                "text": tweet.text,
                "customer_id": tweet.user[:64],
                "item_id": tweet.airline,
                "occurred_at": int(tweet.at),
            }
            return client.post("/triage", json=body, headers=triage_headers).status_code

        for end, batch in windows_of(tweets):
            failures += sum(status != 200 for status in pool.map(post, batch))
            if speed > 0:  # simulated time at `speed` x real time
                due = started + (end - sim_start) / speed
                time.sleep(max(0.0, due - time.monotonic()))
            answer = client.post("/admin/analyse", json={"until": end}, headers=admin_headers)
            answer.raise_for_status()
            alerts.extend(answer.json()["raised"])
    wall = time.monotonic() - started
    span = tweets[-1].at - sim_start
    return {
        "messages": len(tweets),
        "failures": failures,
        "wall_s": round(wall, 1),
        "acceleration": round(span / wall),
        "alerts": alerts,
    }


def crowd_view(tweets: list[Tweet], alert: dict[str, Any], config: SpikeConfig) -> dict[str, Any]:
    """What the dataset's own labels show for the alert's group in its window vs its baseline."""
    end = alert["window_end"]
    start = end - config.window_s
    base_start = start - config.baseline_windows * config.window_s

    def reason_of(t: Tweet) -> str | None:
        # The engine answers "unsure" where the annotators said they could not tell.
        return UNSURE if t.reason == CANT_TELL else t.reason

    def member(t: Tweet) -> bool:
        if t.sentiment != "negative":
            return False
        if alert["dimension"] == "item":
            return t.airline == alert["group"]
        if alert["dimension"] == "reason":
            return reason_of(t) == alert["group"]
        airline, _, reason = alert["group"].partition(" · ")
        return t.airline == airline and reason_of(t) == reason

    now = [t for t in tweets if start <= t.at < end]
    base = [t for t in tweets if base_start <= t.at < start]
    count, base_count = sum(map(member, now)), sum(map(member, base))
    ratio = (count / len(now)) / (base_count / len(base)) if base_count and now else math.inf
    justified = count >= config.min_count and ratio >= config.min_ratio
    return {
        "crowd_count": count,
        "crowd_volume": len(now),
        "crowd_baseline_count": base_count,
        "crowd_baseline_volume": len(base),
        "crowd_ratio": None if math.isinf(ratio) else round(ratio, 2),
        "justified": justified,
    }


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch))


@dataclass(frozen=True)
class Burst:
    airline: str
    reason: str
    count: int
    at: float  # start of its window

    @classmethod
    def parse(cls, text: str) -> Burst:
        """From `AIRLINE|REASON|COUNT|WHEN` (WHEN in UTC, floored to a window)."""
        airline, reason, count, when = text.split("|")
        at = pd.Timestamp(when, tz="UTC").timestamp()
        return cls(airline, reason, int(count), math.floor(at / WINDOW_S) * WINDOW_S)


def run(args: argparse.Namespace, streams: dict[str, list[Tweet]]) -> dict[str, Any]:
    """Each stream replayed through a fresh service over a fresh store."""
    apply_stack_environment()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"window_s": WINDOW_S}
    for name, stream in streams.items():
        store = out / f"{name}.db"
        store.unlink(missing_ok=True)
        keys = generate_api_keys()
        env = home_environment(
            Path(args.home),
            keys,
            AGORA_STORE_URL=f"sqlite:///{store}",
            AGORA_WORKERS=str(args.workers),
        )
        service = ServiceProcess(env, log_path=out / f"service-{name}.log").start()
        try:
            results[name] = replay(service.url, keys, stream, args.speed)
        finally:
            service.stop()
        print(
            f"{name}: {results[name]['messages']} messages in {results[name]['wall_s']} s "
            f"(x{results[name]['acceleration']}), {len(results[name]['alerts'])} alerts",
            flush=True,
        )
    return results


def reanalyse(folder: Path, streams: dict[str, list[Tweet]]) -> dict[str, Any]:
    """The analysis of each window re-run over the stores a replay left in `folder`.

    The path is the service's (`serving.complaint_analysis.analyse` for each window end, in time
    order, over the triage records the replay stored) on a scratch copy of each store with its
    alerts cleared, so every alert is raised anew and the replay's stores stay as they were.
    """
    settings = AnalysisSettings(spikes=SpikeConfig(window_s=WINDOW_S))
    results: dict[str, Any] = {"window_s": WINDOW_S, "reanalysed_from": str(folder)}
    with tempfile.TemporaryDirectory() as scratch:
        for name, stream in streams.items():
            copy = Path(scratch) / f"{name}.db"
            shutil.copyfile(folder / f"{name}.db", copy)
            store = Store(f"sqlite:///{copy}")
            try:
                with store.engine.begin() as connection:
                    connection.execute(delete(complaint_alerts))
                started = time.monotonic()
                alerts = [
                    alert
                    for end, _ in windows_of(stream)
                    for alert in analyse(store, end, settings)["raised"]
                ]
            finally:
                store.engine.dispose()
            wall = round(time.monotonic() - started, 1)
            results[name] = {"messages": len(stream), "wall_s": wall, "alerts": alerts}
            print(f"{name}: analysis re-run in {wall} s, {len(alerts)} alerts", flush=True)
    return results


def _at(tweet: Tweet) -> float:
    return tweet.at


def judge(results: dict[str, Any], streams: dict[str, list[Tweet]], bursts: list[Burst]) -> None:
    """Add the crowd's view to every alert, the clean run's false alarms per day, and each
    injected burst's detection delay."""
    config = SpikeConfig(window_s=WINDOW_S)
    for name, stream in streams.items():
        for alert in results[name]["alerts"]:
            alert.update(crowd_view(stream, alert, config))
    tweets = streams["clean"]
    days = (tweets[-1].at - tweets[0].at) / 86400
    clean = results["clean"]["alerts"]
    per_day: dict[str, dict[str, int]] = {}
    for alert in clean:
        day = per_day.setdefault(iso(alert["window_start"])[:10], {"alerts": 0, "false": 0})
        day["alerts"] += 1
        day["false"] += not alert["justified"]
    false_alarms = sum(d["false"] for d in per_day.values())
    results["clean_summary"] = {
        "replayed_days": round(days, 2),
        "alerts": len(clean),
        "justified": len(clean) - false_alarms,
        "false_alarms": false_alarms,
        "false_alarms_per_day": round(false_alarms / days, 2),
        "per_day": dict(sorted(per_day.items())),
    }
    in_clean = {(a["dimension"], a["group"], a["window_start"]) for a in clean}
    results["injections"] = []
    for burst in bursts:
        names = {
            ("item", burst.airline),
            ("reason", burst.reason),
            ("item_reason", f"{burst.airline} · {burst.reason}"),
        }
        # Alerts naming the burst's groups after it started that the clean run did not raise.
        hits = [
            a
            for a in results["injected"]["alerts"]
            if (a["dimension"], a["group"]) in names
            and a["window_end"] > burst.at
            and (a["dimension"], a["group"], a["window_start"]) not in in_clean
        ]
        first = min(hits, key=lambda a: a["window_end"]) if hits else None
        results["injections"].append(
            {
                "airline": burst.airline,
                "reason": burst.reason,
                "count": burst.count,
                "window_start": iso(burst.at),
                "detected": first is not None,
                "delay_hours_from_burst_start": (
                    round((first["window_end"] - burst.at) / 3600, 2) if first else None
                ),
                "windows_after_burst_window": (
                    round((first["window_end"] - burst.at - WINDOW_S) / WINDOW_S) if first else None
                ),
                "first_alert": first,
                "alerts_naming_it": [
                    (a["dimension"], a["group"], iso(a["window_start"])) for a in hits
                ],
            }
        )


def print_report(results: dict[str, Any]) -> None:
    print("\nclean replay alerts (window UTC, group, model count/volume vs baseline, crowd view):")
    for a in results["clean"]["alerts"]:
        print(
            f"  {iso(a['window_start'])} {a['dimension']}={a['group']}: {a['count']}/{a['volume']}"
            f" vs {a['baseline_count']}/{a['baseline_volume']} (ratio {a['ratio']}, p_adj "
            f"{a['p_adjusted']:.1e}); crowd {a['crowd_count']}/{a['crowd_volume']} vs "
            f"{a['crowd_baseline_count']}/{a['crowd_baseline_volume']} ratio {a['crowd_ratio']}"
            f" -> {'justified' if a['justified'] else 'FALSE ALARM'}"
        )
    summary = results["clean_summary"]
    print("clean replay per day (UTC): alerts / false alarms")
    for day, counts in summary["per_day"].items():
        print(f"  {day}: {counts['alerts']} / {counts['false']}")
    print("clean summary:", json.dumps({k: v for k, v in summary.items() if k != "per_day"}))
    for injection in results["injections"]:
        print("injection:", json.dumps({k: v for k, v in injection.items() if k != "first_alert"}))


DEFAULT_BURSTS = (
    "Delta|Lost Luggage|12|2015-02-19 15:00",
    "United|Bad Flight|10|2015-02-21 17:00",
    "Southwest|Flight Booking Problems|8|2015-02-23 20:00",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--home", help="AGORA_HOME holding @champion models (for a replay)")
    parser.add_argument("--out", default="replay-out", help="folder for the stores and logs")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--speed", type=float, default=0.0, help="0: as fast as served")
    parser.add_argument(
        "--inject",
        action="append",
        help="a burst AIRLINE|REASON|COUNT|WHEN (repeatable; default: three, see DEFAULT_BURSTS)",
    )
    parser.add_argument("--clean-from", help="reuse the clean run of a saved --json")
    parser.add_argument("--rejudge", help="judge the alerts of a saved --json run again")
    parser.add_argument(
        "--reanalyse", help="re-run the analysis over the stores of a replay in this folder"
    )
    args = parser.parse_args()
    if not (args.home or args.rejudge or args.reanalyse):
        parser.error("--home is needed to replay (or --rejudge JSON / --reanalyse DIR)")
    tweets = load_tweets()
    bursts = [Burst.parse(text) for text in args.inject or DEFAULT_BURSTS]
    extra = [t for b in bursts for t in injected(tweets, b.airline, b.reason, b.count, b.at)]
    streams = {"clean": tweets, "injected": sorted(tweets + extra, key=_at)}
    if args.rejudge:
        results = json.loads(Path(args.rejudge).read_text())
    elif args.reanalyse:
        results = reanalyse(Path(args.reanalyse), streams)
    elif args.clean_from:
        saved = json.loads(Path(args.clean_from).read_text())
        results = {**run(args, {"injected": streams["injected"]}), "clean": saved["clean"]}
    else:
        results = run(args, streams)
    judge(results, streams, bursts)
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(i["detected"] for i in results["injections"]) else 1


if __name__ == "__main__":
    sys.exit(main())
