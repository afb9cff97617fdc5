"""HTTPS for the edge and the management API: uvicorn's options when a certificate is configured.

uvicorn builds the context in every worker process (``ssl_context_factory``); the factory reads
the certificate and key through the settings loader there too (``BASTION_HTTPS_CERT_FILE``,
``BASTION_HTTPS_KEY_FILE``), so no key travels to the workers, and a rotated pair is picked up by a
rolling restart (docs/operations.md, "Transport security").
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from libs.svc import tls
from libs.svc.settings import HttpSettings, load


def uvicorn_options(settings: HttpSettings) -> dict[str, Any]:
    """``ssl_context_factory`` for ``uvicorn.run`` when HTTPS is configured, else nothing (plain
    HTTP, for a TLS-terminating proxy in front). A bad pair fails here, before anything listens."""
    if not (settings.https_cert or settings.https_key):
        return {}
    tls.server_context(settings.https_cert, settings.https_key)
    return {"ssl_context_factory": context_factory}


def context_factory(_config: object, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's hook, in each worker: TLS 1.2/1.3 and strong ciphers only (libs/svc/tls.py)."""
    settings = load(HttpSettings)
    return tls.server_context(settings.https_cert, settings.https_key)
