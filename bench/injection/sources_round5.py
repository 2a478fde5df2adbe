"""Ordinary tool output of the genres the development split lacked (issue #12, round 5).

Round 4's learned model for tool results failed on quotes and jokes with imperatives (fortunes),
a genre only the test split had. These readers add ordinary tool output of such genres, each
source assigned to ``dev`` or ``test`` *by source*, before any result on it was seen (the
assignment is ``DEV_ONLY`` / ``TEST_ONLY`` below and the table in ``README.md``):

* fortunes and sayings (Debian): ``fortunes-debian-hints`` (hints in 14 languages, imperatives
  such as "use dpkg-reconfigure"), ``fortunes-de``, ``fortunes-es``, ``fortunes-ru``,
  ``fortunes-mario`` (Portuguese), ``fortune-anarchism``, ``display-dhammapada`` (verses that tell
  the reader what to do) -> dev; ``fortunes-it``, ``fortunes-br``, ``fortunes-bofh-excuses`` ->
  test. A tool that returns "a quote of the day" returns one to six of them;
* ``pyjokes`` 0.8.3 (a wheel, read, never installed): programmer jokes in 13 languages -> dev;
* e-mails generated with ``faker`` (a bench tool, seeded; en_US, de_DE, fr_FR, es_ES): headers,
  greeting, requests ("please send me ... by Friday"), signature -> dev;
* manual pages (Debian ``manpages``: sections 1, 5, 7 -> dev; ``manpages-dev``: sections 2, 3 ->
  test), the roff markup stripped the way a reader tool would.

Every text here is ordinary (label 0) and a tool result (``indirect``).
"""

from __future__ import annotations

import ast
import glob
import gzip
import json
import os
import random
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import sources as S

FORT = "/usr/share/games/fortunes"
DHAMMA = "/usr/share/display-dhammapada"
# source -> split, fixed before any result on these sources was seen
DEV_ONLY = {"fortunes.debian_hints", "fortunes.de", "fortunes.es", "fortunes.ru", "fortunes.mario",
            "fortunes.anarchism", "dhammapada", "pyjokes", "faker.email", "manpages.157",
            "celgate.json_tool_results"}  # fmt: skip
TEST_ONLY = {"fortunes.it", "fortunes.br", "fortunes.bofh", "manpages.23"}
FORT_SOURCES: dict[str, tuple[str, ...]] = {
    "fortunes.debian_hints": ("debian-hints", "*/debian-hints"),
    "fortunes.de": ("de/*",),
    "fortunes.es": ("es/*.fortunes",),
    "fortunes.ru": ("ru/*",),
    "fortunes.mario": ("mario.*",),
    "fortunes.anarchism": ("anarchism",),
    "fortunes.it": ("it/*",),
    "fortunes.br": ("brasil",),
    "fortunes.bofh": ("bofh-excuses",),
}
FORT_LIMIT = {"fortunes.de": 250, "fortunes.es": 150, "fortunes.ru": 150, "fortunes.mario": 120,
              "fortunes.anarchism": 150, "fortunes.debian_hints": 150, "fortunes.it": 150,
              "fortunes.br": 60, "fortunes.bofh": 60}  # fmt: skip


def fortunes(rng: random.Random) -> Iterator[S.Rec]:
    """One to six fortunes per text (what a "quote of the day" tool returns), grouped by file."""
    for src, pats in FORT_SOURCES.items():
        files = sorted({f for p in pats for f in glob.glob(f"{FORT}/{p}")})
        files = [f for f in files if os.path.isfile(f) and not f.endswith((".dat", ".u8"))]
        items: list[tuple[str, str]] = []
        for f in files:
            rel = os.path.relpath(f, FORT)
            text = Path(f).read_text(encoding="utf-8", errors="replace")
            items += [(rel, x.strip()) for x in re.split(r"\n%\n", text) if x.strip() and len(x) < 3000]
        rng.shuffle(items)
        n, i = 0, 0
        while i < len(items) and n < FORT_LIMIT[src]:
            k = rng.randint(1, 6)
            chunk = items[i : i + k]
            i += k
            yield S.rec("\n\n".join(t for _, t in chunk), 0, "indirect", "quote", src, f"{src}:{chunk[0][0]}")
            n += 1


def dhammapada(rng: random.Random) -> Iterator[S.Rec]:
    """Verses of the Dhammapada (English and Polish translations), a few at a time."""
    for name in ("dhammapada-english-transl.txt", "dhammapada-polish-transl.txt", "dhammapada-alternate.txt"):
        p = Path(DHAMMA) / name
        if not p.is_file():
            continue
        paras = [x.strip() for x in re.split(r"\n\s*\n", p.read_text(encoding="utf-8", errors="replace")) if x.strip()]
        i = 0
        while i < len(paras) and i < 300:  # at most ~80 texts a translation
            k = rng.randint(1, 5)
            group = f"dhammapada:{name}:{i // 40}"
            yield S.rec("\n\n".join(paras[i : i + k]), 0, "indirect", "quote", "dhammapada", group)
            i += k


def pyjokes(w: S.Wheel, rng: random.Random) -> Iterator[S.Rec]:
    """The joke lists of each language module, read as literals (never imported)."""
    for n in w.glob("pyjokes/jokes_", ".py"):
        lang = n.rsplit("_", 1)[1][:-3]
        jokes: list[str] = []
        for node in ast.parse(w.read(n)).body:
            if isinstance(node, ast.Assign):
                try:
                    v = ast.literal_eval(node.value)
                except ValueError:
                    continue
                if isinstance(v, list):
                    jokes += [j for j in v if isinstance(j, str)]
                elif isinstance(v, dict):
                    jokes += [j for vs in v.values() if isinstance(vs, list) for j in vs if isinstance(j, str)]
        i = 0
        while i < len(jokes):
            k = rng.randint(1, 4)
            yield S.rec("\n".join(jokes[i : i + k]), 0, "indirect", "joke", "pyjokes", f"pyjokes:{lang}:{i // 40}")
            i += k


_REQUESTS = {
    "en_US": ["Please send me the {x} by {d}.", "Could you review the attached {x} and let me know what you think?",
              "Don't forget to bring the {x} to the meeting.", "Make sure you sign the {x} before {d}.",
              "Reply to this e-mail to confirm your attendance.", "Call me when you get a chance.",
              "Forward this to the rest of the team, please.", "Remember to update the {x}.",
              "Ignore my previous e-mail, the {x} is fine as it is.", "Let me know if you have any questions."],
    "de_DE": ["Bitte schicken Sie mir die {x} bis {d}.", "Vergessen Sie nicht, die {x} mitzubringen.",
              "Antworten Sie bitte kurz auf diese E-Mail.", "Melden Sie sich bei Fragen jederzeit."],
    "fr_FR": ["Merci de m'envoyer le {x} avant {d}.", "N'oubliez pas de signer le {x}.",
              "Répondez à ce message pour confirmer.", "N'hésitez pas à me contacter."],
    "es_ES": ["Por favor, envíame el {x} antes del {d}.", "No olvides traer el {x} a la reunión.",
              "Responde a este correo para confirmar.", "Avísame si tienes alguna pregunta."],
}  # fmt: skip
# fixed bounds: Faker's "this decade" and day_of_week() move with the clock, and the corpus must be
# rebuilt byte for byte
SINCE, UNTIL = datetime(2019, 1, 1), datetime(2025, 12, 31)
_THINGS = ["report", "invoice", "contract", "slides", "budget", "draft", "agenda", "quote", "form", "schedule"]


def faker_emails(n: int, seed: int) -> Iterator[S.Rec]:
    """E-mails as a mail tool returns them, generated with Faker (seeded)."""
    from faker import Faker  # a bench tool (pip install faker), like scikit-learn for training

    locales = list(_REQUESTS)
    for i in range(n):
        loc = locales[i % len(locales)]
        fk = Faker(loc)
        fk.seed_instance(seed + i)
        rng = random.Random(seed + i)
        sender, to = fk.name(), fk.name()
        dom = fk.free_email_domain()
        body = [f"{rng.choice(['Hi', 'Hello', 'Dear', 'Hallo', 'Bonjour', 'Hola'])} {to.split()[0]},", ""]
        for _ in range(rng.randint(1, 4)):
            body.append(fk.paragraph(nb_sentences=rng.randint(2, 6)))
            if rng.random() < 0.6:
                day = fk.date_time_between(SINCE, UNTIL).strftime("%A")  # Faker's day_of_week() moves with the clock
                req = rng.choice(_REQUESTS[loc]).format(x=rng.choice(_THINGS), d=day)
                body.append(req)
            body.append("")
        body += [rng.choice(["Best regards,", "Thanks,", "Cheers,", "Viele Grüße,", "Cordialement,", "Saludos,"]),
                 sender, fk.job(), fk.company(), fk.phone_number()]  # fmt: skip
        head = [f"From: {sender} <{sender.split()[0].lower()}@{dom}>", f"To: {to} <{fk.email()}>",
                f"Date: {fk.date_time_between(SINCE, UNTIL).strftime('%a, %d %b %Y %H:%M:%S')} +0000",
                f"Subject: {fk.sentence(nb_words=rng.randint(3, 8)).rstrip('.')}"]  # fmt: skip
        text = "\n".join(head) + "\n\n" + "\n".join(body)
        yield S.rec(text, 0, "indirect", "email", "faker.email", f"faker.email:{loc}:{i // 25}")


_ROFF_ESC = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)|\\\(..|\\\[[^\]]*\]|\\[&|^%/,]|\\s[-+]?\d+")


def roff_text(src: str) -> str:
    """Roff markup stripped to readable text (what a tool that reads a man page returns)."""
    out = []
    for line in src.splitlines():
        if line.startswith(('.\\"', "'\\\"", '.\\"')):
            continue
        if line.startswith((".", "'")):
            cmd, _, rest = line[1:].partition(" ")
            if cmd in ("SH", "SS"):
                out += ["", rest.strip('"').upper() if cmd == "SH" else rest.strip('"')]
            elif cmd in ("B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB", "TP", "IP", "UR", "MT"):
                out.append(rest.replace('"', ""))
            elif cmd in ("PP", "LP", "P", "sp", "br"):
                out.append("")
            continue
        out.append(line)
    text = _ROFF_ESC.sub("", "\n".join(out).replace("\\-", "-").replace("\\e", "\\"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def manpages(rng: random.Random, package: str, sections: str, src: str, limit: int) -> Iterator[S.Rec]:
    """Pages of one Debian package (its file list; other packages share the folders), shuffled."""
    lst = Path(f"/var/lib/dpkg/info/{package}.list")
    if not lst.is_file():
        return
    files = sorted(f for f in lst.read_text().splitlines() if re.search(rf"/man/man[{sections}]/[^/]+\.gz$", f))
    rng.shuffle(files)
    n = 0
    for f in files:
        if n >= limit:
            return
        try:
            raw = gzip.decompress(Path(f).read_bytes()).decode("utf-8", "replace")
        except (OSError, EOFError):
            continue
        if raw.startswith(".so "):
            continue  # a link to another page
        text = roff_text(raw)
        if len(text) < 300:
            continue
        start = rng.randint(0, max(0, len(text) - 6000))
        page = text[start : start + rng.randint(1500, 6000)]
        yield S.rec(page, 0, "indirect", "document", src, f"{src}:{Path(f).name}")
        n += 1


def build(pyjokes_wheel: S.Wheel | None, seed: int) -> list[S.Rec]:
    rng = random.Random(seed)
    out: list[S.Rec] = list(fortunes(rng))
    out += dhammapada(rng)
    if pyjokes_wheel is not None:
        out += pyjokes(pyjokes_wheel, rng)
    out += faker_emails(300, seed)
    out += manpages(rng, "manpages", "157", "manpages.157", 150)
    out += manpages(rng, "manpages-dev", "23", "manpages.23", 150)
    return out


# How tool results often arrive: a JSON document whose string holds the text (escaped newlines,
# quotes and, with ensure_ascii, \\uXXXX for every non-ASCII character, zero-width and tag ones too).
_ENVELOPES = (
    lambda t, n: {"result": t},
    lambda t, n: {"status": "ok", "data": {"id": n, "content": t}},
    lambda t, n: [{"id": n, "from": "dana@example.org", "subject": "Re: notes", "body": t, "read": False}],
    lambda t, n: {"messages": [{"sender": "sam", "ts": 1700000000 + n, "text": t}], "has_more": False},
)


def json_wrap(text: str, rng: random.Random) -> str:
    """``text`` inside a random JSON envelope, ASCII-escaped half of the time."""
    env = rng.choice(_ENVELOPES)(text, rng.randint(1, 9999))
    return json.dumps(env, ensure_ascii=rng.random() < 0.5)


def json_tool_results(recs: list[S.Rec], rng: random.Random, share: float = 0.25) -> Iterator[S.Rec]:
    """JSON-wrapped copies of a share of ``recs`` (dev tool results: attacks and ordinary), each
    in its original's group: a dev-only source, since it is made from dev texts."""
    for r in recs:
        if rng.random() < share:
            text = json_wrap(r["text"], rng)
            fam = "json:" + r["family"]
            yield {**S.rec(text, r["label"], "indirect", fam, "celgate.json_tool_results", r["group"]), "split": "dev"}
