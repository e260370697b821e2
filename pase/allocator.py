"""The process's memory allocator for training and extraction: jemalloc when installed, else
glibc's malloc without ``mmap`` for large blocks.

Why: a CPU training step allocates and frees the same large tensors every step (PASE+
activations of 48 x 64 x 32000 floats are 393 MB). glibc's malloc serves blocks above 32 MB
with fresh ``mmap`` pages and unmaps them on ``free``, so every step faults on every page
again: 2.4 million page faults (~10 GB zeroed) per PASE+ encoder step. Measured on a full
PASE+ training step (batch 16 x 2 s, 2 threads, docs/training.md): glibc as it comes 19-20 s
at 5.8 GB peak; jemalloc (keeps freed pages) 10.8 s at 6.1 GB; glibc with ``mmap`` off and no
trimming 10.9 s at 6.6 GB (its 64-byte-aligned blocks fragment the heap more).

An allocator has to be loaded before the process starts, so the commands that profit
(``pase-train``, ``pase-extract``, ``pase-dump-feats``, ``bench/``) call
:func:`use_fast_allocator` right after parsing their options: it restarts the process once
with ``LD_PRELOAD`` naming jemalloc when found, and otherwise sets glibc's options in place
(``mallopt``). ``PASE_ALLOCATOR`` chooses: ``auto`` (default), ``system`` (neither), or the
path of a malloc library to preload. Only Linux.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
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
    """The library :func:`use_fast_allocator` would preload, or None (not Linux,
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


#: glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
_glibc_tuned = False


def tune_glibc() -> bool:
    """glibc's malloc: serve large blocks from the heap (``M_MMAP_MAX`` 0) and never trim it
    (``M_TRIM_THRESHOLD`` -1), so freed blocks are reused without page faults. True when
    applied (the C library is glibc); affects allocations made after the call."""
    global _glibc_tuned
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _glibc_tuned = bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, -1))
    return _glibc_tuned


def allocator_name() -> str:
    """What serves this process's memory: a preloaded library's path, ``glibc malloc
    (mmap off, no trimming)`` after :func:`tune_glibc`, or ``system malloc``."""
    lib = loaded_allocator()
    if lib is not None:
        return lib
    return "glibc malloc (mmap off, no trimming)" if _glibc_tuned else "system malloc"


def use_fast_allocator(argv: Sequence[str] | None = None) -> None:
    """Restart this process (same pid, arguments and environment) with jemalloc preloaded
    when :func:`wanted_library` names one; else, unless ``PASE_ALLOCATOR=system`` or another
    allocator is preloaded, :func:`tune_glibc`; then return.

    ``argv``: the interpreter's command line (default ``sys.orig_argv``: the interpreter,
    its options and the script or ``-m`` module with its arguments). Call it before anything
    heavy is imported or any file is written: nothing before the call must run twice.
    """
    library = wanted_library()
    if library is None:
        if os.environ.get(ENV, "auto").strip() in ("auto", "") and loaded_allocator() is None:
            tune_glibc()
        return
    args = list(sys.orig_argv if argv is None else argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *args[1:]], preload_environment(os.environ, library))
