"""Atomic writes: all or nothing, and ordinary file permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pase.io.atomic import atomic_open, write_text_atomic


def test_replaces_whole_file_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "feats.scp"
    write_text_atomic(path, "old\n")
    with pytest.raises(RuntimeError), atomic_open(path, "w") as f:
        f.write("half a line")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["feats.scp"]  # no temporary left
    write_text_atomic(path, "new\n")
    assert path.read_text() == "new\n"


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "a.txt").stat().st_mode)
    assert mode & 0o044, f"group/other cannot read the file (mode {oct(mode)})"
