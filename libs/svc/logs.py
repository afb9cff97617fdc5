"""Structured logging with a last-line-of-defence secret scrubber.

Code must never log secrets in the first place; the scrubber exists so that a mistake does not
become a leak. It masks anything shaped like a Bastion API key, a management token, a provider
key or a bearer header before the record is written.
"""

from __future__ import annotations

import logging
import re
import sys
import time

import msgspec

_SECRET_PATTERNS = re.compile(
    r"(sk-proj_[A-Za-z0-9]+_)[A-Za-z0-9]{8,}"  # Bastion API keys: keep the project id
    r"|bst_adm_[A-Za-z0-9]{8,}"  # management tokens
    r"|sk-(?!proj_)(?:ant-|proj-|svcacct-)?[A-Za-z0-9_\-]{16,}"  # provider keys (not Bastion masks)
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google API keys
    r"|(?i:bearer\s+)[A-Za-z0-9._\-~+/=]{8,}"
)


def scrub(text: str) -> str:
    """Mask secret-shaped substrings in ``text``."""
    return _SECRET_PATTERNS.sub(lambda m: (m.group(1) or "") + "[REDACTED]", text)


def secret_shaped(text: str) -> bool:
    """Whether :func:`scrub` would change ``text``."""
    return _SECRET_PATTERNS.search(text) is not None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus ``extra`` fields."""

    _skip = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": round(time.time(), 3),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            # The type name only: exception messages may quote inputs.
            out["exc_type"] = record.exc_info[0].__name__
        return scrub(msgspec.json.encode(out).decode())


def setup(service: str, level: str = "INFO") -> None:
    """Route the root logger to stderr as scrubbed JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nats", "faststream", "httpx", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
