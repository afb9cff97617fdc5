"""Bus messages. Rules: new fields go last with defaults; never change a field's type;
a breaking change is a new Struct on a new ``.vN`` subject (see ``subjects``)."""

from libs.contracts.messages.auth import (
    AdminPrincipal,
    AuthReply,
    KeyLimits,
    Principal,
    VerifyAdmin,
    VerifyAdminReply,
    VerifyKey,
)
from libs.contracts.messages.common import Denied, Fault, Ping, Pong
from libs.contracts.messages.events import AuditEvent, UsageEvent
from libs.contracts.messages.guard import Finding, GuardCheck, GuardReply, GuardVerdict
from libs.contracts.messages.keys import (
    Actor,
    Changed,
    ChangeReply,
    CredentialInvalidated,
    Issued,
    IssueKey,
    IssueReply,
    IssueToken,
    RevokeKey,
    RevokeToken,
    RotateKey,
    UpdateKey,
)
from libs.contracts.messages.vault import (
    ListModels,
    ModelInfo,
    ModelList,
    ModelsReply,
    Resolve,
    Resolved,
    VaultReply,
)

__all__ = [
    "Actor",
    "AdminPrincipal",
    "AuditEvent",
    "AuthReply",
    "ChangeReply",
    "Changed",
    "CredentialInvalidated",
    "Denied",
    "Fault",
    "Finding",
    "GuardCheck",
    "GuardReply",
    "GuardVerdict",
    "IssueKey",
    "IssueReply",
    "IssueToken",
    "Issued",
    "KeyLimits",
    "ListModels",
    "ModelInfo",
    "ModelList",
    "ModelsReply",
    "Ping",
    "Pong",
    "Principal",
    "Resolve",
    "Resolved",
    "RevokeKey",
    "RevokeToken",
    "RotateKey",
    "UpdateKey",
    "UsageEvent",
    "VaultReply",
    "VerifyAdmin",
    "VerifyAdminReply",
    "VerifyKey",
]
