"""The champions one worker serves, and how it follows them when they move.

A worker loads the slots' champions at start-up and swaps to newly loaded ones on a reload, asked
for in one of three ways: `/admin/reload` on this worker; a reload on another worker of the same
service, announced through the champion cache's shared generation token (polled every
GENERATION_POLL_S); or, when `reload_interval_s` > 0, a registry @champion alias or slot binding
that moved. A swap is one reference assignment, so a request reads the old champions or the new
ones, never a mix; a reload whose champions fail to load leaves the old ones serving.
"""

from __future__ import annotations

import logging
import threading
import time

from models.recommenders import RetiredItems
from serving import ops_metrics
from serving.champion_cache import ChampionCache
from serving.errors import ApiError
from serving.fresh_items import ServedFreshItems
from serving.model_info import masked_problems
from serving.retired_items import ServedRetirements
from serving.served_models import ServedModels, changes_since, load_served_models
from serving.settings import Settings
from serving.worker_tuning import settle_after_load

logger = logging.getLogger(__name__)

GENERATION_POLL_S = 1.0


class ChampionReloader:
    """This worker's served champions (`served`), reloaded when asked and when they move."""

    def __init__(
        self,
        settings: Settings,
        champions: ChampionCache,
        retirements: ServedRetirements,
        fresh: ServedFreshItems,
    ) -> None:
        self._settings = settings
        self._champions = champions
        self._retirements = retirements
        self._fresh = fresh
        self._lock = threading.Lock()
        self._generation = champions.generation()
        self.served: ServedModels = load_served_models(settings, champions)
        self.report_served()

    def start_watching(self) -> None:
        """Follow other workers' reloads and, if the settings ask for it, the registry."""
        threading.Thread(target=self._watch_generation, name="reload-watch", daemon=True).start()
        if self._settings.reload_interval_s > 0:
            threading.Thread(target=self._watch_aliases, name="alias-watch", daemon=True).start()

    def _watch_generation(self) -> None:
        """Follow reloads asked of another worker of this service (a shared file token)."""
        while True:
            time.sleep(GENERATION_POLL_S)
            if self._champions.generation() != self._generation:
                try:
                    self.reload(announce=False, trigger="worker")
                except Exception:  # keep watching; the old models keep serving
                    logger.exception("reload asked by another worker failed")

    def _watch_aliases(self) -> None:
        """Reload when a registry @champion alias or a slot binding moves (the alternative to
        /admin/reload)."""
        while True:
            time.sleep(self._settings.reload_interval_s)
            failures = self._champions.registry_failures
            try:
                moved = changes_since(self.served, self._settings, self._champions)
            except Exception:  # a registry hiccup must not end the watch for good
                logger.exception("polling the registry for moved aliases failed")
                ops_metrics.registry_polled(ok=False)
                continue
            # The registry may fail without an exception: the bindings then come from their
            # last record and nothing counts as moved.
            ops_metrics.registry_polled(ok=self._champions.registry_failures == failures)
            ops_metrics.registry_reached(self._champions.registry_reached_at)
            if moved:
                logger.info("champion aliases or slot bindings moved %s: reloading", moved)
                try:
                    self.reload(announce=False, trigger="registry")
                except Exception:  # keep watching; the old models keep serving
                    logger.exception("reload after an alias move failed")

    def reload(self, announce: bool, trigger: ops_metrics.ReloadTrigger) -> bool:
        """Load the champions again and swap to them; whether any served version changed.

        `announce` tells the other workers (it bumps the shared generation token); a reload
        that follows another worker's announcement does not. ApiError 503 when the new
        champions fail to load while the old ones serve: those keep serving.
        """
        try:
            with self._lock:
                generation = self._champions.generation()
                loaded = load_served_models(self._settings, self._champions, self.served)
                if not loaded.ready and self.served.ready:
                    raise ApiError(
                        503,
                        "new champions failed to load, still serving the old ones: "
                        f"{masked_problems(loaded)}",
                    )
                changed = loaded.versions() != self.served.versions()
                if self._retirements.ready:
                    look_up_retired(loaded, self._retirements.current())
                embed_fresh_items(self._fresh, loaded)
                self.served = loaded  # one reference assignment: old or new, never both
                self._generation = self._champions.bump_generation() if announce else generation
        except Exception:
            ops_metrics.reloaded(trigger, ok=False)
            ops_metrics.registry_reached(self._champions.registry_reached_at)
            raise
        ops_metrics.reloaded(trigger, ok=True)
        self.report_served()
        settle_after_load()
        return changed

    def report_served(self) -> None:
        """Put the served versions, their problems and the registry's last answer on /metrics."""
        served = self.served
        ops_metrics.served_models(
            {slot: (ref.name, ref.version, ref.source) for slot, ref in served.refs().items()},
            len(served.problems),
        )
        ops_metrics.registry_reached(self._champions.registry_reached_at)


def embed_fresh_items(fresh: ServedFreshItems, served: ServedModels) -> None:
    """Have `served`'s recommender embed the published items before it serves, not on the
    first publication's time after the swap (see serving.fresh_items). A failure here is
    logged: the items are then embedded after the swap, as they were before."""
    try:
        fresh.prepare(served.recommender)
    except Exception:
        logger.exception("embedding the published items with the new champion failed")


def look_up_retired(served: ServedModels, retired: RetiredItems) -> None:
    """Have `served`'s recommender look the retired ids up now, not on a feed's time (a set of
    100,000 ids takes tens of milliseconds; see README "Retired items")."""
    if served.recommender is not None:
        served.recommender.catalog.not_retired_mask(retired)
