"""pase.allocator: the environment of the restart, the choice of library, and (with jemalloc
installed, as tools/install.sh does) the restart itself and the reuse of freed pages that
is its reason."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from pase import allocator
from pase.allocator import MARK, find_jemalloc, loaded_allocator, preload_environment

JEMALLOC = find_jemalloc() if sys.platform.startswith("linux") else None
needs_jemalloc = pytest.mark.skipif(JEMALLOC is None, reason="libjemalloc is not installed")


def test_preload_environment_puts_the_library_first_and_keeps_the_rest() -> None:
    env = preload_environment(
        {"LD_PRELOAD": "/a/libx.so:/b/liby.so", "HOME": "/h"}, "/j/libjemalloc.so.2"
    )
    assert env["LD_PRELOAD"] == "/j/libjemalloc.so.2 /a/libx.so /b/liby.so"
    assert env["MALLOC_CONF"] == allocator.MALLOC_CONF and env["HOME"] == "/h"
    assert env[MARK] == "/j/libjemalloc.so.2"
    again = preload_environment(env, "/j/libjemalloc.so.2")  # never listed twice
    assert again["LD_PRELOAD"].split().count("/j/libjemalloc.so.2") == 1


def test_preload_environment_keeps_the_users_malloc_conf() -> None:
    env = preload_environment({"MALLOC_CONF": "narenas:1"}, "/j/libjemalloc.so.2")
    assert env["MALLOC_CONF"] == "narenas:1" and env["LD_PRELOAD"] == "/j/libjemalloc.so.2"
    assert "MALLOC_CONF" not in preload_environment({}, "/t/libtcmalloc_minimal.so.4")


def test_wanted_library_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "loaded_allocator", lambda: None)
    assert allocator.wanted_library({allocator.ENV: "system"}) is None
    assert allocator.wanted_library({MARK: "/j/libjemalloc.so.2"}) is None  # restarted once
    lib = tmp_path / "libmymalloc.so"
    lib.write_bytes(b"")
    assert allocator.wanted_library({allocator.ENV: str(lib)}) == str(lib)
    with pytest.raises(ValueError, match=r"PASE_ALLOCATOR='jemaloc'.*auto, system"):
        allocator.wanted_library({allocator.ENV: "jemaloc"})
    monkeypatch.setattr(allocator, "find_jemalloc", lambda: "/j/libjemalloc.so.2")
    assert allocator.wanted_library({}) == "/j/libjemalloc.so.2"
    monkeypatch.setattr(allocator, "loaded_allocator", lambda: "/t/libtcmalloc.so.4")
    assert allocator.wanted_library({}) is None  # one is preloaded already


def test_loaded_allocator_reads_the_maps(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00-7f01 r--p 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
        "7f02-7f03 r-xp 00000000 00:00 0 \n"
        "7f04-7f05 r-xp 00001000 08:01 2 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n"
    )
    assert loaded_allocator(maps) == "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    maps.write_text("7f00-7f01 r--p 00000000 08:01 1 /usr/lib/libc.so.6\n")
    assert loaded_allocator(maps) is None
    assert loaded_allocator(tmp_path / "absent") is None


PROBE = """
import json, resource, sys
from pase.allocator import loaded_allocator, use_fast_allocator
use_fast_allocator()
import torch
def faults_of_one_step():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.ones(64 * 2**20 // 4)  # 64 MiB, above glibc's largest mmap threshold
    del x
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start
faults_of_one_step()
print(json.dumps({"lib": loaded_allocator(), "faults": [faults_of_one_step() for _ in range(3)]}))
"""


def _probe(**env: str) -> dict:
    env = {k: v for k, v in {**os.environ, **env}.items() if k != MARK}
    res = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


GLIBC_PROBE = """
import ctypes, json, resource, sys
import pase.allocator as a
a.find_jemalloc = lambda: None  # as on a machine without jemalloc
a.use_fast_allocator()
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def faults_of_one_block():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    p = libc.malloc(64 * 2**20)  # above glibc's largest mmap threshold
    ctypes.memset(p, 1, 64 * 2**20)
    libc.free(p)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start
faults_of_one_block()
print(json.dumps({"name": a.allocator_name(), "faults": [faults_of_one_block() for _ in range(3)]}))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")
@pytest.mark.parametrize("choice", ["auto", "system"])
def test_without_jemalloc_glibc_is_tuned_in_place(choice: str) -> None:
    """No jemalloc: glibc's options are set in the process (not with PASE_ALLOCATOR=system),
    and a freed large block is then reused without page faults."""
    env = {k: v for k, v in os.environ.items() if k != MARK}
    env["PASE_ALLOCATOR"] = choice
    res = subprocess.run(
        [sys.executable, "-c", GLIBC_PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    pages = 64 * 2**20 // 4096
    if choice == "auto":
        assert out["name"] == "glibc malloc (mmap off, no trimming)"
        assert max(out["faults"]) < pages // 20, out
    else:
        assert out["name"] == "system malloc"
        assert min(out["faults"]) > pages // 2, out  # mapped afresh every time


@needs_jemalloc
def test_restart_preloads_jemalloc_and_freed_pages_are_reused() -> None:
    pages = 64 * 2**20 // 4096
    system = _probe(PASE_ALLOCATOR="system")
    assert system["lib"] is None
    # glibc maps a fresh block every time: faults on (nearly) every page of it
    assert min(system["faults"]) > pages // 2, system
    jem = _probe()
    assert jem["lib"] is not None and "jemalloc" in Path(jem["lib"]).name
    assert max(jem["faults"]) < pages // 20, jem  # the freed pages are reused
