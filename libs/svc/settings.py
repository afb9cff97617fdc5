"""Settings shared by every process: loaded once from ``BASTION_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from libs.svc.rotation import DEFAULT_BACKUPS, DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_MB, Rotation

S = TypeVar("S", bound=msgspec.Struct)


class BaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service needs: the bus, the database, logging and tracing."""

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str = ""
    nats_password: str = ""
    nats_tls_ca: str = ""
    """PEM of the CA the bus server's certificate must chain to (``BASTION_NATS_TLS_CA_FILE``).
    Set: the connection is TLS (handshake first) and the server is verified, name included."""
    nats_tls_cert: str = ""
    """PEM of this process's client certificate (``BASTION_NATS_TLS_CERT_FILE``): under mutual TLS
    the server maps it to this process's bus user (``libs/stack/nats_users.py``)."""
    nats_tls_key: str = ""
    """PEM of its private key; secret — normally ``BASTION_NATS_TLS_KEY_FILE`` (a 0600 mount)."""
    db_dsn: str = ""
    pool_size: int = 0
    """Most database connections this process opens (0: the service's own default)."""
    log_level: str = "INFO"
    trace_file: str = ""
    instance: str = ""
    spool_dir: str = ""
    """Where durable events are journaled until JetStream acks them (empty: memory only)."""
    spool_keys: str = ""
    """Keyring spec (``kid:<base64url 32 bytes>``, newest first) sealing the journal; secret —
    normally ``BASTION_SPOOL_KEYS_FILE``. Empty: journals are written in clear (development)."""
    upstream_allow: list[str] = []
    """CIDRs of non-public destinations providers may use (a self-hosted model, the local mock);
    everything else that is not globally routable is refused (``libs/svc/egress.py``)."""
    trace_max_mb: float = DEFAULT_MAX_MB
    """A trace file is rotated once it reaches this size (``libs/svc/rotation.py``)."""
    trace_backups: int = DEFAULT_BACKUPS
    """Rotated trace files kept (``<file>.1`` newest … ``<file>.N``); older ones are deleted."""
    trace_max_age_days: float = DEFAULT_MAX_AGE_DAYS
    """A trace file is also rotated once this old, and rotated files older than this are deleted."""
    log_max_mb: float = DEFAULT_MAX_MB
    """The local stack's log files (``var/logs/*.log``): the same three bounds (the supervisor
    reads them with ``Rotation.from_env(os.environ, "BASTION_LOG")``)."""
    log_backups: int = DEFAULT_BACKUPS
    log_max_age_days: float = DEFAULT_MAX_AGE_DAYS

    def __repr__(self) -> str:  # never print passwords or DSNs with credentials
        return f"{type(self).__name__}(nats_url={self.nats_url!r}, log_level={self.log_level!r})"

    def trace_rotation(self) -> Rotation:
        """Bounds of each trace file."""
        return Rotation.of(self.trace_max_mb, self.trace_backups, self.trace_max_age_days)

    def log_rotation(self) -> Rotation:
        """Bounds of each log file the local stack writes."""
        return Rotation.of(self.log_max_mb, self.log_backups, self.log_max_age_days)


class TraceSampling(msgspec.Struct, frozen=True, kw_only=True):
    """OpenTelemetry's standard sampler variables, ``OTEL_TRACES_SAMPLER`` and
    ``OTEL_TRACES_SAMPLER_ARG`` (load with ``prefix="OTEL_"``). The default samples every trace
    the caller did not decide otherwise; ``parentbased_traceidratio`` with ``0.01`` keeps one
    trace in a hundred, whole (``libs/telemetry/spans.py``)."""

    traces_sampler: str = "parentbased_always_on"
    traces_sampler_arg: str = ""


class HttpSettings(BaseSettings, frozen=True, kw_only=True):
    """What every HTTP service (edge, management API) needs besides: who may speak for a client."""

    trusted_proxies: list[str] = []
    """CIDRs of the proxies allowed to name the client in ``client_ip_header``; empty: nobody,
    the socket peer is the client."""
    client_ip_header: str = "x-forwarded-for"
    """The forwarding header those proxies set (``x-forwarded-for``, ``x-real-ip`` or ``forwarded``)."""
    https_cert: str = ""
    """PEM of the certificate (chain) to serve HTTPS with (``BASTION_HTTPS_CERT_FILE``); empty:
    plain HTTP, for a TLS-terminating proxy in front (docs/operations.md)."""
    https_key: str = ""
    """PEM of its private key; secret — normally ``BASTION_HTTPS_KEY_FILE`` (a 0600 mount)."""


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
