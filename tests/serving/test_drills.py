"""The abuse drills of bench/drills.py (quick sizes) pass against the session's real service:
oversized bodies with and without a Content-Length, the slow-pattern text, missing and wrong-role
keys, a wrong content type and junk paths, each answered in under a second while a bystander's
feeds keep answering. The drills' schema fuzz is test_openapi_conformance.py; their kill and
registry drills are test_event_durability.py and test_service_http.py's outage restart."""

from __future__ import annotations

import pytest

from tests.serving.conftest import API_KEYS, ServiceProcess, load_bench_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_quick_abuse_drills_all_pass(service: ServiceProcess) -> None:
    drills = load_bench_module("drills")
    client = drills.Client("127.0.0.1", service.port, dict(API_KEYS))
    results = drills.abuse_with_bystander(client, quick=True)
    assert len(results) >= 10
    failed = [r for r in results if not r.passed]
    assert not failed, failed
