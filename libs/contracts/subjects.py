"""Every NATS subject Bastion uses.

Request/reply subjects read ``gw.<service>.<verb>.v<N>``; a breaking change mints a new
``.v<N+1>`` subject served beside the old one during roll-out. Events read
``gw.evt.<source>.<subject>.<action>``. Handlers never spell a subject as a literal.
"""

from __future__ import annotations

from typing import Final

# --- request/reply (core NATS, queue group = service name) -------------------------------
AUTH_VERIFY: Final = "gw.auth.verify_key.v1"
AUTH_VERIFY_ADMIN: Final = "gw.auth.verify_admin.v1"
GUARD_CHECK: Final = "gw.guard.check.v1"
GUARD_RULE_CHECK: Final = "gw.guard.rule_check.v1"
VAULT_RESOLVE: Final = "gw.vault.resolve.v1"
VAULT_MODELS: Final = "gw.vault.models.v1"
VAULT_KEY_STORE: Final = "gw.vault.key_store.v1"  # provider keys: management API only
VAULT_KEY_ROTATE: Final = "gw.vault.key_rotate.v1"
VAULT_KEY_LIST: Final = "gw.vault.key_list.v1"
VAULT_KEY_DELETE: Final = "gw.vault.key_delete.v1"
VAULT_ALIAS_SET: Final = "gw.vault.alias_set.v1"  # per-project model aliases: management API only
VAULT_ALIAS_LIST: Final = "gw.vault.alias_list.v1"
VAULT_ALIAS_DELETE: Final = "gw.vault.alias_delete.v1"
VAULT_PROVIDER_TEST: Final = "gw.vault.provider_test.v1"  # one cheap upstream call: management API only
VAULT_PROVIDER_PRICE: Final = "gw.vault.provider_price.v1"  # a provider's default price: management API only
AUTH_KEY_ISSUE: Final = "gw.auth.key_issue.v1"
AUTH_KEY_ROTATE: Final = "gw.auth.key_rotate.v1"
AUTH_KEY_REVOKE: Final = "gw.auth.key_revoke.v1"
AUTH_KEY_UPDATE: Final = "gw.auth.key_update.v1"
AUTH_TOKEN_ISSUE: Final = "gw.auth.token_issue.v1"
AUTH_TOKEN_REVOKE: Final = "gw.auth.token_revoke.v1"
AUTH_SESSION_VERIFY: Final = "gw.auth.session_verify.v1"  # people's sessions: management API only
AUTH_SESSION_LIST: Final = "gw.auth.session_list.v1"
AUTH_SESSION_REVOKE: Final = "gw.auth.session_revoke.v1"
AUTH_OAUTH_BEGIN: Final = "gw.auth.oauth_begin.v1"  # sign-in with GitHub / Google: management API only
AUTH_OAUTH_COMPLETE: Final = "gw.auth.oauth_complete.v1"
AUTH_PASSKEY_OPTIONS: Final = "gw.auth.passkey_options.v1"  # passkeys (WebAuthn): management API only
AUTH_PASSKEY_REGISTER: Final = "gw.auth.passkey_register.v1"
AUTH_PASSKEY_SIGNIN: Final = "gw.auth.passkey_signin.v1"
AUTH_PASSKEY_LIST: Final = "gw.auth.passkey_list.v1"
AUTH_PASSKEY_REMOVE: Final = "gw.auth.passkey_remove.v1"
AUTH_TOTP_ENROLL: Final = "gw.auth.totp_enroll.v1"  # second factor: management API only
AUTH_SESSION_STEP_UP: Final = "gw.auth.session_step_up.v1"
AUTH_PASSKEY_SUBJECTS: Final = (AUTH_PASSKEY_OPTIONS, AUTH_PASSKEY_REGISTER, AUTH_PASSKEY_SIGNIN, AUTH_PASSKEY_LIST,
                                AUTH_PASSKEY_REMOVE)  # fmt: skip
METERING_LIMIT_CHECK: Final = "gw.metering.limit_check.v1"  # per-key USD / rpm limits, one request
METERING_LEASE: Final = "gw.metering.lease.v1"  # a block of a key's limits for one edge process

SERVICES: Final = ("auth", "guardrails", "vault", "metering", "audit")
"""Bus services; each answers :func:`ping` and joins a queue group named after itself."""


def ping(service: str) -> str:
    """Health subject of one service (answered by any replica of its queue group)."""
    return f"gw.{service}.ping.v1"


def metrics(service: str) -> str:
    """Counters of one replica of ``service``, Prometheus text (operator only)."""
    return f"gw.{service}.metrics.v1"


METRICS_SCRAPE: Final = "gw.metrics.scrape.v1"
"""Broadcast (no queue group): every process — each edge worker, each replica of every bus
service, the management API — answers with its own metrics (``libs/svc/scrape.py``)."""


# --- core events (every replica, no queue group) -------------------------------------------
CREDENTIAL_INVALIDATED: Final = "gw.evt.auth.credential.invalidated"
GUARD_RULES_CHANGED: Final = "gw.evt.guard.rules.changed"
VAULT_ROUTES_CHANGED: Final = "gw.evt.vault.routes.changed"  # a vault replica changed a tenant's routes

# --- durable events (JetStream) ------------------------------------------------------------
USAGE_STREAM: Final = "USAGE"
USAGE_SUBJECTS: Final = "gw.evt.usage.>"
AUDIT_STREAM: Final = "AUDIT"
AUDIT_SUBJECTS: Final = "gw.evt.audit.>"
METERING_DURABLE: Final = "metering"
AUDIT_DURABLE: Final = "audit"
AUDIT_FORWARD_DURABLE: Final = "audit_forward"
"""The reference forwarder's own durable on ``AUDIT`` (``services/audit/forward.py``)."""
AUDIT_READER: Final = "audit_reader"
"""The read-only bus user of internal ``AUDIT`` readers (``libs/stack/nats_users.py``)."""
AUDIT_FORWARD_DELIVER: Final = f"_INBOX_{AUDIT_READER}.{AUDIT_FORWARD_DURABLE}"
"""Where the server pushes ``audit_forward``'s messages: under the reader's own inbox prefix
(``libs/svc/bus.py:inbox_for``), which no other user may subscribe to."""
DEADLETTER_STREAM: Final = "DEADLETTER"
DEADLETTER_SUBJECTS: Final = "gw.dlq.>"
MAX_DELIVERIES_ADVISORY: Final = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
"""JetStream's advisory when a consumer gives up on a message; the DEADLETTER stream keeps them."""


def dead_letter(consumer: str) -> str:
    """Subject a durable consumer files its dead letters on."""
    return f"gw.dlq.{consumer}"


def max_deliveries(stream: str, consumer: str) -> str:
    """The server's advisory subject for ``consumer`` of ``stream`` reaching its max deliveries."""
    return f"{MAX_DELIVERIES_ADVISORY}.{stream}.{consumer}"


def usage_event(tenant_id: str) -> str:
    """Subject a usage event for ``tenant_id`` is published on."""
    return f"gw.evt.usage.{tenant_id}.recorded"


def audit_event(source: str, resource: str, action: str) -> str:
    """Subject of an audit event, ``gw.evt.audit.<source>.<resource>.<action>``."""
    return f"gw.evt.audit.{source}.{resource}.{action}"
