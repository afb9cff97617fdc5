"""Guardrails endpoints."""

from __future__ import annotations

import asyncio

from libs.contracts import subjects
from libs.contracts.messages import Denied, GuardCheck, GuardVerdict
from libs.svc.micro import Service
from services.guardrails.policy import evaluate

SERVICE = "guardrails"
_INLINE_CHARS = 4_000  # scanning is ~µs per hundred chars; big inputs go to a thread


def register(svc: Service) -> None:
    """Attach the guardrails endpoints to ``broker``."""

    @svc.endpoint(subjects.GUARD_CHECK, GuardCheck)
    async def check(request: GuardCheck) -> GuardVerdict | Denied:
        if sum(len(t) for t in request.texts) <= _INLINE_CHARS:
            return evaluate(request.texts)
        return await asyncio.to_thread(evaluate, request.texts)
