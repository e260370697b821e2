"""The library's layering, checked on the import graph: no module under ``pase/`` except the
command-line layer ``pase/bin/`` imports ``pase.bin`` (CLIs call the library, never the
other way round)."""

from __future__ import annotations

import ast
from pathlib import Path

PASE = Path(__file__).resolve().parents[1] / "pase"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_library_never_imports_the_cli_layer() -> None:
    offenders = {}
    for path in sorted(PASE.rglob("*.py")):
        if path.relative_to(PASE).parts[0] == "bin":
            continue
        bad = sorted(m for m in _imports(path) if m == "pase.bin" or m.startswith("pase.bin."))
        if bad:
            offenders[str(path.relative_to(PASE.parent))] = bad
    assert offenders == {}


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from pase.bin.extract import main\n    import pase.bin.train\n")
    assert {"pase.bin.extract", "pase.bin.train"} <= _imports(f)
