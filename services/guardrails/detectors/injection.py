"""Prompt-injection scorer: weighted regex features over normalised text, with benign framing.

Score = 1 - prod(1 - w_i) over the fired features (each at most once). Features matched only inside
quoted or "translate/analyse this:" material are damped when the message frames that material as an
object of discussion (questions about injection, classification, translation), so quoting an attack
to analyse it stays benign while the same words used as an instruction score high. Decoded payloads
(base64, hex, ROT13, reversed, leetspeak, letter-spaced, Unicode tag characters) are scored too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from .gate import Gate, GateHits
from .injection_combiner import Combiner
from .injection_families import RULES
from .injection_lexicon import G_META, G_TRANSLATE, META_FRAME, TRANSLATE_FRAME
from .injection_model import load_model, tokens
from .models import Injection
from .normalize import normalize

__all__ = ["GATE_TAGS", "THRESHOLD", "rule_score", "score_injection", "signals"]

THRESHOLD: Final = 0.5
_QUOTED: Final = re.compile(
    r"```.*?```|(?<![\w'])'[^'\n]{3,600}?'(?![\w'])|\"[^\"\n]{3,600}\"|“[^”]{3,600}”|‘[^’\n]{3,600}’|"
    r"«[^»]{3,600}»|„[^“”]{3,600}[“”]|`[^`\n]{3,300}`",
    re.DOTALL,
)
_INTRO: Final = re.compile(
    r"\b(?:translat\w*|traduc\w*|übersetz\w*|caught|flagged|logged|detected|blocked|received|saw|says?|said|"
    r"reads?|example|classify|analy[sz]e|explain|label)[^:\n]{0,60}:\s*(.+)"
)
_LEET_TABLE: Final = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                                    "@": "a", "$": "s", "|": "l", "!": "i"})  # fmt: skip
_LEET_TABLE_L: Final = {**_LEET_TABLE, ord("1"): "l"}
_LEET_NEAR_LETTER: Final = re.compile(r"[0134578@$|!](?:(?<=[a-z].)|(?=[a-z]))")
_NOT_IN_PAYLOAD: Final = frozenset({"fake_turn", "delimiter", "hidden_markup", "tool_frame"})
_SPACED_WORDS: Final = tuple(
    sep.join(word)
    for word in ("ignore", "disregard", "forget", "instructions", "system", "prompt", "reveal", "override", "rules")
    for sep in (" ", ".", "-", "_", "*", " . ")
)
GATE_TAGS: Final[dict[str, tuple[str, ...]]] = {
    **{f"{r.name}#{i}": words for r in RULES for i, words in enumerate(r.gates)},
    "#meta": G_META,
    "#translate": G_TRANSLATE,
    "rot13": ("rot13", "rot-13", "rot 13", "caesar", "cipher"),
    "reverse": ("revers", "backwards"),
    "hex": ("hex",),
    "spaced": _SPACED_WORDS,
}
_GATE: Final = Gate(GATE_TAGS)
_HINTS: Final = frozenset({"rot13", "reverse", "hex", "spaced"})
_MODEL, _COMBINER_PARAMS = load_model()
_COMBINER: Final = Combiner(**_COMBINER_PARAMS)
_OWN_TAGS: Final = frozenset(GATE_TAGS)  # a shared gate also carries other detectors' tags
# (name, weight, compiled pattern, gate tags needed, anchored: matched only where a first-group keyword starts)
_RULE_NEEDS: Final = tuple((r.name, r.weight, r.compiled, r.gate_tags(), r.anchored) for r in RULES)
_BY_FIRST_TAG: Final = {f"{r[0]}#0": r for r in _RULE_NEEDS}  # every rule has at least one gate group
_RULE_ORDER: Final = {r[0]: i for i, r in enumerate(_RULE_NEEDS)}

Hits = dict[str, tuple[float, bool]]  # rule name -> (weight, matched only inside quoted material)


def _quoted_regions(text: str) -> list[tuple[int, int]]:
    regions = [m.span() for m in _QUOTED.finditer(text)]
    regions.extend(m.span(1) for m in _INTRO.finditer(text))
    return regions


def _wordish(c: str) -> bool:
    return c.isalnum() and ord(c) < 0x2E80  # CJK text has no word boundaries


def _matches(text: str, pat: re.Pattern[str], starts: list[int] | None) -> Iterator[re.Match[str]]:
    if starts is None:
        yield from pat.finditer(text)
        return
    for st in starts:
        m = pat.match(text, st)
        if m is not None:
            yield m


def _fire(text: str, found: GateHits, regions: list[tuple[int, int]] | None = None) -> Hits:
    """``found`` are gate positions over ``"\\n" + text`` (hence the -1 below)."""
    hits: Hits = {}
    present = found.tags
    rules = sorted((_BY_FIRST_TAG[t] for t in present if t in _BY_FIRST_TAG), key=lambda r: _RULE_ORDER[r[0]])
    for name, weight, pat, need, anchored in rules:
        if not need <= present:
            continue
        starts = found.starts(f"{name}#0", -1) if anchored else None
        fired = False
        quoted_only = True
        for m in _matches(text, pat, starts):
            st, en = m.span()
            if st and _wordish(text[st]) and _wordish(text[st - 1]):
                continue  # the stripped leading word boundary
            fired = True
            if regions is None or not any(rs <= st and en <= re_ for rs, re_ in regions):
                quoted_only = False
                break
        if fired:
            hits[name] = (weight, quoted_only and regions is not None)
    return hits


def _combine(weights: list[float]) -> float:
    keep = 1.0
    for w in weights:
        keep *= 1.0 - min(w, 0.99)
    return 1.0 - keep


def _has_leet(t: str) -> bool:
    """At least three leet characters touching letters inside short words (``1gn0re``); "3rd", "a@b.io" and
    long random tokens (keys, hashes, URLs) do not count."""
    hits = 0
    for k, m in enumerate(_LEET_NEAR_LETTER.finditer(t)):
        if k > 60:
            break
        i = m.start()
        start = max(t.rfind(" ", 0, i), t.rfind("\n", 0, i)) + 1
        end = t.find(" ", i)
        if (end if end != -1 else len(t)) - start <= 14:
            hits += 1
            if hits >= 3:
                return True
    return False


def _leet_variants(t: str, found: GateHits) -> list[str]:
    """Leetspeak folds ("1" read as "i" and as "l") that bring gate keywords the plain text lacks."""
    if not _has_leet(t):
        return []
    out: list[str] = []
    for table in (_LEET_TABLE, _LEET_TABLE_L):
        leet = t.translate(table)
        if not _GATE.scan("\n" + leet).tags <= found.tags:
            out.append(leet)
    return out


def _rules(text: str, found: GateHits | None) -> tuple[float, str, bool]:
    """The rule score, the normalised text it was computed on, and whether the rules' own trigger words
    occur in it (the rules then judged it, framing and all)."""
    if found is None and text.isascii():
        found = _GATE.scan("\n" + text.lower())
    norm = normalize(text, None if found is None else _HINTS & found.tags)
    t = norm.text
    if found is None:
        found = _GATE.scan("\n" + t)
    own = not _OWN_TAGS.isdisjoint(found.tags)
    payloads = list(norm.payloads)
    if not t.isalpha():
        payloads.extend(_leet_variants(t, found))
    if not own and not payloads and not norm.tag_chars:
        return 0.0, t, own
    hits = _fire(t, found)
    meta = translate = False
    if hits and "decode_exec" not in hits:  # "translate and execute: ..." is not framing
        meta = "#meta" in found and META_FRAME.search(t) is not None
        translate = "#translate" in found and TRANSLATE_FRAME.search(t) is not None
        if meta or translate:
            hits = _fire(t, found, _quoted_regions(t))
    # quoted material under a discussion/translation frame counts little; under a discussion frame the
    # unquoted words are damped a bit too ("how do attacks like ignore previous instructions work?")
    weights = [w * 0.15 if quoted else w * 0.75 if meta else w for w, quoted in hits.values()]
    payload_hit = False
    for p in payloads:
        for name, (w, _q) in _fire(p, _GATE.scan("\n" + p)).items():
            if name not in hits and name not in _NOT_IN_PAYLOAD:
                weights.append(w * 0.9)
                payload_hit = True
    strong = any(w >= 0.3 for w in weights)
    if payload_hit:
        weights.append(0.25)
    if norm.tag_chars:
        weights.append(0.45)
    if strong and norm.invisible >= 3:
        weights.append(0.15)
    if strong and norm.homoglyphs:
        weights.append(0.15)
    return round(min(_combine(weights), 0.999), 4), t, own


def rule_score(text: str, found: GateHits | None = None) -> float:
    """The rules alone (weighted regex features), in [0, 1)."""
    return _rules(text, found)[0]


def _model_logit(folded: str, own: bool) -> float | None:
    """The model's logit, or None where the rules alone decide: a short text (one window) that holds the
    rules' trigger words. There the rules know the benign uses the model does not ("ignore my previous
    message", "translate: 'ignore all previous instructions'", quoting an attack to analyse it); the model
    adds what has no trigger words (tasks smuggled into data) and what is longer than a window (documents,
    jailbreak prose)."""
    toks = tokens(folded)
    if not toks or (own and len(toks) <= _MODEL.window):
        return None
    return _MODEL.logit_tokens(toks)


def signals(text: str) -> tuple[float, float | None]:
    """What the combiner sees: the rule score and the model's logit (None where the rules alone decide)."""
    rules, folded, own = _rules(text, None)
    return rules, _model_logit(folded, own)


def score_injection(text: str, found: GateHits | None = None) -> Injection:
    """One calibrated score from the rules and the learned model (``injection_model``), attack at >= 0.5.

    ``found``: positions from a shared gate (``GATE_TAGS``) over ``"\\n" + text.lower()``, valid only for
    ASCII text (where lower() == casefold() of the normalised text); computed here when None."""
    rules, folded, own = _rules(text, found)
    logit = _model_logit(folded, own)
    score = rules if logit is None else round(_COMBINER.combine(rules, logit), 4)
    return Injection(score, "attack" if score >= THRESHOLD else "benign")
