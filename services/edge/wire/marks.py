"""Annotations that tell the guardrail walker (``services/edge/textparts.py``) how to treat a field.

A string field without a mark is text: it is scanned on the way in (redacted in place) and on the
way out. The marks below are the only exceptions, and every use of one is listed in a reviewed
table in ``tests/unit/edge/test_guard_fields.py``, so a new exception cannot slip in unnoticed.

* ``NotSent``: a value the edge replaces before anything goes upstream (the model name: adapters
  send the routed upstream model) — on the way out, an identifier the provider assigns.
* ``Opaque``: bytes the guardrails cannot read (base64 audio, file data, image data URLs). Only
  allowed inside a part that is :data:`UNREADABLE`, which the edge refuses unless the setting
  ``BASTION_UNREADABLE_PARTS_ALLOWED`` names that part type.
* ``Drop``: on the way out, a value that cannot be scanned (log-prob byte arrays, audio data):
  removed from the answer.
* ``Joined``: on the way out, a list of tokens (log probabilities) scanned as one text; if any rule
  acts on it, the whole list is dropped.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

SCAN: Final = "scan"
"""The ``msgspec.Meta.extra`` key carrying the mark."""
UNREADABLE: Final = "unreadable"
"""Class attribute of a part Struct the guardrails cannot read: the part type it is refused as."""

NotSent = Annotated[str, msgspec.Meta(extra={SCAN: "not_sent"})]
Opaque = Annotated[str, msgspec.Meta(extra={SCAN: "opaque"})]
ImageUrl = Annotated[str, msgspec.Meta(extra={SCAN: "image_url"})]
"""A link (scanned as text) or a ``data:`` URL (opaque image bytes: the part is unreadable)."""
