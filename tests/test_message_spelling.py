"""The library's messages name options as docs/cli.md does: kebab-case, never an old spelling.

Checked on every string of ``pase/`` that is not a docstring (docstrings may cite the original
PASE's flags), outside the places that define the aliases: the command layer ``pase/bin`` and
pase-train's parser ``pase/train/options.py``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pase.bin.cli import DEPRECATED

PASE = Path(__file__).resolve().parents[1] / "pase"
ALIAS_DEFINITIONS = ("bin/", "train/options.py")
_FLAG = re.compile(r"(?<![\w-])--[a-z0-9]+(?:[_-][a-z0-9]+)*")


def old_spellings(source: str) -> list[str]:
    """``<line>: <flag>`` of every snake_case or old option spelling in the strings of
    ``source`` that are not docstrings."""
    tree = ast.parse(source)
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docs.add(id(body[0].value))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            flags = _FLAG.findall(node.value)
            bad += [f"{node.lineno}: {f}" for f in flags if "_" in f or f in DEPRECATED]
    return bad


def test_the_check_sees_old_spellings() -> None:
    source = (
        'def f(x):\n    """Docstrings may cite the original\'s --save_path."""\n'
        '    raise ValueError(f"--save_path {x}: see --data-dir, not --data or --pase-ckpt")\n'
        'HELP = "--data-cfg, --skip-bad-audio, --ckpt and --net-cfg are fine"\n'
    )
    assert old_spellings(source) == ["3: --save_path", "3: --data", "3: --pase-ckpt"]


def test_library_messages_use_the_option_names() -> None:
    bad = {}
    for path in sorted(PASE.rglob("*.py")):
        rel = path.relative_to(PASE).as_posix()
        if rel.startswith(ALIAS_DEFINITIONS):
            continue
        found = old_spellings(path.read_text(encoding="utf-8"))
        if found:
            bad[rel] = found
    assert bad == {}
