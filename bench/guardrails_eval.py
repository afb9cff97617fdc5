"""Guardrail evaluation: the figures quoted for the detectors, reproducible from one command.

    PYTHONPATH=$PWD .venv/bin/python bench/guardrails_eval.py [--devset DIR] [--json out.json] [--quick]

Scores the development set (``/work/shared/guardrail-devset`` or ``$GUARDRAIL_DEVSET``) with its own
``score.py`` (the scorer of the held-out evaluation), so the numbers mean the same thing there and here:

* PII: span-overlap precision/recall/F1 per type and micro; share of PII-free texts with any PII hit,
  measured on the PII-free texts available (the benign injection prompts of the dev set and NotInject,
  which carry no PII annotation: every hit there is reported, for inspection, with ``--show-fp``).
* Secrets: span-overlap F1 per type and micro.
* Injection: precision/recall/F1 on the dev prompts; false-positive rate on hard benign texts
  (NotInject, 339 prompts that contain injection trigger words).
* Injection on our own public held-out sets (``--heldout DIR``, written by ``bench/injection_data.py``:
  deepset/prompt-injections and BIPIA's test split, never trained or tuned on), for the combined detector
  and for the rules alone (the detector before the learned model), in the same run.
* Throughput of the default scan (PII + secrets + injection) on synthetic typical chat messages
  (``bench/guardrails_bench.make_messages``): CPU time per message of this process and the messages/s
  one core sustains (1 / CPU time per message; min over passes per chunk, robust on a shared host); and the
  CPU the learned injection model adds to a message when it runs.

Development numbers only: the held-out corpus is never seen by the project.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from guardrails_bench import make_messages
from guardrails_probes import make_probes

from services.guardrails.detectors import injection as injection_mod
from services.guardrails.detectors.engine import scan, scan_typed
from services.guardrails.detectors.normalize import normalize
from services.guardrails.scan import _spans

_DEFAULT_DEVSET = "/work/shared/guardrail-devset"
_DEFAULT_HELDOUT = "/tmp/injection-data"  # written by bench/injection_data.py
_HELDOUT_SETS = ("heldout_deepset", "heldout_bipia")


def _load_scorer(devset: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("guardrail_score", devset / "score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no score.py in {devset}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _notinject(devset: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in ("one", "two", "three"):
        data = json.loads((devset / "public-piguard" / f"NotInject_{name}.json").read_text(encoding="utf-8"))
        for i, x in enumerate(data):
            rows.append(
                {"id": f"{name}-{i}", "text": x["prompt"], "label": "benign", "category": x["category"], "hard": True}
            )
    return rows


def _span_preds(gold: list[dict[str, Any]], labels: str) -> list[dict[str, Any]]:
    preds = []
    for g in gold:
        typed, _ = scan_typed(g["text"], injection=False)
        preds.append(
            {"id": g["id"], "spans": [{"start": s.start, "end": s.end, "type": s.type} for s in _spans(typed, labels)]}
        )
    return preds


def _inj_preds(gold: list[dict[str, Any]], rules_only: bool = False) -> list[dict[str, Any]]:
    """The detector's scores (rules and model combined), or with ``rules_only`` the rule score alone (the
    detector before the learned model)."""
    out = []
    for g in gold:
        if rules_only:
            score = injection_mod.rule_score(g["text"])
            out.append({"id": g["id"], "score": score, "label": "attack" if score >= 0.5 else "benign"})
        else:
            inj = scan(g["text"], pii=False, secrets=False).injection
            out.append({"id": g["id"], "score": inj.score, "label": inj.label})
    return out


_KEEP = ("precision", "recall", "f1", "tp", "fp", "fn", "fpr")


def _inj_scores(score: ModuleType, gold: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"texts": len(gold)}
    for name, rules_only in (("rules", True), ("combined", False)):
        res = score.score_injection(gold, _inj_preds(gold, rules_only), 0.5)
        out[name] = {k: res[k] for k in _KEEP}
    return out


def eval_heldout(score: ModuleType, heldout: Path) -> dict[str, Any]:
    """Public sets never trained or tuned on (see bench/injection_data.py and docs/guardrails-data.md)."""
    out: dict[str, Any] = {}
    for name in _HELDOUT_SETS:
        path = heldout / f"{name}.jsonl"
        if path.exists() and path.stat().st_size:
            out[name] = _inj_scores(score, _jsonl(path))
    return out


def eval_model_cost(n: int, passes: int) -> dict[str, Any]:
    """CPU time the learned model adds to one message when it runs (its logit on the normalised text),
    on the typical chat messages of the throughput figure and on 8,000-character documents."""
    msgs = make_messages(n)
    docs = ["".join(msgs[i : i + 14])[:8000] for i in range(0, min(n, 1400), 14)]
    model = injection_mod._MODEL
    res: dict[str, Any] = {}
    for name, texts in (("typical", msgs), ("doc_8k", docs)):
        folded = [normalize(t).text for t in texts]
        best = math.inf
        for _ in range(passes):
            t0 = time.thread_time()
            for f in folded:
                model.logit(f)
            best = min(best, time.thread_time() - t0)
        res[f"{name}_us_per_msg"] = round(best / len(folded) * 1e6, 1)
    return res


def _per_type_f1(res: dict[str, Any]) -> dict[str, Any]:
    ov = res["overlap"]
    return {
        "per_type": {t: v for t, v in ov["per_type"].items() if v["tp"] + v["fn"] + v["fp"]},
        "micro": ov["micro"],
    }


def eval_pii(score: ModuleType, devset: Path, clean: list[dict[str, Any]], show_fp: bool) -> dict[str, Any]:
    gold = _jsonl(devset / "pii_dev.jsonl")
    res = score.score_spans("pii", gold, _span_preds(gold, "pii"))
    clean_gold = [{"id": c["id"], "text": c["text"], "spans": [], "negatives": []} for c in clean]
    clean_preds = _span_preds(clean_gold, "pii")
    flagged = [p for p in clean_preds if p["spans"]]
    if show_fp:
        by_id = {c["id"]: c["text"] for c in clean}
        for p in flagged:
            for s in p["spans"]:
                text = by_id[p["id"]]
                ctx = text[max(0, s["start"] - 30) : s["end"] + 10].replace("\n", " ")
                print(f"  FP {p['id']} {s['type']}: {text[s['start'] : s['end']]!r} in …{ctx}…")
    return {
        **_per_type_f1(res),
        "hard_negative_hits": res["hard_negative_hits"],
        "pii_free_texts": len(clean),
        "pii_free_texts_flagged": len(flagged),
        "pii_free_flag_rate": round(len(flagged) / len(clean), 4) if clean else None,
    }


def eval_probes(score: ModuleType, show_fp: bool) -> dict[str, Any]:
    """Synthetic phone/IP probes and PII-free version/product-code texts (ours, see guardrails_probes)."""
    probes = make_probes()
    out: dict[str, Any] = {}
    for name in ("phones", "ips"):
        gold = probes[name]
        preds = _span_preds(gold, "pii")
        res = score.score_spans("pii", gold, preds)
        out[name] = {"texts": len(gold), **res["overlap"]["micro"]}
        if show_fp:
            found = {p["id"]: p["spans"] for p in preds}
            for g in gold:
                got = [(s["type"], g["text"][s["start"] : s["end"]]) for s in found[g["id"]]]
                want = [(s["type"], g["text"][s["start"] : s["end"]]) for s in g["spans"]]
                if got != want:
                    print(f"  PROBE {g['id']}: want {want} got {got} in {g['text']!r}")
    free = probes["pii_free"]
    preds = _span_preds(free, "pii")
    flagged = [p for p in preds if p["spans"]]
    if show_fp:
        by_id = {g["id"]: g["text"] for g in free}
        for p in flagged:
            print(f"  PROBE-FP {p['id']}: {[(s['type'], by_id[p['id']][s['start'] : s['end']]) for s in p['spans']]}")
    out["pii_free"] = {"texts": len(free), "flagged": len(flagged), "rate": round(len(flagged) / len(free), 4)}
    return out


def eval_secrets(score: ModuleType, devset: Path) -> dict[str, Any]:
    gold = _jsonl(devset / "secrets_dev.jsonl")
    res = score.score_spans("secrets", gold, _span_preds(gold, "secrets"))
    return {**_per_type_f1(res), "hard_negative_hits": res["hard_negative_hits"]}


def eval_injection(score: ModuleType, devset: Path, hard_benign: list[dict[str, Any]]) -> dict[str, Any]:
    gold = _jsonl(devset / "injection_dev.jsonl")
    dev = score.score_injection(gold, _inj_preds(gold), 0.5)
    hard = score.score_injection(hard_benign, _inj_preds(hard_benign), 0.5)
    hard_rules = score.score_injection(hard_benign, _inj_preds(hard_benign, rules_only=True), 0.5)
    return {
        "dev": {k: dev[k] for k in _KEEP},
        "dev_rules_only": _inj_scores(score, gold)["rules"],
        "hard_benign_texts": hard["texts"],
        "hard_benign_fpr": hard["fpr"],
        "hard_benign_fpr_rules_only": hard_rules["fpr"],
    }


def eval_throughput(n: int, passes: int, chunk: int = 250) -> dict[str, Any]:
    msgs = make_messages(n)
    for m in msgs[:300]:  # warm-up: regex caches, phonenumbers metadata
        scan(m)
    best: list[float] = []
    for _ in range(passes):
        for k, i in enumerate(range(0, len(msgs), chunk)):
            t0 = time.thread_time()
            for m in msgs[i : i + chunk]:
                scan(m)
            dt = time.thread_time() - t0
            if k >= len(best):
                best.append(dt)
            else:
                best[k] = min(best[k], dt)
    per_msg = sum(best) / len(msgs)
    return {
        "messages": len(msgs),
        "passes": passes,
        "avg_chars": round(sum(map(len, msgs)) / len(msgs)),
        "cpu_us_per_msg": round(per_msg * 1e6, 1),
        "msgs_per_s_per_core": round(1 / per_msg),
    }


def _print(rep: dict[str, Any]) -> None:
    def prf(v: dict[str, Any]) -> str:
        return f"P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f} (tp {v['tp']} fp {v['fp']} fn {v['fn']})"

    for task in ("pii", "secrets"):
        r = rep[task]
        print(f"{task} overlap micro: {prf(r['micro'])}")
        for t, v in r["per_type"].items():
            print(f"  {t:<16}{prf(v)}")
        hits = {k: f"{v['hit']}/{v['regions']}" for k, v in r["hard_negative_hits"].items() if v["hit"]}
        print(f"  hard-negative regions hit: {hits or 'none'}")
    p = rep["pii"]
    print(
        f"pii-free texts with any PII hit: {p['pii_free_texts_flagged']}/{p['pii_free_texts']} = {p['pii_free_flag_rate']:.2%}"
    )
    i = rep["injection"]
    print(f"injection dev: {prf(i['dev'])}, fpr {i['dev']['fpr']}")
    print(f"  rules only:  {prf(i['dev_rules_only'])}, fpr {i['dev_rules_only']['fpr']}")
    print(
        f"injection hard-benign (NotInject, {i['hard_benign_texts']}) false-positive rate: {i['hard_benign_fpr']:.2%}"
        f" (rules only {i['hard_benign_fpr_rules_only']:.2%})"
    )
    for name, h in rep.get("heldout", {}).items():
        for kind in ("rules", "combined"):
            v = h[kind]
            head = f"held-out {name} ({h['texts']}) {kind:<8}"
            if v["tp"] + v["fn"]:
                print(f"{head} {prf(v)}, benign fpr {v['fpr']:.2%}")
            else:
                print(f"{head} benign fpr {v['fpr']:.2%} (fp {v['fp']})")
    pr = rep["probes"]
    print(
        f"probes (synthetic, ours): phones {prf(pr['phones'])}; IPs {prf(pr['ips'])}; "
        f"version/product-code texts flagged {pr['pii_free']['flagged']}/{pr['pii_free']['texts']}"
    )
    t = rep.get("throughput")
    if t:
        print(
            f"throughput (default scan, {t['messages']} typical chat msgs ~{t['avg_chars']} chars, {t['passes']} passes): "
            f"{t['cpu_us_per_msg']} us CPU/msg = {t['msgs_per_s_per_core']:,} msgs/s/core (target >= 5,000)"
        )
    mc = rep.get("model_cost")
    if mc:
        print(
            f"learned model, added CPU per message when it runs: typical {mc['typical_us_per_msg']} us, "
            f"8k-char document {mc['doc_8k_us_per_msg']} us"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devset", default=os.environ.get("GUARDRAIL_DEVSET", _DEFAULT_DEVSET))
    ap.add_argument("--json", help="also write the report as JSON to this path")
    ap.add_argument("--messages", type=int, default=4000, help="throughput: distinct messages")
    ap.add_argument("--passes", type=int, default=3, help="throughput: passes (min per chunk is kept)")
    ap.add_argument("--no-throughput", action="store_true")
    ap.add_argument(
        "--heldout",
        default=os.environ.get("INJECTION_HELDOUT", _DEFAULT_HELDOUT),
        help="directory with the held-out sets written by bench/injection_data.py (skipped when absent)",
    )
    ap.add_argument("--show-fp", action="store_true", help="print every PII hit on the PII-free texts")
    args = ap.parse_args(argv)
    devset = Path(args.devset)
    score = _load_scorer(devset)
    hard_benign = _notinject(devset)
    benign_dev = [g for g in _jsonl(devset / "injection_dev.jsonl") if g["label"] == "benign"]
    rep: dict[str, Any] = {
        "devset": str(devset),
        "pii": eval_pii(score, devset, benign_dev + hard_benign, args.show_fp),
        "secrets": eval_secrets(score, devset),
        "injection": eval_injection(score, devset, hard_benign),
        "probes": eval_probes(score, args.show_fp),
        "heldout": eval_heldout(score, Path(args.heldout)),
    }
    if not args.no_throughput:
        rep["throughput"] = eval_throughput(args.messages, args.passes)
        rep["model_cost"] = eval_model_cost(args.messages, args.passes)
    _print(rep)
    if args.json:
        Path(args.json).write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
