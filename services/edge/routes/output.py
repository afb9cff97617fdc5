"""Output guardrails wired into chat responses (JSON and SSE).

Every text of an answer is found by walking it with its wire schema (``wire/openai_out.py``):
content (a string or parts), refusals, reasoning, tool-call names and arguments, legacy function
calls, audio transcripts, annotations, log-prob tokens and anything undeclared. What cannot be
scanned (log-prob byte arrays; audio data unless ``BASTION_UNREADABLE_PARTS_ALLOWED`` names
``audio``) is dropped. In streams each text field of each choice's delta has its own hold-back
(``outscan.StreamGuard``); log probabilities are dropped from streams, since a token list cut
across chunks cannot be scanned as one.

A stream's text is scanned in pieces of at least ``STREAM_SCAN_CHARS`` characters, or whatever is
releasable ``STREAM_SCAN_WAIT_S`` after it arrived — whichever comes first — and at the end of each
choice: one guardrails round trip per piece, not per chunk. Text held past its wait while the
upstream sends nothing is released in a frame of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import msgspec

from libs.contracts.messages import Denied, GuardVerdict, Principal
from libs.svc.bus import Unavailable
from libs.svc.logs import scrub, secret_shaped
from services.edge import errors, textparts
from services.edge.errors import ApiError
from services.edge.gateway import Call, Gateway
from services.edge.outscan import OutputBlocked, StreamGuard, apply_redactions
from services.edge.settings import get_settings
from services.edge.textparts import JOINED, AsJson, FieldOf, Found, Joined, Path
from services.edge.wire.openai_out import Chunk, Completion

_DONE = b"data: [DONE]\n\n"
Key = tuple[Any, ...]
STREAM_SCAN_CHARS = 192
"""Releasable characters a stream guard gathers before one scan (a few dozen tokens)."""
STREAM_SCAN_WAIT_S = 0.05
"""The longest a stream's text waits for more before it is scanned and released anyway."""


_TOP_IDS = ("id", "object", "model", "system_fingerprint", "service_tier", "obfuscation")


def _scrub(node: dict[str, Any], name: str) -> bool:
    value = node.get(name)
    if isinstance(value, str) and secret_shaped(value):
        node[name] = scrub(value)
        return True
    return False


def _scrub_identifiers(body: dict[str, Any]) -> bool:
    """Mask credential-shaped values in the fields the provider assigns and the guardrails do not
    read (ids, model, fingerprint, finish reason, roles, tool-call ids, usage detail names): an
    upstream chooses every byte of its answer. Returns whether anything changed."""
    changed = False
    for name in _TOP_IDS:
        changed |= _scrub(body, name)
    usage = body.get("usage")
    if isinstance(usage, dict):
        for details in ("prompt_tokens_details", "completion_tokens_details"):
            block = usage.get(details)
            if isinstance(block, dict) and any(secret_shaped(str(k)) for k in block):
                usage[details] = {scrub(str(k)): v for k, v in block.items()}
                changed = True
    for choice in body.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        changed |= _scrub(choice, "finish_reason")
        message = choice.get("message") if isinstance(choice.get("message"), dict) else choice.get("delta")
        if isinstance(message, dict):
            changed |= _scrub(message, "role")
            for tool_call in message.get("tool_calls") or []:
                if isinstance(tool_call, dict):
                    changed |= _scrub(tool_call, "id") | _scrub(tool_call, "type")
    return changed


def _drop_unscannable(body: Any, found: Found, *more: Path) -> None:
    """Remove what cannot be scanned (audio data stays only if the operator allows audio)."""
    keep_audio = "audio" in get_settings().unreadable_parts_allowed
    textparts.drop(body, [p for p in found.drops if not (keep_audio and p[-2:-1] == ("audio",))] + list(more))


async def _check(gw: Gateway, call: Call, principal: Principal, texts: list[str]) -> tuple[list[str], list[str]]:
    """Scan ``texts`` (each distinct text once): the texts as they may be sent and the rule ids
    that warned. Raises ``OutputBlocked`` on a block, ``Unavailable`` if guardrails cannot answer."""
    sent = list(dict.fromkeys(texts))
    verdict = await gw.check_output(call, principal, sent)
    if isinstance(verdict, Denied):
        raise OutputBlocked(verdict.reason, verdict.rule_ids)
    assert isinstance(verdict, GuardVerdict)
    warned = sorted({f.rule_id for f in verdict.findings if f.action == "warn" and not f.monitor})
    if verdict.action != "redact":
        return texts, warned
    redacted = {text: apply_redactions(text, [f for f in verdict.findings if f.text_index == i])
                for i, text in enumerate(sent)}  # fmt: skip
    return [redacted[t] for t in texts], warned


async def guard_json(gw: Gateway, call: Call, principal: Principal, raw: bytes) -> tuple[bytes, list[str]]:
    """Scan a complete answer: redact in place, raise on block; returns body and warned rule ids."""
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:  # never pass on what could not be scanned
        raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error") from None
    if not isinstance(body, dict):
        raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error")
    ids_changed = _scrub_identifiers(body)
    found = textparts.collect(body, Completion)
    if not found.texts and not found.drops:
        return (msgspec.json.encode(body) if ids_changed else raw), []
    _drop_unscannable(body, found)
    warned: list[str] = []
    if found.texts:
        try:
            texts, warned = await _check(gw, call, principal, found.texts)
        except Unavailable as exc:
            raise errors.unavailable(exc.service) from None
        except OutputBlocked as exc:
            raise ApiError(400, exc.reason, code="content_policy_violation") from None
        if texts is found.texts and not found.drops and not ids_changed:
            return raw, warned
        textparts.replace(body, found, texts)
    return msgspec.json.encode(body), warned


def _frame(chunk: Any) -> bytes:
    return b"data: " + msgspec.json.encode(chunk) + b"\n\n"


def _error_frame(status: int, message: str, code: str) -> bytes:
    return b"data: " + msgspec.json.encode(errors.body(status, message, code)) + b"\n\n"


def _stream_key(chunk: dict[str, Any], path: Path) -> Key | None:
    """Where a delta text belongs across chunks: (choice index, field path), a tool call by its
    ``index``; None for texts outside a choice's delta."""
    if len(path) < 4 or path[0] != "choices" or path[2] != "delta" or isinstance(path[-1], (AsJson, FieldOf, Joined)):
        return None
    if path[-1] == "name":  # tool and function names arrive whole, and clients need them at once
        return None
    node: Any = chunk["choices"][path[1]]
    key: list[Any] = [node.get("index", 0) if isinstance(node, dict) else 0]
    node = node["delta"]
    for step in path[3:]:
        node = node[step]
        if isinstance(step, int) and isinstance(node, dict) and isinstance(node.get("index"), int):
            key.append(("#", node["index"]))
        else:
            key.append(step)
    return tuple(key)


def _put(delta: dict[str, Any], steps: Key, text: str) -> None:
    """Append ``text`` at ``steps`` inside ``delta``, creating what is missing."""
    node: Any = delta
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, tuple):  # ("#", index): the list item with that index
            match = next((x for x in node if isinstance(x, dict) and x.get("index") == step[1]), None)
            if match is None:
                match = {"index": step[1]}
                node.append(match)
            node = match
        elif isinstance(step, int):  # a list position (content parts): pad to it
            while len(node) <= step:
                node.append({})
            node = node[step]
        elif last:
            node[step] = (node.get(step) if isinstance(node.get(step), str) else "") + text
        else:
            nxt = steps[i + 1]
            if not isinstance(node.get(step), (dict, list)):
                node[step] = [] if isinstance(nxt, (tuple, int)) else {}
            node = node[step]


class _Relay:
    """The state of one guarded stream."""

    def __init__(self, check: Callable[[list[str]], Any]) -> None:
        self.check = check
        self.guards: dict[Key, StreamGuard] = {}
        self.template: dict[str, Any] = {}

    async def moved_on(self, chunk: dict[str, Any]) -> list[bytes]:
        """Frames with what a choice still holds of a field or tool call that ``chunk`` moves
        away from (it starts another): released now, so text goes out in the model's order."""
        deltas: dict[Any, dict[str, Any]] = {}
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta"), dict):
                continue
            index = choice.get("index", 0)
            slots = _slots(choice["delta"])
            if not slots:
                continue
            for key, guard in list(self.guards.items()):
                moved = key[0] == index and guard.window and _slot(key[1:]) not in slots
                if moved and (text := await guard.finish()):  # the guard stays: its context is kept
                    _put(deltas.setdefault(index, {}), key[1:], text)
        if not self.template:
            return []
        return [_frame({**self.template, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
                for index, delta in deltas.items()]  # fmt: skip

    async def chunk(self, chunk: dict[str, Any]) -> dict[str, Any]:
        _scrub_identifiers(chunk)
        found = textparts.collect(chunk, Chunk)
        _drop_unscannable(chunk, found, *(p[:-1] for p in found.paths if p[-1] is JOINED))
        texts = list(found.texts)
        whole: list[int] = []
        for i, path in enumerate(found.paths):
            if path[-1] is JOINED:
                continue  # dropped above: a token list cut across chunks cannot be scanned as one
            key = _stream_key(chunk, path)
            if key is None:
                if texts[i]:
                    whole.append(i)
                continue
            guard = self.guards.get(key)
            if guard is None:
                guard = self.guards[key] = StreamGuard(check=self.check, min_chars=STREAM_SCAN_CHARS,
                                                       max_wait_s=STREAM_SCAN_WAIT_S)  # fmt: skip
            texts[i] = await guard.feed(texts[i])
        if whole:
            for i, text in zip(whole, await _check_whole(self.check, [texts[i] for i in whole]), strict=True):
                texts[i] = text
        textparts.replace(chunk, found, texts)
        if isinstance(chunk.get("choices"), list):
            self.template = {k: v for k, v in chunk.items() if k not in ("choices", "usage")}
            for choice in chunk["choices"]:
                if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                    if not isinstance(choice.get("delta"), dict):
                        choice["delta"] = {}
                    await self.flush(choice.get("index", 0), choice["delta"])
        return chunk

    async def flush(self, index: Any, delta: dict[str, Any]) -> None:
        """Release everything choice ``index`` still holds into ``delta``."""
        for key in [k for k in self.guards if k[0] == index]:
            held = await self.guards.pop(key).finish()
            if held:
                _put(delta, key[1:], held)

    def due_in(self) -> float | None:
        """Seconds until some held text must be released (None: nothing is held)."""
        waits = [w for w in (g.due_in() for g in self.guards.values()) if w is not None]
        return max(0.0, min(waits)) if waits else None

    async def release_due(self) -> list[bytes]:
        """Frames with the held text whose wait is over (the upstream sent nothing meanwhile)."""
        deltas: dict[Any, dict[str, Any]] = {}
        for key, guard in list(self.guards.items()):
            wait = guard.due_in()
            if wait is not None and wait <= 0 and (text := await guard.release_due()):
                _put(deltas.setdefault(key[0], {}), key[1:], text)
        if not self.template:
            return []
        return [_frame({**self.template, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
                for index, delta in deltas.items()]  # fmt: skip

    async def done(self) -> list[bytes]:
        out = []
        for index in sorted({k[0] for k in self.guards}, key=str):
            delta: dict[str, Any] = {}
            await self.flush(index, delta)
            if delta and self.template:
                out.append(
                    _frame({**self.template, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
                )
        return out


def _slot(steps: Key) -> Key:
    """The field (or the tool call) a stream key's text belongs to."""
    return steps[:2] if steps[:1] == ("tool_calls",) else steps[:1]


def _slots(delta: dict[str, Any]) -> set[Key]:
    """The fields and tool calls a delta adds to (an empty string or the role adds nothing)."""
    out: set[Key] = set()
    for name, value in delta.items():
        if name == "role" or value in ("", None, [], {}):
            continue
        if name == "tool_calls" and isinstance(value, list):
            for position, call in enumerate(value):
                index = call.get("index") if isinstance(call, dict) else None
                out.add(("tool_calls", ("#", index) if isinstance(index, int) else position))
        else:
            out.add((name,))
    return out


async def _check_whole(check: Callable[[list[str]], Any], texts: list[str]) -> list[str]:
    """One scan of texts that arrive whole in a chunk (tool names, anything outside a delta)."""
    verdict = await check(texts)
    if isinstance(verdict, Denied):
        raise OutputBlocked(verdict.reason, verdict.rule_ids)
    return [apply_redactions(t, [f for f in verdict.findings if f.text_index == i]) for i, t in enumerate(texts)]


async def _with_releases(relay: _Relay, frames: AsyncIterator[bytes]) -> AsyncGenerator[bytes | None, None]:
    """``frames``, with a ``None`` whenever held text is due before the next frame arrives."""
    source = aiter(frames)
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            wait = relay.due_in()
            if wait is None and pending is None:
                try:
                    frame = await anext(source)
                except StopAsyncIteration:
                    return
                yield frame
                continue
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({pending}, timeout=wait)
            if not done:
                yield None
                continue
            ready, pending = pending, None
            try:
                frame = ready.result()
            except StopAsyncIteration:
                return
            yield frame
    finally:
        if pending is not None:  # the client left: stop reading the upstream before it is closed
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


async def guard_stream(
    gw: Gateway, call: Call, principal: Principal, frames: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """Relay SSE frames, scanning every text of every chunk (deltas incrementally); a block ends
    the stream with an error event; a frame that cannot be parsed is not passed on."""
    relay = _Relay(lambda texts: gw.check_output(call, principal, texts))
    releases = _with_releases(relay, frames)
    try:
        async for frame in releases:
            if frame is None:  # held text whose wait is over
                for released in await relay.release_due():
                    yield released
                continue
            if frame == _DONE:
                for held in await relay.done():
                    yield held
                yield frame
                continue
            try:
                chunk = msgspec.json.decode(frame[6:].strip())
            except msgspec.DecodeError:
                continue  # never pass on what could not be scanned
            if not isinstance(chunk, dict):
                continue
            for released in await relay.moved_on(chunk):
                yield released
            yield _frame(await relay.chunk(chunk))
    except OutputBlocked as exc:
        yield _error_frame(400, exc.reason, "content_policy_violation")
    except Unavailable as exc:
        err = errors.unavailable(exc.service)
        yield _error_frame(503, err.message, "service_unavailable")
    finally:
        await releases.aclose()  # a frame read ahead is cancelled before the upstream is closed
