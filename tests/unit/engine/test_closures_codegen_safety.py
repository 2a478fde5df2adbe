"""The closures backend writes Python source from policy text: nothing in a policy may become code.

Policies are reviewed in pull requests, but a policy author is not meant to be able to run Python
inside the decision point. String and bytes literals, comprehension variables and `cel.bind` names
that look like Python (quotes, backslashes, newlines, keywords, the generated code's own names)
must evaluate exactly as the C++ runtime does, and must never reach `exec` as code.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.engine.test_closures import _evaluate, backends, tree
from tests.unit.engine.test_closures_differential import same

# Literals that would end a naively quoted string, open an f-string field or run a statement.
HOSTILE_LITERALS = [
    r"'\"); __import__(\"os\").system(\"touch /tmp/celgate-pwned\"); (\"'",
    r"'\'; import os; x = \''",
    r'"\"\"\" + str(1/0) + \"\"\""',
    r"'\\'",
    r"'line\nbreak; raise SystemExit'",
    r"'{__import__}'",
    r"'\x00\u2028\U0001F600'",
    r"b'\xff\x00\")'",
    r"r'\d+\"'",
    '"""triple "quoted" \'mixed\'"""',
]

# CEL accepts these as identifiers; in Python they are keywords, builtins or the generated code's
# own names (globals g_*, locals t1/K1, the runtime module rt, the error class EV).
HOSTILE_NAMES = ["lambda", "def", "None", "True", "not", "rt", "EV", "g_tool", "t1", "K1", "e", "exec", "print"]


@pytest.mark.parametrize("literal", HOSTILE_LITERALS)
def test_hostile_literals_are_data(literal: str) -> None:
    cpp, closures = backends()
    for source in (literal, f"size({literal})", f"{literal} == vars.x", f"[{literal}, vars.x][0]"):
        expected = _evaluate(cpp, source, "x", 0)
        assert same(expected, _evaluate(closures, source, "x", 0)), source
        assert same(expected, _evaluate(tree(), source, "x", 0)), source
        assert source not in closures.fallbacks and source not in closures.tree, source  # generated code ran


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_variable_names_are_scoped(name: str) -> None:
    cpp, closures = backends()
    sources = [
        f"vars.y.exists({name}, {name} > vars.x)",
        f"vars.y.map({name}, {name} * 2)",
        f"vars.y.filter({name}, {name} % 2 == 0).size()",
        f"cel.bind({name}, vars.x + 1, {name} * {name})",
        f"vars.y.all({name}, vars.y.exists(t2, t2 >= {name}))",
    ]
    for source in sources:
        expected: Any = _evaluate(cpp, source, 1, [1, 2, 3])
        assert same(expected, _evaluate(closures, source, 1, [1, 2, 3])), source
        assert same(expected, _evaluate(tree(), source, 1, [1, 2, 3])), source
        assert source not in closures.fallbacks and source not in closures.tree, source  # generated code ran
