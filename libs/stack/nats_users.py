"""Who may publish and subscribe what on the bus: one NATS user per process.

The matrix (also in docs/architecture.md) follows from the subject table: a service subscribes
to its own request subjects and replies only through ``allow_responses`` (it may answer a
request it received, nothing else); a caller publishes only the requests it makes; every user
receives replies on its own inbox prefix ``_INBOX_<user>.>``, so nobody can listen to another
user's replies (the edge's vault replies carry decrypted provider keys). Every process subscribes
to the broadcast scrape ``gw.metrics.scrape.v1`` and answers it through ``allow_responses``; only
the operator publishes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from libs.contracts import subjects as s
from libs.stack.secrets_store import password_files


def _js_consumer(stream: str, durable: str) -> list[str]:
    """What a durable pull consumer needs: pull from its own consumer, ack its messages, file dead
    letters. Never a stream or consumer create/update/delete/purge: only the operator manages
    JetStream (``libs/svc/streams.py:provision``)."""
    return [
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        s.dead_letter(durable),
    ]


OPERATOR = "operator"
"""Manages streams and consumers, lists and replays dead letters, reads metrics; no service uses it."""

PERMISSIONS: dict[str, dict[str, list[str]]] = {
    "edge": {
        "publish": [s.AUTH_VERIFY, s.GUARD_CHECK, s.VAULT_RESOLVE, s.VAULT_MODELS, s.METERING_LIMIT_CHECK,
                    s.METERING_LEASE,
                    *(s.ping(x) for x in s.SERVICES), s.USAGE_SUBJECTS, "gw.evt.audit.edge.>"],
        "subscribe": [s.METRICS_SCRAPE],
    },
    "api": {
        "publish": [s.AUTH_VERIFY_ADMIN, s.AUTH_KEY_ISSUE, s.AUTH_KEY_ROTATE, s.AUTH_KEY_REVOKE, s.AUTH_KEY_UPDATE,
                    s.AUTH_TOKEN_ISSUE, s.AUTH_TOKEN_REVOKE, s.GUARD_CHECK, s.GUARD_RULE_CHECK, s.GUARD_RULES_CHANGED,
                    s.VAULT_KEY_STORE, s.VAULT_KEY_ROTATE, s.VAULT_KEY_LIST, s.VAULT_KEY_DELETE,
                    s.VAULT_ALIAS_SET, s.VAULT_ALIAS_LIST, s.VAULT_ALIAS_DELETE, s.VAULT_PROVIDER_TEST,
                    s.VAULT_PROVIDER_PRICE, s.AUTH_SESSION_VERIFY, s.AUTH_SESSION_LIST, s.AUTH_SESSION_REVOKE,
                    s.AUTH_OAUTH_BEGIN, s.AUTH_OAUTH_COMPLETE, *s.AUTH_PASSKEY_SUBJECTS, s.AUTH_TOTP_ENROLL,
                    s.AUTH_SESSION_STEP_UP, "gw.evt.audit.api.>"],
        "subscribe": [s.METRICS_SCRAPE],
    },
    "auth": {
        "publish": [s.CREDENTIAL_INVALIDATED],
        "subscribe": [s.AUTH_VERIFY, s.AUTH_VERIFY_ADMIN, s.AUTH_KEY_ISSUE, s.AUTH_KEY_ROTATE, s.AUTH_KEY_REVOKE,
                      s.AUTH_KEY_UPDATE, s.AUTH_TOKEN_ISSUE, s.AUTH_TOKEN_REVOKE, s.AUTH_SESSION_VERIFY,
                      s.AUTH_SESSION_LIST, s.AUTH_SESSION_REVOKE, s.AUTH_OAUTH_BEGIN, s.AUTH_OAUTH_COMPLETE,
                      *s.AUTH_PASSKEY_SUBJECTS, s.AUTH_TOTP_ENROLL, s.AUTH_SESSION_STEP_UP, s.ping("auth"),
                      s.metrics("auth"), s.CREDENTIAL_INVALIDATED, s.METRICS_SCRAPE],
    },
    "guardrails": {
        "publish": ["gw.evt.audit.guardrails.>"],
        "subscribe": [s.GUARD_CHECK, s.GUARD_RULE_CHECK, s.ping("guardrails"), s.metrics("guardrails"),
                      s.GUARD_RULES_CHANGED, s.METRICS_SCRAPE],
    },
    "vault": {
        "publish": [s.VAULT_ROUTES_CHANGED],
        "subscribe": ["gw.vault.>", s.VAULT_ROUTES_CHANGED, s.METRICS_SCRAPE],
    },
    "metering": {
        "publish": _js_consumer(s.USAGE_STREAM, s.METERING_DURABLE),
        "subscribe": ["gw.metering.>", s.METRICS_SCRAPE],
    },
    "audit": {
        "publish": _js_consumer(s.AUDIT_STREAM, s.AUDIT_DURABLE),
        "subscribe": ["gw.audit.>", s.METRICS_SCRAPE],
    },
    # read-only: receives its own durable on AUDIT pushed into its inbox (the reference forwarder)
    # and acks it; publishes nothing else — no pull request (whose reply subject the server does
    # not check), no event, no dead letter, no JetStream management (docs/audit.md)
    s.AUDIT_READER: {
        "publish": [f"$JS.ACK.{s.AUDIT_STREAM}.{s.AUDIT_FORWARD_DURABLE}.>"],
        "subscribe": [],
    },
    "metrics": {
        # the metrics bridge: the broadcast scrape only, answers into its own inbox; it cannot
        # manage streams, replay dead letters or publish events the way the operator can
        "publish": [s.METRICS_SCRAPE],
        "subscribe": [],
    },
    OPERATOR: {
        # JetStream management, dead-letter replay onto the original subjects, dead letters put back
        # by a restore (libs/backup/streams.py), metrics of one replica of a service, or of every
        # process (the scrape every process answers: the metrics bridge)
        "publish": ["$JS.API.>", "gw.evt.usage.>", "gw.evt.audit.>", s.dead_letter(">"),
                    *(s.metrics(x) for x in s.SERVICES), s.METRICS_SCRAPE],
        "subscribe": [],
    },
}  # fmt: skip


def passwords(directory: Path) -> dict[str, str]:
    """One password per bus user, generated once under ``directory``."""
    return password_files(directory, "nats", PERMISSIONS)


def _permissions(user: str) -> dict[str, Any]:
    from libs.svc.bus import inbox_for  # the bus client's import, kept out of the stack supervisor

    perms = PERMISSIONS[user]
    return {
        "publish": {"allow": perms["publish"] or ["_NONE_"]},
        "subscribe": {"allow": [*perms["subscribe"], f"{inbox_for(user)}.>"]},
        "allow_responses": True,
    }


def _block(users: list[dict[str, Any]]) -> str:
    return "authorization {\n  users = " + json.dumps(users, indent=2) + "\n}\n"


def authorization_block(creds: dict[str, str]) -> str:
    """The ``authorization { users = [...] }`` section of nats.conf, users with passwords."""
    return _block([{"user": user, "password": creds[user], "permissions": _permissions(user)} for user in PERMISSIONS])


def tls_authorization_block() -> str:
    """The same users and permissions for mutual TLS with ``verify_and_map``: each user is named by
    the subject of its client certificate (``libs/stack/pki.py``) and has no password, so only the
    holder of that certificate's key can be that user."""
    from libs.stack.pki import subject_dn

    return _block([{"user": subject_dn(user), "permissions": _permissions(user)} for user in PERMISSIONS])
