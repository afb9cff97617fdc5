"""``GET /v1/models``: the models the calling key may use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get

from services.edge.access import model_allowed
from services.edge.routes.common import authenticate, gateway, start_call


@get("/v1/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The model list (OpenAI's and Anthropic's shape at once), filtered by the key's allow-list."""
    call = start_call(request, "models.list")
    status = 500
    try:
        principal = await authenticate(request, call)
        models = await gateway(request).models(call, principal)
        data = [_entry(m.id, m.provider, m.created) for m in models if model_allowed(principal.limits, m.id)]
        status = 200
        return Response({"object": "list", "data": data, "has_more": False,
                         "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})  # fmt: skip
    except Exception as exc:
        status = getattr(exc, "status", 500)
        raise
    finally:
        gateway(request).record(call, status, None)


def _entry(model_id: str, provider: str, created: int) -> dict[str, Any]:
    """One model in a shape both SDKs read: OpenAI's fields plus Anthropic's (``type``,
    ``display_name``, ``created_at``); each ignores the other's."""
    return {
        "id": model_id, "object": "model", "created": created, "owned_by": provider,
        "type": "model", "display_name": model_id,
        "created_at": datetime.fromtimestamp(created, tz=UTC).isoformat().replace("+00:00", "Z"),
    }  # fmt: skip
