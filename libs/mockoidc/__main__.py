"""``python -m libs.mockoidc --port 9010``."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    """Serve the mock identity provider."""
    parser = argparse.ArgumentParser(description="Bastion's mock OAuth / OpenID Connect provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9010)
    parser.add_argument("--fd", type=int, default=None, help="serve on this inherited listening socket instead"
                        " (the local stack's supervisor starts the provider on its first connection)")  # fmt: skip
    args = parser.parse_args()
    where = {"fd": args.fd} if args.fd is not None else {"host": args.host, "port": args.port}
    uvicorn.run("libs.mockoidc.app:create_app", factory=True, access_log=False, log_level="warning", **where)


if __name__ == "__main__":
    main()
