"""Schemathesis over the data plane: an OpenAPI document generated from the very Structs the
edge validates with (services/edge/openapi.py), valid and invalid generated requests with a real
key, through the whole pipeline to the mock upstream. No server error (the gateway's own 5xx),
and every answer conforms: the vendor's error shape, documented statuses and content types."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from services.edge.openapi import document
from tests.security.fuzz import fuzz
from tests.stack import Stack

pytestmark = pytest.mark.e2e
EXAMPLES = 40
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
MODEL = "mock-gpt-4o-mini"


def _pinned(doc: dict[str, Any]) -> dict[str, Any]:
    """Requests name a model the tenant has, so generated bodies go all the way upstream."""
    for name in ("ChatRequest", "EmbeddingsRequest", "MessagesRequest", "CountRequest"):
        doc["components"]["schemas"][name]["properties"]["model"] = {"enum": [MODEL]}
    return doc


def test_data_plane_under_generated_requests(stack: Stack) -> None:
    org = stack.new_org("FuzzData")
    with stack.admin(org["token"]) as http:
        made = http.post("/v1/providers/", json={"name": f"mock{time.time_ns()}", "adapter": "openai_compatible",
                                                 "base_url": f"{stack.mock}/v1", "models": ["*"]})  # fmt: skip
        assert made.status_code == 201, made.text
    schema = schemathesis.openapi.from_dict(_pinned(document()))
    headers = {"authorization": f"Bearer {org['key']}"}

    statuses: Counter[tuple[str, int]] = Counter()

    def call(case: Any) -> Any:
        response = case.call(base_url=stack.edge, headers=headers, timeout=30)
        statuses[(case.operation.path, response.status_code)] += 1
        return response

    run = fuzz(schema, call, CHECKS, EXAMPLES)
    print(f"data plane: {run.cases} cases over {len(run.per_operation)} operation/mode pairs; {dict(statuses)}")
    assert not run.failures, "\n\n".join(run.failures)
    assert run.cases >= 300, run.per_operation
    # generated requests went all the way through the pipeline and the upstream, not only into 400s
    for path in ("/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/models"):
        assert statuses[(path, 200)] > 0, (path, dict(statuses))
