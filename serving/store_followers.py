"""What the service's followers of the store share: a worker keeps its knowledge base, retired
items and fresh items caught up with the store's logs, each on a daemon thread of its own that
reads what was stored since its last read, every few seconds.

A failed read never ends a follower (what it holds keeps being served) and a store outage is
logged once, not with a traceback at every interval.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import NoReturn

from data.store import is_store_outage
from serving.settings import env_number

logger = logging.getLogger(__name__)

MAX_REFRESH_S = 3600.0


def refresh_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """The follow interval environment variable `name` sets (else `default`); ValueError naming
    it unless a number of seconds in (0, 3600]."""
    value = environ.get(name, "").strip()
    refresh = env_number(name, value, float) if value else default
    if not math.isfinite(refresh) or not 0 < refresh <= MAX_REFRESH_S:
        raise ValueError(f"{name} must be a positive number of seconds, at most 3600")
    return refresh


def follow_forever(
    catch_up: Callable[[], object],
    interval_s: float,
    what: str,
    *,
    read_first: bool = False,
    on_failure: Callable[[], None] | None = None,
    on_success: Callable[[], None] | None = None,
) -> NoReturn:
    """Call `catch_up` every `interval_s` seconds for good (first at once if `read_first`);
    `what` names the log in messages ("the retired items")."""
    outage = False
    if not read_first:
        time.sleep(interval_s)
    while True:
        try:
            catch_up()
        except Exception as error:  # keep following; what is held keeps being served
            if on_failure is not None:
                on_failure()
            if not is_store_outage(error):
                logger.exception("following %s failed", what)
            elif not outage:
                logger.warning("following %s paused: the store is unavailable", what)
            outage = is_store_outage(error)
        else:
            outage = False
            if on_success is not None:
                on_success()
        time.sleep(interval_s)
