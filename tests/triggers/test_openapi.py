"""/api/openapi.json describes the API that answers, and fuzzing from it finds no 5xx and only problem+json 4xx."""

from __future__ import annotations

from typing import Any

import httpx2
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devhost.testing import DevHost
from tests.triggers.conftest import FUNCTION_KEY, PROBLEM_JSON
from triggers.openapi import openapi_document

# Requests per operation: a few hundred in all, well under a minute.
EXAMPLES_PER_OPERATION = 40


def test_the_document_is_openapi_3_1_of_every_route(keyed: DevHost) -> None:
    """Every app route is described, request bodies reject unknown fields, keys are the security schemes."""
    doc = httpx2.get(f"{keyed.url}/api/openapi.json", params={"code": FUNCTION_KEY}).json()
    assert doc["openapi"].startswith("3.1")
    described = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    routes = {(m, "/api/" + spec.route.template.strip("/"))  # type: ignore[union-attr]
              for spec in keyed.http_functions for m in sorted(spec.methods or ())}
    assert described == routes
    start = doc["components"]["schemas"]["StartConversation"]
    assert start["additionalProperties"] is False
    assert start["required"] == ["message"]
    assert doc["paths"]["/api/health"]["get"]["security"] == []
    assert {"functionKeyHeader", "functionKeyQuery"} == set(doc["components"]["securitySchemes"])
    assert doc == openapi_document()


# The document as the app builds it; the test above proves it is what /api/openapi.json serves.
schema = schemathesis.openapi.from_dict(openapi_document())


def problem_json(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx the app answers is application/problem+json with its status, title and detail."""
    status = response.status_code
    if case.method.upper() != case.operation.method.upper():
        # A method the route does not have: the host answers (as Azure's does), no function runs.
        assert status in (404, 405), f"{case.method} {case.formatted_path} → {status}"
        return
    if 400 <= status < 500:
        content_type = response.headers.get("content-type", [""])[0].split(";")[0]
        assert content_type == PROBLEM_JSON, f"{case.method} {case.formatted_path} → {status} as {content_type!r}"
        body = response.json()
        assert body["status"] == status
        assert body["title"]
        assert body["detail"]


# Zero 5xx and problem+json 4xx (the contract), and answers as documented. Not `positive_data_acceptance`: the
# schema cannot say "an assistant that exists" or "https, or http to loopback only", and a schema that let the
# fuzzer build valid callback URLs would have the app POST to hosts off this machine.
CHECKS = [not_a_server_error, problem_json, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_fuzzing_finds_no_5xx_and_only_problem_json_4xx(case: Any, keyed: DevHost, fuzz_requests: list[str]) -> None:
    """Generated requests (valid and invalid) to the keyed devhost never get a 5xx; every 4xx is problem+json."""
    fuzz_requests.append(f"{case.operation.method.upper()} {case.operation.path}")
    # The valid key replaces generated credentials: wrong keys are the host's 401 (tested in test_conversations).
    case.call_and_validate(base_url=keyed.url, headers={"x-functions-key": FUNCTION_KEY},
                           params={"code": FUNCTION_KEY}, timeout=90, checks=CHECKS)
