"""Real Kaldi binaries, when the user has a Kaldi build (``KALDI_ROOT``).

With ``KALDI_ROOT`` pointing at a compiled Kaldi, decoding can run Kaldi's own
``latgen-faster-mapped`` on the log-likelihoods we write, and score with ``lattice-scale`` /
``lattice-add-penalty`` / ``lattice-best-path`` (the original recipe's ``decode_dnn.sh``).
Our ``final.mdl`` and ``HCLG.fst`` are in Kaldi's formats, so the same model and graph serve
both paths.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from pase.asr.decode import DecodeConfig

BIN_DIRS = ("src/bin", "src/latbin", "src/fstbin", "src/featbin", "src/gmmbin")
NEEDED = ("latgen-faster-mapped", "lattice-scale", "lattice-add-penalty", "lattice-best-path")


class KaldiBinError(RuntimeError):
    """A Kaldi binary is missing or failed (the message has the command and its stderr)."""


def kaldi_path(kaldi_root: str | os.PathLike | None = None) -> str | None:
    """A ``PATH`` string with Kaldi's binary dirs when all :data:`NEEDED` tools are found.

    Looks in ``kaldi_root`` (default ``$KALDI_ROOT``) and then on ``PATH``; None when any tool
    is missing.
    """
    root = kaldi_root or os.environ.get("KALDI_ROOT")
    dirs = [str(Path(root) / d) for d in BIN_DIRS] if root else []
    path = os.pathsep.join([*dirs, os.environ.get("PATH", "")])
    if all(shutil.which(tool, path=path) for tool in NEEDED):
        return path
    return None


def latgen_command(
    model: str | os.PathLike,
    graph_dir: str | os.PathLike,
    loglikes_rspecifier: str,
    lattice_wspecifier: str,
    cfg: DecodeConfig,
) -> list[str]:
    """argv of ``latgen-faster-mapped`` with the decoder settings of ``cfg``."""
    g = Path(graph_dir)
    return [
        "latgen-faster-mapped",
        f"--min-active={cfg.min_active}",
        f"--max-active={cfg.max_active}",
        f"--max-mem={cfg.max_mem}",
        f"--beam={cfg.beam}",
        f"--lattice-beam={cfg.lattice_beam}",
        f"--acoustic-scale={cfg.acwt}",
        f"--allow-partial={'true' if cfg.allow_partial else 'false'}",
        f"--word-symbol-table={g / 'words.txt'}",
        str(model),
        str(g / "HCLG.fst"),
        loglikes_rspecifier,
        lattice_wspecifier,
    ]


def best_path_command(lattice_rspecifier: str, lmwt: int, wip: float) -> str:
    """Shell pipeline printing ``<utt> <word-id>...`` for one LM weight / insertion penalty
    (Kaldi ``local/score.sh``: ``--inv-acoustic-scale=LMWT``)."""
    return (
        f"lattice-scale --inv-acoustic-scale={lmwt} {shlex.quote(lattice_rspecifier)} ark:- | "
        f"lattice-add-penalty --word-ins-penalty={wip:g} ark:- ark:- | "
        f"lattice-best-path ark:- ark,t:-"
    )


def run_kaldi(cmd: list[str] | str, path: str) -> str:
    """Run a Kaldi command (argv list or shell pipeline) with ``path``; returns stdout."""
    env = dict(os.environ, PATH=path)
    proc = subprocess.run(
        cmd, shell=isinstance(cmd, str), env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
        raise KaldiBinError(f"{shown} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout


def parse_int_table(text: str) -> dict[str, list[int]]:
    """``<utt> <int> <int> ...`` lines (Kaldi ``ark,t:`` int vectors) -> dict."""
    out: dict[str, list[int]] = {}
    for line in text.splitlines():
        cols = line.split()
        if cols:
            out[cols[0]] = [int(x) for x in cols[1:]]
    return out
