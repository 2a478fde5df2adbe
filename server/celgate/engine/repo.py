"""Reads a policy repository from disk into validated documents.

Layout (DESIGN.md): `celgate.yaml` at the root; `data/*.yaml|json` become `data.<stem>`; every
`tests/` directory holds test suites; every other `*.yaml` is a policy.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celgate.engine.errors import PolicyLoadError
from celgate.engine.model import (
    CONFIG_HINT,
    Config,
    Policy,
    Problems,
    TestSuite,
    _plain,
    check_header,
    parse_config,
    parse_policy,
    parse_suite,
)
from celgate.engine.yamldoc import load_documents

CONFIG_FILE = "celgate.yaml"
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass
class RepoContents:
    root: Path
    config: Config
    policies: list[Policy] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    suites: list[TestSuite] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)


def _yaml_files(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in (".yaml", ".yml", ".json"):
            out.append(path)
    return out


def read_repo(root: str | Path) -> RepoContents:
    """Reads and validates every document; problems are collected in `contents.problems`.

    Only a missing root raises: everything else is reported together with the compile errors.
    """
    root = Path(root)
    problems = Problems()
    if not root.is_dir():
        problems.add(str(root), None, "not a directory")
        raise PolicyLoadError(problems.errors)
    contents: RepoContents | None = None
    config_path = root / CONFIG_FILE
    files: dict[str, bytes] = {}
    if not config_path.is_file():
        problems.add(str(config_path), None, f"missing: a policy repository needs a {CONFIG_FILE}{CONFIG_HINT}")
        config = parse_config(None, str(config_path), Problems())
    else:
        raw = config_path.read_bytes()
        files[CONFIG_FILE] = raw
        docs = _load(str(config_path), raw, problems)
        config = parse_config(docs[0] if docs else None, str(config_path), problems)
    contents = RepoContents(root, config, files=files, problems=problems)
    policy_names: dict[str, str] = {}
    for path in _yaml_files(root):
        rel = path.relative_to(root)
        if rel.as_posix() == CONFIG_FILE:
            continue
        raw = path.read_bytes()
        files[rel.as_posix()] = raw
        file = str(path)
        if len(raw) > MAX_FILE_BYTES:
            problems.add(file, None, f"file is larger than {MAX_FILE_BYTES} bytes")
            continue
        if rel.parts[0] == "data" and len(rel.parts) == 2:
            _read_data(path, raw, contents, problems)
            continue
        if path.suffix == ".json":
            continue  # JSON outside data/ is not a policy format
        if "tests" in rel.parts[:-1]:
            for doc in _load(file, raw, problems):
                suite = parse_suite(doc, file, problems)
                if suite is not None:
                    contents.suites.append(suite)
            continue
        if rel.parts[0] == "data":
            continue
        for doc in _load(file, raw, problems):
            if not check_header(doc, file, "Policy", problems):
                continue
            policy = parse_policy(doc, file, problems)
            if policy is None:
                continue
            if policy.name in policy_names:
                problems.add(
                    file, doc.pos, f"duplicate policy name {policy.name!r} (also in {policy_names[policy.name]})"
                )
                continue
            policy_names[policy.name] = file
            contents.policies.append(policy)
    contents.problems = problems
    return contents


def _load(file: str, raw: bytes, problems: Problems) -> list[Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(file, None, f"not UTF-8: {exc}")
        return []
    try:
        return load_documents(file, text)
    except PolicyLoadError as exc:
        problems.errors.extend(exc.errors)
        return []


def _read_data(path: Path, raw: bytes, contents: RepoContents, problems: Problems) -> None:
    stem = path.stem
    file = str(path)
    if stem in contents.data:
        problems.add(file, None, f"data.{stem} is defined by more than one file")
        return
    if not stem.isidentifier():
        problems.add(file, None, f"data file name {stem!r} must be an identifier to be reachable as data.{stem}")
        return
    try:
        if path.suffix == ".json":
            value = json.loads(raw)
        else:
            docs = load_documents(file, raw.decode("utf-8"))
            value = _plain(docs[0]) if docs else {}
    except PolicyLoadError as exc:
        problems.errors.extend(exc.errors)
        return
    except (ValueError, UnicodeDecodeError) as exc:
        problems.add(file, None, f"invalid JSON: {exc}")
        return
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        problems.add(file, None, "data must be plain JSON values (no dates or binary)")
        return
    contents.data[stem] = value


def revision_of(root: Path, files: dict[str, bytes]) -> str:
    """The git commit when `root` is inside a clean git work tree, else a digest of the files."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    content = "sha256:" + digest.hexdigest()[:16]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
        if head.returncode != 0:
            return content
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return content
    commit = head.stdout.strip()
    if status.stdout.strip():
        return f"{commit}+dirty.{content.removeprefix('sha256:')[:12]}"
    return commit


__all__ = ["RepoContents", "read_repo", "revision_of"]
