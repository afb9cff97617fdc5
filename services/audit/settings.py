"""Audit service settings (``BASTION_*``)."""

from __future__ import annotations

from libs.svc.settings import BaseSettings


class AuditSettings(BaseSettings, frozen=True, kw_only=True):
    """The signing key, how often chains are checkpointed and pruned."""

    audit_signing_key: str = ""
    """base64url Ed25519 seed signing the checkpoints; secret — normally
    ``BASTION_AUDIT_SIGNING_KEY_FILE`` (the local stack makes ``var/secrets/audit_signing.key``).
    Required: without it the service does not start (unsigned chains could be truncated unseen)."""
    audit_public_keys: list[str] = []
    """Older public keys (base64url, comma-separated) whose checkpoints a chain may continue from
    after a key rotation; the signing key's own public half is always trusted."""
    audit_checkpoint_interval_s: float = 1.0
    """Every chain that grew is checkpointed this often (rows newer than that are not yet pinned)."""
    audit_retention_interval_s: float = 3600.0
    """How often a retention run starts (one replica at a time)."""
    audit_retention_batch: int = 1000
    """Rows removed per statement by a retention run."""

    def __repr__(self) -> str:  # never print the signing key
        return f"AuditSettings(nats_url={self.nats_url!r}, log_level={self.log_level!r})"
