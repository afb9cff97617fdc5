"""Who is calling: the presented key, and the key's model and IP allow-lists (the client IP
itself is resolved once, by :mod:`libs.svc.clientaddr`)."""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Mapping
from functools import lru_cache

from libs.contracts.errors import Code
from libs.contracts.messages import KeyLimits
from libs.crypto import apikeys
from services.edge.errors import ApiError

_MISSING = ApiError(
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    code="invalid_api_key",
)
_MALFORMED = ApiError(401, "Incorrect API key provided.", code="invalid_api_key")


def presented_key(headers: Mapping[str, str]) -> str:
    """The API key from ``Authorization: Bearer`` or ``x-api-key``; shape and checksum are
    checked here, so a mistyped key never costs a bus or database call."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    key = key or headers.get("x-api-key", "").strip()
    if not key:
        raise _MISSING
    if apikeys.parse(key) is None:
        raise _MALFORMED
    return key


@lru_cache(maxsize=256)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _in(address: str, cidrs: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(cidrs))


def check_model(limits: KeyLimits, model: str) -> None:
    """403 if the key's model allow-list (globs) does not admit ``model``."""
    if not model_allowed(limits, model):
        raise ApiError(
            403,
            f"This API key is not allowed to use the model `{model}` (rule: allowed_models).",
            code=str(Code.MODEL_NOT_ALLOWED),
        )


def model_allowed(limits: KeyLimits, model: str) -> bool:
    """Whether ``model`` passes the key's model allow-list."""
    return not limits.allowed_models or any(fnmatch.fnmatchcase(model, p) for p in limits.allowed_models)


def check_ip(limits: KeyLimits, ip: str) -> None:
    """403 if the key's IP allow-list (CIDRs) does not admit ``ip``."""
    if limits.allowed_ips and not _in(ip, tuple(limits.allowed_ips)):
        raise ApiError(
            403,
            "This API key may not be used from your network address (rule: allowed_ips).",
            code=str(Code.IP_NOT_ALLOWED),
        )
