"""Every text of a body, found by walking it with its wire schema, and where to write it back.

The walker is compiled once per schema from ``msgspec.inspect``: a ``str`` field is text unless
``wire/marks.py`` marks it otherwise; a field or object the schema does not declare is free-form
JSON, in which every string and every object key is text. So nothing in a body escapes the scan
because nobody thought of it: the schema decides, and what it does not know is scanned.

One pass over the decoded body; a free-form value (a JSON Schema, tool input, an undeclared
field) is one text, its JSON encoding (msgspec, in C), so its keys are scanned with it and
guardrails see it whole. ``paths`` address each text from the root; a final step of a marker
class (:class:`AsJson`, :class:`FieldOf`, :class:`Joined`, :class:`DataHeader`) says how the text
maps onto the value there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from services.edge.wire.marks import SCAN, UNREADABLE

Path = tuple[Any, ...]


class AsJson(str):
    """A final path step: the text is the JSON encoding of the free-form value at the path (one
    text per free-form object, so a JSON Schema is scanned with its context, in one piece)."""

    __slots__ = ()


AS_JSON = AsJson("json")


class FieldOf(str):
    """A final path step: the text is ``{"<this field>": value}`` as JSON, for a field the
    schema does not declare (its name is text too)."""

    __slots__ = ()


class Joined(str):
    """A final path step: the list at the path was scanned as one text (log-prob tokens)."""

    __slots__ = ()


JOINED = Joined("*")


class DataHeader(str):
    """A final path step: the text is the header of the ``data:`` URL at the path (its media
    type and parameters, sent upstream as the part's type), not the URL's opaque bytes."""

    __slots__ = ()


HEADER = DataHeader("data:")


@dataclass
class Found:
    """What the walk found: texts with their paths, unreadable parts, values to drop."""

    texts: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    drops: list[Path] = field(default_factory=list)

    def text(self, value: str, path: Path) -> None:
        self.texts.append(value)
        self.paths.append(path)


Node = Callable[[Any, Path, Found], None]


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def free(value: Any, path: Path, found: Found) -> None:
    """Free-form JSON: a string is text; an object or array is one text, its JSON encoding."""
    if isinstance(value, str):
        found.text(value, path)
    elif isinstance(value, (dict, list)):
        found.text(_json(value), (*path, AS_JSON))


def _skip(value: Any, path: Path, found: Found) -> None:
    """A marked string (``NotSent``, ``Opaque``): not text, unless it is not a string at all."""
    if isinstance(value, (dict, list)):
        free(value, path, found)


def _scalar(value: Any, path: Path, found: Found) -> None:
    """A number, boolean or null: nothing to read, unless the body put something else there."""
    if isinstance(value, (str, dict, list)):
        free(value, path, found)


def _literal(values: tuple[Any, ...]) -> Node:
    def visit(value: Any, path: Path, found: Found) -> None:
        if value not in values:
            free(value, path, found)

    return visit


def _text(value: Any, path: Path, found: Found) -> None:
    if isinstance(value, str):
        found.text(value, path)
    else:
        free(value, path, found)


def _image_url(value: Any, path: Path, found: Found) -> None:
    if isinstance(value, str) and value[:5].lower() == "data:":  # schemes are case-insensitive
        found.unreadable.append((path, "image_url"))
        header, comma, _ = value[5:].partition(",")
        if comma and not header.lower().endswith(";base64"):
            found.text(value, path)  # not picture bytes: the payload is (percent-encoded) text
        else:
            found.text(header, (*path, HEADER))
    else:
        _text(value, path, found)


def _drop(value: Any, path: Path, found: Found) -> None:
    if value is not None:
        found.drops.append(path)


def _joined(item: Node) -> Node:
    def visit(value: Any, path: Path, found: Found) -> None:
        if not isinstance(value, list):
            item(value, path, found)
            return
        scratch = Found()
        for i, entry in enumerate(value):
            item(entry, (*path, i), scratch)
        found.drops.extend(scratch.drops)
        found.unreadable.extend(scratch.unreadable)
        if scratch.texts:  # the tokens in order, then each rank of alternatives in order
            runs: dict[Path, list[str]] = {}
            for text, where in zip(scratch.texts, scratch.paths, strict=True):
                runs.setdefault(where[len(path) + 1 :], []).append(text)
            found.text("\n".join("".join(run) for run in runs.values()), (*path, JOINED))

    return visit


def _list(item: Node) -> Node:
    def visit(value: Any, path: Path, found: Found) -> None:
        if not isinstance(value, list):
            free(value, path, found)
            return
        for i, entry in enumerate(value):
            item(entry, (*path, i), found)

    return visit


def _dict(key_text: bool, item: Node) -> Node:
    """A map: one JSON text if its keys are text (metadata, logit bias), else its values."""

    def visit(value: Any, path: Path, found: Found) -> None:
        if key_text or not isinstance(value, dict):
            free(value, path, found)
            return
        for key, entry in value.items():
            item(entry, (*path, key), found)

    return visit


class _Struct:
    """A declared object: known fields by their own nodes, each unknown one as a JSON text."""

    def __init__(self, info: mi.StructType) -> None:
        self.info = info
        self.fields: dict[str, Node] = {}
        self.tag_field = info.tag_field
        self.unreadable: str | None = getattr(info.cls, UNREADABLE, None)

    def fill(self) -> None:
        for f in self.info.fields:
            self.fields[f.encode_name] = _compile(f.type)

    def __call__(self, value: Any, path: Path, found: Found) -> None:
        if type(value) is not dict:
            free(value, path, found)
            return
        if self.unreadable is not None:
            found.unreadable.append((path, self.unreadable))
        fields = self.fields
        for key, entry in value.items():
            node = fields.get(key)
            kind = type(entry)
            if node is _text and kind is str:  # the hot cases, inlined
                found.texts.append(entry)
                found.paths.append((*path, key))
            elif node is _scalar and kind in _SCALARS:
                continue
            elif node is not None:
                node(entry, (*path, key), found)
            elif key == self.tag_field:
                if entry != self.info.tag:  # not the declared constant (an unvalidated body)
                    _text(entry, (*path, key), found)
            else:
                found.text(_json({key: entry}), (*path, FieldOf(key)))


def _union(info: mi.UnionType) -> Node:
    """Dispatch on the JSON kind of the value, then on the tag of a tagged Struct."""
    text: Node = free
    array: Node = free
    tagged: dict[tuple[str, Any], Node] = {}
    untagged: list[Node] = []
    for member in info.types:
        inner = member.type if isinstance(member, mi.Metadata) else member
        if isinstance(inner, (mi.StrType, mi.LiteralType)):
            text = _compile(member)
        elif isinstance(inner, mi.ListType):
            array = _compile(member)
        elif isinstance(inner, mi.StructType) and inner.tag_field is not None:
            tagged[(inner.tag_field, inner.tag)] = _compile(member)
        elif isinstance(inner, (mi.StructType, mi.DictType)):
            untagged.append(_compile(member))
    fallback: Node = untagged[0] if len(untagged) == 1 else free
    members = [m for m in info.types if not isinstance(m, mi.NoneType)]
    if len(members) == 1:
        return _compile(members[0])  # X | None: every node reads null as nothing
    tag_fields = {tf for tf, _ in tagged}

    def visit(value: Any, path: Path, found: Found) -> None:
        kind = type(value)
        if kind is str:
            text(value, path, found)
        elif kind is list:
            array(value, path, found)
        elif kind is dict:
            for tf in tag_fields:
                node = tagged.get((tf, value.get(tf)))
                if node is not None:
                    node(value, path, found)
                    return
            fallback(value, path, found)
        # None, numbers, booleans: nothing to read

    return visit


_structs: dict[type, _Struct] = {}
_SCALARS = frozenset({int, float, bool, type(None)})


def _compile(info: mi.Type) -> Node:
    if isinstance(info, mi.Metadata):
        mark = (info.extra or {}).get(SCAN)
        if mark in ("not_sent", "opaque"):
            return _skip
        if mark == "image_url":
            return _image_url
        if mark == "drop":
            return _drop
        if mark == "joined" and isinstance(info.type, mi.ListType):
            return _joined(_compile(info.type.item_type))
        return _compile(info.type)
    if isinstance(info, mi.StrType):
        return _text
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return _list(_compile(info.item_type))
    if isinstance(info, mi.DictType):
        keys = info.key_type
        key_text = not (
            isinstance(keys, mi.LiteralType) or (isinstance(keys, mi.Metadata) and (keys.extra or {}).get(SCAN))
        )
        return _dict(key_text, _compile(info.value_type))
    if isinstance(info, mi.StructType):
        existing = _structs.get(info.cls)
        if existing is None:
            existing = _structs[info.cls] = _Struct(info)
            existing.fill()
        return existing
    if isinstance(info, mi.UnionType):
        return _union(info)
    if isinstance(info, mi.AnyType):
        return free
    if isinstance(info, mi.LiteralType):
        return _literal(info.values)
    return _scalar  # numbers, booleans, None


@cache
def walker(schema: Any) -> Node:
    """The compiled walker for ``schema`` (a msgspec Struct type, or any annotated type)."""
    return _compile(mi.type_info(schema))


def collect(body: Any, schema: Any) -> Found:
    """Every text of ``body`` (a decoded JSON value shaped like ``schema``), in order."""
    found = Found()
    walker(schema)(body, (), found)
    return found


def replace(body: Any, found: Found, texts: list[str]) -> None:
    """Write the scanned ``texts`` back where ``found`` found them (in place, only what changed).

    A changed JSON text is decoded back in its place (if redaction made it invalid JSON, the
    redacted text itself takes the place: the original never goes on); a changed joined text
    drops its list (null); a changed ``data:`` header is put back before the URL's bytes."""
    for i, text in enumerate(texts):
        if text == found.texts[i]:
            continue
        path = found.paths[i]
        last = path[-1]
        if isinstance(last, FieldOf):
            node = _at(body, path[:-1])
            decoded = _decoded(text)
            del node[str(last)]
            node.update(decoded if isinstance(decoded, dict) else {str(last): decoded})
            continue
        value: Any = text
        if isinstance(last, (Joined, AsJson, DataHeader)):
            path = path[:-1]
            if isinstance(last, Joined):
                value = None
            elif isinstance(last, AsJson):
                value = _decoded(text)
            else:
                value = "data:" + text + _at(body, path)[5 + len(found.texts[i]) :]
        _at(body, path[:-1])[path[-1]] = value


def _decoded(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


def _at(body: Any, path: Path) -> Any:
    for step in path:
        body = body[step]
    return body


def drop(body: Any, paths: list[Path]) -> None:
    """Set the values at ``paths`` to null (what cannot be scanned on the way out)."""
    for path in paths:
        node: Any = body
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = None
