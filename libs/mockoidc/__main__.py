"""``python -m libs.mockoidc --port 9010``."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    """Serve the mock identity provider."""
    parser = argparse.ArgumentParser(description="Bastion's mock OAuth / OpenID Connect provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9010)
    args = parser.parse_args()
    uvicorn.run("libs.mockoidc.app:create_app", factory=True, host=args.host, port=args.port,
                access_log=False, log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
