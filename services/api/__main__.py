"""``python -m services.api``."""

from __future__ import annotations

import uvicorn

import libs.svc.natsimport  # noqa: F401  # before the app: nats-py without aiohttp
from libs.svc import https
from services.api.settings import get_settings


def main() -> None:
    """Serve the management API."""
    settings = get_settings()
    uvicorn.run("services.api.app:create_app", factory=True, host=settings.api_host, port=settings.api_port,
                loop="uvloop", http="httptools", access_log=False, log_level="warning",
                proxy_headers=False, **https.uvicorn_options(settings))  # fmt: skip  # only our trusted_proxies name the client (libs/svc/clientaddr.py)


if __name__ == "__main__":
    main()
