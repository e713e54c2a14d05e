"""The OpenAPI document: every route is in it, and generated requests (valid and invalid) never get a 500 or a
response that breaks the documented shape (schemathesis, in process through WSGI)."""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from server.api.openapi import document


def test_every_api_route_is_documented(app):
    documented = {(path, method.upper()) for path, item in document()["paths"].items() for method in item}
    routes = [(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") for method in rule.methods - {"HEAD", "OPTIONS"}]
    assert len(routes) >= 40, routes  # the map was read
    for path, method in routes:
        assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"


@pytest.mark.slow
@pytest.mark.parametrize("who", ["Ada", "Mia", None])
def test_no_server_errors_and_documented_shapes(ws, who):
    """Every operation, with generated valid and invalid inputs, as an admin, an ML engineer and nobody."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", ws.app)
    headers = {"Authorization": f"Bearer {ws.people[who].token}"} if who else {}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=int(os.environ.get("RULECRAFT_FUZZ_EXAMPLES", 12)), deadline=None,
                  suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
                return
            if response.status_code < 300 and "json" in response.headers.get("Content-Type", [""])[0]:
                try:
                    case.validate_response(response, checks=[response_schema_conformance])
                except Exception as e:  # collect, so one run reports every operation
                    failures.append(f"{case.method} {case.formatted_path}: {str(e)[:300]}")

        check()
    assert not failures, "\n".join(failures[:20])
