"""Provider test calls: each adapter's auth convention, fixed-text details, nothing of the key or the
upstream's body in the answer, redirects not followed, the whole call bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from libs.contracts.codec import encode
from libs.contracts.messages import Denied, ProbeProvider, ProbeResult
from services.vault import probe, store
from tests.helpers import free_port

KEY = "sk-test-provider-key-0123456789"


class FakeResolver:
    def __init__(self, key: str | None) -> None:
        self.key = key

    async def open_key(self, org_id: str, provider_id: str, sealed: Any) -> str | None:
        return self.key


def _provider(monkeypatch: pytest.MonkeyPatch, adapter: str, base_url: str, *, exists: bool = True) -> None:
    async def found(pool: Any, org_id: str, provider_id: str) -> Any:
        if not exists:
            return None
        return store.Provider(id=provider_id, name="p", adapter=adapter, base_url=base_url), None

    monkeypatch.setattr(store, "provider_with_key", found)


def _prober(handler: Any, key: str | None = KEY, timeout_s: float = 5.0) -> probe.Prober:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=False)
    return probe.Prober(None, FakeResolver(key), client, timeout_s)  # type: ignore[arg-type]


CMD = ProbeProvider(request_id="r", org_id="o", provider_id="prv1")


@pytest.mark.parametrize(
    ("adapter", "base_url", "url", "expected"),
    [
        ("openai", "https://api.openai.com/v1", "https://api.openai.com/v1/models", {"authorization": f"Bearer {KEY}"}),
        ("openai_compatible", "http://h/v1/", "http://h/v1/models", {"authorization": f"Bearer {KEY}"}),
        ("anthropic", "https://api.anthropic.com/v1", "https://api.anthropic.com/v1/models",
         {"x-api-key": KEY, "anthropic-version": "2023-06-01"}),
        ("gemini", "https://generativelanguage.googleapis.com/v1beta",
         "https://generativelanguage.googleapis.com/v1beta/models", {"x-goog-api-key": KEY}),
    ],
)  # fmt: skip
async def test_each_adapter_uses_its_own_auth_header(
    monkeypatch: pytest.MonkeyPatch, adapter: str, base_url: str, url: str, expected: dict[str, str]
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": []})

    _provider(monkeypatch, adapter, base_url)
    result = await _prober(handler).probe(CMD)
    assert isinstance(result, ProbeResult)
    assert (result.ok, result.status, result.detail) == (True, 200, "upstream answered 200")
    assert len(seen) == 1
    assert seen[0].method == "GET"
    assert str(seen[0].url) == url
    sent = {k: v for k, v in seen[0].headers.items() if k in {"authorization", "x-api-key", "x-goog-api-key",
                                                               "anthropic-version"}}  # fmt: skip
    assert sent == expected
    assert KEY not in url
    assert KEY not in encode(result).decode()


async def test_rejection_reports_the_status_never_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {KEY}"}})

    _provider(monkeypatch, "openai", "https://api.openai.com/v1")
    result = await _prober(handler).probe(CMD)
    assert isinstance(result, ProbeResult)
    assert (result.ok, result.status, result.detail) == (False, 401, "upstream answered 401 (key rejected)")
    assert KEY not in encode(result).decode()
    assert "Incorrect" not in encode(result).decode()


async def test_redirects_are_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": "https://elsewhere.example/collect"})

    _provider(monkeypatch, "anthropic", "https://api.anthropic.com/v1")
    result = await _prober(handler).probe(CMD)
    assert isinstance(result, ProbeResult)
    assert (result.ok, result.status, result.detail) == (False, 302, "upstream answered 302 (redirect not followed)")
    assert seen == ["https://api.anthropic.com/v1/models"]


async def test_the_whole_call_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    _provider(monkeypatch, "openai", "https://api.openai.com/v1")
    result = await _prober(handler, timeout_s=0.2).probe(CMD)
    assert isinstance(result, ProbeResult)
    assert (result.ok, result.status, result.detail) == (False, 0, "timeout")
    assert 150 <= result.latency_ms < 2000


async def test_connection_refused_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    _provider(monkeypatch, "openai_compatible", f"http://127.0.0.1:{free_port()}/v1")
    async with httpx.AsyncClient(follow_redirects=False) as client:
        result = await probe.Prober(None, FakeResolver(KEY), client, 5.0).probe(CMD)  # type: ignore[arg-type]
    assert isinstance(result, ProbeResult)
    assert (result.ok, result.status, result.detail) == (False, 0, "unreachable: connection refused")


async def test_no_key_stored_is_said_and_no_auth_header_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    _provider(monkeypatch, "openai_compatible", "http://h/v1")
    result = await _prober(handler, key="").probe(CMD)
    assert isinstance(result, ProbeResult)
    assert result.detail == "upstream answered 200 (no key stored)"
    assert "authorization" not in seen[0].headers


async def test_unknown_provider_is_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    _provider(monkeypatch, "openai", "https://api.openai.com/v1", exists=False)
    result = await _prober(lambda r: httpx.Response(200)).probe(CMD)
    assert isinstance(result, Denied)
    assert result.code == "vault.not_found"


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (httpx.ConnectTimeout("t"), "timeout"),
        (httpx.ReadTimeout("t"), "timeout"),
        (httpx.UnsupportedProtocol("ftp"), "invalid base URL"),
        (httpx.ConnectError(f"failed for {KEY}"), "unreachable: connection failed"),
        (httpx.RemoteProtocolError("closed"), "unreachable: connection closed by the upstream"),
        (httpx.ReadError("reset"), "unreachable: request failed"),
        (UnicodeEncodeError("ascii", KEY, 0, 1, "bad"), "request not sent (UnicodeEncodeError)"),
    ],
)
def test_failure_details_are_fixed_texts(exc: BaseException, detail: str) -> None:
    assert probe.failure_detail(exc) == detail


def test_status_details() -> None:
    assert probe.status_detail(200) == "upstream answered 200"
    assert probe.status_detail(404) == "upstream answered 404 (no /models at this base URL)"
    assert probe.status_detail(429) == "upstream answered 429 (rate limited)"
    assert probe.status_detail(503) == "upstream answered 503 (upstream error)"
    assert probe.status_detail(418) == "upstream answered 418"
