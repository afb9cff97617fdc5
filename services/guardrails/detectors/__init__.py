"""Guardrail detectors (pure Python, no I/O): PII, secrets and prompt-injection scoring."""

from .engine import Injection, ScanResult, Span, TypedSpan, detect, redact, scan

__all__ = ["Injection", "ScanResult", "Span", "TypedSpan", "detect", "redact", "scan"]
