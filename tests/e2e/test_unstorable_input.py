"""Input no database row can hold is a client error (400/404), never a 500 or a 503: found by
the schema-driven fuzzing in tests/security, kept here as plain regression tests."""

from __future__ import annotations

import pytest

from tests.stack import Stack


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/v1/members/", '{"email": "a\\u0000b@example.com", "role": "viewer"}'),
     ("POST", "/v1/projects/", '{"name": "nul\\u0000name"}'),
     ("POST", "/v1/projects/", '{"name": "lone \\ud800 surrogate"}'),
     ("PATCH", "/v1/org/", '{"name": "x\\u0000"}'),
     ("GET", "/v1/keys/%00", None),
     ("GET", "/v1/audit/?action=%00", None),
     ("GET", "/v1/audit/?request_id=%FF%FE", None),
     ("GET", "/v1/audit/?cursor=361345094252590465024", None),
     ("GET", "/v1/guardrails/violations?cursor=96657428354664579072", None),
     ("GET", "/v1/audit/?cursor=-1", None),
     ("GET", "/v1/audit/?since=not-a-time", None),
     ("GET", "/v1/audit/?since=99999-01-01T00:00:00Z", None),
     ("GET", "/v1/audit/?success=maybe", None),
     ("GET", "/v1/audit/?limit=0", None),
     ("GET", "/v1/audit/?limit=100000000000000000000", None),
     ("GET", "/v1/audit/?resource_id=" + "x" * 300, None),
     ("GET", "/v1/audit/export?format=csv&since=%00", None),
     ("GET", "/v1/audit/export?format=xml", None),
     ("PATCH", "/v1/org/", '{"audit_retention_days": 1e400}'),
     ("PATCH", "/v1/org/", '{"audit_retention_days": 99999999999999999999999}')],
)  # fmt: skip
def test_unstorable_values_are_refused_as_bad_requests(stack: Stack, method: str, path: str, body: str | None) -> None:
    with stack.admin() as http:
        response = http.request(method, path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_key_for_a_project_id_no_project_can_have_is_404_not_503(stack: Stack) -> None:
    with stack.admin() as http:
        response = http.post("/v1/keys/", json={"project_id": "0"})
    assert response.status_code == 404, response.text


def test_the_document_says_errors_are_problem_details(stack: Stack) -> None:
    with stack.admin() as http:
        document = http.get("/openapi/openapi.json").json()
    responses = document["paths"]["/v1/keys"]["post"]["responses"]
    assert "application/problem+json" in responses["default"]["content"]
    assert "application/problem+json" in responses["400"]["content"]
    assert "Problem" in document["components"]["schemas"]
