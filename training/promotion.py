"""Promotion: list registered versions, move `@champion` behind a metric gate, roll back.

Registering a version (the pipelines do it) and moving `@champion` are separate steps. A version
carries its evaluation as tags — the primary metric, its value, whether higher is better, and a
fingerprint of the evaluation data — so a promotion compares candidate and champion on the same
data, or refuses. Every move records who, why and when, on the version and in the model's
champion history, which is what `rollback` walks back.

Beyond the primary metric, the gate checks guardrail metrics (`training.guards`): a candidate
that wins the primary while a guarded metric falls further than allowed is refused, and the
promoted version records each guard's two values.

A promotion can also bind the model to a serving slot (`training.slots`): the version is checked
against the slot before anything moves, and the binding is made once `@champion` has moved.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from data.locks import file_lock
from data.paths import agora_home
from models.served_models import CHAMPION_ALIAS, SERVING_SLOT_TAG, SlotMismatchError
from training.guards import (
    TAG_GUARD_PREFIX,
    Guard,
    GuardCheck,
    check_guards,
    default_guards,
    with_overrides,
)
from training.slots import bind_slot, check_version_fits

logger = logging.getLogger(__name__)

TAG_PRIMARY = "agora.primary_metric"
TAG_PRIMARY_VALUE = "agora.primary_value"
TAG_HIGHER_IS_BETTER = "agora.higher_is_better"
TAG_EVAL_FINGERPRINT = "agora.eval_fingerprint"
TAG_METRIC_PREFIX = "agora.metric."
TAG_HISTORY = "agora.champion_history"
TAG_FAMILY = "agora.family"


class PromotionRefusedError(RuntimeError):
    """The candidate may not become champion; the message says why."""


class RegistryError(RuntimeError):
    """A model or version does not exist, or the registry cannot answer."""


def evaluation_tags(
    primary_metric: str,
    metrics: Mapping[str, float],
    eval_fingerprint: str,
    higher_is_better: bool = True,
) -> dict[str, str]:
    """Tags a pipeline attaches to a registered version so the promotion gate can compare it."""
    if primary_metric not in metrics:
        raise ValueError(f"primary metric '{primary_metric}' is not among the metrics")
    tags = {
        TAG_PRIMARY: primary_metric,
        TAG_PRIMARY_VALUE: repr(float(metrics[primary_metric])),
        TAG_HIGHER_IS_BETTER: str(higher_is_better).lower(),
        TAG_EVAL_FINGERPRINT: eval_fingerprint,
    }
    tags.update({TAG_METRIC_PREFIX + k: repr(float(v)) for k, v in metrics.items()})
    return tags


@dataclass(frozen=True)
class VersionSummary:
    name: str
    version: str
    aliases: tuple[str, ...]
    primary_metric: str | None
    primary_value: float | None
    eval_fingerprint: str | None
    created_at: float  # seconds since the epoch
    run_id: str | None
    tags: dict[str, str]

    @classmethod
    def of(cls, mv: ModelVersion) -> VersionSummary:
        tags = dict(mv.tags or {})
        value = tags.get(TAG_PRIMARY_VALUE)
        return cls(
            name=mv.name,
            version=str(mv.version),
            aliases=tuple(mv.aliases or ()),
            primary_metric=tags.get(TAG_PRIMARY),
            primary_value=float(value) if value is not None else None,
            eval_fingerprint=tags.get(TAG_EVAL_FINGERPRINT),
            created_at=(mv.creation_timestamp or 0) / 1000,
            run_id=mv.run_id,
            tags=tags,
        )

    @property
    def higher_is_better(self) -> bool:
        return self.tags.get(TAG_HIGHER_IS_BETTER, "true") == "true"

    @property
    def metrics(self) -> dict[str, float]:
        """Every evaluation metric the version records (tags `agora.metric.<name>`)."""
        found = {}
        for key, value in self.tags.items():
            if key.startswith(TAG_METRIC_PREFIX):
                try:
                    found[key.removeprefix(TAG_METRIC_PREFIX)] = float(value)
                except ValueError:
                    continue  # a hand-set tag that is no number guards nothing
        return found

    def default_guards(self) -> tuple[Guard, ...]:
        """The guards of this version's family (`training.guards.DEFAULT_GUARDS`)."""
        return default_guards(self.tags.get(TAG_FAMILY), self.primary_metric)


@dataclass(frozen=True)
class GateDecision:
    """Why a candidate may replace the champion, and the guards applied (None: no champion)."""

    reason: str
    guards: GuardCheck | None = None


def list_versions(client: MlflowClient, name: str) -> list[VersionSummary]:
    """Every version of registered model `name`, newest first."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
        aliases = client.get_registered_model(name).aliases or {}
    except MlflowException as error:
        raise RegistryError(f"cannot list versions of '{name}': {error.message}") from None
    # Version search results carry no aliases; the registered model has the alias map.
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    summaries = [
        replace(VersionSummary.of(v), aliases=tuple(sorted(by_version.get(str(v.version), []))))
        for v in versions
    ]
    return sorted(summaries, key=lambda v: -int(v.version))


def list_models(client: MlflowClient) -> list[str]:
    return sorted(m.name for m in client.search_registered_models(max_results=1000))


def champion(client: MlflowClient, name: str) -> VersionSummary | None:
    try:
        return VersionSummary.of(client.get_model_version_by_alias(name, CHAMPION_ALIAS))
    except MlflowException:
        return None


def _get_version(client: MlflowClient, name: str, version: str | None) -> VersionSummary:
    if version is None:
        versions = list_versions(client, name)
        if not versions:
            raise RegistryError(f"registered model '{name}' has no versions")
        return versions[0]
    try:
        return VersionSummary.of(client.get_model_version(name, version))
    except MlflowException:
        raise RegistryError(f"registered model '{name}' has no version {version}") from None


def gate(
    candidate: VersionSummary,
    current: VersionSummary | None,
    champion_score: float | None = None,
    tolerance: float = 0.0,
    guards: Sequence[Guard] | None = None,
    champion_metrics: Mapping[str, float] | None = None,
) -> GateDecision:
    """Why `candidate` may replace `current`; raises PromotionRefusedError when it may not.

    `champion_score` is the current champion re-scored on the candidate's evaluation data (the
    retrain pipelines do that when the evaluation data changed, e.g. with held-out corrections);
    without it, the two versions' recorded evaluations must share a fingerprint.
    `tolerance` (>= 0, in metric units) accepts a candidate that far below the champion: for
    retraining on fresh data, where a tiny drop on the old held-out split is run-to-run noise.
    `guards` (default: the candidate's family's, `training.guards`) must hold too; they compare
    the versions' recorded metrics, or, for a re-scored champion, `champion_metrics` (its
    metrics from that same re-scoring): without them the guards are skipped, and said to be.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if current is None:
        return GateDecision("no current champion")
    if current.version == candidate.version:
        raise PromotionRefusedError(f"version {candidate.version} is already the champion")
    # A re-scored champion's recorded metrics are of other data: only the re-scoring's compare.
    champion_values = current.metrics if champion_score is None else champion_metrics
    if champion_score is not None:
        if candidate.primary_value is None:
            raise PromotionRefusedError("the candidate has no recorded evaluation to compare")
        current = replace(
            current,
            primary_metric=candidate.primary_metric,
            primary_value=champion_score,
            eval_fingerprint=candidate.eval_fingerprint,
            tags={**current.tags, TAG_HIGHER_IS_BETTER: str(candidate.higher_is_better).lower()},
        )
    if candidate.primary_value is None or current.primary_value is None:
        raise PromotionRefusedError(
            "both versions need a recorded evaluation (tag agora.primary_value) to be compared"
        )
    if candidate.primary_metric != current.primary_metric:
        raise PromotionRefusedError(
            f"the versions were scored on different metrics "
            f"({candidate.primary_metric} vs {current.primary_metric})"
        )
    if candidate.eval_fingerprint != current.eval_fingerprint:
        raise PromotionRefusedError(
            "the versions were evaluated on different data (evaluation fingerprints differ); "
            "`agora models promote NAME VERSION --rescore` scores the champion on the "
            "candidate's data first; or use --force with a reason"
        )
    metric = candidate.primary_metric
    better_or_equal = (
        candidate.primary_value >= current.primary_value - tolerance
        if candidate.higher_is_better
        else candidate.primary_value <= current.primary_value + tolerance
    )
    comparison = (
        f"{metric} {candidate.primary_value:.4f} (v{candidate.version}) vs "
        f"{current.primary_value:.4f} (champion v{current.version})"
        + (f", tolerance {tolerance:g}" if tolerance else "")
    )
    if not better_or_equal:
        raise PromotionRefusedError(f"candidate is worse: {comparison}")
    guards = candidate.default_guards() if guards is None else guards
    checked = check_guards(
        guards, candidate.metrics, champion_values, candidate.version, current.version
    )
    if checked.broken:
        raise PromotionRefusedError(
            f"{comparison}, but the candidate breaks {checked.refusal()}. "
            "`--guard METRIC=DROP` sets another allowance; `--no-guards --reason` skips them"
        )
    return GateDecision(f"{comparison}; {checked.account()}", checked)


def _history(client: MlflowClient, name: str) -> list[str]:
    try:
        tags = client.get_registered_model(name).tags or {}
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        raise RegistryError(f"no registered model is named '{name}'") from None
    return list(json.loads(tags.get(TAG_HISTORY, "[]")))


def _move_champion(
    client: MlflowClient, name: str, version: str, action: str, reason: str, by: str | None
) -> None:
    who = by or getpass.getuser()
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    for key, value in {
        f"agora.{action}_by": who,
        f"agora.{action}_at": when,
        f"agora.{action}_reason": reason,
    }.items():
        client.set_model_version_tag(name, version, key, value)
    logger.info("%s: %s v%s by %s (%s)", name, action, version, who, reason)


@contextmanager
def promotion_lock(client: MlflowClient, name: str) -> Iterator[None]:
    """Hold the lock that serialises moves of `name`'s champion on this machine.

    A move reads the champion and its history, gates, then writes both: two at once (a retrain
    in cron overlapping the previous one, or a hand promotion meanwhile) would each gate against
    the same old champion and the last writer would drop the other's history entry, so a
    rollback would restore the wrong version. The registry has no lock of its own, so moves
    from different machines are not serialised: run those from one place.
    """
    digest = hashlib.sha256(f"{client.tracking_uri}\n{name}".encode()).hexdigest()[:32]
    with file_lock(agora_home() / "locks" / f"promotion-{digest}.lock"):
        yield


def promote(
    client: MlflowClient,
    name: str,
    version: str | None = None,
    force: bool = False,
    reason: str | None = None,
    by: str | None = None,
    champion_score: float | None = None,
    tolerance: float = 0.0,
    slot: str | None = None,
    scored_champion: str | None = None,
    guards: Sequence[Guard] = (),
    no_guards: bool = False,
    champion_metrics: Mapping[str, float] | None = None,
) -> VersionSummary:
    """Point `@champion` at `version` (default: the newest) if it passes the gate.

    `force` skips the gate but needs a reason, which is recorded with who and when.
    `guards` replace the family's default guard on their metric, or add one; `no_guards` checks
    none, and needs a reason as `force` does. The guards applied are recorded on the version.
    `champion_score`, `champion_metrics`: see `gate`; `scored_champion` is the version they
    belong to, and the promotion is refused if the champion moved since it was scored. `slot`:
    also bind `name` to this serving slot, after checking the version can serve it (never
    skipped, not even by `force`: a model that cannot serve the slot would only fail when the
    service loads it); when the version already is the champion, only the binding is made.
    Moves of one model's champion on one machine are serialised (`promotion_lock`).
    """
    with promotion_lock(client, name):
        candidate = _get_version(client, name, version)
        current = champion(client, name)
        moved = current.version if current is not None else None
        if champion_score is not None and scored_champion is not None and moved != scored_champion:
            raise PromotionRefusedError(
                f"the champion moved to v{moved} after v{scored_champion} was re-scored for this "
                "comparison: compare again"
            )
        held = _held_slot(client, name)
        if slot is None and held is not None:
            _check_slot(candidate, held)  # the slot the name serves follows its champion
        if slot is not None:
            _check_slot(candidate, slot)
            if current is not None and current.version == candidate.version:
                bind_slot(client, name, slot, reason or f"v{candidate.version} is the champion", by)
                return _get_version(client, name, candidate.version)
        if force:
            if not reason:
                raise PromotionRefusedError("--force needs --reason: say why the gate is skipped")
            if current is not None and current.version == candidate.version:
                raise PromotionRefusedError(f"version {candidate.version} is already the champion")
            why = f"forced: {reason}"
            decision = GateDecision(why, GuardCheck(candidate.version, moved or "-", (), ()))
        else:
            if no_guards and not reason:
                raise PromotionRefusedError("--no-guards needs --reason: say why they are skipped")
            _check_asked_guards(candidate, guards)
            applied = () if no_guards else with_overrides(candidate.default_guards(), guards)
            decision = gate(
                candidate, current, champion_score, tolerance, applied, champion_metrics
            )
            why = decision.reason + (" (--no-guards)" if no_guards else "")
            why += f"; {reason}" if reason else ""
        history = _history(client, name)
        if current is not None and (not history or history[-1] != current.version):
            history.append(current.version)  # a champion set outside Agora joins the history
        history.append(candidate.version)
        _move_champion(client, name, candidate.version, "promoted", why, by)
        if decision.guards is not None:  # None: no champion, nothing was guarded against
            off = "--force" if force else "--no-guards" if no_guards else None
            _record_guards(client, candidate, decision.guards, off)
        client.set_registered_model_tag(name, TAG_HISTORY, json.dumps(history))
        if slot is not None:
            bind_slot(client, name, slot, why, by)
        return _get_version(client, name, candidate.version)


def _check_asked_guards(candidate: VersionSummary, guards: Sequence[Guard]) -> None:
    """A guard asked for by name that the candidate does not record is refused, not skipped: a
    misspelt `--guard` would otherwise promote with nothing guarded, which only the output's
    last line would tell. (A default guard the candidate lacks is skipped, and said.)"""
    recorded = candidate.metrics
    unknown = [guard.metric for guard in guards if guard.metric not in recorded]
    if unknown:
        raise PromotionRefusedError(
            f"--guard {unknown[0]!r}: v{candidate.version} records no such metric; it records "
            + ", ".join(sorted(recorded))
        )


def _record_guards(
    client: MlflowClient, candidate: VersionSummary, checked: GuardCheck, off: str | None
) -> None:
    """The guards' tags on the promoted version; those of an earlier promotion of it go."""
    tags = checked.tags(off)
    for key in candidate.tags:
        if key.startswith(TAG_GUARD_PREFIX) and key not in tags:
            client.delete_model_version_tag(candidate.name, candidate.version, key)
    for key, value in tags.items():
        client.set_model_version_tag(candidate.name, candidate.version, key, value)


def _held_slot(client: MlflowClient, name: str) -> str | None:
    """The serving slot `name` is bound to, if any: a new champion of it is served there."""
    return (client.get_registered_model(name).tags or {}).get(SERVING_SLOT_TAG)


def _check_slot(candidate: VersionSummary, slot: str) -> None:
    """PromotionRefusedError unless `candidate` can serve `slot`."""
    try:
        check_version_fits(candidate.name, candidate.version, candidate.tags, slot)
    except SlotMismatchError as mismatch:
        raise PromotionRefusedError(str(mismatch)) from None
    except KeyError as unknown:  # an unknown slot: the message lists the known ones
        raise PromotionRefusedError(str(unknown.args[0])) from None


def rollback(
    client: MlflowClient, name: str, reason: str = "rollback", by: str | None = None
) -> VersionSummary:
    """Restore the champion before the current one."""
    with promotion_lock(client, name):
        history = _history(client, name)
        current = champion(client, name)
        if current is not None and history and history[-1] == current.version:
            history.pop()
        if not history:
            raise RegistryError(f"'{name}' has no previous champion to roll back to")
        previous = history[-1]
        if (held := _held_slot(client, name)) is not None:
            _check_slot(_get_version(client, name, previous), held)
        _move_champion(client, name, previous, "rolled_back", reason, by)
        client.set_registered_model_tag(name, TAG_HISTORY, json.dumps(history))
        return _get_version(client, name, previous)
