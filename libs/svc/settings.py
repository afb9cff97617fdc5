"""Settings shared by every process: loaded once from ``BASTION_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


class BaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service needs: the bus, the database, logging and tracing."""

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str = ""
    nats_password: str = ""
    db_dsn: str = ""
    pool_size: int = 0
    """Most database connections this process opens (0: the service's own default)."""
    log_level: str = "INFO"
    trace_file: str = ""
    instance: str = ""
    spool_dir: str = ""
    """Where durable events are journaled until JetStream acks them (empty: memory only)."""
    upstream_allow: list[str] = []
    """CIDRs of non-public destinations providers may use (a self-hosted model, the local mock);
    everything else that is not globally routable is refused (``libs/svc/egress.py``)."""

    def __repr__(self) -> str:  # never print passwords or DSNs with credentials
        return f"{type(self).__name__}(nats_url={self.nats_url!r}, log_level={self.log_level!r})"


class HttpSettings(BaseSettings, frozen=True, kw_only=True):
    """What every HTTP service (edge, management API) needs besides: who may speak for a client."""

    trusted_proxies: list[str] = []
    """CIDRs of the proxies allowed to name the client in ``client_ip_header``; empty: nobody,
    the socket peer is the client."""
    client_ip_header: str = "x-forwarded-for"
    """The forwarding header those proxies set (``x-forwarded-for``, ``x-real-ip`` or ``forwarded``)."""


def load(cls: type[S], environ: Mapping[str, str] | None = None, prefix: str = "BASTION_") -> S:
    """Fill ``cls`` from ``<prefix><FIELD>`` variables; "5" becomes 5 and "true" True.

    List fields take comma-separated values. ``<NAME>_FILE`` names a file to read the value
    from (Docker and Kubernetes secret mounts) when ``<NAME>`` itself is not set.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        name = prefix + field.name.upper()
        value = env.get(name)
        if value is None and env.get(name + "_FILE"):
            value = Path(env[name + "_FILE"]).read_text(encoding="utf-8").strip()
        if value is None:
            continue
        if _is_list(field.type):
            raw[field.name] = [v.strip() for v in value.split(",") if v.strip()]
        else:
            raw[field.name] = value
    return msgspec.convert(raw, cls, strict=False)


def _is_list(tp: Any) -> bool:
    origin = getattr(tp, "__origin__", None)
    return tp is list or origin is list
