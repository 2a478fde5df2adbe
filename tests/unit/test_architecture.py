"""The layering rules of docs/architecture.md, checked on the source: cli → service → api → engine.

A static read of every module's imports (module-level and function-level alike), so a violation
fails here before it becomes an import cycle or a second road into the engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "celgate"

# Layer of each top-level part of the package, highest first; a module may import its own layer
# and any layer below it, never one above. Leaf modules used by every layer sit at the bottom.
LAYERS: dict[str, int] = {
    "cli": 5,
    "service": 4,
    "api": 3,
    "audit": 3,
    "metrics": 3,
    "telemetry": 1,
    "logsinks": 1,
    "engine": 2,
    "__init__": 2,  # `celgate.load` and friends: the embedded door is the engine
    "detectors": 1,
    "quotas": 1,
    "approvals": 1,
    "sessions": 1,  # session sources, provenance, session stores
    "stores": 1,
    "sources": 1,
    "config": 0,
    "scrub": 0,  # cuts URL credentials and local paths from what status and logs show
    "auth": 0,  # who is calling: used by config (start-up rules) and the doors; imports no other layer
    "policies": 0,  # where the shipped library is
    "v1": 0,
    "envoywire": 0,  # generated: the Envoy messages the Envoy doors speak
}


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("v1", "envoywire"):
            continue
        out.append((".".join(("celgate", *rel.with_suffix("").parts)), path))
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, guarded by try/except ImportError) for every celgate import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            for inner in node.body:
                guarded.update(n.lineno for n in ast.walk(inner) if isinstance(n, ast.Import | ast.ImportFrom))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "celgate":
            out.append((node.lineno, node.module, node.lineno in guarded))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, node.lineno in guarded) for a in node.names if a.name.startswith("celgate")]
    return out


def test_no_layer_imports_a_layer_above_it() -> None:
    problems = []
    for module, path in _modules():
        part = _part(module)
        assert part in LAYERS, f"{module}: add its part {part!r} to LAYERS (and to docs/architecture.md)"
        for line, imported, _ in _imports(path):
            target = _part(imported)
            if imported == "celgate" and part != "__init__":
                target = "__init__"
            if LAYERS.get(target, 0) > LAYERS[part]:
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: {part} imports {imported} (a layer above)")
    assert not problems, "\n".join(problems)


def test_no_import_of_our_own_modules_is_guarded() -> None:
    """A `try: import celgate.x / except ImportError` hides a broken part and fails open."""
    problems = [
        f"{path.relative_to(PACKAGE)}:{line}: guarded import of {imported}"
        for _, path in _modules()
        for line, imported, guarded in _imports(path)
        if guarded
    ]
    assert not problems, "\n".join(problems)


def test_only_the_decider_calls_the_engine() -> None:
    """One road: no door calls `Engine.check` itself; it asks the Decider (api/decide.py)."""
    problems = []
    for module, path in _modules():
        if _part(module) not in ("api", "cli", "service") or module == "celgate.api.decide":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check":
                problems.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: calls .check() outside the Decider")
    assert not problems, "\n".join(problems)
