"""A small driver for schemathesis: every operation of an OpenAPI document, valid and invalid
generated requests, the chosen checks; failures are collected per operation, not stopped at.

(Schemathesis' own pytest integration needs the document at collection time, before the session
stack exists, and its lazy loader does not work with pytest 9; the strategies it builds work.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class Run:
    cases: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def fuzz(schema: Any, call: Callable[[Any], Any], checks: list[Any], examples: int,
         modes: tuple[GenerationMode, ...] = MODES) -> Run:  # fmt: skip
    """Run up to ``examples`` generated cases per operation and mode; ``call(case)`` sends one."""
    run = Run()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:
            label = f"{operation.label} [{mode.value}]"
            try:
                _one(run, label, operation.as_strategy(generation_mode=mode), call, checks, examples)
            except Unsatisfiable:
                continue  # no invalid input exists for this operation (e.g. one free-form path segment)
            except (Exception, BaseExceptionGroup) as exc:
                run.failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:1500]}")
    return run


def _one(run: Run, label: str, strategy: Any, call: Callable[[Any], Any], checks: list[Any], examples: int) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def one(case: Any) -> None:
        run.cases += 1
        run.per_operation[label] = run.per_operation.get(label, 0) + 1
        case.validate_response(call(case), checks=checks)

    one()
