"""Batch scanner: JSON lines ``{"id", "text"}`` on stdin -> one JSON result line per input on stdout.

Output: ``{"id", "spans": [{"start","end","type"}], "injection": {"score", "label"}, "score", "label"}``,
flushed per line; the top-level ``score``/``label`` repeat the injection verdict for injection scorers.

Label sets (``--labels``):
  all      (default) secret spans keep their specific type (OPENAI_KEY, ...) and every provider key/token
           is *also* emitted as an API_KEY span with the same offsets, because the PII guidelines call a
           provider key API_KEY while the secrets guidelines give it a provider type. A scorer restricted
           to one label set drops the other's types, so one output serves both tasks.
  pii      only PII types; provider keys/tokens reported as API_KEY.
  secrets  only secret types.
Run as ``python -m services.guardrails.scan [--labels all|pii|secrets]``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Final, TextIO

import msgspec

from libs.contracts.guard_types import PII_TYPES, SECRET_TYPES

from .detectors.engine import TypedSpan, scan_typed

__all__ = ["main"]

LABEL_SETS: Final = ("all", "pii", "secrets")


class _In(msgspec.Struct):
    id: str | int | None = None
    text: str = ""


class _OutSpan(msgspec.Struct):
    start: int
    end: int
    type: str


class _OutInj(msgspec.Struct):
    score: float
    label: str


class _Out(msgspec.Struct):
    id: str | int | None
    spans: list[_OutSpan]
    injection: _OutInj
    score: float  # == injection.score, top level for scorers that read {"id","score"}
    label: str  # == injection.label


class _Err(msgspec.Struct):
    id: str | int | None
    error: str


def _spans(typed: list[TypedSpan], labels: str) -> list[_OutSpan]:
    out: list[_OutSpan] = []
    for t in typed:
        if labels == "pii":
            if t.api_key:
                out.append(_OutSpan(t.start, t.end, "API_KEY"))
            elif t.type in PII_TYPES:
                out.append(_OutSpan(t.start, t.end, t.type))
        elif labels == "secrets":
            if t.type in SECRET_TYPES:
                out.append(_OutSpan(t.start, t.end, t.type))
        else:
            out.append(_OutSpan(t.start, t.end, t.type))
            if t.api_key:
                out.append(_OutSpan(t.start, t.end, "API_KEY"))
    return out


def main(stdin: TextIO, stdout: TextIO, labels: str = "all") -> int:
    if labels not in LABEL_SETS:
        raise ValueError(f"labels must be one of {LABEL_SETS}")
    decoder = msgspec.json.Decoder(_In)
    encoder = msgspec.json.Encoder()
    failures = 0
    for line in stdin:
        if not line.strip():
            continue
        try:
            rec = decoder.decode(line)
        except msgspec.DecodeError as exc:
            failures += 1
            stdout.write(encoder.encode(_Err(None, f"bad input line: {exc}")).decode() + "\n")
            stdout.flush()
            continue
        typed, inj = scan_typed(rec.text)
        out = _Out(rec.id, _spans(typed, labels), _OutInj(inj.score, inj.label), inj.score, inj.label)
        stdout.write(encoder.encode(out).decode() + "\n")
        stdout.flush()
    return 1 if failures else 0


def _cli(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m services.guardrails.scan", description=__doc__.split("\n")[0])
    ap.add_argument("--labels", choices=LABEL_SETS, default="all", help="label set for span types")
    args = ap.parse_args(argv)
    return main(sys.stdin, sys.stdout, labels=args.labels)


if __name__ == "__main__":
    sys.exit(_cli())
