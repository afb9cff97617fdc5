"""What every adapter returns, the HTTP plumbing they share, and how upstream failures map to
client errors.

Adapters take a chat request in OpenAI's format (the edge's common form) and give back OpenAI's
format — a ``chat.completion`` body or ``chat.completion.chunk`` SSE frames — whatever the
provider speaks; the Anthropic-format endpoint translates that once more on the way out.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import msgspec

from libs.contracts.messages import Resolved
from libs.svc import egress
from libs.svc.egress_http import BodyTooLarge, GuardedClient, Request, Response, timeout
from libs.svc.logs import scrub
from services.edge.errors import ApiError
from services.edge.errors import body as error_body
from services.edge.upstream.sse import EventTooLarge, sse

DONE = b"data: [DONE]\n\n"


@dataclass
class Usage:
    """Token counts of one call; ``estimated`` when the provider reported none.

    ``prompt_tokens`` counts every input token, cached ones included (OpenAI's convention).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    estimated: bool = False

    def openai(self) -> dict[str, Any]:
        """The usage block as OpenAI reports it."""
        block: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        if self.cached_tokens:
            block["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return block


@dataclass
class JsonResult:
    """A complete (non-streaming) answer in OpenAI's format."""

    status: int
    body: bytes
    usage: Usage


@dataclass
class StreamResult:
    """A streaming answer: SSE frames in OpenAI's format. ``usage`` is final after the last frame
    and, before that, what was used so far (estimated until the provider reports it), so a stream
    the client abandons is still metered."""

    frames: AsyncIterator[bytes]
    usage: Usage = field(default_factory=Usage)
    response: Response | None = None

    async def close(self) -> None:
        """End the relay and the upstream response, wherever the stream stopped (idempotent)."""
        closer = getattr(self.frames, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):  # a relay that failed already: the response goes below
                await closer()
        if self.response is not None:
            await self.response.aclose()


class Adapter(Protocol):
    """One upstream protocol."""

    async def chat(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult: ...

    async def stream(
        self, target: Resolved, payload: dict[str, Any], prompt_chars: int, include_usage: bool
    ) -> StreamResult: ...

    async def embed(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult: ...

    async def count(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> tuple[int, bool]: ...


def upstream_error(response: Response, message: str | None = None) -> ApiError:
    """Map an upstream error status: 429 keeps retry-after, 5xx → 502, 4xx passes through."""
    status = response.status_code
    headers = {}
    if status == 429:
        retry = response.headers.get("retry-after") or _retry_delay(response)
        if retry:
            headers["retry-after"] = retry
        return ApiError(429, message or "The upstream provider is rate limiting requests.",
                        code="upstream_rate_limited", headers=headers)  # fmt: skip
    if status >= 500:
        return ApiError(502, "The upstream provider returned an error.", code="upstream_error")
    if status in (401, 403):  # the gateway's provider key, not the client's: nothing the client can fix
        return ApiError(502, "The upstream provider rejected the gateway's credentials for this model.",
                        code="upstream_auth_error")  # fmt: skip
    return ApiError(status, message or "The upstream provider rejected the request.", code="upstream_error")


def _retry_delay(response: Response) -> str | None:
    """Gemini sends no retry-after header; its error body carries ``RetryInfo.retryDelay`` ("7s")."""
    try:
        details = msgspec.json.decode(response.content)["error"]["details"]
        for detail in details:
            delay = str(detail.get("retryDelay") or "")
            if delay.endswith("s") and delay[:-1].replace(".", "", 1).isdigit():
                return str(max(1, round(float(delay[:-1]))))
    except (msgspec.DecodeError, KeyError, TypeError, AttributeError):
        return None
    return None


TransportError = (aiohttp.ClientError, TimeoutError)
"""What the client raises on the wire (aiohttp's timeouts are ``TimeoutError`` subclasses)."""


def transport_error(exc: BaseException) -> ApiError:
    """Timeouts → 504; anything else on the wire (connect, TLS, protocol, egress refusal) → 502."""
    if isinstance(exc, TimeoutError):
        return ApiError(504, "The upstream provider did not answer in time.", code="upstream_timeout")
    if egress.refusal(exc):
        return ApiError(502, "The provider's address is not allowed by the gateway's egress policy "
                        "(not a public address); an operator can allow it.", code="upstream_refused")  # fmt: skip
    return ApiError(502, "The upstream provider could not be reached.", code="upstream_unreachable")


def invalid_response() -> ApiError:
    """The upstream answered 200 with something that is not its format: never passed on."""
    return ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error")


def estimate_tokens(text_chars: int) -> int:
    """A rough token estimate (≈4 characters per token) for providers that report no usage."""
    return max(1, text_chars // 4)


def error_message(response: Response) -> str | None:
    """The message of an upstream error body (OpenAI, Anthropic and Gemini all nest it under
    ``error.message``), cut short, with anything key-shaped masked and every piece of the key the
    request carried (providers quote part of a rejected key; a provider key may have any shape)."""
    try:
        err = msgspec.json.decode(response.content).get("error")
        message = str(err.get("message"))[:500] if isinstance(err, dict) else None
    except (msgspec.DecodeError, AttributeError):
        return None
    return None if message is None else scrub(mask_pieces(message, _credentials(response)))


_PIECE = 8
"""Pieces of a credential this long or longer are masked wherever they appear."""


def _credentials(response: Response) -> list[str]:
    """The provider key as the request that got ``response`` carried it, in any of the places the
    adapters put it (``authorization: Bearer``, ``x-api-key``, ``x-goog-api-key``, ``?key=``)."""
    request = response.request
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    values = [token if scheme.lower() == "bearer" else "", headers.get("x-api-key", ""),
              headers.get("x-goog-api-key", ""), (query.get("key") or [""])[0]]  # fmt: skip
    return [v.strip() for v in values if len(v.strip()) >= _PIECE]


def mask_pieces(text: str, credentials: list[str]) -> str:
    """``text`` with every run that contains an 8-character piece of a credential replaced by
    ``[REDACTED]`` (the whole key, a quoted prefix or suffix, a middle part)."""
    covered = [False] * len(text)
    for credential in credentials:
        for i in range(len(credential) - _PIECE + 1):
            piece = credential[i : i + _PIECE]
            at = text.find(piece)
            while at != -1:
                covered[at : at + _PIECE] = [True] * _PIECE
                at = text.find(piece, at + 1)
    if not any(covered):
        return text
    out, i = [], 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append("[REDACTED]")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def error_frame(exc: ApiError) -> bytes:
    """An OpenAI-format error event (what OpenAI sends when a stream fails midway)."""
    return sse(error_body(exc.status, exc.message, exc.code))


def decode_json(content: bytes) -> dict[str, Any]:
    """A JSON object from an upstream 200 answer; 502 otherwise."""
    try:
        parsed = msgspec.json.decode(content)
    except msgspec.DecodeError:
        raise invalid_response() from None
    if not isinstance(parsed, dict):
        raise invalid_response()
    return parsed


class HttpAdapter:
    """Pooled HTTP to one upstream protocol: request building, one safe resend, error mapping."""

    def __init__(self, client: GuardedClient, connect_timeout_s: float) -> None:
        self._client = client
        self._connect = connect_timeout_s

    def _build(self, target: Resolved, url: str, payload: Any, headers: dict[str, str]) -> Request:
        return Request(
            url,
            msgspec.json.encode(payload),
            {"content-type": "application/json", "accept": "application/json", **headers},
            timeout(target.timeout_s, self._connect),
        )

    async def _send(self, request: Request) -> Response:
        """Status and headers of the answer (the body not read yet). Sent once more if the
        connection closed before any response came: the upstream did not see the request (the
        same rule the official SDKs retry by; a pooled connection the upstream just dropped)."""
        try:
            return await self._client.open(request)
        except aiohttp.ServerDisconnectedError:
            pass
        except TransportError as exc:
            raise transport_error(exc) from None
        try:
            return await self._client.open(request)
        except TransportError as exc:
            raise transport_error(exc) from None

    async def _read(self, request: Request) -> Response:
        """Send and read the whole body (a failure while reading is a transport error, not resent)."""
        response = await self._send(request)
        try:
            await response.aread()
        except TransportError as exc:
            await response.aclose()
            raise transport_error(exc) from None
        except BodyTooLarge:
            await response.aclose()
            raise ApiError(502, "The upstream provider's answer is too large.", code="upstream_error") from None
        return response

    async def _post_json(self, request: Request) -> dict[str, Any]:
        """Send, map a non-200 to the client's error, parse the body."""
        response = await self._read(request)
        if response.status_code != 200:
            raise upstream_error(response, error_message(response))
        return decode_json(response.content)

    async def _open_stream(self, request: Request) -> Response:
        """Send with a streamed body; a non-200 is read, closed and mapped."""
        response = await self._send(request)
        if response.status_code != 200:
            try:
                await response.aread()
            except TransportError as exc:
                raise transport_error(exc) from None
            except BodyTooLarge:
                raise ApiError(502, "The upstream provider's answer is too large.", code="upstream_error") from None
            finally:
                await response.aclose()
            raise upstream_error(response, error_message(response))
        return response


async def relay_chunks(
    response: Response,
    chunks: Callable[[Response], AsyncIterator[dict[str, Any]]],
    usage_out: Usage,
    prompt_chars: int,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    """OpenAI SSE frames from an adapter's chunk iterator: usage is taken out for metering (and
    passed on only if the client asked), an estimate is made when the provider sent none, a
    transport failure ends the stream with an error event, and the response is always closed."""
    completion_chars = 0
    got_usage = False
    _so_far(usage_out, chunks, prompt_chars, 0)
    try:
        async for item in chunks(response):
            chunk = item
            if "error" in chunk and "choices" not in chunk:
                yield sse(chunk)
                return
            block = chunk.get("usage")
            if isinstance(block, dict):
                usage = usage_from_openai(block)
                usage_out.prompt_tokens, usage_out.completion_tokens = usage.prompt_tokens, usage.completion_tokens
                usage_out.cached_tokens = usage.cached_tokens
                usage_out.estimated = False
                got_usage = True
                if not include_usage:
                    if not chunk.get("choices"):
                        continue
                    chunk = {k: v for k, v in chunk.items() if k != "usage"}
            completion_chars += delta_chars(chunk)
            if not got_usage:
                _so_far(usage_out, chunks, prompt_chars, completion_chars)
            yield sse(chunk)
        yield DONE
    except TransportError as exc:
        yield error_frame(transport_error(exc))
    except EventTooLarge:
        yield error_frame(ApiError(502, "The upstream provider sent a stream event that is too large.",
                                   code="upstream_error"))  # fmt: skip
    finally:
        if not got_usage:
            _so_far(usage_out, chunks, prompt_chars, completion_chars)
        await response.aclose()


def _so_far(usage_out: Usage, chunks: object, prompt_chars: int, completion_chars: int) -> None:
    """What a stream used until now, before (or without) the provider's final usage: the prompt
    as the provider counted it if it said already (Anthropic's ``message_start``), else estimated;
    the completion estimated from the text relayed so far."""
    partial = getattr(chunks, "usage", None)
    if isinstance(partial, Usage) and partial.prompt_tokens:
        usage_out.prompt_tokens, usage_out.cached_tokens = partial.prompt_tokens, partial.cached_tokens
    else:
        usage_out.prompt_tokens = estimate_tokens(prompt_chars)
    usage_out.completion_tokens = estimate_tokens(completion_chars) if completion_chars else 0
    usage_out.estimated = True


def usage_from_openai(block: dict[str, Any]) -> Usage:
    """OpenAI's usage block."""
    details = block.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(block.get("prompt_tokens") or 0),
        completion_tokens=int(block.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0,
    )


def delta_chars(chunk: dict[str, Any]) -> int:
    """Characters of content and tool arguments in one chunk (for a usage estimate)."""
    total = 0
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        if isinstance(delta.get("content"), str):
            total += len(delta["content"])
        for call in delta.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                total += len(function["arguments"])
    return total
