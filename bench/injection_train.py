"""Train the learned prompt-injection scorer and its combiner with the rules; writes the shipped model file.

    PYTHONPATH=$PWD .venv/bin/python bench/injection_data.py --out /tmp/injection-data [--pyarrow-python P]
    PYTHONPATH=$PWD .venv/bin/python bench/injection_train.py --data /tmp/injection-data \
        [--out services/guardrails/detectors/injection_model.json]

Reproducible: fixed seed, pure Python (no numpy), deterministic iteration order. Uses ``train.jsonl`` for the
weights and ``val.jsonl`` for everything chosen (combiner, threshold); never the development set or the
held-out files.

Model (see ``services/guardrails/detectors/injection_model.py``): logistic regression over word unigrams and
bigrams of the normalised text, scored as the maximum over sliding windows. Training examples are windows:

* benign texts: every window is a negative;
* attacks whose injected span is known (instructions the corpus builder embedded in a document): windows that
  hold the whole span are positives, windows that do not touch it are negatives (they are the document);
* other attacks (jailbreak prompts): all windows are positives for the first epochs, then only the
  best-scoring third (multiple-instance learning: some windows of a long jailbreak are just story).

Combiner: ``score = max(rule, sigmoid(b * model_logit + c))``; ``b, c`` are Platt-scaled on the validation
split, then ``c`` is shifted so that the threshold chosen on validation (best F1, rule decisions included,
with at most ``--max-val-fpr`` of benign validation texts flagged and ``--max-hard-fpr`` of the hard benign
ones) falls at 0.5, the detector's threshold.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.guardrails.detectors.injection_model import MODEL_PATH, LinearWindowModel, tokens
from services.guardrails.detectors.normalize import normalize

SEED = 15
WINDOW = 48
STRIDE = 16
HEAD = 12
EPS = 1e-3


def _fold(text: str) -> str:
    return normalize(text).text


def _starts(n: int) -> list[int]:
    if n <= WINDOW:
        return [0]
    out = list(range(0, n - WINDOW + 1, STRIDE))
    if out[-1] != n - WINDOW:
        out.append(n - WINDOW)
    return out


def _features(toks: list[str], a: int, head_n: int) -> list[str]:
    end = min(len(toks), a + WINDOW)
    feats = toks[a:end]
    feats.extend(f"{toks[i - 1]} {toks[i]}" for i in range(max(1, a), end))
    head = toks[:head_n]
    feats.extend(f"^{t}" for t in head)
    feats.extend(f"^{head[i - 1]} {head[i]}" for i in range(1, len(head)))
    return feats


class Example:
    __slots__ = ("doc", "feats", "label", "mil", "weight")

    def __init__(self, feats: list[str], label: int, doc: int, weight: float, mil: bool) -> None:
        self.feats, self.label, self.doc, self.weight, self.mil = feats, label, doc, weight, mil


def windows(rows: list[dict[str, Any]], head: int) -> list[Example]:
    out: list[Example] = []
    for d, r in enumerate(rows):
        toks = tokens(_fold(r["text"]))
        if not toks:
            continue
        starts = _starts(len(toks))
        w = 1 / math.sqrt(len(starts))
        if r["label"] == "benign":
            out.extend(Example(_features(toks, a, head), 0, d, w, False) for a in starts)
        elif "span" in r:
            s, e = r["span"]
            ts = len(tokens(_fold(r["text"][:s])))
            te = ts + len(tokens(_fold(r["text"][s:e])))
            for a in starts:
                inside = (a <= ts and te <= a + WINDOW) or (ts <= a and a + WINDOW <= te)
                apart = a + WINDOW <= ts or te <= a
                if inside:
                    out.append(Example(_features(toks, a, head), 1, d, 1.0, False))
                elif apart:
                    out.append(Example(_features(toks, a, head), 0, d, w, False))
        else:
            out.extend(Example(_features(toks, a, head), 1, d, w, len(starts) > 1) for a in starts)
    return out


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def train(
    rows: list[dict[str, Any]], epochs: int, l2: float, lr: float, min_df: int, head: int, max_features: int
) -> tuple[LinearWindowModel, dict[str, float]]:
    exs = windows(rows, head)
    df: Counter[str] = Counter()  # document frequency over texts
    seen_docs: dict[int, set[str]] = {}
    for e in exs:
        seen_docs.setdefault(e.doc, set()).update(e.feats)
    for fs in seen_docs.values():
        df.update(fs)
    vocab = {f for f, n in df.items() if n >= min_df}
    for e in exs:
        e.feats = [f for f in e.feats if f in vocab]
    pos = sum(e.weight for e in exs if e.label)
    neg = sum(e.weight for e in exs if not e.label)
    cls = {1: (pos + neg) / (2 * pos), 0: (pos + neg) / (2 * neg)}
    w: dict[str, float] = {}
    g2: dict[str, float] = {}
    bias, bias_g2 = 0.0, 1.0
    rng = random.Random(SEED)
    order = list(range(len(exs)))
    for epoch in range(epochs):
        active = exs
        if epoch >= 2:  # multiple-instance: keep the best third of each long jailbreak's windows
            by_doc: dict[int, list[tuple[float, int]]] = {}
            for i, e in enumerate(exs):
                if e.mil:
                    by_doc.setdefault(e.doc, []).append((bias + sum(w.get(f, 0.0) for f in e.feats), i))
            keep = set()
            for lst in by_doc.values():
                lst.sort(reverse=True)
                keep.update(i for _, i in lst[: max(1, len(lst) // 3)])
            active = [e if not e.mil or i in keep else None for i, e in enumerate(exs)]  # type: ignore[misc]
        rng.shuffle(order)
        loss = 0.0
        for i in order:
            e = active[i]
            if e is None:
                continue
            z = bias + sum(w.get(f, 0.0) for f in e.feats)
            p = _sigmoid(z)
            sw = e.weight * cls[e.label]
            loss -= sw * math.log(max(1e-12, p if e.label else 1 - p))
            g = sw * (p - e.label)
            for f in e.feats:
                wf = w.get(f, 0.0)
                gf = g + l2 * wf
                acc = g2.get(f, 1e-8) + gf * gf
                g2[f] = acc
                w[f] = wf - lr * gf / math.sqrt(acc)
            bias_g2 += g * g
            bias -= lr * g / math.sqrt(bias_g2)
        print(f"epoch {epoch}: weighted loss {loss / len(order):.4f}, {len(w)} weights", file=sys.stderr)
    # the largest weights only: the model's resident size in every guardrails process
    top = sorted(w.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:max_features]
    kept = {f: round(v, 2) for f, v in sorted(top) if abs(v) >= 0.02}
    return LinearWindowModel(kept, round(bias, 4), WINDOW, STRIDE, head), kept


def _logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def platt(ms: list[float], ys: list[int], iters: int = 3000) -> tuple[float, float]:
    """Platt scaling of the model's logits: sigmoid(b * m + c), plain gradient descent, balanced classes."""
    b, c = 1.0, 0.0
    npos = sum(ys)
    nneg = len(ys) - npos
    for _ in range(iters):
        gb = gc = 0.0
        for m, y in zip(ms, ys, strict=True):
            g = (0.5 / npos if y else 0.5 / nneg) * (_sigmoid(b * m + c) - y)
            gb += g * m
            gc += g
        b -= 0.5 * gb
        c -= 0.5 * gc
    return max(b, 0.0), c


HARD_SOURCES = ("awesome-chatgpt-prompts", "derived/discussion", "xstest", "docs/", "promptinject")


def choose_threshold(
    scores: list[float], ys: list[int], hard: list[bool], max_fpr: float, max_hard_fpr: float
) -> tuple[float, dict[str, float]]:
    """Best F1 with at most ``max_fpr`` of benign texts flagged and at most ``max_hard_fpr`` of the hard
    benign ones (role-play, quoted attacks, security prose, trigger words)."""
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.5, {})
    nneg = len(ys) - sum(ys)
    nhard = sum(hard)
    for t in sorted(set(scores)):
        tp = sum(1 for s, y in zip(scores, ys, strict=True) if y and s >= t)
        fp = sum(1 for s, y in zip(scores, ys, strict=True) if not y and s >= t)
        hfp = sum(1 for s, h in zip(scores, hard, strict=True) if h and s >= t)
        fn = sum(ys) - tp
        if fp > max_fpr * nneg or hfp > max_hard_fpr * nhard or tp == 0:
            continue
        f1 = 2 * tp / (2 * tp + fp + fn)
        if f1 > best[0]:
            best = (f1, t, {"f1": round(f1, 4), "tp": tp, "fp": fp, "fn": fn, "hard_fp": hfp, "hard": nhard})
    return best[1], best[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/tmp/injection-data")
    ap.add_argument("--out", default=str(MODEL_PATH))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--min-df", type=int, default=3)
    ap.add_argument("--max-val-fpr", type=float, default=0.02)
    ap.add_argument("--max-hard-fpr", type=float, default=0.03)
    ap.add_argument("--max-features", type=int, default=20_000)
    ap.add_argument("--head", type=int, default=HEAD, help="opening tokens weighed as the request's frame")
    args = ap.parse_args(argv)
    from services.guardrails.detectors.injection import signals

    data = Path(args.data)
    train_rows = [json.loads(x) for x in (data / "train.jsonl").read_text(encoding="utf-8").split("\n") if x]
    val_rows = [json.loads(x) for x in (data / "val.jsonl").read_text(encoding="utf-8").split("\n") if x]
    model, weights = train(train_rows, args.epochs, args.l2, args.lr, args.min_df, args.head, args.max_features)
    sig = [signals(r["text"]) for r in val_rows]  # which texts the rules alone decide (the logit is unused)
    rules = [r for r, _ in sig]
    ms = [model.logit(_fold(r["text"])) for r in val_rows]  # this run's model, not the shipped one
    ys = [int(r["label"] == "attack") for r in val_rows]
    use = [lg is not None for _, lg in sig]
    b, c = platt([m for m, u in zip(ms, use, strict=True) if u], [y for y, u in zip(ys, use, strict=True) if u])
    # the threshold on the model's probability, with the rules' own decisions (>= 0.5) counted as flags
    scores = [1.0 if r >= 0.5 else _sigmoid(b * m + c) if u else r for r, m, u in zip(rules, ms, use, strict=True)]
    hard = [r["label"] == "benign" and r["source"].startswith(HARD_SOURCES) for r in val_rows]
    t, at_t = choose_threshold(scores, ys, hard, args.max_val_fpr, args.max_hard_fpr)
    c -= _logit(t)
    digest = hashlib.sha256(b"".join((data / f).read_bytes() for f in ("train.jsonl", "val.jsonl"))).hexdigest()
    out = {
        "format": "bastion.injection.linear-window.v1",
        "trained_on": {"train_sha256_with_val": digest, "train_texts": len(train_rows), "val_texts": len(val_rows)},
        "window": model.window,
        "stride": model.stride,
        "head": model.head,
        "bias": model.bias,
        "combiner": {"model": round(b, 4), "bias": round(c, 4)},
        "validation": {"threshold_before_shift": round(t, 4), **at_t},
        "weights": weights,
    }
    Path(args.out).write_text(json.dumps(out, separators=(",", ":"), sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(weights)} weights, combiner b={b:.3f} c={c:.3f}, val {at_t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
