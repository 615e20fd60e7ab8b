"""An event log imported as interactions: each row's event type valued by `data.events`.

A platform's export is an event log (impressions, clicks, likes, hides, reports), not a ratings
table. Read without its type column every row would be a plain interaction of value 1: an
impression, a hide and a report would all say the user liked the item. With the column mapped
(`--map type=COLUMN`), each row is valued as the service values a posted event, so a model
trained on the import and a feed folding in new events agree:

- the file's type names are matched with outer spaces removed and case folded; Agora's own
  types (`data.events.EVENT_TYPES`) are read as themselves, any other name needs an entry of
  `--event-map` (`hide=dislike,report=complaint,impression=ignore`). A name neither knows
  refuses the import, naming every such name with its rows: guessing what `hide` means, or
  reading it as a positive interaction, is how a feed learns the opposite of the user's taste.
  `ignore` leaves a type's rows out (counted as rejected).
- a positive event's `rating` is `event_value(type, weight)` (the file's `rating` column is the
  weight, 1 without one; a `rating` event's weight is the rating itself).
- a (user, item) pair with a complaint, or whose latest dislike no later event worth a like lifts
  (by timestamp, then file order: `data.events.disliked_items`), keeps all its rows at rating 0:
  training leaves pairs rated 0 or below out of the model and keeps them as seen, so the user's
  feed with `exclude_seen` (the default) never offers the item again. A lifted dislike's own row
  is 0 and the rest keep their value. (A feed asked with `exclude_seen: false` may show such an
  item: the model keeps no separate blocked set for imported history, unlike the complaints and
  dislikes posted to `/events`, which block an item whatever the request asks.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data import schemas as S
from data.events import (
    BLOCKING_TYPES,
    DISLIKE_LIFT_VALUE,
    DISLIKE_TYPE,
    EVENT_TYPE,
    EVENT_TYPES,
    IMPLICIT_VALUES,
    RATING_TYPE,
)

IGNORE = "ignore"  # an --event-map target: the type's rows are left out
EVENT_MAP_TARGETS = (*EVENT_TYPES, IGNORE)
# The canonical column an import reads event types from (`--map type=COLUMN`); it is consumed
# by the import, not stored: the valued `rating` carries what it said.
IMPORT_ONLY_COLUMNS: dict[S.Kind, tuple[str, ...]] = {S.Kind.INTERACTIONS: (EVENT_TYPE,)}
_TYPES = pd.CategoricalDtype(list(EVENT_TYPES))
_SHOWN_TYPES = 8  # type names a message lists; the rest are counted


class EventMapError(ValueError):
    """An `--event-map` is malformed, or the file holds event types nothing maps."""


def type_key(value: str) -> str:
    """A type name as it is compared: outer spaces removed, case folded."""
    return value.strip().casefold()


def parse_event_map(text: str | None) -> dict[str, str]:
    """Parse 'hide=dislike,impression=ignore' into {folded file type: Agora type or ignore}."""
    event_map: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise EventMapError(f"--event-map entry '{part.strip()}' is not of the form NAME=TYPE")
        source, target = (type_key(s) for s in part.split("=", 1))
        if not source or not target:
            raise EventMapError(f"--event-map entry '{part.strip()}' has an empty side")
        if target not in EVENT_MAP_TARGETS:
            raise EventMapError(
                f"--event-map entry '{part.strip()}' names '{target}', which is not an Agora "
                f"event type (known: {', '.join(EVENT_MAP_TARGETS)})"
            )
        if event_map.get(source, target) != target:
            raise EventMapError(f"--event-map maps '{source}' twice, to different types")
        event_map[source] = target
    return event_map


@dataclass
class EventTyping:
    """How one file's event types are read, chunk by chunk, and what was found, for the report."""

    event_map: dict[str, str] = field(default_factory=dict)
    source: str = EVENT_TYPE  # the file's column, for messages
    rows_by_type: Counter[str] = field(default_factory=Counter)  # folded file name -> rows
    unknown: Counter[str] = field(default_factory=Counter)
    negative_pairs: dict[str, int] = field(default_factory=dict)

    def target(self, name: str) -> str | None:
        """The Agora type (or IGNORE) a folded file type name is read as; None if unknown."""
        if name in self.event_map:
            return self.event_map[name]
        return name if name in EVENT_TYPES else None

    def read_chunk(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, Counter[str]]:
        """`frame`'s rows valued by their type (`rating` becomes the value, `type` the Agora
        type); rows of an ignored type, a blank type or a negative weight are left out and
        counted, rows of an unknown type left out and remembered for `check`."""
        reasons: Counter[str] = Counter()
        names = frame[EVENT_TYPE].astype(str).map(type_key)
        names = names.where(frame[EVENT_TYPE].notna(), "")
        # One pass over the distinct names (a log has a handful; a column mapped by mistake
        # may have a name per row) and one vectorised lookup of the rows: never names x rows.
        read_as: dict[str, str] = {}
        for name, rows in names.value_counts(sort=False).items():
            if name == "":
                reasons[f"empty {EVENT_TYPE}"] += int(rows)
                continue
            self.rows_by_type[name] += int(rows)
            target = self.target(name)
            if target is None:
                self.unknown[name] += int(rows)
            elif target == IGNORE:
                reasons[f"{EVENT_TYPE} '{name}' (--event-map {name}={IGNORE})"] += int(rows)
            else:
                read_as[name] = target
        targets = names.map(read_as)  # NaN: empty, unknown or ignored
        keep = targets.notna().to_numpy(copy=True)
        weights = frame[S.RATING] if S.RATING in frame else pd.Series(1.0, index=frame.index)
        below_zero = keep & (weights < 0).to_numpy()
        if below_zero.any():
            reasons[f"{S.RATING} (the event's weight) is below 0"] += int(below_zero.sum())
            keep &= ~below_zero
        kept = frame[keep].copy()
        types = targets[keep].astype(_TYPES)
        kept[EVENT_TYPE] = types
        kept[S.RATING] = _values(types, weights[keep].astype("float64"))
        return kept, reasons

    def check(self) -> None:
        """Refuse the import if any rows had a type nothing maps (EventMapError)."""
        if not self.unknown:
            return
        shown = self.unknown.most_common(_SHOWN_TYPES)
        names = ", ".join(f"'{name}' ({rows:,} rows)" for name, rows in shown)
        more = len(self.unknown) - len(shown)
        names += f" and {more} more" if more > 0 else ""
        example = ",".join(f"{name}=TYPE" for name, _ in shown[:3])
        raise EventMapError(
            f"column '{self.source}' holds event types Agora does not know: {names}; map each "
            f"with --event-map (e.g. --event-map {example}; TYPE is one of "
            f"{', '.join(EVENT_MAP_TARGETS)}, and {IGNORE} leaves that type's rows out)"
        )

    def unused_entries(self) -> list[str]:
        """The --event-map entries no row of the file matched."""
        return [f"{s}={t}" for s, t in self.event_map.items() if s not in self.rows_by_type]

    def settle(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (every kept row of the file) with its negative pairs at rating 0 (see the
        module docstring) and the type column dropped; the pairs counted in `negative_pairs`."""
        types = frame[EVENT_TYPE]
        blocking = types.isin(list(BLOCKING_TYPES)).to_numpy()
        dislikes = (types == DISLIKE_TYPE).to_numpy()
        if not (blocking.any() or dislikes.any()):
            return frame.drop(columns=EVENT_TYPE)
        users = pd.factorize(frame[S.USER_ID])[0].astype(np.int64)
        items, item_index = pd.factorize(frame[S.ITEM_ID])
        pairs = users * np.int64(len(item_index)) + items.astype(np.int64)
        # Each row's place in time: by timestamp, ties (and a file without one) in file order.
        stamps = frame[S.TIMESTAMP].to_numpy() if S.TIMESTAMP in frame else np.zeros(len(frame))
        order = np.empty(len(frame), dtype=np.int64)
        order[np.argsort(stamps, kind="stable")] = np.arange(len(frame))
        lifts = (frame[S.RATING] >= DISLIKE_LIFT_VALUE).to_numpy() & ~dislikes & ~blocking
        last_dislike = pd.Series(order[dislikes]).groupby(pairs[dislikes]).max()
        last_lift = pd.Series(order[lifts]).groupby(pairs[lifts]).max()
        lifted_at = last_lift.reindex(last_dislike.index).fillna(-1)
        disliked = last_dislike.index[last_dislike > lifted_at].to_numpy()
        complained = np.unique(pairs[blocking])
        negative = np.isin(pairs, np.union1d(disliked, complained))
        self.negative_pairs = {
            "complained": len(complained),
            "disliked": len(np.setdiff1d(disliked, complained)),
        }
        out = frame.drop(columns=EVENT_TYPE)
        out.loc[negative | blocking | dislikes, S.RATING] = 0.0
        return out

    def notes(self) -> list[str]:
        """What the import's report says about the types: how each was read, the pairs kept
        out of feeds, and map entries no row matched."""
        read = ", ".join(
            f"{name} {rows:,} -> {self.target(name)}{_value_text(self.target(name))}"
            for name, rows in self.rows_by_type.most_common()
            if name not in self.unknown
        )
        notes = [f"event types read from '{self.source}': {read}"]
        complained = self.negative_pairs.get("complained", 0)
        disliked = self.negative_pairs.get("disliked", 0)
        if complained or disliked:
            notes.append(
                f"{complained:,} (user, item) pairs with a complaint and {disliked:,} with a "
                "dislike no later like lifted are kept at rating 0: not learned from, and left "
                "out of that user's feeds, even those asking for seen items"
            )
        notes.extend(
            f"--event-map entry '{entry}' matched no row" for entry in self.unused_entries()
        )
        return notes

    def to_manifest(self) -> dict[str, object]:
        return {
            "event_map": self.event_map,
            "event_types": {name: self.target(name) for name in self.rows_by_type},
            "negative_pairs": self.negative_pairs,
        }


def _values(types: pd.Series, weights: pd.Series) -> pd.Series:
    """Each row's value (`data.events.event_value`); negative types 0 (settled per pair later)."""
    scale = {**IMPLICIT_VALUES, RATING_TYPE: 1.0}
    factors = types.map(scale).astype("float64").fillna(0.0)
    return factors * weights


def _value_text(target: str | None) -> str:
    if target in IMPLICIT_VALUES:
        return f" (value {IMPLICIT_VALUES[target]:g})"
    if target == RATING_TYPE:
        return " (value: its rating)"
    return ""
