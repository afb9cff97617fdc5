"""``python -m services.edge``: uvicorn with httptools + uvloop (chosen by measurement)."""

from __future__ import annotations

import uvicorn

from libs.svc import https
from services.edge.settings import get_settings


def main() -> None:
    """Serve the edge."""
    settings = get_settings()
    uvicorn.run(
        "services.edge.app:create_app",
        factory=True,
        host=settings.edge_host,
        port=settings.edge_port,
        workers=settings.edge_workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
        proxy_headers=False,  # only our own trusted_proxies may name the client (libs/svc/clientaddr.py)
        **https.uvicorn_options(settings),  # HTTPS when given a certificate and key
    )


if __name__ == "__main__":
    main()
