"""The end-to-end demo behind `make demo`; each later stage of Agora adds its step here."""

from __future__ import annotations

from collections.abc import Callable

from data.catalog import CATALOG
from data.fetch import fetch
from data.loaders import load


def run_demo(say: Callable[[str], None]) -> None:
    say("== 1. datasets: fetch from the mirror (or the publisher) and verify checksums")
    for name, spec in CATALOG.items():
        folder = fetch(name)
        shapes = ", ".join(f"{kind} {len(load(name, kind)):,} rows" for kind in spec.kinds)
        say(f"{name:<20} {shapes}  ({folder})")
