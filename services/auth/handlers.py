"""Auth endpoints: verification (edge, api), credential commands (api), invalidations (all replicas)."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    AdminPrincipal,
    Changed,
    CredentialInvalidated,
    Denied,
    Fault,
    Issued,
    IssueKey,
    IssueToken,
    Principal,
    RevokeKey,
    RevokeToken,
    RotateKey,
    UpdateKey,
    VerifyAdmin,
    VerifyKey,
)
from libs.svc.rpc import endpoint, raw_body
from services.auth.manager import Manager
from services.auth.verifier import Verifier

SERVICE = "auth"
log = logging.getLogger("bastion.auth")
_invalidation: Codec[CredentialInvalidated] = Codec(CredentialInvalidated)


def register(broker: NatsBroker, verifier: Verifier) -> None:
    """Verification endpoints and the invalidation listener."""

    @endpoint(broker, subjects.AUTH_VERIFY, queue=SERVICE, request_type=VerifyKey)
    async def verify_key(request: VerifyKey) -> Principal | Denied | Fault:
        return await verifier.verify_key(request.key)

    @endpoint(broker, subjects.AUTH_VERIFY_ADMIN, queue=SERVICE, request_type=VerifyAdmin)
    async def verify_admin(request: VerifyAdmin) -> AdminPrincipal | Denied | Fault:
        return await verifier.verify_token(request.token)

    # No queue group: every replica must drop its cached copy.
    @broker.subscriber(subjects.CREDENTIAL_INVALIDATED, decoder=raw_body)
    async def on_invalidated(body: bytes) -> None:
        try:
            event = _invalidation.decode(body)
        except ValueError:
            log.warning("malformed invalidation event")
            verifier.invalidate_all()
            return
        verifier.invalidate(event.id)


def register_commands(broker: NatsBroker, manager: Manager) -> None:
    """Credential commands from the management API (queue group: one replica handles each)."""

    @endpoint(broker, subjects.AUTH_KEY_ISSUE, queue=SERVICE, request_type=IssueKey, max_workers=8)
    async def issue_key(cmd: IssueKey) -> Issued | Denied:
        return await manager.issue_key(cmd)

    @endpoint(broker, subjects.AUTH_KEY_ROTATE, queue=SERVICE, request_type=RotateKey, max_workers=8)
    async def rotate_key(cmd: RotateKey) -> Issued | Denied:
        return await manager.rotate_key(cmd)

    @endpoint(broker, subjects.AUTH_KEY_REVOKE, queue=SERVICE, request_type=RevokeKey, max_workers=8)
    async def revoke_key(cmd: RevokeKey) -> Changed | Denied:
        return await manager.revoke_key(cmd)

    @endpoint(broker, subjects.AUTH_KEY_UPDATE, queue=SERVICE, request_type=UpdateKey, max_workers=8)
    async def update_key(cmd: UpdateKey) -> Changed | Denied:
        return await manager.update_key(cmd)

    @endpoint(broker, subjects.AUTH_TOKEN_ISSUE, queue=SERVICE, request_type=IssueToken, max_workers=8)
    async def issue_token(cmd: IssueToken) -> Issued | Denied:
        return await manager.issue_token(cmd)

    @endpoint(broker, subjects.AUTH_TOKEN_REVOKE, queue=SERVICE, request_type=RevokeToken, max_workers=8)
    async def revoke_token(cmd: RevokeToken) -> Changed | Denied:
        return await manager.revoke_token(cmd)
