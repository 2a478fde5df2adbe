"""More public sources for the injection benchmark (issue #12, round 3): attack collections that
are **test-only** (never looked at while tuning, so they say whether the signals generalise), and a
broader ordinary side (e-mails, web pages, chat messages, role-play and editing prompts) that the
enforced thresholds must stay quiet on.

Attack collections (wheels fetched with ``pip download --no-deps``, read, never installed):

* ``spikee`` (WithSecure's prompt-injection kit): its seed folders hold jailbreak wrappers with an
  ``<INSTRUCTION>`` slot, the instructions (data exfiltration via markdown images, XSS strings,
  system-prompt extraction, harmful or off-policy tasks, many in other languages) and base
  documents (e-mails, articles). Built the way ``spikee generate`` builds them: wrapper x
  instruction, put into a document (indirect) or sent alone (direct; bare instructions without a
  wrapper are not jailbreaks and are left out of the direct set).
* ``agent-injection-bench`` (``aib``): hand-made injected tool results, documents and web pages
  for tool-calling agents, each with the user's task.
* ``garak-multilingual``: Turkish and multilingual override, persona and extraction prompts.
* ``easyjailbreak``: the seed templates of its attack recipes (AutoDAN, GPTFuzzer, DeepInception,
  ICA, ReNeLLM, Jailbroken, MJP), filled with AdvBench goals.

Ordinary text (split dev/test by group like the rest):

* ``chatterbot-corpus``: small-talk dialogues in 28 languages, as chat messages (a Slack-like
  log, a tool result) and their opening lines as prompts;
* ``git-doc`` (Debian): the git project's how-to e-mails (real mailing-list messages with
  headers) and the HTML manual pages as web pages;
* ``debian-handbook`` (Debian): the Debian Administrator's Handbook as HTML pages in English and
  six other languages;
* spikee's false-positive seeds (ordinary finance questions) and its base documents;
* ``ordinary_prompts.txt`` (this folder): prompts written for this benchmark that a naive
  detector gets wrong - legitimate role-play ("act as my interviewer"), fiction about AIs and
  villains, system-prompt-like instructions a user writes, and edits such as "ignore the
  previous paragraph". Written by hand, so it is a sanity check, not an outside measure.
"""

from __future__ import annotations

import ast
import glob
import html as htmlmod
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import sources as S
import yaml

HERE = Path(__file__).parent
GITDOC = "/usr/share/doc/git/html"
HANDBOOK = "/usr/share/doc/debian-handbook/html"
HANDBOOK_LANGS = ("en-US", "de-DE", "fr-FR", "es-ES", "ru-RU", "zh-CN", "ja-JP")
SPIKEE_SEEDS = ("seeds-cybersec-2026-01", "seeds-llm-mailbox", "seeds-sysmsg-extraction-2025-04",
                "seeds-investment-advice", "seeds-harmful-instructions-only")  # fmt: skip
SPIKEE = "spikee/data/workspace/datasets"


def _jsonl(w: S.Wheel, name: str) -> list[dict]:
    if name not in w.names:
        return []
    return [json.loads(line) for line in w.read(name).splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------
# test-only attack collections


def spikee(w: S.Wheel, rng: random.Random, carriers: list[dict]) -> Iterator[S.Rec]:
    """Wrapper x instruction, as spikee generates them; two instructions per wrapper."""
    for seed in SPIKEE_SEEDS:
        jbs = _jsonl(w, f"{SPIKEE}/{seed}/jailbreaks.jsonl")
        ins = [i for i in _jsonl(w, f"{SPIKEE}/{seed}/instructions.jsonl") if i.get("instruction")]
        docs = [d for d in _jsonl(w, f"{SPIKEE}/{seed}/base_user_inputs.jsonl") if len(d.get("document", "")) > 60]
        if not jbs or not ins:
            continue
        for jb in jbs:
            for inst in rng.sample(ins, min(2, len(ins))):
                payload = jb["text"].replace("<INSTRUCTION>", inst["instruction"].rstrip("."))
                kind = jb.get("jailbreak_type", "jailbreak")
                group = f"spikee:{seed}:{jb['id']}"
                if kind != "no-jailbreak":
                    yield S.rec(payload, 1, "direct", f"spikee:{kind}", "spikee", group)
                if docs and rng.random() < 0.5:
                    d = rng.choice(docs)
                    ph = d.get("placeholder")
                    text = (d["document"].replace(ph, payload) if ph and ph in d["document"]
                            else S.insert(d["document"], payload, rng))  # fmt: skip
                else:
                    text = S.insert(rng.choice(carriers)["text"], payload, rng)
                yield S.rec(text, 1, "indirect", f"spikee:{kind}", "spikee", group)


def spikee_ordinary(w: S.Wheel) -> Iterator[S.Rec]:
    """spikee's false-positive seeds (ordinary finance questions) and its base documents."""
    for r in _jsonl(w, f"{SPIKEE}/seeds-investment-advice-fp/standalone_user_inputs.jsonl"):
        yield S.rec(r["text"], 0, "direct", "question", "spikee.fp", f"spikee.fp:{r['id']}")
    seen = set()
    for seed in SPIKEE_SEEDS:
        for d in _jsonl(w, f"{SPIKEE}/{seed}/base_user_inputs.jsonl"):
            doc = d.get("document", "")
            if len(doc) > 60 and doc not in seen:
                seen.add(doc)
                ph = d.get("placeholder") or "\x00"
                yield S.rec(doc.replace(ph, ""), 0, "indirect", "email", "spikee.docs", f"spikee.doc:{d['id']}")


def aib(w: S.Wheel) -> Iterator[S.Rec]:
    """agent-injection-bench: the injected content as the agent receives it; the task as a prompt."""
    for r in _jsonl(w, "aib/data/attacks.jsonl"):
        g = f"aib:{r['id']}"
        yield S.rec(r["injected"], 1, "indirect", f"aib:{r.get('family', 'attack')}", "aib", g)
        if r.get("task"):
            yield S.rec(r["task"], 0, "direct", "agent_task", "aib.tasks", g)


def garak_multilingual(w: S.Wheel) -> Iterator[S.Rec]:
    """The payload lists of garak-multilingual, read as literals (the module is never imported)."""
    tree = ast.parse(w.read("garak_multilingual/payloads.py"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            try:
                items = ast.literal_eval(node.value)
            except ValueError:
                continue
            if not isinstance(items, list):
                continue
            for i, it in enumerate(items):
                if isinstance(it, dict) and isinstance(it.get("prompt"), str):
                    fam = f"multilingual:{it.get('lang', 'tr')}"
                    yield S.rec(it["prompt"], 1, "direct", fam, "garak_multilingual", f"gml:{name}:{i}")


EJ_RECIPES = ("AutoDAN-a", "Gptfuzzer", "DeepInception", "ICA", "ReNeLLM", "Jailbroken", "MJP", "default")


def easyjailbreak(w: S.Wheel, rng: random.Random, goals: list[str]) -> Iterator[S.Rec]:
    attack = json.loads(w.read("easyjailbreak/seed/seed_template.json"))["attack"]
    for recipe in EJ_RECIPES:
        for i, t in enumerate(attack.get(recipe, [])):
            for name, tmpl in t.items() if isinstance(t, dict) else [("", t)]:
                if not isinstance(tmpl, str) or "{query}" not in tmpl:
                    continue
                text = tmpl.replace("{query}", rng.choice(goals).lower())
                yield S.rec(text, 1, "direct", f"easyjailbreak:{recipe}", "easyjailbreak", f"ej:{recipe}:{i}:{name}")


# ---------------------------------------------------------------------------------------------
# ordinary text


def chatterbot(w: S.Wheel, rng: random.Random) -> Iterator[S.Rec]:
    """Dialogues as a chat log (a tool result: "read my messages") and opening lines as prompts."""
    people = ["dana", "li.wei", "marco", "priya", "sam", "olu", "fatima", "jo"]
    for n in w.glob("chatterbot_corpus/data/", ".yml"):
        try:
            data = yaml.safe_load(w.read(n))
        except yaml.YAMLError:
            continue
        convs = [c for c in (data or {}).get("conversations", []) if isinstance(c, list)]
        lang, topic = n.split("/")[2], Path(n).stem
        group = f"chatterbot:{lang}:{topic}"
        # at most 20 prompts and 6 logs a file, so small talk does not swamp the ordinary side
        firsts = sorted({str(c[0]).strip() for c in convs if len(str(c[0]).strip()) >= 12})
        for q in rng.sample(firsts, min(20, len(firsts))):
            yield S.rec(q, 0, "direct", "chat", "chatterbot", group)
        for i in range(0, min(len(convs), 48), 8):
            a, b = rng.sample(people, 2)
            lines, minute = [], rng.randint(0, 40)
            for c in convs[i : i + 8]:
                for j, msg in enumerate(c):
                    minute += rng.randint(0, 3)
                    lines.append(f"[{9 + minute // 60:02d}:{minute % 60:02d}] {(a, b)[j % 2]}: {msg}")
            if len("\n".join(lines)) > 80:
                yield S.rec("\n".join(lines), 0, "indirect", "chat_message", "chatterbot", group)


def git_howto_emails() -> Iterator[S.Rec]:
    for f in sorted(glob.glob(f"{GITDOC}/howto/*.txt")):
        t = Path(f).read_text(errors="replace")
        if t.startswith(("From:", "Date:", "Subject:", "Message-ID:")):
            yield S.rec(t[:8000], 0, "indirect", "email", "git.howto_mail", f"gitmail:{Path(f).stem}")


def _slices(html: str, rng: random.Random) -> str:
    body = html[html.find("<body") :] if "<body" in html else html
    start = rng.randint(0, max(0, len(body) - 6000))
    return body[start : start + rng.randint(1500, 6000)]


def git_html(rng: random.Random, limit: int) -> Iterator[S.Rec]:
    files = sorted(glob.glob(f"{GITDOC}/git-*.html"))
    rng.shuffle(files)
    for f in files[:limit]:
        yield S.rec(_slices(Path(f).read_text(errors="replace"), rng), 0, "indirect", "web_page", "git.docs_html",
                    f"githtml:{Path(f).stem}")  # fmt: skip


def handbook(rng: random.Random, per_lang: int) -> Iterator[S.Rec]:
    for lang in HANDBOOK_LANGS:
        files = sorted(glob.glob(f"{HANDBOOK}/{lang}/*.html"))
        rng.shuffle(files)
        for f in files[:per_lang]:
            page = _slices(Path(f).read_text(errors="replace"), rng)
            src = "debian.handbook" if lang == "en-US" else "debian.handbook_intl"
            # the same page in two languages is one group: never split across dev and test
            yield S.rec(page, 0, "indirect", "web_page", src, f"handbook:{Path(f).stem}")
            if lang == "en-US" and rng.random() < 0.3:  # as the text a reader tool extracts
                text = htmlmod.unescape(re.sub(r"<[^>]+>", " ", page))
                text = re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n\n", text)).strip()
                if len(text) > 200:
                    yield S.rec(text, 0, "indirect", "document", "debian.handbook_text", f"handbook:{Path(f).stem}")


def hand_written_prompts() -> Iterator[S.Rec]:
    """``ordinary_prompts.txt``: one prompt per paragraph; ``\\n`` inside a prompt is a newline."""
    text = (HERE / "ordinary_prompts.txt").read_text()
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if not ln.startswith("#")]
        if not lines:
            continue
        p = "\n".join(lines).replace("\\n", "\n").strip()
        if p:
            yield S.rec(p, 0, "direct", "roleplay_or_edit", "celgate.ordinary_prompts", f"own:{S._key(p)}")
