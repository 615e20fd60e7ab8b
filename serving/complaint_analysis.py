"""The periodic complaint analysis: spikes found, alerts raised once, sent to the log and a webhook.

One analysis looks at the window ending at a window boundary (`until`, floored to one): it reads
per-window counts for each watched dimension from the store (`data.store.complaint_counts`),
tests the window against its trailing baseline (`models.analytics.spikes`), and stores each
spike under a key naming its episode (dimension, group, the episode's first window). The store's
unique key makes the alert once: the worker whose insert wins logs it and posts it to the
webhook; other workers, later runs and re-runs of the same window find it stored.

Settings (environment, read at start):
- AGORA_ANALYSIS_INTERVAL: seconds between analyses in the service (0, the default: off; the
  `POST /admin/analyse` trigger works either way, e.g. for a replay in simulated time);
- AGORA_ANALYSIS_WINDOW: the window in seconds (default 3600);
- AGORA_ALERT_WEBHOOK_URL: where alerts are POSTed as JSON (unset: log only);
  AGORA_ALERT_WEBHOOK_SECRET: if set, each POST carries `X-Agora-Signature: sha256=<HMAC of the
  body>` so the receiver can check it came from here (the secret never travels).
A webhook failure (refused, timeout, non-2xx) is logged and never stops the analysis.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from data.store import Store
from data.store.complaint_counts import BucketCounts
from models.analytics.spikes import TEST_NAME, Spike, SpikeConfig, episodes
from serving.settings import env_number

logger = logging.getLogger(__name__)

INTERVAL_ENV: Final = "AGORA_ANALYSIS_INTERVAL"
WINDOW_ENV: Final = "AGORA_ANALYSIS_WINDOW"
WEBHOOK_URL_ENV: Final = "AGORA_ALERT_WEBHOOK_URL"
WEBHOOK_SECRET_ENV: Final = "AGORA_ALERT_WEBHOOK_SECRET"
WEBHOOK_TIMEOUT_S: Final = 5.0
# The dimensions watched for spikes: a reason, an item, and one reason of one item.
WATCHED: Final = ("reason", "item", "item_reason")
MAX_LOOKBACK: Final = 24 * 14  # windows an episode's start is looked for, at most


@dataclass(frozen=True)
class AnalysisSettings:
    interval_s: float = 0.0
    spikes: SpikeConfig = field(default_factory=SpikeConfig)
    webhook_url: str | None = None
    webhook_secret: str | None = None

    @classmethod
    def from_env(cls) -> AnalysisSettings:
        window = env_number(WINDOW_ENV, os.environ.get(WINDOW_ENV) or "3600", float)
        interval = env_number(INTERVAL_ENV, os.environ.get(INTERVAL_ENV) or "0", float)
        if not 0 < window < math.inf:
            raise ValueError(f"{WINDOW_ENV} must be a positive number of seconds")
        if not 0 <= interval < math.inf:  # the analysis thread sleeps this long
            raise ValueError(f"{INTERVAL_ENV} must be 0 (off) or a positive number of seconds")
        return cls(
            interval_s=interval,
            spikes=SpikeConfig(window_s=window),
            webhook_url=os.environ.get(WEBHOOK_URL_ENV) or None,
            webhook_secret=os.environ.get(WEBHOOK_SECRET_ENV) or None,
        )


class AlertWebhook:
    """POSTs each alert as JSON; failures are logged, never raised."""

    def __init__(self, url: str, secret: str | None = None, timeout: float = WEBHOOK_TIMEOUT_S):
        self.url, self.secret, self.timeout = url, secret, timeout

    def send(self, alert: dict[str, Any]) -> bool:
        body = json.dumps(alert, sort_keys=True).encode()
        headers = {"content-type": "application/json"}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["x-agora-signature"] = f"sha256={digest}"
        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
            response.raise_for_status()
        except httpx.HTTPError as error:
            # The URL may carry a token in its path (Slack, Teams) or query: name the host only.
            # httpx's own message quotes the whole URL ("... for url 'https://hooks...'"), so
            # the failure is told by its status or its kind, never by str(error).
            host = httpx.URL(self.url).host
            logger.warning(
                "alert %s not delivered to webhook at %s: %s",
                alert["key"],
                host,
                _failure_of(error),
            )
            return False
        return True


def _failure_of(error: httpx.HTTPError) -> str:
    """What went wrong with a webhook call, without the URL httpx puts in its messages."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"answered {error.response.status_code}"
    return type(error).__name__  # ConnectTimeout, ConnectError, ...


def window_end(until: float, window_s: float) -> float:
    """`until` floored to a window boundary (windows are aligned to the epoch)."""
    return (until // window_s) * window_s


def alert_of(
    dimension: str, spike: Spike, counts: BucketCounts, config: SpikeConfig
) -> dict[str, Any]:
    """The alert a spike raises: what it is about, the counts, the baseline and the test."""
    t = spike.test
    start = counts.starts[-1]
    episode_start = counts.starts[spike.episode_start]
    return {
        "key": f"{dimension}|{t.group}|{episode_start:.0f}|{config.window_s:.0f}",
        "dimension": dimension,
        "group": t.group,
        "window_start": start,
        "window_end": start + config.window_s,
        "episode_start": episode_start,
        "count": t.count,
        "volume": t.total,
        "baseline_count": t.baseline_count,
        "baseline_volume": t.baseline_total,
        "baseline_windows": config.baseline_windows,
        "expected": round(t.expected, 3),
        "ratio": None if t.ratio == float("inf") else round(t.ratio, 3),
        "dispersion": round(t.dispersion, 3),
        "p_value": t.p_value,
        "p_adjusted": t.p_adjusted,
        "test": TEST_NAME,
        "alpha": config.alpha,
    }


def _spikes(
    store: Store, dimension: str, end: float, config: SpikeConfig
) -> tuple[list[Spike], BucketCounts]:
    """The spikes of `dimension` at the window ending at `end`, and the counts they came from."""
    windows = 1 + config.baseline_windows + config.lookback_windows
    since = end - windows * config.window_s
    counts = store.complaints.counts(dimension, since, end, width=config.window_s)
    return episodes(counts.groups, counts.totals, windows - 1, config), counts


def analyse(
    store: Store,
    until: float,
    settings: AnalysisSettings,
    dimensions: Sequence[str] = WATCHED,
    webhook: AlertWebhook | None = None,
) -> dict[str, Any]:
    """Analyse the window ending at `until` (floored to a boundary); raise its new alerts.

    Returns the window, the spikes found (new or continuing) and the alerts this call raised.
    """
    config = settings.spikes
    end = window_end(until, config.window_s)
    found, raised = [], []
    for dimension in dimensions:
        spikes, counts = _spikes(store, dimension, end, config)
        if any(spike.capped for spike in spikes):
            # An episode older than the lookback (rare: a flagged window raises the baseline
            # of the next ones): look back as far as allowed so its key stays its first window.
            longer = config.model_copy(update={"lookback_windows": MAX_LOOKBACK})
            spikes, counts = _spikes(store, dimension, end, longer)
        for spike in spikes:
            alert = alert_of(dimension, spike, counts, config)
            found.append({**alert, "episode_windows": spike.windows})
            details = {k: v for k, v in alert.items() if k not in ("key", "dimension", "group")}
            new = store.alerts.raise_once(
                alert["key"],
                dimension,
                spike.test.group,
                alert["window_start"],
                alert["window_end"],
                details,
            )
            if new:
                raised.append(alert)
                logger.warning(
                    "complaint spike: %s=%s %d messages of %d (baseline %d of %d, ratio %s, "
                    "dispersion %s) p=%.2g adjusted %.2g",
                    dimension,
                    spike.test.group,
                    spike.test.count,
                    spike.test.total,
                    spike.test.baseline_count,
                    spike.test.baseline_total,
                    alert["ratio"],
                    alert["dispersion"],
                    spike.test.p_value,
                    spike.test.p_adjusted,
                )
                if webhook is not None:
                    webhook.send(alert)
    return {
        "window_start": end - config.window_s,
        "window_end": end,
        "dimensions": list(dimensions),
        "spikes": found,
        "raised": raised,
    }


def webhook_of(settings: AnalysisSettings) -> AlertWebhook | None:
    if not settings.webhook_url:
        return None
    return AlertWebhook(settings.webhook_url, settings.webhook_secret)


def start_periodic_analysis(
    store: Store,
    settings: AnalysisSettings,
    clock: Callable[[], float] = time.time,
    stop: threading.Event | None = None,
    webhook: AlertWebhook | None = None,
) -> threading.Thread | None:
    """Analyse the last complete window every `interval_s` in a daemon thread (None: off),
    until `stop` is set; alerts go to `webhook` (default: the settings' own).

    Every worker runs one; the alert key makes each spike alert once whichever runs first.
    """
    if settings.interval_s <= 0:
        return None
    webhook = webhook if webhook is not None else webhook_of(settings)
    stopped = stop or threading.Event()

    def loop() -> None:
        while not stopped.wait(settings.interval_s):
            try:
                analyse(store, clock(), settings, webhook=webhook)
            except Exception:  # the next run tries again; serving is unaffected
                logger.exception("periodic complaint analysis failed")

    thread = threading.Thread(target=loop, name="complaint-analysis", daemon=True)
    thread.start()
    return thread
