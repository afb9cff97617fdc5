"""The gateway always generates the request id; a client's id is only a correlation id."""

from __future__ import annotations

from typing import Any

from libs.svc.requestid import correlation_id, new_request_id, request_id_middleware


async def _run(headers: list[tuple[bytes, bytes]]) -> tuple[dict[str, Any], dict[bytes, bytes]]:
    seen: dict[str, Any] = {}
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope["state"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-request-id", b"forged")]})

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request"}

    await request_id_middleware(app)({"type": "http", "headers": headers}, receive, send)  # type: ignore[arg-type]
    return seen, dict(sent[0]["headers"])


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(i.startswith("req_") and len(i) == 36 for i in ids)
    assert ids[0][:16] <= ids[-1][:16]


async def test_a_client_id_never_becomes_the_request_id() -> None:
    state, headers = await _run([(b"x-request-id", b"mine-1")])
    assert state["request_id"].startswith("req_")
    assert state["correlation_id"] == "mine-1"
    assert headers[b"x-request-id"] == state["request_id"].encode()  # the app's own header replaced
    assert headers[b"x-client-request-id"] == b"mine-1"


async def test_without_a_client_id_there_is_no_correlation() -> None:
    state, headers = await _run([])
    assert state["correlation_id"] == ""
    assert b"x-client-request-id" not in headers


def test_correlation_prefers_x_client_request_id_and_refuses_junk() -> None:
    both = [(b"x-request-id", b"a"), (b"x-client-request-id", b"b")]
    assert correlation_id(both) == "b"
    for junk in (b"with space", b"nul\x00", b"x" * 65, b"", "é".encode(), b"a\r\nset-cookie: x"):
        assert correlation_id([(b"x-request-id", junk)]) == ""
