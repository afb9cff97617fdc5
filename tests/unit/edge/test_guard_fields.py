"""Every text-bearing field of every wire format is scanned, or is a reviewed exception (issue 10/4).

The field list is not written here: it is enumerated from the edge's msgspec schemas
(``services/edge/wire``). For each string field (and each free-form JSON field) the test builds a
schema-valid body with a unique marker in that field alone, then checks that the guardrail walker
saw the marker — or, for the reviewed exceptions below, that the field is what its mark claims
(never sent upstream, an unreadable part that is refused, a value dropped on the way out). For
requests it also builds what each upstream adapter would send and checks that every marker that
reaches an upstream was scanned.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from services.edge import textparts
from services.edge.formats.anthropic import request_to_openai
from services.edge.upstream.anthropic import to_anthropic
from services.edge.upstream.gemini import to_gemini
from services.edge.wire import anthropic as anth
from services.edge.wire import openai as oai
from services.edge.wire import openai_out as out
from services.edge.wire.marks import SCAN, UNREADABLE

Step = tuple[str, Any]  # ("field", name) | ("item", None) | ("value", None) | ("variant", i) | ("any", None)
Selector = tuple[Step, ...]

# The reviewed exceptions: every string field (``Struct.field``) that is not scanned as text, with
# its mark. A new mark in a schema fails this test until it is reviewed and listed here.
REVIEWED: dict[str, str] = {
    # requests: the model name is replaced by the routed upstream model before anything is sent
    "ChatRequest.model": "not_sent", "EmbeddingsRequest.model": "not_sent", "CountRequest.model": "not_sent",
    "MessagesRequest.model": "not_sent",
    # bytes of parts the edge refuses unless BASTION_UNREADABLE_PARTS_ALLOWED names them
    "ImageUrlRef.url": "image_url", "ImagePart.image_url": "image_url", "InputAudio.data": "opaque",
    "FileRef.file_data": "opaque", "FileRef.file_id": "opaque", "AudioRef.id": "opaque",
    "Base64Source.data": "opaque", "FileSource.file_id": "opaque", "RedactedThinkingBlock.data": "opaque",
    # answers: identifiers the provider assigns
    "Completion.id": "not_sent", "Completion.object": "not_sent", "Completion.model": "not_sent",
    "Completion.system_fingerprint": "not_sent", "Completion.service_tier": "not_sent",
    "Chunk.id": "not_sent", "Chunk.object": "not_sent", "Chunk.model": "not_sent",
    "Chunk.system_fingerprint": "not_sent", "Chunk.service_tier": "not_sent", "Chunk.obfuscation": "not_sent",
    "Choice.finish_reason": "not_sent", "ChunkChoice.finish_reason": "not_sent", "Message.role": "not_sent",
    "Delta.role": "not_sent", "ContentPart.type": "not_sent", "ToolCall.id": "not_sent", "ToolCall.type": "not_sent",
    "Audio.id": "not_sent", "Annotation.type": "not_sent", "Usage.prompt_tokens_details": "not_sent",
    "Usage.completion_tokens_details": "not_sent", "ErrorBody.type": "not_sent", "ErrorBody.param": "not_sent",
    "ErrorBody.code": "not_sent",
    # answers: what cannot be scanned is dropped; token lists are scanned as one text
    "Audio.data": "drop", "TokenLogprob.bytes": "drop", "TopLogprob.bytes": "drop",
    "Logprobs.content": "joined", "Logprobs.refusal": "joined",
}  # fmt: skip
# Texts of a Messages request that its translation does not send to any upstream (so they need no
# scan); reviewed like the marks: a translation that starts sending one must scan it.
NOT_TRANSLATED = {
    "CacheControl.type", "CacheControl.ttl", "TextBlock.citations", "Tool.type",
    "ToolChoice.type",  # mapped to constants (auto / required / none / a named function)
    "ThinkingBlock.thinking", "ThinkingBlock.signature",  # earlier thinking is not replayed upstream
    # document blocks are left out by the translation (a known gap: they should be refused or sent)
    "DocumentBlock.title", "DocumentBlock.context", "DocumentBlock.citations", "TextSource.data",
    "TextSource.media_type", "ContentSource.content",
}  # fmt: skip

_counter = itertools.count()
SCHEMAS = (oai.ChatRequest, oai.EmbeddingsRequest, anth.MessagesRequest, anth.CountRequest, out.Completion, out.Chunk)


def _unwrap(t: mi.Type) -> tuple[mi.Type, str | None]:
    if isinstance(t, mi.Metadata):
        return t.type, (t.extra or {}).get(SCAN)
    return t, None


def _label(selector: Selector) -> str:
    out = ""
    for kind, arg in selector:
        if kind == "field":
            out += ("." if out else "") + arg[0]
        elif kind == "item":
            out += "[]"
        elif kind == "value":
            out += "{}"
        elif kind == "variant" and arg[1] is not None:
            out += f"<{arg[1]}>"
    return out


def leaves(t: mi.Type, selector: Selector = (), seen: frozenset[type] = frozenset()) -> Iterator[tuple[Selector, str]]:
    """Every string (or free-form JSON) position of ``t``, with its mark ("text" if none)."""
    inner, mark = _unwrap(t)
    if mark is not None and mark != "joined":
        yield selector, mark
        return
    if mark == "joined":
        yield selector, "joined"
    if isinstance(inner, mi.StrType):
        yield selector, "text"
    elif isinstance(inner, mi.AnyType):
        yield (*selector, ("any", None)), "text"
    elif isinstance(inner, mi.ListType):
        yield from leaves(inner.item_type, (*selector, ("item", None)), seen)
    elif isinstance(inner, mi.DictType):
        key, key_mark = _unwrap(inner.key_type)
        if isinstance(key, mi.StrType):
            yield (*selector, ("key", None)), key_mark or "text"
        yield from leaves(inner.value_type, (*selector, ("value", None)), seen)
    elif isinstance(inner, mi.UnionType):
        for i, member in enumerate(inner.types):
            tag = member.tag if isinstance(member, mi.StructType) else None
            yield from leaves(member, (*selector, ("variant", (i, tag))), seen)
    elif isinstance(inner, mi.StructType) and inner.cls not in seen:
        for f in inner.fields:
            yield from leaves(f.type, (*selector, ("field", (f.encode_name, inner.cls.__name__))), seen | {inner.cls})


def sample(t: mi.Type) -> Any:
    """A minimal valid value of ``t``."""
    inner, _ = _unwrap(t)
    if isinstance(inner, mi.StrType):
        return "x" * max(1, inner.min_length or 0)
    if isinstance(inner, mi.LiteralType):
        return inner.values[0]
    if isinstance(inner, mi.IntType):
        return inner.ge if inner.ge is not None else 1
    if isinstance(inner, mi.FloatType):
        return 0.5
    if isinstance(inner, mi.BoolType):
        return False
    if isinstance(inner, mi.ListType):
        return [sample(inner.item_type)] if inner.min_length else []
    if isinstance(inner, (mi.DictType, mi.AnyType)):
        return {}
    if isinstance(inner, mi.UnionType):
        members = [m for m in inner.types if not isinstance(m, mi.NoneType)]
        return sample(members[0]) if members else None
    if isinstance(inner, mi.StructType):
        body = {inner.tag_field: inner.tag} if inner.tag_field else {}
        return body | {f.encode_name: sample(f.type) for f in inner.fields if f.required}
    return None


def build(t: mi.Type, selector: Selector, marker: str, mark: str) -> Any:
    """A minimal valid value of ``t`` with ``marker`` at ``selector``."""
    inner, _ = _unwrap(t)
    if not selector:
        if mark == "image_url":
            return f"data:image/png;base64,{marker}"
        if isinstance(inner, (mi.ListType, mi.DictType)) or mark in ("drop", "joined"):
            return [marker] if isinstance(inner, mi.ListType) or mark == "drop" else {marker: marker}
        return marker
    (kind, arg), rest = selector[0], selector[1:]
    if kind == "any":
        return {f"k{marker}": [f"v {marker}"]}
    if kind == "key":
        return {marker: sample(inner.value_type)}  # type: ignore[union-attr]
    if kind == "item":
        return [build(inner.item_type, rest, marker, mark)]  # type: ignore[union-attr]
    if kind == "value":
        return {"k": build(inner.value_type, rest, marker, mark)}  # type: ignore[union-attr]
    if kind == "variant":
        return build(inner.types[arg[0]], rest, marker, mark)  # type: ignore[union-attr]
    assert isinstance(inner, mi.StructType)
    body = sample(inner)
    field = next(f for f in inner.fields if f.encode_name == arg[0])
    body[arg[0]] = build(field.type, rest, marker, mark)
    return body


def owner(selector: Selector) -> str:
    """``Struct.field`` of the field a selector ends in."""
    name, cls = next(arg for kind, arg in reversed(selector) if kind == "field")
    return f"{cls}.{name}"


def cases(schema: type[msgspec.Struct]) -> list[tuple[str, str, Any, str, str]]:
    """(field label, mark, body, marker, owning field) for every string position of ``schema``."""
    out = []
    for selector, mark in leaves(mi.type_info(schema)):
        marker = f"MK{next(_counter):05d}Q"
        body = build(mi.type_info(schema), selector, marker, mark)
        out.append((_label(selector), mark, body, marker, owner(selector)))
    return out


def scanned(found: textparts.Found, marker: str) -> bool:
    return any(marker in text for text in found.texts)


def upstream_bodies(payload: dict[str, Any]) -> list[bytes]:
    """What each adapter sends for ``payload`` (OpenAI passes the body on, minus private fields)."""
    native = {k: v for k, v in payload.items() if not k.startswith("_")} | {"model": "upstream-model"}
    return [msgspec.json.encode(b) for b in (native, to_anthropic(payload, "upstream-model"), to_gemini(payload))]


def check_reviewed(marks: dict[str, str]) -> None:
    reviewed = {k: v for k, v in REVIEWED.items() if k in marks}
    assert marks == reviewed, "a non-text mark is not in REVIEWED: review it and list it"


def test_the_reviewed_list_has_no_stale_entries() -> None:
    marks = {o: m for schema in SCHEMAS for _, m, _, _, o in cases(schema) if m != "text"}
    assert marks == REVIEWED


@pytest.mark.parametrize("schema", [oai.ChatRequest, oai.EmbeddingsRequest])
def test_every_openai_request_field_is_scanned_or_reviewed(schema: type[msgspec.Struct]) -> None:
    marks: dict[str, str] = {}
    for label, mark, body, marker, field in cases(schema):
        msgspec.convert(body, schema)  # the generated body is valid for the schema
        found = textparts.collect(body, schema)
        if mark == "text":
            assert scanned(found, marker), f"{schema.__name__}.{label} is not scanned"
            continue
        marks[field] = mark
        assert not scanned(found, marker), label
        if mark == "not_sent":
            assert all(marker.encode() not in sent for sent in upstream_bodies(body)), label
        else:  # opaque bytes and image data URLs: only inside a part the edge refuses by default
            assert found.unreadable, f"{label}: opaque but not inside an unreadable part"
    check_reviewed(marks)


def test_every_request_marker_that_reaches_an_upstream_was_scanned() -> None:
    for label, mark, body, marker, _field in cases(oai.ChatRequest):
        found = textparts.collect(body, oai.ChatRequest)
        if found.unreadable and mark != "text":
            continue  # refused before anything is sent (images: allowed, and sent as image bytes)
        for sent in upstream_bodies(body):
            assert marker.encode() not in sent or scanned(found, marker), label


def _variants(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The body as each role's turn, and with a named tool choice: a block or field that one
    translation leaves out, another may send."""
    for role in ("user", "assistant"):
        turn = {**body, "messages": [{**m, "role": role} for m in body["messages"]]}
        yield turn
        if isinstance(body.get("tool_choice"), dict):
            yield {**turn, "tool_choice": {**body["tool_choice"], "type": "tool"}, "tools": [{"name": "t"}]}


@pytest.mark.parametrize("schema", [anth.MessagesRequest, anth.CountRequest])
def test_every_messages_api_field_is_scanned_after_translation_or_never_sent(schema: type[msgspec.Struct]) -> None:
    marks: dict[str, str] = {}
    sent: set[str] = set()
    texts: set[str] = set()
    for label, mark, body, marker, field in cases(schema):
        if mark != "text":
            marks[field] = mark
        for variant in _variants(body):
            payload = request_to_openai(variant, msgspec.convert(variant, schema))
            found = textparts.collect(payload, oai.ChatRequest)
            if any(marker.encode() in body for body in upstream_bodies(payload)):
                sent.add(field)
                if mark == "text":
                    assert scanned(found, marker), f"{schema.__name__}.{label} reaches an upstream unscanned"
                else:  # image bytes: an unreadable part, refused unless the operator allows it
                    assert found.unreadable, label
        if mark == "text":
            texts.add(field)
    check_reviewed(marks)
    never = texts - sent
    assert never == NOT_TRANSLATED & texts, (
        f"now sent: {NOT_TRANSLATED & sent}; never sent, not reviewed: {never - NOT_TRANSLATED}"
    )


@pytest.mark.parametrize("schema", [out.Completion, out.Chunk])
def test_every_answer_field_is_scanned_dropped_or_reviewed(schema: type[msgspec.Struct]) -> None:
    marks: dict[str, str] = {}
    for label, mark, body, marker, field in cases(schema):
        found = textparts.collect(body, schema)
        if mark == "text":
            assert scanned(found, marker), f"{schema.__name__}.{label} is not scanned"
            continue
        marks[field] = mark
        if mark == "drop":
            textparts.drop(body, found.drops)
            assert marker not in str(body), label
        elif mark == "joined":
            assert any(p[-1] is textparts.JOINED for p in found.paths), label
        else:
            assert not scanned(found, marker), label
    check_reviewed(marks)


def test_undeclared_fields_are_scanned_keys_included() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x", "extra": {"kMK1": ["vMK2"]}}],
            "future": "MK3", "tools": [{"type": "function", "function": {"name": "f", "new": "MK4"}}]}  # fmt: skip
    found = textparts.collect(body, oai.ChatRequest)
    for marker in ("MK1", "MK2", "MK3", "MK4"):
        assert scanned(found, marker), marker
    reply = {"choices": [{"message": {"content": "x", "reasoning_details": [{"text": "MK5"}]}, "surprise": "MK6"}]}
    found = textparts.collect(reply, out.Completion)
    assert scanned(found, "MK5")
    assert scanned(found, "MK6")


def test_a_field_with_the_wrong_type_is_still_scanned() -> None:
    """Translated and upstream bodies are not validated: a string where a number or an identifier
    belongs is scanned, and a value in place of a literal too."""
    reply = {"created": "MK1", "choices": [{"index": "MK2", "message": {"role": {"x": "MK3"}}}]}
    found = textparts.collect(reply, out.Completion)
    assert all(scanned(found, m) for m in ("MK1", "MK2", "MK3"))
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "function_call": "MK4"}
    assert scanned(textparts.collect(body, oai.ChatRequest), "MK4")


def test_unreadable_parts_are_declared_by_their_structs() -> None:
    declared = {
        getattr(cls, UNREADABLE) for cls in vars(oai).values() if isinstance(getattr(cls, UNREADABLE, None), str)
    }
    assert declared == {"input_audio", "file", "audio"}
