"""`/metrics` is labelled by route template: a path parameter is never a series of its own.

The open `/metrics` endpoint is scraped by Prometheus; a request's values must never appear in
it, and its size must be bounded by the routes, not by the ids clients send.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from starlette.applications import Starlette

from serving.metrics_labels import label_metrics_by_route
from serving.settings import ROUTE_ROLES
from tests.serving.conftest import ServiceProcess

TEMPLATES = tuple(route for route in ROUTE_ROLES if "{" in route)
LABEL = re.compile(r'endpoint="([^"]*)"')


def _filled(template: str, value: str) -> str:
    """`template` with every `{parameter}` replaced by `value` (URL-quoted)."""
    return re.sub(r"\{[^}]+\}", urllib.parse.quote(value, safe="@"), template)


def _metrics(service: ServiceProcess) -> str:
    status, text = service.get("/metrics", role=None)
    assert status == 200
    return str(text)


def _call_every_template(service: ServiceProcess, value: str) -> None:
    """Each templated route with `value` as its parameters: without a key (401), with one."""
    for template in TEMPLATES:
        path = _filled(template, value)
        assert service.get(path, role=None)[0] == 401
        assert service.get(path)[0] in (200, 404, 405)  # 405: DELETE /users/{user_id}


@pytest.mark.integration
@pytest.mark.slow
def test_path_parameters_never_appear_in_metrics(service: ServiceProcess) -> None:
    # Regression: /metrics labelled /users/{user_id}/profile by the raw path: ~20 series per
    # customer id (even for a 401), on an endpoint open without a key.
    assert TEMPLATES  # the routes with path parameters, all of them covered below
    _call_every_template(service, "secret-customer-0@mail.com")  # the template's first series
    before = _metrics(service)
    for number in range(1, 21):
        _call_every_template(service, f"secret-customer-{number}@mail.com")
    after = _metrics(service)
    assert "secret-customer" not in after
    labels = set(LABEL.findall(after))
    assert set(TEMPLATES) <= labels, labels  # counted, under the template
    # Every label names a route (or an open path), never a request's value.
    assert all(label in ROUTE_ROLES or "{" not in label for label in labels), labels
    assert not any("@" in label or "secret" in label for label in labels), labels
    # Twenty more ids added no line: the series are bounded by the routes.
    series = {line.rsplit(" ", 1)[0] for line in before.splitlines() if not line.startswith("#")}
    grown = {line.rsplit(" ", 1)[0] for line in after.splitlines() if not line.startswith("#")}
    assert grown == series, sorted(grown - series)


def test_relabelling_refuses_an_app_it_does_not_know() -> None:
    # A BentoML upgrade that built the app otherwise must stop the start, not leak ids again.
    with pytest.raises(TypeError, match="no traffic metrics middleware"):
        label_metrics_by_route(Starlette(), metrics_enabled=True)
    assert label_metrics_by_route(Starlette(), metrics_enabled=False) == 0
