"""The service answers what its OpenAPI document (`/docs.json`) says, checked by schemathesis.

schemathesis generates valid and invalid bodies from the document and checks every answer:
no 5xx, only documented statuses, answers matching their schemas, valid bodies accepted and
invalid ones refused. One run per key role (a route admits only its role's key).
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.serving.conftest import API_KEYS, ServiceProcess, load_bench_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]

schema_fuzz = load_bench_module("schema_fuzz")
# /admin/reload is left out here: the session's shared service is never reloaded (the drills,
# which start their own service, cover it).
ROLES = sorted(set(schema_fuzz.ROLE_ROUTES) - {"admin"})


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_what_the_openapi_document_says(
    service: ServiceProcess, role: str, tmp_path: Path
) -> None:
    assert schema_fuzz.SCHEMATHESIS.exists(), "schemathesis is a dev dependency: make install"
    run = schema_fuzz.fuzz_role(service.url, role, API_KEYS[role], tmp_path)
    assert run.ran, run.report  # it ran operations, not nothing
    assert run.returncode == 0, run.report


def test_every_reference_in_the_document_resolves(service: ServiceProcess) -> None:
    """Regression: /users/{user_id}/profile and /items/retired answered with references to
    schemas the document did not hold (a client generator stops there)."""

    with urllib.request.urlopen(f"{service.url}/docs.json", timeout=30) as answer:
        document = json.load(answer)
    named = set(re.findall(r"#/components/schemas/([\w.-]+)", json.dumps(document)))
    assert named, "the document refers to no schema at all"
    assert named - set(document["components"]["schemas"]) == set()
