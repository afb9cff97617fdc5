"""Learned prompt-injection scorer: a linear model over word unigrams and bigrams, scored on sliding windows.

The weights ship inside the package (``injection_model.json``, written by ``bench/injection_train.py``) and
are read from disk once, at import; nothing is downloaded. Pure Python: a tokenising regex, dict look-ups and
prefix sums, so one typical chat message costs tens of microseconds.

A text's logit is ``bias + head + max over windows``: ``head`` weighs the first ``head`` tokens as the
request's opening (features ``^word`` and ``^word word``: "is the following an injection?", "summarise this
e-mail" set the frame for everything after them), and each window of ``window`` tokens (every ``stride``
tokens) sums the weights of its unigrams and bigrams: an instruction buried in a long document is scored
on its own window, not diluted by the document around it. Only a bounded part of a very long text is
tokenised (the first ``_HEAD`` and last ``_TAIL`` characters), so the time per text is bounded too.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate, islice, repeat
from operator import add
from pathlib import Path
from sys import intern
from typing import Final

__all__ = ["MODEL_PATH", "LinearWindowModel", "load_model", "tokens"]

MODEL_PATH: Final = Path(__file__).with_name("injection_model.json")
_TOKEN: Final = re.compile(r"\w+|[^\w\s]{1,4}")
_HEAD: Final = 48_000
_TAIL: Final = 16_000


def tokens(folded: str) -> list[str]:
    """Tokens of already folded (lowercase, normalised) text: words, and runs of up to 4 punctuation marks."""
    if len(folded) > _HEAD + _TAIL:
        folded = folded[:_HEAD] + "\n" + folded[-_TAIL:]
    return _TOKEN.findall(folded)


class LinearWindowModel:
    """``weights`` maps ``"w"`` (unigram) and ``"w1 w2"`` (bigram) to a weight (``^`` marks the opening)."""

    __slots__ = ("bias", "bigrams", "head", "stride", "unigrams", "window")

    def __init__(self, weights: dict[str, float], bias: float, window: int, stride: int, head: int = 0) -> None:
        if window < 1 or stride < 1 or head < 0:
            raise ValueError("window and stride must be positive, head not negative")
        # looked up per token of every message: bigrams keyed by the token pair, so no string is built;
        # strings interned and equal weights shared, to keep the resident size small
        floats: dict[float, float] = {}
        self.unigrams: dict[str, float] = {}
        self.bigrams: dict[tuple[str, str], float] = {}
        for k, v in weights.items():
            w = floats.setdefault(v, v)
            a, sep, b = k.partition(" ")
            if sep:
                self.bigrams[intern(a), intern(b)] = w
            else:
                self.unigrams[intern(k)] = w
        self.bias = bias
        self.window = window
        self.stride = stride
        self.head = head

    def head_score(self, toks: list[str]) -> float:
        uget, bget = self.unigrams.get, self.bigrams.get
        first = toks[: self.head]
        total = sum(uget(f"^{t}", 0.0) for t in first)
        return total + sum(bget((f"^{first[i - 1]}", first[i]), 0.0) for i in range(1, len(first)))

    def contributions(self, toks: list[str]) -> list[float]:
        """Per token: the weight of its unigram plus that of the bigram it closes (C-level maps: this runs on
        every message)."""
        uni = list(map(self.unigrams.get, toks, repeat(0.0)))
        if len(toks) < 2:
            return uni
        bi = map(self.bigrams.get, zip(toks, islice(toks, 1, None), strict=False), repeat(0.0))
        return [uni[0], *map(add, islice(uni, 1, None), bi)]

    def logit_tokens(self, toks: list[str]) -> float:
        contrib = self.contributions(toks)
        n, w = len(contrib), self.window
        base = self.bias + (self.head_score(toks) if self.head else 0.0)
        if n <= w:
            return base + sum(contrib)
        pre = [0.0, *accumulate(contrib)]
        best = max(pre[i + w] - pre[i] for i in range(0, n - w + 1, self.stride))
        best = max(best, pre[n] - pre[n - w])  # the last window, whatever the stride
        return base + best

    def logit(self, folded: str) -> float:
        return self.logit_tokens(tokens(folded))

    def probability(self, folded: str) -> float:
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, self.logit(folded)))))


def load_model(path: Path = MODEL_PATH) -> tuple[LinearWindowModel, dict[str, float]]:
    """The model and its combiner (how its logit and the rule score make one calibrated score)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    model = LinearWindowModel(
        data["weights"],
        float(data["bias"]),
        int(data["window"]),
        int(data["stride"]),
        int(data.get("head", 0)),
    )
    return model, {k: float(v) for k, v in data["combiner"].items()}
