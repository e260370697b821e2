"""Shared plumbing of the ``pase-asr-*`` / ``pase-timit-*`` console scripts (not a script).

Every script is ``main(argv=None) -> int``: expected input errors (``ValueError`` subclasses of
``pase``, which name the file/utterance) print ``<prog>: error: <message>`` and exit 1 instead
of a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from pase.io.datadir import read_kv, split_utterances


def setup_logging(verbose: bool = False) -> None:
    """INFO (or DEBUG) messages to stderr, Kaldi-like prefix."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def run(prog: str, fn: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Call ``fn(args)``; turn ValueError/OSError into a one-line error and exit status 1."""
    setup_logging(getattr(args, "verbose", False))
    try:
        return int(fn(args) or 0)
    except (ValueError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1


def read_utt2spk(data_dir: str | Path) -> dict[str, str]:
    """``utt2spk`` of a data dir (every utterance its own speaker when the file is absent)."""
    p = Path(data_dir) / "utt2spk"
    if p.is_file():
        return read_kv(p)
    wav = Path(data_dir) / "wav.scp"
    if not wav.is_file():
        raise ValueError(f"{data_dir}: not a Kaldi data dir (no utt2spk or wav.scp)")
    return {u: u for u in read_kv(wav)}


def split_by_speaker(utt2spk: dict[str, str], nj: int, job: int) -> set[str]:
    """Utterances of job ``job`` (1-based) of ``nj``: whole speakers, contiguous in sorted
    order, about equal utterance counts (Kaldi's ``split_data.sh``; jobs beyond the number of
    speakers are empty)."""
    if not 1 <= job <= nj:
        raise ValueError(f"job {job} outside 1..{nj}")
    return set(split_utterances(utt2spk, nj, allow_empty=True)[job - 1])
