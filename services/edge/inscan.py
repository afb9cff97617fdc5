"""Input guardrails over a whole request body: what to send for scanning, what to refuse, and
writing the verdict back (``textparts`` finds the texts; this module applies the rule)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from libs.contracts.messages import GuardVerdict
from libs.svc.logs import secret_shaped
from services.edge import textparts
from services.edge.errors import ApiError
from services.edge.settings import get_settings
from services.edge.textparts import Found, Path
from services.edge.wire.openai import ChatRequest

_SECRET_MODEL = ApiError(400, "The model name contains data the guardrails redact (e.g. a credential); it "
                         "cannot be sent to a provider.", code="invalid_request_error", param="model")  # fmt: skip


def where(path: Path) -> str:
    """A path as a client reads it: ``messages[0].content[1]``."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def refuse_unreadable(found: Found, allowed: frozenset[str]) -> None:
    """400 naming the first part the guardrails cannot read, unless the operator allows its type
    (``BASTION_UNREADABLE_PARTS_ALLOWED``); nothing is forwarded."""
    for path, kind in found.unreadable:
        if kind not in allowed:
            raise ApiError(400, f"The request contains a `{kind}` part (at `{where(path)}`), which the "
                           "guardrails cannot read; this gateway's policy refuses it.",
                           code="unreadable_content", param=where(path))  # fmt: skip


@dataclass
class Scanned:
    """A body's texts: ``sent`` (distinct, in order) go to the guardrails; ``chars`` is the size of
    all of them (for the cost estimate)."""

    found: Found
    sent: list[str]
    chars: int
    model_at: int | None = None
    """Index in ``sent`` of the model name: scanned too (a catch-all route sends it upstream), but
    it cannot be redacted — routing already used it — so a finding on it refuses the request."""

    def apply(self, body: Any, verdict: GuardVerdict) -> None:
        """Write the redacted texts of ``verdict`` back into ``body`` (in place); 400 if a rule
        redacts the model name."""
        if self.model_at is not None and any(
            f.text_index == self.model_at and f.action == "redact" and not f.monitor for f in verdict.findings
        ):
            raise _SECRET_MODEL
        if verdict.texts is None:
            return
        redacted = dict(zip(self.sent, verdict.texts, strict=True))
        texts = [redacted[t] for t in self.found.texts]
        textparts.replace(body, self.found, texts)
        self.chars = sum(map(len, texts))


def scan_input(body: Any, schema: Any = ChatRequest) -> Scanned:
    """Every text of ``body`` by its wire ``schema``; refuses unreadable parts first."""
    found = textparts.collect(body, schema)
    if found.unreadable:
        refuse_unreadable(found, frozenset(get_settings().unreadable_parts_allowed))
    sent = list(dict.fromkeys(found.texts))
    model = body.get("model") if isinstance(body, dict) else None
    model_at = None
    if isinstance(model, str) and model:
        if secret_shaped(model):  # the scrubber's credential shapes, before any hop
            raise _SECRET_MODEL
        if model not in sent:
            sent.append(model)
        model_at = sent.index(model)
    return Scanned(found=found, sent=sent, chars=sum(map(len, found.texts)), model_at=model_at)
