"""Terminal output: colour only on a terminal (and never with NO_COLOR), quiet by default."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from celgate.engine import Bundle


def _enabled(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def paint(text: str, code: str, stream: TextIO = sys.stdout) -> str:
    return f"\033[{code}m{text}\033[0m" if _enabled(stream) else text


def red(text: str, stream: TextIO = sys.stdout) -> str:
    return paint(text, "31", stream)


def green(text: str, stream: TextIO = sys.stdout) -> str:
    return paint(text, "32", stream)


def yellow(text: str, stream: TextIO = sys.stdout) -> str:
    return paint(text, "33", stream)


def bold(text: str, stream: TextIO = sys.stdout) -> str:
    return paint(text, "1", stream)


def compile_or_report(path: str, backend: str | None) -> Bundle | None:
    """Compiles a policy repository, or prints every error (FILE:LINE:COL: message) and returns None."""
    from celgate.engine import PolicyLoadError, compile_repo

    try:
        return compile_repo(path, backend=backend)
    except PolicyLoadError as exc:
        for error in exc.errors:
            print(red(str(error), sys.stderr), file=sys.stderr)
        n = len(exc.errors)
        print(f"{n} error{'s' if n != 1 else ''}", file=sys.stderr)
        return None
