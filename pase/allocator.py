"""The process's memory allocator: jemalloc, when installed, for training and extraction.

Why: a CPU training step allocates and frees the same large tensors every step (PASE+
activations of 48 x 64 x 32000 floats are 393 MB). glibc's malloc serves blocks above 32 MB
with fresh ``mmap`` pages and unmaps them on ``free``, so every step faults on every page
again: 2.4 million page faults (~10 GB zeroed) per PASE+ encoder step, 40 % of its time on 2
cores. jemalloc keeps freed pages and reuses them: the same step measured 11.2 s with glibc and
6.8 s with jemalloc, at the same peak memory (docs/training.md). Keeping glibc but turning its
``mmap`` off gave 6.9 s at twice the peak memory (its aligned allocations fragment the heap),
so we do not do that.

An allocator has to be loaded before the process starts, so the commands that profit
(``pase-train``, ``pase-extract``, ``pase-dump-feats``, ``bench/``) restart themselves once,
right after parsing their options, with ``LD_PRELOAD`` naming jemalloc
(:func:`reexec_with_jemalloc`). ``PASE_ALLOCATOR`` chooses: ``auto`` (default: jemalloc when
found), ``system`` (no restart), or the path of a malloc library to preload. Only Linux.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

#: environment variable choosing the allocator: auto | system | /path/to/libmalloc.so
ENV = "PASE_ALLOCATOR"
#: set in the restarted process (the library it preloads): never restart twice
MARK = "PASE_ALLOCATOR_PRELOADED"
#: jemalloc's options unless the user set MALLOC_CONF: keep freed pages (never purge them;
#: the process keeps its peak, as it would anyway during training), a background purging
#: thread, metadata on huge pages when transparent huge pages are on
MALLOC_CONF = "background_thread:true,metadata_thp:auto,dirty_decay_ms:-1,muzzy_decay_ms:-1"
#: where distributions put libjemalloc besides the linker's search path
_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")


def loaded_allocator(maps: str | os.PathLike = "/proc/self/maps") -> str | None:
    """Path of a jemalloc or tcmalloc library mapped into this process, else None."""
    try:
        text = Path(maps).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        path = line.split()[-1] if line.split() else ""
        name = os.path.basename(path)
        if name.startswith(("libjemalloc", "libtcmalloc")):
            return path
    return None


def find_jemalloc() -> str | None:
    """The path of libjemalloc: the environment's ``lib`` (venv/conda), the linker's search
    path (``ldconfig``), then the distributions' library folders; None when absent."""
    prefixes = [sys.prefix, os.environ.get("CONDA_PREFIX", "")]
    for folder in [*(os.path.join(p, "lib") for p in prefixes if p), *_DIRS]:
        for name in ("libjemalloc.so.2", "libjemalloc.so"):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    name = ctypes.util.find_library("jemalloc")
    return name  # a soname the dynamic linker resolves, or None


def preload_environment(environ: Mapping[str, str], library: str) -> dict[str, str]:
    """``environ`` with ``library`` first in ``LD_PRELOAD`` (entries kept), jemalloc's
    :data:`MALLOC_CONF` unless one is set, and :data:`MARK`."""
    env = dict(environ)
    kept = [p for p in env.get("LD_PRELOAD", "").replace(":", " ").split() if p != library]
    env["LD_PRELOAD"] = " ".join([library, *kept])
    if "jemalloc" in os.path.basename(library):
        env.setdefault("MALLOC_CONF", MALLOC_CONF)
    env[MARK] = library
    return env


def wanted_library(environ: Mapping[str, str] | None = None) -> str | None:
    """The library :func:`reexec_with_jemalloc` would preload, or None (not Linux,
    ``PASE_ALLOCATOR=system``, already restarted or preloaded, or no jemalloc)."""
    env = os.environ if environ is None else environ
    choice = env.get(ENV, "auto").strip() or "auto"
    if not sys.platform.startswith("linux") or choice == "system" or MARK in env:
        return None
    if loaded_allocator() is not None:
        return None
    if choice != "auto":
        if not os.path.isfile(choice):
            raise ValueError(f"{ENV}={choice!r}: expected auto, system or a library file path")
        return choice
    return find_jemalloc()


def reexec_with_jemalloc(argv: Sequence[str] | None = None) -> None:
    """Restart this process (same pid, arguments and environment) with jemalloc preloaded,
    when :func:`wanted_library` names one; otherwise return.

    ``argv``: the interpreter's command line (default ``sys.orig_argv``: the interpreter,
    its options and the script or ``-m`` module with its arguments). Call it before anything
    heavy is imported or any file is written: nothing after the call runs twice.
    """
    library = wanted_library()
    if library is None:
        return
    args = list(sys.orig_argv if argv is None else argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *args[1:]], preload_environment(os.environ, library))
