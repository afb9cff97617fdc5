"""Auth endpoints: decode, verify, reply."""

from __future__ import annotations

from faststream.nats import NatsBroker

from libs.contracts import subjects
from libs.contracts.messages import (
    AdminPrincipal,
    Denied,
    Fault,
    Principal,
    VerifyAdmin,
    VerifyKey,
)
from libs.svc.rpc import endpoint
from services.auth.verifier import Verifier

SERVICE = "auth"


def register(broker: NatsBroker, verifier: Verifier) -> None:
    """Attach auth's endpoints to ``broker``."""

    @endpoint(broker, subjects.AUTH_VERIFY, queue=SERVICE, request_type=VerifyKey)
    async def verify_key(request: VerifyKey) -> Principal | Denied | Fault:
        return await verifier.verify_key(request.key)

    @endpoint(broker, subjects.AUTH_VERIFY_ADMIN, queue=SERVICE, request_type=VerifyAdmin)
    async def verify_admin(request: VerifyAdmin) -> AdminPrincipal | Denied | Fault:
        return await verifier.verify_token(request.token)
