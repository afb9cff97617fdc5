"""Schemathesis over the management API's own OpenAPI document: generated requests (valid and
not) as an organisation owner, against the running stack. No server error, and every response
conforms to the document (status codes, content types, bodies)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.fuzz import fuzz
from tests.stack import Stack

pytestmark = pytest.mark.e2e
EXAMPLES = 35
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_management_api_under_generated_requests(stack: Stack) -> None:
    org = stack.new_org("Fuzz")  # its own organisation: generated writes touch no other test's data
    document = httpx.get(f"{stack.api}/openapi/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"authorization": f"Bearer {org['token']}"}

    def call(case: Any) -> Any:
        return case.call(base_url=stack.api, headers=headers, timeout=15)

    run = fuzz(schema, call, CHECKS, EXAMPLES)
    print(f"management API: {run.cases} cases over {len(run.per_operation)} operation/mode pairs")
    assert not run.failures, "\n\n".join(run.failures)
    assert run.cases >= 2000, run.per_operation
