"""Edge settings (``BASTION_*``)."""

from __future__ import annotations

from functools import lru_cache

import msgspec

from libs.svc.settings import HttpSettings, load


class EdgeSettings(HttpSettings, frozen=True, kw_only=True):
    """HTTP front door settings."""

    edge_host: str = "127.0.0.1"
    edge_port: int = 8080
    edge_workers: int = 1
    max_body_bytes: int = 4 * 1024 * 1024
    bus_timeout_s: float = 1.5
    """Per-hop deadline for auth/guardrails/vault; the client gets 503 within ~2 s."""
    upstream_connect_timeout_s: float = 5.0
    event_queue_size: int = 100_000
    auth_fail_window_s: float = 60.0
    """Failed authentications are audited as one event per (source, reason) per window."""
    unreadable_parts_allowed: list[str] = msgspec.field(default_factory=lambda: ["image_url"])
    """Request parts the guardrails cannot read that are forwarded anyway (the part types
    ``image_url`` — data URLs; links are scanned as text —, ``input_audio``, ``file``, ``audio``
    and, on the way out, ``audio`` data); any other is refused (400 ``unreadable_content``)."""


@lru_cache(maxsize=1)
def get_settings() -> EdgeSettings:
    """Settings from the environment (cached per process)."""
    return load(EdgeSettings)
