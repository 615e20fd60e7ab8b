"""schemathesis against the served OpenAPI document, one run per key role.

A route admits only its role's key, so each role's run covers the routes it may call. Used by
bench/drills.py and by tests/serving/test_openapi_conformance.py (bounded), so both check the
same thing the same way.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.events import MAX_FUTURE_S

# Role -> the routes its key may call (the open health and docs routes ride with `read`).
ROLE_ROUTES = {
    "read": r"^/(recommend|similar_items|model_info|healthz|livez|readyz|metrics)$",
    "triage": r"^/(triage|triage_batch)$",
    # Not /items nor /items/retire and /restore: generated items published to or retired from
    # the tests' shared service would change the feeds other tests read.
    "events": r"^/(events|items/retired)$",
    "agent": (
        r"^/(corrections|resolutions|desk/queue|analytics/complaints|users/\{user_id\}/profile)$"
    ),
    "admin": r"^/admin/reload$",
}
# 413 is a documented answer to any body over the route's byte limit, which a generated body
# (valid or not) may pass; the defaults of these two checks do not list it.
# The trends route's parameters are valid together or not (since before until, at most 92 days
# apart, a date the calendar has): a schema cannot say so, so a well-formed query may be its 400.
# So are the desk queue's (its window likewise, and a cursor only this desk made).
# A correction's label must be one the served models know (the queue lists them): the fuzz
# reaches that check once it reuses a real triage_id read from the queue's typed answer.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413"]
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "409", "413", "415"]
[[operations]]
include-path = "/analytics/complaints"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]
[[operations]]
include-path = "/desk/queue"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]
[[operations]]
include-path = "/corrections"
checks.positive_data_acceptance.expected-statuses = [
    "2xx", "400", "401", "403", "404", "409", "413",
]
"""
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# The service refuses an event stamped more than a day past now. The document says so in words
# only (a number there would go stale in every client generated from it), so the fuzz's copy
# gets the bound as of the run: a generated "valid" event is then one the service must accept.


def fuzz_document(url: str, folder: Path) -> Path:
    """The service's document, with the clock's bounds the fuzz needs, saved in `folder`."""
    with urllib.request.urlopen(f"{url}/docs.json", timeout=30) as answer:
        document: dict[str, Any] = json.load(answer)
    event = document["components"]["schemas"].get("EventIn", {}).get("properties", {})
    if "timestamp" in event:
        # An hour short of the bound: the run takes minutes and the clock moves.
        event["timestamp"]["maximum"] = int(time.time()) + MAX_FUTURE_S - 3_600
    path = folder / "docs.json"
    path.write_text(json.dumps(document))
    return path


@dataclass(frozen=True)
class FuzzRun:
    role: str
    returncode: int
    report: str  # the end of schemathesis' output

    @property
    def ran(self) -> bool:
        """schemathesis tested operations (a run over no route would pass vacuously)."""
        return "Tested:" in self.report

    @property
    def passed(self) -> bool:
        return self.ran and self.returncode == 0


def fuzz_role(
    url: str, role: str, key: str, folder: Path, examples: int = 5, seed: int = 12
) -> FuzzRun:
    """One schemathesis run (`--checks all`) over `role`'s routes of the service at `url`."""
    config = folder / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(SCHEMATHESIS), "--config-file", str(config), "run", str(fuzz_document(url, folder)),
        "--url", url, "--checks", "all", "--header", f"X-API-Key: {key}",
        "--include-path-regex", ROLE_ROUTES[role], "--max-examples", str(examples),
        "--phases", "examples,coverage,fuzzing", "--workers", "1", "--seed", str(seed),
        "--no-color",
    ]  # fmt: skip
    # In `folder`: schemathesis keeps a cache in its working directory.
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=folder
    )
    return FuzzRun(role, done.returncode, done.stdout[-6000:] + done.stderr[-2000:])
