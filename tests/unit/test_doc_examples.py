"""Every YAML and JSON example in README.md and docs/*.md runs: policies compile, requests decide as the text says.

The convention (docs/architecture.md, "Examples are tests"), per fenced block:

- ```yaml with `kind: Policy` — a policy file; all of one markdown file's policies form one
  repository (with the smallest celgate.yaml), which must compile with no error and no warning.
- ```yaml with `kind: Config` — compiled as celgate.yaml of that repository.
- ```yaml whose top-level keys are Config keys (`detectors:`, `quotas:`, ...) — a fragment of
  celgate.yaml: compiled as one.
- ```yaml whose top-level keys are `celgate serve` settings (`auth:`, `grpc-addr:`, ...) — a
  `--config` file: it must resolve (known keys, values of the right type).
- ```yaml with `kind: TestSuite` — run against that repository; every case must pass.
- ```yaml with `request:` and `decision:` — decided against that repository, or the shipped
  library when the file has no policy; `decision` lists what must hold (effect, reasons that
  matched, labels, rewritten).
- ```json with "action" — a request; it must parse. With "decision_id" and "door" — a decision
  log line; its keys must be ones the log writes.
- ```sh with `curl ... -d '{...}'` followed by a `# ...` line naming `"effect": "X"` (or
  `effect X`) — decided against the shipped library (what `make serve` runs).
- `<!-- example: skip -->` on the line before a block opts it out (say why next to it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
import yaml

import celgate
from celgate.config import ServeConfig, resolve
from celgate.engine import compile_repo
from celgate.engine.request import parse_request
from celgate.engine.testing import run_suites

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MINIMAL_CONFIG = "apiVersion: celgate/v1\nkind: Config\n"
CONFIG_KEYS = {"defaults", "detectors", "quotas", "modes"}
SERVE_KEYS = {f.name for f in fields(ServeConfig)} | {f.name.replace("_", "-") for f in fields(ServeConfig)}
LOG_KEYS = {
    "decision_id", "time", "door", "action", "principal", "effect", "matched_rules", "policy_revision",
    "latency_s", "content", "request_id", "tool", "labels", "redactions", "rewritten", "dry_run",
}  # fmt: skip
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_CURL = re.compile(r"curl[^\n]*?-d '(\{.*?\})'\n#([^\n]*)", re.S)


@dataclass
class Block:
    file: Path
    line: int
    lang: str
    text: str

    def __str__(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def _blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if "<!-- example: skip" in before:
            continue
        out.append(Block(path, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)))
    return out


def _docs(block: Block) -> list[Any]:
    return [d for d in yaml.safe_load_all(block.text) if d is not None]


class Examples:
    """One markdown file's examples, sorted by what they are."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.policies: list[Block] = []
        self.configs: list[Block] = []
        self.fragments: list[Block] = []
        self.serve_configs: list[Block] = []
        self.suites: list[Block] = []
        self.decisions: list[tuple[Block, dict[str, Any]]] = []
        self.requests: list[tuple[Block, dict[str, Any]]] = []
        self.log_lines: list[tuple[Block, dict[str, Any]]] = []
        self.curls: list[tuple[Block, dict[str, Any], str]] = []
        for block in _blocks(path):
            if block.lang in ("yaml", "yml"):
                self._yaml(block)
            elif block.lang == "json":
                doc = json.loads(block.text)
                (self.log_lines if "decision_id" in doc and "door" in doc else self.requests).append((block, doc))
            elif block.lang in ("sh", "bash", "console"):
                for m in _CURL.finditer(block.text):
                    self.curls.append((block, json.loads(m.group(1)), m.group(2)))

    def _yaml(self, block: Block) -> None:
        docs = _docs(block)
        kinds = {d.get("kind") for d in docs if isinstance(d, dict)}
        if "Policy" in kinds:
            self.policies.append(block)
        elif "Config" in kinds:
            self.configs.append(block)
        elif "TestSuite" in kinds:
            self.suites.append(block)
        elif docs and isinstance(docs[0], dict) and {"request", "decision"} <= set(docs[0]):
            self.decisions += [(block, d) for d in docs]
        elif docs and isinstance(docs[0], dict) and set(docs[0]) <= CONFIG_KEYS:
            self.fragments.append(block)
        elif docs and isinstance(docs[0], dict) and set(docs[0]) <= SERVE_KEYS:
            self.serve_configs.append(block)
        else:
            raise AssertionError(f"{block}: a YAML example the docs test cannot classify (see its docstring)")

    def repo(self, root: Path, config: str = MINIMAL_CONFIG) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        (root / "celgate.yaml").write_text(config)
        for i, block in enumerate(self.policies):
            (root / f"example{i}.yaml").write_text(block.text)
        return root


EXAMPLES = [Examples(p) for p in FILES]
BY_NAME = {e.path.name: e for e in EXAMPLES}
LIBRARY = ROOT / "policies"


def _ids(kind: str) -> list[Any]:
    out = []
    for e in EXAMPLES:
        for item in getattr(e, kind):
            block = item[0] if isinstance(item, tuple) else item
            out.append(pytest.param(e, item, id=str(block)))
    return out


@pytest.mark.parametrize("examples", [e for e in EXAMPLES if e.policies], ids=lambda e: e.path.name)
def test_policies_compile_without_warnings(examples: Examples, tmp_path: Path) -> None:
    bundle = compile_repo(examples.repo(tmp_path / "repo"))
    assert bundle.warnings == [], [str(w) for w in bundle.warnings]


@pytest.mark.parametrize(("examples", "block"), _ids("configs") + _ids("fragments"))
def test_configs_compile(examples: Examples, block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELGATE_REDACTION_KEY", "a-documentation-example-key")  # docs/detectors.md names it
    text = block.text if block in examples.configs else MINIMAL_CONFIG + block.text
    compile_repo(examples.repo(tmp_path / "repo", text))


@pytest.mark.parametrize(("examples", "block"), _ids("serve_configs"))
def test_serve_config_files_resolve(examples: Examples, block: Block, tmp_path: Path) -> None:
    """A `celgate serve --config FILE` example: every key known, every value of the right type."""
    path = tmp_path / "serve.yaml"
    path.write_text(block.text)
    resolve({"config": str(path)}, {})


@pytest.mark.parametrize(("examples", "block"), _ids("suites"))
def test_suites_pass(examples: Examples, block: Block, tmp_path: Path) -> None:
    repo = examples.repo(tmp_path / "repo")
    (repo / "tests").mkdir()
    (repo / "tests" / "example.yaml").write_text(block.text)
    report = run_suites(celgate.load(repo))
    assert report.results and report.ok, [str(f) for f in report.failures]


@pytest.mark.parametrize(("examples", "item"), _ids("decisions"))
def test_requests_decide_as_the_text_says(examples: Examples, item: tuple[Block, dict], tmp_path: Path) -> None:
    block, doc = item
    engine = celgate.load(examples.repo(tmp_path / "repo") if examples.policies else LIBRARY)
    decision = engine.check(doc["request"])
    want = doc["decision"]
    assert decision.effect == want["effect"], f"{block}: {decision.to_dict()}"
    for rule in want.get("reasons", []):
        assert rule in decision.matched_rules(), f"{block}: {rule} did not match: {decision.matched_rules()}"
    if "labels" in want:
        assert decision.labels == want["labels"], block
    for field, text in (want.get("rewritten") or {}).items():
        assert decision.rewritten.get(field) == text, f"{block}: {decision.rewritten}"


@pytest.mark.parametrize(("examples", "item"), _ids("requests") + _ids("log_lines"))
def test_json_examples(examples: Examples, item: tuple[Block, dict]) -> None:
    """A request parses; a decision log line has only keys the log writes."""
    block, doc = item
    if (block, doc) in examples.log_lines:
        assert set(doc) <= LOG_KEYS, f"{block}: keys the decision log never writes: {set(doc) - LOG_KEYS}"
    else:
        parse_request(doc)


@pytest.mark.parametrize(("examples", "item"), _ids("curls"))
def test_curl_examples_decide_as_their_comment_says(examples: Examples, item: tuple) -> None:
    block, request, comment = item
    m = re.search(r'"?effect"?:?\s*"?(allow|deny|require_approval)', comment)
    assert m, f"{block}: the comment after a curl example names the effect"
    decision = celgate.load(LIBRARY).check(request)
    assert decision.effect == m.group(1), f"{block}: {decision.to_dict()}"
    for field, text in re.findall(r'"([\w.\[\]]+)": "([^"]*)"\}', comment):
        assert decision.rewritten.get(field) == text, f"{block}: {decision.rewritten}"


def test_every_file_has_its_examples_found() -> None:
    """Guards the classifier: the files known to hold examples still yield them."""
    assert BY_NAME["README.md"].policies and BY_NAME["README.md"].suites and BY_NAME["README.md"].curls
    assert len(BY_NAME["detectors.md"].policies) >= 7 and BY_NAME["detectors.md"].fragments
    assert BY_NAME["policies.md"].configs and BY_NAME["policies.md"].suites
    assert BY_NAME["owasp.md"].decisions
