"""Guardrail findings are counted by type, action and direction; tenant-named types are bounded."""

from __future__ import annotations

from libs.contracts.messages import AuditEvent, Denied, Finding, GuardCheck, GuardVerdict
from services.guardrails import handlers
from services.guardrails.handlers import FINDINGS, _report
from services.guardrails.store import Violation


async def _nothing(_: list[Violation]) -> None:
    return None


def _ignore(_: AuditEvent) -> None:
    return None


def _check(texts: list[str], direction: str = "input") -> GuardCheck:
    return GuardCheck(request_id="r", tenant_id="o", project_id="p", key_id="k", texts=texts,
                      direction=direction)  # type: ignore[arg-type]  # fmt: skip


def _finding(kind: str, action: str, index: int = 0, *, monitor: bool = False) -> Finding:
    return Finding(rule_id=f"rule-{kind}", type=kind, action=action, text_index=index, start=0, end=1, monitor=monitor)


async def test_each_violation_counts_once_by_type_action_and_direction() -> None:
    before = {k: FINDINGS.value(type=k[0], action=k[1], direction=k[2]) for k in
              [("EMAIL", "redact", "output"), ("PROMPT_INJECTION", "monitor", "output")]}  # fmt: skip
    verdict = GuardVerdict(action="redact", findings=[
        _finding("EMAIL", "redact"), _finding("EMAIL", "redact"),  # one rule, one text: one violation
        _finding("EMAIL", "redact", 1), _finding("PROMPT_INJECTION", "block", monitor=True)])  # fmt: skip
    await _report(_check(["a", "b"], "output"), verdict, _nothing, _ignore)
    assert (
        FINDINGS.value(type="EMAIL", action="redact", direction="output") == before[("EMAIL", "redact", "output")] + 2
    )
    assert (FINDINGS.value(type="PROMPT_INJECTION", action="monitor", direction="output")
            == before[("PROMPT_INJECTION", "monitor", "output")] + 1)  # fmt: skip


async def test_a_block_counts_as_blocked() -> None:
    before = FINDINGS.value(type="BLOCKED", action="block", direction="input")
    await _report(_check(["a"]), Denied(code="guard.blocked", reason="x", rule_ids=["r1", "r2"]), _nothing, _ignore)
    assert FINDINGS.value(type="BLOCKED", action="block", direction="input") == before + 2


async def test_a_flood_of_custom_types_does_not_grow_the_series() -> None:
    for i in range(500):
        await _report(_check(["a"]), GuardVerdict(action="warn", findings=[_finding(f"TENANT_TYPE_{i}", "warn")]),
                      _nothing, _ignore)  # fmt: skip
    assert FINDINGS.series() <= 64 + 4  # 64 types (then "other") in this process, a few actions and directions
    assert FINDINGS.value(type="other", action="warn", direction="input") > 0
    assert handlers._types("TENANT_TYPE_499") == "other"
