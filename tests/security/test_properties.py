"""Properties, not examples: key parsing, the SSE reader with arbitrary chunk boundaries,
redaction offsets, and output scanning of streams cut anywhere."""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import AsyncIterator

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libs.contracts.messages import Finding, GuardVerdict
from libs.crypto import apikeys
from services.edge.outscan import StreamGuard, apply_redactions
from services.edge.upstream.sse import sse_events
from services.guardrails.detectors.engine import detect

PROJECT = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=6, max_size=40)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- keys -------------------------------------------------------------------------------------


@FAST
@given(PROJECT)
def test_a_generated_key_parses_to_its_project(project: str) -> None:
    key = apikeys.generate(project)
    parsed = apikeys.parse(key)
    assert parsed is not None
    assert parsed.project_id == project
    assert parsed.key == key
    assert key not in repr(parsed)
    assert parsed.secret not in apikeys.mask(key)


@FAST
@given(PROJECT, st.data())
def test_any_one_character_change_is_caught_offline(project: str, data: st.DataObject) -> None:
    key = apikeys.generate(project)
    at = data.draw(st.integers(0, len(key) - 1))
    other = data.draw(st.characters(codec="utf-8").filter(lambda c: c != key[at]))
    typo = key[:at] + other + key[at + 1 :]
    parsed = apikeys.parse(typo)
    # a change in the project id could still be a well-formed key of *another* project only if
    # the checksum (over prefix, project and body) matched too: CRC32, 1 in 4 billion
    assert parsed is None or parsed.key != key


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_parsing_never_raises_on_anything(text: str) -> None:
    assert apikeys.parse(text) is None or text.startswith(apikeys.PREFIX)
    assert isinstance(apikeys.parse_admin_token(text), bool)
    masked = apikeys.mask(text)
    assert len(masked) <= max(len(text), 16) + 8


# --- SSE with arbitrary chunk boundaries --------------------------------------------------------

EVENT_NAME = st.text(alphabet=string.ascii_letters + "_.", min_size=0, max_size=12)
DATA_LINE = st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=40)


def _reference(events: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """What a conforming reader yields: one leading space removed from each field value."""
    out = []
    for name, lines in events:
        joined = "\n".join(line[1:] if line.startswith(" ") else line for line in lines)
        if joined:
            out.append((name, joined))
    return out


def _wire(events: list[tuple[str, list[str]]], newline: str) -> bytes:
    frames = []
    for name, lines in events:
        head = [f"event: {name}"] if name else []
        frames.append(newline.join([*head, *(f"data:{line}" for line in lines)]) + newline + newline)
    return "".join(frames).encode()


async def _read(chunks: list[bytes]) -> list[tuple[str, str]]:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    response = httpx.Response(200, content=body())
    return [pair async for pair in sse_events(response)]


def _cut(blob: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(blob)) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(blob[last:point])
        last = point
    pieces.append(blob[last:])
    return pieces


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(EVENT_NAME, st.lists(DATA_LINE, min_size=1, max_size=4)), min_size=1, max_size=6),
    st.lists(st.integers(0, 2000), max_size=12),
    st.sampled_from(["\n", "\r\n"]),
)
def test_sse_events_do_not_depend_on_chunk_boundaries(
    events: list[tuple[str, list[str]]], cuts: list[int], newline: str
) -> None:
    blob = _wire(events, newline)
    assert asyncio.run(_read(_cut(blob, cuts))) == _reference(events)


# --- redaction offsets -----------------------------------------------------------------------


@st.composite
def text_and_findings(draw: st.DrawFn) -> tuple[str, list[Finding], int]:
    text = draw(st.text(alphabet="abc xyz", min_size=0, max_size=60))
    offset = draw(st.integers(0, 20))
    findings = []
    for _ in range(draw(st.integers(0, 5))):
        if len(text) + offset < 1:
            break
        start = draw(st.integers(0, len(text) + offset - 1))  # findings lie inside the scanned string
        end = draw(st.integers(start + 1, len(text) + offset))
        findings.append(Finding(rule_id="r", type="X", action=draw(st.sampled_from(["redact", "warn"])),
                                text_index=0, start=start, end=end))  # fmt: skip
    return text, findings, offset


@settings(max_examples=500, deadline=None)
@given(text_and_findings())
def test_redaction_removes_exactly_the_redacted_spans(case: tuple[str, list[Finding], int]) -> None:
    text, findings, offset = case
    out = apply_redactions(text, findings, offset)
    hidden = [False] * len(text)
    for f in findings:
        if f.action == "redact" and f.end > offset:
            for i in range(max(f.start - offset, 0), min(f.end - offset, len(text))):
                hidden[i] = True
    kept = "".join(c for c, h in zip(text, hidden, strict=True) if not h)
    assert out.replace("[REDACTED_X]", "") == kept
    if not any(hidden):
        assert out == text


# --- streamed output cut anywhere ------------------------------------------------------------

SECRETS = [
    "sk-proj-" + "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=48)),
    "AKIA" + "".join(random.Random(8).choices(string.ascii_uppercase + string.digits, k=16)),
    "4539 1488 0343 6467",  # Luhn-valid, not a published test number
    "jane.doe@northwind-mail.com",
    "ghp_" + "".join(random.Random(9).choices(string.ascii_letters + string.digits, k=36)),
]
WORDS = st.lists(st.sampled_from(["the", "key", "is", "here:", "and", "then", "ok.", "\n", "value", "(x)", "--"]),
                 max_size=12)  # fmt: skip


async def _check(texts: list[str]) -> GuardVerdict:
    findings = [Finding(rule_id="builtin", type=span.type.upper(), action="redact", text_index=i,
                        start=span.start, end=span.end)
                for i, text in enumerate(texts) for span in detect(text)]  # fmt: skip
    return GuardVerdict(action="redact" if findings else "allow", findings=findings)


async def _stream(deltas: list[str]) -> str:
    guard = StreamGuard(check=_check)
    out = [await guard.feed(d) for d in deltas]
    out.append(await guard.finish())
    return "".join(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORDS, st.sampled_from(SECRETS), WORDS, st.lists(st.integers(0, 400), max_size=10))
def test_a_secret_split_across_deltas_anywhere_is_still_redacted(
    before: list[str], secret: str, after: list[str], cuts: list[int]
) -> None:
    text = " ".join([*before, secret, *after])
    assert any(secret in text[s.start : s.end] or text[s.start : s.end] in secret for s in detect(text)), "detectable"
    deltas = [piece.decode() for piece in _cut(text.encode(), cuts) if piece] if text.isascii() else [text]
    released = asyncio.run(_stream(deltas))
    assert secret not in released
    assert released.replace("\n", " ").split() != [], "the rest of the answer still goes out"
