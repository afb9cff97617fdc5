"""``GET /v1/models``: the models the calling key may use."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from services.edge.access import model_allowed
from services.edge.routes.common import authenticate, gateway, start_call


@get("/v1/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """OpenAI's model list, filtered by the key's allow-list."""
    call = start_call(request, "models.list")
    status = 500
    try:
        principal = await authenticate(request, call)
        models = await gateway(request).models(call, principal)
        data = [
            {"id": m.id, "object": "model", "created": m.created, "owned_by": m.provider}
            for m in models
            if model_allowed(principal.limits, m.id)
        ]
        status = 200
        return Response({"object": "list", "data": data})
    except Exception as exc:
        status = getattr(exc, "status", 500)
        raise
    finally:
        gateway(request).record(call, status, None)
