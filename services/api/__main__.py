"""``python -m services.api``."""

from __future__ import annotations

import uvicorn

from services.api.settings import get_settings


def main() -> None:
    """Serve the management API."""
    settings = get_settings()
    uvicorn.run("services.api.app:create_app", factory=True, host=settings.api_host, port=settings.api_port,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
