"""The mock provider: one upstream that speaks OpenAI, Anthropic and Google Gemini wire formats.

Answers are deterministic: the reply is ``Mock reply: <last user text[:200]>`` and token counts are
whitespace word counts (at least 1).

* OpenAI (``openai.py``): ``POST /v1/chat/completions`` (JSON, or SSE with ``stream_options.include_usage``
  honoured; tool calls) and ``POST /v1/embeddings`` (``float`` or little-endian float32 ``base64``).
* Anthropic (``anthropic.py``): ``POST /v1/messages`` (needs ``x-api-key``; JSON or named-event SSE; tool use)
  and ``POST /v1/messages/count_tokens``.
* Gemini (``gemini.py``): ``POST /v1beta/models/<model>:generateContent``, ``:streamGenerateContent``
  (``?alt=sse`` for SSE, else one JSON array), ``:embedContent``, ``:batchEmbedContents``, ``:countTokens``; ``GET /v1beta/models``
  (needs ``x-goog-api-key`` or ``?key=``).
* ``GET /v1/models`` serves OpenAI's and Anthropic's list shape at once.

Tool use: when tools are offered, the conversation ends with a user turn, and its text contains
``use tool``, every dialect answers with a call to the first tool, arguments ``{"query": <text[:50]>}``.

Model names steer test cases: ``*fail-429*`` (rate limited; retry-after 7 for OpenAI and Anthropic, for
Gemini only if the name also contains ``retry``), ``*fail-500*``, ``*fail-529*`` (Anthropic 529 overloaded,
Gemini 503 UNAVAILABLE), ``*slow-<ms>*`` (delay before answering), ``*chunk-<n>*`` (stream in n-character
pieces), ``*drip-<ms>*`` (an OpenAI stream waits that long before each piece), ``*repeat-<n>*`` (the OpenAI
answer said n times), ``*cached*`` (report 3 cached prompt tokens), ``*midstream-error*`` (Anthropic stream ends with an
``error`` event), ``*echo-key*`` (OpenAI: a 400 quoting the caller's key back). ``GET /_mock/requests`` returns ``{"path", "body", "auth"}`` of the requests received
(newest last), so tests can check what the upstream saw; ``POST /_mock/reset`` forgets them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, get, post

from libs.mockllm import anthropic, common, gemini, openai
from libs.mockllm.openai import MODELS

__all__ = ["MODELS", "create_app"]

_CREATED = 1_700_000_000


@get("/v1/models")
async def models() -> dict[str, Any]:
    """OpenAI's model list, each item also carrying Anthropic's fields (and the list Anthropic's paging)."""
    created_at = datetime.fromtimestamp(_CREATED, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    names = (*MODELS, *anthropic.MODELS)
    data = [{"id": m, "object": "model", "created": _CREATED, "owned_by": "mock", "type": "model",
             "display_name": m.replace("-", " ").title(), "created_at": created_at} for m in names]  # fmt: skip
    return {"object": "list", "data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]}


@get("/_mock/requests")
async def received() -> list[dict[str, Any]]:
    """Bodies received so far."""
    return list(common.received)


@post("/_mock/reset", status_code=204)
async def reset() -> None:
    """Forget received bodies."""
    common.received.clear()


def create_app() -> Litestar:
    """The mock provider app."""
    handlers = [openai.chat, openai.embeddings, anthropic.messages, anthropic.count_tokens, gemini.model_method, gemini.list_models,
                gemini.get_model, models, received, reset]  # fmt: skip
    return Litestar(route_handlers=handlers, openapi_config=None)
