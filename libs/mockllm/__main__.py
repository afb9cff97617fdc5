"""``python -m libs.mockllm --port 9001``."""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    """Serve the mock provider."""
    parser = argparse.ArgumentParser(description="Bastion's mock OpenAI-compatible provider")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args()
    uvicorn.run("libs.mockllm.app:create_app", factory=True, host=args.host, port=args.port,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
